"""sample_gen / samplegen: what arrives in Kafka matches the manifest, determinism, the event
model's structure, the fault knobs, rate and duration, delivery failures, Ctrl-C, live event
time, the partition option, the feed() API, and the MSK IAM wiring.

The broker tests use the local broker (127.0.0.1:9092) with topics of their own. MSK is not
reachable from here: the IAM tests check the client configuration and that the token
provider signs a token with the AWS signer (fake credentials from the environment, no
network), and that librdkafka itself calls it, against a closed port on this machine.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from typing import Callable
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

import sample_gen
from common.cli import ExitCode
from common.kafka_client import MskTokenProvider, Target, client_config, region_from_bootstrap, resolve_region
from common.load.config import load_project
from samplegen.faults import LATE, LATE_MIN_EXTRA_MS, MALFORMED, OUT_OF_ORDER, FaultKnobs, Faults, Sampler
from samplegen.feed import feed
from samplegen.model import EventModel, ModelOptions
from samplegen.runner import RecordsFile, SentRecord, batch_size, rate_reached
from samplegen.schema import parse_type, problems, record_problems
from tests.support.e2e import consume_all, consume_messages
from tests.support.harness import ROOT, make_workspace

REGION = "eu-west-1"
MSK_REGION = "eu-west-1"
FAKE_KEY_ID = "AKIA" + "FAKEFORTESTS0000"  # the shape of an access key id, made up
MSK_HOST = f"b-1.demo.abc123.c2.kafka.{MSK_REGION}.amazonaws.com:9098"  # made up


# --- helpers -------------------------------------------------------------------------------------


def run_cli(*args: str) -> int:
    return sample_gen.main([*args, "--progress", "none", "--quiet"])


def parse(value: bytes):
    try:
        return json.loads(value)
    except ValueError:
        return None


def shipped_model(seed: int = 42, selected: list[str] | None = None, **options) -> EventModel:
    return EventModel(list(load_project().topics.values()), ModelOptions(seed=seed, **options), selected)


def encoded(model: EventModel, count: int, knobs: FaultKnobs | None = None) -> list[tuple[str, bytes, bytes]]:
    faults = Faults(knobs, model.options.seed, count) if knobs else None
    out = []
    for plan, key, ts, record in model.take(count):
        value = faults.encode(plan, ts, record)[0] if faults else json.dumps(record).encode()
        out.append((plan.key, key, value))
    return out


# --- against the local broker ----------------------------------------------------------------------


def test_everything_sent_arrives_as_the_manifest_says(workspace, tmp_path):
    manifest_path = tmp_path / "manifest.json"
    count, malformed = 3000, 0.02
    code = run_cli(
        "--config-dir",
        str(workspace.config_dir),
        "--bootstrap-servers",
        workspace.bootstrap,
        "--auth",
        "none",
        "--count",
        str(count),
        "--seed",
        "11",
        "--malformed",
        str(malformed),
        "--manifest",
        str(manifest_path),
    )
    assert code == 0
    manifest = json.loads(manifest_path.read_text())
    assert manifest["complete"] and manifest["seed"] == 11
    assert manifest["totals"]["sent"] == manifest["totals"]["delivered"] == count
    assert manifest["totals"]["malformed"] == round(count * malformed)  # exactly as many as asked
    assert manifest["event_time"]["min_ms"] >= manifest["knobs"]["start_ms"]

    project = load_project(workspace.config_dir)
    got = consume_all(workspace.bootstrap, list(workspace.topics.values()))
    for key, topic in project.topics.items():
        entry = manifest["topics"][key]
        messages = got[topic.topic_name]
        assert entry["topic"] == topic.topic_name
        assert len(messages) == entry["sent"] == entry["delivered"] > 0
        assert {str(p): n for p, n in Counter(p for p, _, _ in messages).items()} == entry["per_partition"]
        assert len(entry["per_partition"]) == 2, "keys must spread over both partitions"
        schema = tuple((c, parse_type(t)) for c, t in topic.schema)
        invalid = 0
        times = []
        for _, msg_key, value in messages:
            record = parse(value)
            assert msg_key.decode().isdigit()
            if record is None or record_problems(record, schema):
                invalid += 1
                continue
            assert msg_key == str(record["user_id"]).encode()  # keyed by user_id
            times.append(record[topic.event_time.field])
        assert invalid == entry["malformed"]
        assert sum(entry["malformed_kinds"].values()) == entry["malformed"]
        assert min(times) == entry["event_time"]["min_ms"] and max(times) == entry["event_time"]["max_ms"]


def test_late_and_out_of_order_counts_match_what_a_consumer_sees(kafka_broker, tmp_path):
    """One partition per topic, so the consumer sees the sending order and can classify every record."""
    ws = make_workspace(tmp_path, kafka_broker, partitions=1)
    manifest_path = tmp_path / "manifest.json"
    count = 4000
    code = run_cli(
        "--config-dir",
        str(ws.config_dir),
        "--bootstrap-servers",
        ws.bootstrap,
        "--count",
        str(count),
        "--out-of-order",
        "0.05",
        "--late",
        "0.02",
        "--malformed",
        "0.01",
        "--late-by",
        "30s",
        "--manifest",
        str(manifest_path),
    )
    assert code == 0
    manifest = json.loads(manifest_path.read_text())
    totals = manifest["totals"]
    assert totals["malformed"] == 40
    assert 0.9 * 80 <= totals["late"] <= 80 and 0.9 * 200 <= totals["out_of_order"] <= 200
    project = load_project(ws.config_dir)
    got = consume_all(ws.bootstrap, list(ws.topics.values()))
    for key, topic in project.topics.items():
        schema = tuple((c, parse_type(t)) for c, t in topic.schema)
        bound = topic.event_time.max_out_of_orderness_ms
        newest, late, disordered, malformed = None, 0, 0, 0
        for _, _, value in got[topic.topic_name]:
            record = parse(value)
            if record is None or record_problems(record, schema):
                malformed += 1
                continue
            ts = record[topic.event_time.field]
            if newest is not None and ts < newest - bound:
                late += 1
                assert ts >= newest - bound - 30_000
            elif newest is not None and ts < newest:
                disordered += 1
            else:
                newest = ts
        entry = manifest["topics"][key]
        assert (malformed, late, disordered) == (entry["malformed"], entry["late"], entry["out_of_order"])


def test_failed_deliveries_are_counted_and_the_exit_code_says_so(tmp_path):
    """Nothing listens on the port: nothing is confirmed within the flush timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    manifest_path = tmp_path / "manifest.json"
    code = run_cli(
        "--bootstrap-servers",
        f"127.0.0.1:{port}",
        "--auth",
        "none",
        "--count",
        "50",
        "--flush-timeout",
        "2",
        "-X",
        "log_level=0",
        "--manifest",
        str(manifest_path),
    )
    assert code == ExitCode.FAILED
    manifest = json.loads(manifest_path.read_text())
    assert manifest["totals"]["sent"] == 50 and manifest["totals"]["not_delivered"] == 50
    assert not manifest["complete"]


