"""Randomized timing schedules (issue 28): a fixed handful of seeds, end to end.

Each seed is a schedule of tests/support/schedules.py (its docstring: what is drawn, and why the late
records are known in advance): the job unbounded on a broker of its own, topics on clocks up to
2 h apart, pauses longer than the idle timeout, bursts, empty partitions, broker kills, a stop
with a savepoint and a restore, parallelism 1 or 2, truly late records; every table must equal
the reference and the late tables must hold exactly the truly late records. A failure prints the
seed's schedule and how to replay it; benchmarks/run_schedules.py runs many more seeds.

The seeds (their schedules: ``benchmarks/run_schedules.py --seed S --print``) were chosen so that
together they cover topics 2 h apart with a pause longer than the idle timeout, a topic held back
while the others go on, broker kills (short, long, with the producer sending meanwhile), a stop
with a savepoint and a restore (one at another parallelism), parallelism 1 and 2, and partitions
that never receive a record. Each fails with the rule the job had before (an idle partition
following the newest event time of every topic).
"""

from __future__ import annotations

import pytest

from tests.support.event_data import MAX_DISORDER_MS
from tests.support.schedules import (
    GAP_MS,
    TOPICS,
    Broker,
    Late,
    Restore,
    Send,
    failure_report,
    make_schedule,
    run_schedule,
)

CI_SEEDS = (4, 10, 18, 57)


@pytest.fixture(scope="module")
def schedules_broker():
    """The schedules' own broker (they kill it): started for this module, stopped after it."""
    broker = Broker()
    with broker.exclusive():
        yield broker
        broker.run("stop")


@pytest.mark.kafka
@pytest.mark.parametrize("seed", CI_SEEDS, ids=lambda s: f"seed_{s}")
def test_schedule_every_table_exact_and_late_exactly_the_truly_late(seed, schedules_broker, tmp_path):
    schedule = make_schedule(seed)
    print(schedule.describe())
    result = run_schedule(schedule, schedules_broker, tmp_path, log=print)
    print(result.line())
    assert result.passed, failure_report(schedule, result, tmp_path)


def test_a_seed_replays_the_same_schedule():
    assert make_schedule(11).describe() == make_schedule(11).describe()
    assert make_schedule(11).late() == make_schedule(11).late()
    assert make_schedule(11).describe() != make_schedule(12).describe()


@pytest.mark.parametrize("seed", range(1, 41))
def test_each_topic_in_its_own_event_time_order_and_the_late_records_behind_what_was_written(seed):
    """What the check relies on: within a topic no record is behind an earlier one by the
    allowed disorder, whatever the clocks; each empty partition stays empty; every late record
    is behind the window and the session its step waits for, and was sent after them."""
    schedule = make_schedule(seed)
    for topic in TOPICS:
        newest = None
        for r in (r for r in schedule.stream if r.topic == topic):
            assert newest is None or r.ts > newest - MAX_DISORDER_MS
            newest = r.ts if newest is None else max(newest, r.ts)
    used = {(r.topic, r.partition) for r in schedule.stream + schedule.late()}
    assert all((t, p) not in used for t, p in schedule.empty.items() if p is not None)
    sent = 0
    for step in schedule.steps:
        if isinstance(step, Send):
            sent = step.stop
        if isinstance(step, Late):
            assert any(
                r.topic == "bid_events" and r.event["timestamp_ms"] < step.window_end_ms for r in schedule.stream[:sent]
            )
            for r in step.records:
                assert r.ts + GAP_MS <= step.session_deadline_ms
                if r.topic == "bid_events":
                    assert r.ts < step.window_end_ms


def test_the_ci_seeds_cover_what_they_are_chosen_for():
    schedules = [make_schedule(seed) for seed in CI_SEEDS]
    features = [" ".join(s.features()) for s in schedules]
    assert any("clocks 2.0h" in f and "pause" in f for f in features)
    assert any("kill" in f for f in features)
    assert any(any(isinstance(step, Restore) for step in s.steps) for s in schedules)
    assert any(isinstance(step, Restore) and step.parallelism != s.parallelism for s in schedules for step in s.steps)
    assert {s.parallelism for s in schedules} == {1, 2}
    assert any(step.held for s in schedules for step in s.steps if isinstance(step, Send))
    assert any(p is not None for s in schedules for p in s.empty.values())
    assert all(s.late() for s in schedules)