def test_ctrl_c_stops_flushes_and_writes_the_manifest(kafka_broker, tmp_path):
    ws = make_workspace(tmp_path, kafka_broker)
    manifest_path = tmp_path / "manifest.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "sample_gen.py"),
            "--config-dir",
            str(ws.config_dir),
            "--bootstrap-servers",
            ws.bootstrap,
            "--duration",
            "60",
            "--rate",
            "2000",
            "--progress",
            "log",
            "--log-every",
            "0.5",
            "--manifest",
            str(manifest_path),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr[-3000:]
    assert "sent" in stderr and "/s" in stderr  # periodic progress lines when not on a terminal
    manifest = json.loads(manifest_path.read_text())
    assert manifest["interrupted"] and manifest["totals"]["not_delivered"] == 0
    assert 1000 <= manifest["totals"]["sent"] <= 8000
    got = consume_all(ws.bootstrap, list(ws.topics.values()))
    assert sum(len(v) for v in got.values()) == manifest["totals"]["delivered"]


# --- determinism and the event model ---------------------------------------------------------------


def test_same_seed_same_events_and_another_seed_other_events():
    knobs = FaultKnobs(out_of_order=0.05, late=0.02, malformed=0.02)
    first = encoded(shipped_model(seed=5), 5000, knobs)
    assert first == encoded(shipped_model(seed=5), 5000, knobs)
    assert first != encoded(shipped_model(seed=6), 5000, knobs)


def test_same_seed_same_output_from_the_command_line(capsys, tmp_path):
    outputs = []
    for _ in range(2):
        assert (
            run_cli(
                "--dry-run",
                "--count",
                "1000",
                "--seed",
                "9",
                "--malformed",
                "0.05",
                "--manifest",
                str(tmp_path / "m.json"),
            )
            == 0
        )
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    lines = [json.loads(line) for line in outputs[0].splitlines()]
    assert len(lines) == 1000 and {line["topic"] for line in lines} == {"bid-events", "user-events", "order-events"}


def test_a_topic_subset_leaves_that_topics_events_unchanged():
    alone = encoded(shipped_model(seed=3, selected=["bid_events"]), 1000)
    mixed = [item for item in encoded(shipped_model(seed=3), 4000) if item[0] == "bid_events"]
    assert {topic for topic, _, _ in alone} == {"bid_events"} and len(mixed) > 1000
    assert alone == mixed[:1000]


def test_sessions_bids_actions_and_orders_are_correlated():
    bids, actions, orders = defaultdict(list), defaultdict(list), []
    sessions_of_user = defaultdict(set)
    for plan, key, ts, record in shipped_model(seed=1).take(30_000):
        assert key == str(record["user_id"]).encode()
        if plan.key == "bid_events":
            bids[record["session_id"]].append(record)
            sessions_of_user[record["user_id"]].add(record["session_id"])
        elif plan.key == "user_events":
            meta = json.loads(record["metadata"])
            actions[meta["session_id"]].append((record, meta))
        else:
            orders.append(record)
    assert max(len(s) for s in sessions_of_user.values()) >= 3, "some users have several sessions"
    spans = defaultdict(list)  # user -> (first, last) event time of each session
    for sid, items in actions.items():
        times = [r["timestamp_ms"] for r, _ in items] + [e["timestamp_ms"] for e in bids.get(sid, [])]
        spans[items[0][0]["user_id"]].append((min(times), max(times)))
    for user_spans in spans.values():  # a 30-minute session window finds exactly these sessions
        user_spans.sort()
        assert all(b[0] - a[1] > 30 * 60_000 for a, b in zip(user_spans, user_spans[1:]))
    for sid, events in bids.items():
        # one user, city and platform per session, and the same session in the user's actions
        assert len({(e["user_id"], e["city_id"], e["platform"]) for e in events}) == 1
        assert {m["platform"] for _, m in actions[sid]} == {events[0]["platform"]}
        assert {r["user_id"] for r, _ in actions[sid]} == {events[0]["user_id"]}
        assert all(e["bid_amount"] > 0 for e in events)
        times = [e["timestamp_ms"] for e in events]
        assert times == sorted(times) and times[0] > min(r["timestamp_ms"] for r, _ in actions[sid])
    assert {"login", "view_item", "search", "logout"} <= {r["action"] for a in actions.values() for r, _ in a}
    won = {(e["user_id"], e["bid_amount"]) for events in bids.values() for e in events if e["event_name"] == "bid_won"}
    bought = {r["user_id"] for a in actions.values() for r, _ in a if r["action"] == "buy_now"}
    assert orders and all((o["user_id"], o["price"]) in won or o["user_id"] in bought for o in orders)
    names = Counter(e["event_name"] for events in bids.values() for e in events)
    assert names["bid_placed"] > names["bid_won"] > 0 and names["bid_raised"] > 0
    cities = Counter(e["city_id"] for events in bids.values() for e in events)
    assert cities.most_common(1)[0][0] == 1 and len(cities) >= 8  # a big city and a long tail


def test_legacy_bid_events_keep_their_meaning():
    start = 1_767_223_200_000  # 2025-12-31 23:20 UTC
    events = list(sample_gen.bid_events(400, seed=7, start_ms=start))
    assert len(events) == 400
    assert events == list(sample_gen.bid_events(400, seed=7, start_ms=start))
    assert set(events[0]) == {
        "event_name",
        "user_id",
        "city_id",
        "platform",
        "session_id",
        "timestamp_ms",
        "bid_amount",
    }
    assert events[-1]["timestamp_ms"] - start > 3_600_000  # sparse enough to cross midnight
    assert len({e["user_id"] for e in events}) > 10


def test_a_new_topic_needs_no_generator_code(tmp_path):
    topics = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text())
    schema = {
        "device_id": "STRING",
        "user_id": "BIGINT",
        "session_id": "VARCHAR(20)",
        "ok": "BOOLEAN",
        "level": "TINYINT",
        "score": "DOUBLE",
        "amount": "DECIMAL(10, 2)",
        "day": "DATE",
        "seen_at": "TIMESTAMP(3)",
        "event_at": "TIMESTAMP_LTZ(3)",
    }
    topics["kafka_topics"]["device_events"] = {
        "topic_name": "device-events",
        "consumer_group": "g",
        "startup_mode": "earliest-offset",
        "event_time": {"field": "event_at", "max_out_of_orderness": "2s"},
        "schema": schema,
    }
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    (tmp_path / "transformations.yaml").write_text((ROOT / "config" / "transformations.yaml").read_text())
    project = load_project(tmp_path)
    model = EventModel(list(project.topics.values()), ModelOptions(seed=2), ["device_events", "user_events"])
    plan = next(p for p in model.plans if p.key == "device_events")
    faults = Faults(FaultKnobs(late=0.05), 2, 2000)
    seen = Counter()
    for p, key, ts, record in model.take(2000):
        seen[p.key] += 1
        value = json.loads(faults.encode(p, ts, record)[0])
        if p.key == "device_events":
            assert record_problems(value, plan.columns) == []
            assert key == str(value["user_id"]).encode()
    assert seen["device_events"] > 100 and seen["user_events"] > 100
    assert plan.stats.late > 0  # the event-time knobs work on a TIMESTAMP_LTZ column too


def test_a_nested_topic_needs_no_generator_code():
    """ROW / ARRAY<ROW> / MAP fields get values of their shape (the decoder benchmark's nested topic)."""
    project = load_project(ROOT / "benchmarks" / "nested")
    model = EventModel(list(project.topics.values()), ModelOptions(seed=3), ["device_events"])
    (plan,) = model.plans
    shapes = Counter()
    for p, _, ts, record in model.take(500):
        value = json.loads(json.dumps(record))
        assert record_problems(value, plan.columns) == []
        assert set(value["device"]) == {"os", "version", "model"}
        assert all(set(item) == {"sku", "price", "qty"} for item in value["items"])
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in value["attrs"].items())
        shapes[len(value["items"])] += 1
    assert set(shapes) == {0, 1, 2, 3}  # empty arrays too


def test_every_shipped_record_is_valid_against_its_schema():
    model = shipped_model(seed=8)
    for plan, _, _, record in model.take(5000):
        assert record_problems(json.loads(json.dumps(record)), plan.columns) == []


# --- knobs, rate, duration ---------------------------------------------------------------------------


@pytest.mark.parametrize("fraction,total", [(0.01, 1000), (0.37, 999), (0.5, 7), (1.0, 10), (0.0, 100)])
def test_the_sampler_picks_exactly_round_total_times_fraction(fraction, total):
    import random

    sampler = Sampler(fraction, total, random.Random(1))
    assert sum(sampler.picks(i) for i in range(total)) == round(total * fraction)


def test_malformed_records_are_of_every_kind_asked():
    model = shipped_model(seed=4)
    faults = Faults(FaultKnobs(malformed=0.1), 4, 3000)
    kinds = Counter()
    for plan, key, ts, record in model.take(3000):
        value, _ = faults.encode(plan, ts, record)
        parsed = parse(value)
        if parsed is None:
            kinds["bad_json"] += 1
        elif any("missing" in p for p in record_problems(parsed, plan.columns)):
            kinds["missing_field"] += 1
        elif record_problems(parsed, plan.columns):
            kinds["wrong_type"] += 1
    assert sum(kinds.values()) == 300 and min(kinds.values()) > 50 and len(kinds) == 3


def test_rate_is_steady_and_duration_bounds_the_run(tmp_path):
    manifest_path = tmp_path / "m.json"
    started = time.monotonic()
    assert run_cli("--dry-run", "--count", "1500", "--rate", "3000", "--manifest", str(manifest_path)) == 0
    assert 0.4 <= time.monotonic() - started <= 2.0
    started = time.monotonic()
    assert run_cli("--dry-run", "--duration", "1", "--rate", "1000", "--manifest", str(manifest_path)) == 0
    assert 0.9 <= time.monotonic() - started <= 2.5
    manifest = json.loads(manifest_path.read_text())
    assert 900 <= manifest["totals"]["sent"] <= 1100
    assert manifest["rate_short_of_asked"] is None


def test_a_rate_the_machine_cannot_reach_is_reported(tmp_path, caplog):
    manifest_path = tmp_path / "m.json"
    with caplog.at_level("WARNING", logger="samplegen"):
        assert run_cli("--dry-run", "--duration", "0.5", "--rate", "100000000", "--manifest", str(manifest_path)) == 0
    manifest = json.loads(manifest_path.read_text())
    reached = manifest["rate_short_of_asked"]
    assert reached == pytest.approx(manifest["totals"]["sent"] / manifest["sending_s"], rel=0.01)
    assert 0 < reached < 95_000_000
    assert any("asked for 100,000,000 records/s, reached" in r.getMessage() for r in caplog.records)


def test_rate_reached_is_only_reported_below_the_tolerance():
    assert rate_reached(1000, 960, 1.0) is None
    assert rate_reached(1000, 940, 1.0) == 940
    assert rate_reached(None, 10, 1.0) is None
    assert rate_reached(1000, 0, 0.0) is None


def test_help_documents_the_options(capsys):
    with pytest.raises(SystemExit):
        sample_gen.parse_args(["--help"])
    text = capsys.readouterr().out
    for needle in (
        "--count",
        "--duration",
        "--rate",
        "--topics",
        "--seed",
        "--out-of-order",
        "--late",
        "--malformed",
        "--region",
        "--auth",
        "--manifest",
        "exit codes",
        "MSK",
        "Ctrl-C",
    ):
        assert needle in text


# --- live event time, one partition, feed() ------------------------------------------------------------

BOUND_MS = 5_000  # max_out_of_orderness of every shipped topic


def check_live_times(records: list[tuple[str, int, int | None, str | None]], bound_ms: int, late_by_ms: int) -> None:
    """(topic, clock reading at sending, event time, fault) in sending order obey live mode's rules."""
    newest: dict[str, int] = {}
    for topic, now, ts, fault in records:
        if fault == MALFORMED:
            assert ts is None
            continue
        assert ts <= now, "event time ahead of the clock"
        if fault is None:
            assert ts == now
            newest[topic] = max(newest.get(topic, ts), ts)
        elif fault == OUT_OF_ORDER:
            assert now - bound_ms <= ts < newest[topic], "out of order, yet within the bound of the clock"
        else:
            assert fault == LATE
            assert newest[topic] - bound_ms - late_by_ms <= ts <= newest[topic] - bound_ms - LATE_MIN_EXTRA_MS
            assert ts <= now - bound_ms - LATE_MIN_EXTRA_MS


def live_stream(seed: int, count: int, knobs: FaultKnobs, clock: Callable[[], int]) -> list[tuple]:
    """(topic, key, clock reading, value, event time, fault) of `count` live records, without Kafka."""
    model = shipped_model(seed=seed)
    faults = Faults(knobs, seed, count, live=True)
    out = []
    for plan, key, now, record in itertools.islice(model.events(clock), count):
        value, ts = faults.encode(plan, now, record)
        out.append((plan.key, key, now, value, ts, faults.last_fault))
    return out


@pytest.mark.parametrize(
    "steps_ms", [(0, 1), (0, 400), (6_000, 9_000)], ids=["dense", "sparse", "every-record-beyond-the-bound"]
)
def test_live_event_time_is_the_clock_minus_the_fault_offsets(steps_ms):
    """A made-up clock, so the rules hold exactly: never ahead, within the bound unless late."""
    rng = random.Random(1)
    readings = itertools.accumulate(rng.randint(*steps_ms) for _ in itertools.count())
    clock = lambda: 1_790_000_000_000 + next(readings)  # noqa: E731
    knobs = FaultKnobs(out_of_order=0.1, late=0.05, malformed=0.02, late_by_ms=20_000)
    stream = live_stream(seed=12, count=4000, knobs=knobs, clock=clock)
    check_live_times([(t, now, ts, fault) for t, _, now, _, ts, fault in stream], BOUND_MS, knobs.late_by_ms)
    faults = Counter(fault for *_, fault in stream)
    assert faults[MALFORMED] == 80 and faults[LATE] > 150
    if steps_ms[0] > BOUND_MS:  # the newest record is always older than the bound: no room for disorder
        assert faults[OUT_OF_ORDER] == 0
    else:
        assert faults[OUT_OF_ORDER] > 300


def test_live_sends_the_simulated_records_but_for_event_time():
    """Same seed and count: the same records, keys and faulted positions; only the times differ."""
    knobs = FaultKnobs(out_of_order=0.05, late=0.02, malformed=0.02)
    ticks = itertools.count(1_790_000_000_000, 2)
    live = live_stream(seed=5, count=3000, knobs=knobs, clock=lambda: next(ticks))
    model = shipped_model(seed=5)
    faults = Faults(knobs, 5, 3000)
    for (topic, key, _, value, _, fault), (plan, sim_key, ts, record) in zip(live, model.take(3000)):
        sim_value, _ = faults.encode(plan, ts, record)
        assert (topic, key, fault) == (plan.key, sim_key, faults.last_fault)
        if fault != MALFORMED:
            live_record, sim_record = json.loads(value), json.loads(sim_value)
            del live_record[plan.event_time], sim_record[plan.event_time]
            assert live_record == sim_record
    ticks = itertools.count(1_790_000_000_000, 2)
    assert live == live_stream(seed=5, count=3000, knobs=knobs, clock=lambda: next(ticks))


@pytest.mark.parametrize(
    "args,live",
    [
        (["--duration", "5"], True),
        (["--rate", "10"], True),
        (["--count", "5", "--rate", "10"], True),
        (["--count", "5"], False),
        ([], False),
        (["--duration", "5", "--start", "now"], False),
        (["--duration", "5", "--no-live"], False),
        (["--count", "5", "--live"], True),
    ],
)
def test_live_is_the_default_for_timed_or_paced_runs_without_start(args, live):
    assert sample_gen.is_live(sample_gen.parse_args(args)) is live


def test_live_and_start_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as stop:
        sample_gen.parse_args(["--live", "--start", "2026-01-01"])
    assert stop.value.code == 2 and "--start" in capsys.readouterr().err


def test_feed_returns_what_arrived_live_and_in_the_one_partition(workspace):
    """feed() as the job's unbounded tests use it: every record is in the result, byte for byte,
    with the partition and offset Kafka gave it; event times follow the clock at sending."""
    rate, duration = 300, 2.0
    knobs = FaultKnobs(out_of_order=0.1, late=0.05, malformed=0.02, late_by_ms=10_000)
    before_ms = time.time_ns() // 1_000_000
    result = feed(
        workspace.bootstrap,
        duration_s=duration,
        rate=rate,
        partition=0,
        faults=knobs,
        model=ModelOptions(seed=3),
        config_dir=workspace.config_dir,
    )
    after_ms = time.time_ns() // 1_000_000
    records = result.records
    totals = result.manifest["totals"]
    assert result.complete and len(records) == totals["sent"] == totals["delivered"]
    # the rate is never exceeded; fewer only if the scheduler starved the sender for a second
    assert rate * duration / 2 <= len(records) < rate * duration + batch_size(rate)
    for i, r in enumerate(records):
        assert before_ms <= r.sent_at_ms <= after_ms
        assert i + 1 <= rate * (r.sent_at_ms - before_ms + 5) / 1000 + batch_size(rate)
    check_live_times([(r.topic, r.sent_at_ms, r.event_time_ms, r.fault) for r in records], BOUND_MS, knobs.late_by_ms)
    assert {r.fault for r in records} == {None, OUT_OF_ORDER, LATE, MALFORMED}
    assert {r.partition for r in records} == {0} and len({(r.topic, r.offset) for r in records}) == len(records)
    for key, entry in result.manifest["topics"].items():
        assert entry["per_partition"] == {"0": entry["sent"]} and entry["sent"] == len(result.of_topic(key))

    from confluent_kafka import TIMESTAMP_CREATE_TIME

    got = consume_messages(workspace.bootstrap, list(workspace.topics.values()))
    sent = {(r.topic_name, r.partition, r.offset): r for r in records}
    assert sum(len(m) for m in got.values()) == len(sent)
    for messages in got.values():
        for m in messages:
            r = sent[(m.topic(), m.partition(), m.offset())]
            assert (m.key(), m.value()) == (r.key, r.value)
            kind, stamped_ms = m.timestamp()  # librdkafka's clock when the record was handed over
            assert kind == TIMESTAMP_CREATE_TIME and stamped_ms >= r.sent_at_ms
            if r.event_time_ms is not None:
                assert r.record[load_project(workspace.config_dir).topics[r.topic].event_time.field] == r.event_time_ms


def test_feed_stops_when_cancelled_from_another_thread(workspace):
    cancel = threading.Event()
    box = {}
    worker = threading.Thread(
        target=lambda: box.update(
            result=feed(workspace.bootstrap, duration_s=60, rate=200, cancel=cancel, config_dir=workspace.config_dir)
        )
    )
    worker.start()
    time.sleep(1.0)
    cancel.set()
    worker.join(30)
    assert not worker.is_alive()
    result = box["result"]
    assert result.manifest["interrupted"] and not result.complete
    assert 0 < len(result.records) == result.manifest["totals"]["delivered"] < 60 * 200
    assert all(r.partition is not None and r.error is None for r in result.records)


def test_partition_option_of_the_command_line(workspace, tmp_path):
    manifest_path, records_path = tmp_path / "m.json", tmp_path / "sent.jsonl"
    common = (
        "--config-dir",
        str(workspace.config_dir),
        "--bootstrap-servers",
        workspace.bootstrap,
        "--manifest",
        str(manifest_path),
    )
    assert (
        run_cli(
            *common, "--count", "600", "--partition", "bid_events=0", "--partition", "1", "--records", str(records_path)
        )
        == 0
    )
    manifest = json.loads(manifest_path.read_text())
    assert not manifest["knobs"]["live"] and manifest["knobs"]["partitions"] == {
        "bid_events": 0,
        "user_events": 1,
        "order_events": 1,
    }
    got = consume_messages(workspace.bootstrap, list(workspace.topics.values()))
    lines = [json.loads(line) for line in records_path.read_text().splitlines()]
    assert len(lines) == 600 == sum(len(m) for m in got.values())
    by_place = {(line["topic_name"], line["partition"], line["offset"]): line for line in lines}
    for key, name in workspace.topics.items():
        want = 0 if key == "bid_events" else 1
        assert got[name] and {m.partition() for m in got[name]} == {want}
        assert manifest["topics"][key]["per_partition"] == {str(want): len(got[name])}
        for m in got[name]:
            line = by_place[(name, m.partition(), m.offset())]
            assert (line["key"].encode(), line["value"].encode()) == (m.key(), m.value())
            assert line["event_time_ms"] == json.loads(m.value())["timestamp_ms"] and line["fault"] is None
    # a partition the topics do not have, a topic not sent, and no number: refused before sending
    assert run_cli(*common, "--count", "10", "--partition", "2") == ExitCode.BAD_INPUT
    assert (
        run_cli(*common, "--count", "10", "--topics", "bid_events", "--partition", "order_events=0")
        == ExitCode.BAD_INPUT
    )
    with pytest.raises(SystemExit):
        sample_gen.parse_args(["--partition", "bid_events="])
    assert sum(len(m) for m in consume_messages(workspace.bootstrap, list(workspace.topics.values())).values()) == 600


# --- MSK IAM (MSK itself is not reachable here) ---------------------------------------------------------


@pytest.fixture
def fake_aws(monkeypatch, tmp_path):
    """Fake static credentials from the environment only: signing happens locally, no AWS call."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-for-tests")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    calls = []
    real = MSKAuthTokenProvider.generate_auth_token

    def spy(region, *args, **kwargs):
        calls.append(region)
        return real(region, *args, **kwargs)

    monkeypatch.setattr(MSKAuthTokenProvider, "generate_auth_token", spy)
    return calls


def test_iam_client_config_uses_oauthbearer_with_the_msk_signer(fake_aws):
    config = client_config(Target(MSK_HOST, auth="iam", region=REGION))
    assert config["bootstrap.servers"] == MSK_HOST
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "OAUTHBEARER"
    assert isinstance(config["oauth_cb"], MskTokenProvider)
    token, expiry_s = config["oauth_cb"]("")
    assert fake_aws == [REGION]
    url = urlparse(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    query = parse_qs(url.query)
    assert url.hostname == f"kafka.{REGION}.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith(FAKE_KEY_ID + "/") and REGION in query["X-Amz-Credential"][0]
    assert "X-Amz-Signature" in query
    assert time.time() < expiry_s <= time.time() + 901


def test_librdkafka_asks_the_token_provider(fake_aws):
    """A real producer with the IAM config, pointed at a closed port on this machine."""
    from confluent_kafka import Producer

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = client_config(Target(f"127.0.0.1:{port}", auth="iam", region=REGION))
    config["log_level"] = 0
    producer = Producer(config)
    deadline = time.monotonic() + 15
    while not fake_aws and time.monotonic() < deadline:
        producer.poll(0.2)
    assert fake_aws == [REGION] and config["oauth_cb"].calls == 1


def test_plaintext_config_for_the_local_broker():
    config = client_config(Target("127.0.0.1:9092"))
    assert config["security.protocol"] == "PLAINTEXT" and "oauth_cb" not in config
    assert config["enable.idempotence"] is True


def test_region_comes_from_the_flag_the_environment_or_the_msk_host():
    assert region_from_bootstrap(MSK_HOST) == REGION
    assert region_from_bootstrap("127.0.0.1:9092") is None
    assert resolve_region("us-east-2", {"AWS_REGION": "ap-south-1"}, MSK_HOST) == "us-east-2"
    assert resolve_region(None, {"AWS_REGION": "ap-south-1"}, MSK_HOST) == "ap-south-1"
    assert resolve_region(None, {"AWS_DEFAULT_REGION": "sa-east-1"}, MSK_HOST) == "sa-east-1"
    assert resolve_region(None, {}, MSK_HOST) == REGION
    assert resolve_region(None, {}, "broker:9092") is None


def test_iam_from_the_runtime_properties_without_a_region_is_a_config_error(tmp_path, monkeypatch, fake_aws):
    props = json.loads((ROOT / "application_properties.json").read_text())
    for group in props:
        if group["PropertyGroupId"] == "kafka":
            group["PropertyMap"].update({"bootstrap.servers": "broker.internal:9098", "auth": "iam"})
    path = tmp_path / "props.json"
    path.write_text(json.dumps(props))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("KAFKA_AUTH", raising=False)
    assert run_cli("--properties", str(path), "--count", "1", "--manifest", str(tmp_path / "m.json")) == 2
    assert fake_aws == []  # nothing was signed, nothing was sent


def test_iam_settings_reach_the_client_config(tmp_path, monkeypatch, fake_aws):
    """The properties say iam; --region completes it; the sink gets SASL_SSL/OAUTHBEARER (never started)."""
    props = json.loads((ROOT / "application_properties.json").read_text())
    for group in props:
        if group["PropertyGroupId"] == "kafka":
            group["PropertyMap"].update({"bootstrap.servers": MSK_HOST, "auth": "iam"})
    path = tmp_path / "props.json"
    path.write_text(json.dumps(props))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("KAFKA_AUTH", raising=False)
    seen = {}

    class NoNetworkSink:
        def __init__(self, config):
            seen.update(config)
            raise RuntimeError("stop before connecting")

    monkeypatch.setattr(sample_gen, "KafkaSink", NoNetworkSink)
    with pytest.raises(RuntimeError, match="stop before connecting"):
        run_cli("--properties", str(path), "--region", "us-west-2", "--count", "1", "--manifest", str(tmp_path / "m"))
    assert seen["bootstrap.servers"] == MSK_HOST
    assert (seen["security.protocol"], seen["sasl.mechanism"]) == ("SASL_SSL", "OAUTHBEARER")
    assert seen["oauth_cb"].region == "us-west-2"


def test_schema_types_parse_and_validate():
    assert parse_type("DECIMAL(10, 2) NOT NULL").decimal == (10, 2)
    assert parse_type("TIMESTAMP(3) WITH LOCAL TIME ZONE").name == "TIMESTAMP_LTZ"
    assert parse_type("ROW<a INT, `b c` ARRAY<STRING>>").children[1][0] == "b c"
    assert parse_type("MAP<STRING, DOUBLE>").children[1][1].name == "DOUBLE"
    assert problems(5, parse_type("INT")) == []
    assert problems("5", parse_type("INT")) and problems(True, parse_type("BIGINT"))
    assert problems(3.5, parse_type("DOUBLE")) == [] and problems("x", parse_type("DOUBLE"))
    assert problems("2026-01-01 00:00:00.123", parse_type("TIMESTAMP(3)")) == []
    assert problems("2026-01-01 00:00:00.123Z", parse_type("TIMESTAMP_LTZ(3)")) == []
    assert problems("yesterday", parse_type("DATE"))
    with pytest.raises(ValueError):
        parse_type("GEOMETRY")


def test_the_records_file_holds_only_what_is_in_flight(tmp_path):
    """--records writes a record when its delivery report arrives (a 10M run's journal does not fit
    in memory); the ones never confirmed are written at close, without a place."""

    class Delivered:
        def __init__(self, partition: int, offset: int) -> None:
            self.partition, self.offset = (lambda: partition), (lambda: offset)

    path = tmp_path / "sent.jsonl"
    records = RecordsFile(path)
    sent = [SentRecord("bid_events", "bids", b"k%d" % i, b'{"i":%d}' % i, i, None, 0) for i in range(4)]
    for record in sent:
        records.append(record)
    sent[2].report(None, Delivered(1, 70))
    sent[0].report(None, Delivered(0, 5))
    sent[3].report("broker down", None)
    assert list(records.pending.values()) == [sent[1]]
    records.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["key"], line["partition"], line["offset"], line["error"]) for line in lines] == [
        ("k2", 1, 70, None),
        ("k0", 0, 5, None),
        ("k3", None, None, "broker down"),
        ("k1", None, None, None),
    ]
