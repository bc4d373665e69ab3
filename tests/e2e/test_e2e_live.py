"""Unbounded, on an idle partition, at parallelism 2: the job as it runs on MSK.

Every record goes to partition 0 of 2-partition topics, so one source subtask of two has
nothing to read. A day of history is produced first, then live traffic (sample_gen's live
mode: event time = wall clock) is fed while the job runs. With the idle timeout the quiet
partition stops holding the watermark back: every hourly window and session of the history
closes, and the test polls the tables (with a deadline) until they hold them, compares them
with the reference model, then stops the job with SIGTERM (a savepoint) and checks it exits.
"""

from __future__ import annotations

import signal
import time

from common.kafka_client import produce
from common.ops.local_warehouse import read_rows
from samplegen.feed import feed
from tests.support import reference_model as ref
from tests.support.e2e import NAMESPACE, SESSION_GAP_MS
from tests.support.event_data import generate
from tests.support.harness import assert_same_rows

IDLE_TIMEOUT = "2s"
LIVE_SECONDS = 20
DEADLINE_S = 240


def rows(ws, name: str) -> list[dict]:
    try:
        return read_rows(str(ws.warehouse), NAMESPACE, name)
    except FileNotFoundError:  # not committed yet
        return []


def test_unbounded_run_with_an_idle_partition_closes_every_window(workspace):
    ws = workspace
    ws.edit_topics(
        lambda doc: [t["event_time"].update(idle_timeout=IDLE_TIMEOUT) for t in doc["kafka_topics"].values()]
    )
    history = generate(seed=31, users=12, days=1)
    for key, events in history.topics().items():
        report = produce(ws.bootstrap, ws.topics[key], events, partition=0)
        assert report.failed == 0 and report.delivered == len(events)

    job = ws.start_job(env={"FLINK_PARALLELISM": "2", "FLINK_CHECKPOINT_INTERVAL": "2s"})
    try:
        live = feed(ws.bootstrap, duration_s=LIVE_SECONDS, rate=60, live=True, partition=0, config_dir=ws.config_dir)
        assert live.complete and {r.partition for r in live.records} == {0}
        assert all(r.fault is None for r in live.records)
        live_events = {key: [r.record for r in live.of_topic(key)] for key in ws.topics}

        bids = history.bid_events + live_events["bid_events"]
        user_events = history.user_events + live_events["user_events"]
        orders = history.order_events + live_events["order_events"]
        # every window and session of the history (days before the live traffic's first day) is
        # closed by the live traffic's watermark
        today = min(ref.utc(e["timestamp_ms"]).date() for events in live_events.values() for e in events)
        expected_agg = [r for r in ref.bid_events_hourly_agg(bids) if r[-1] < today]
        expected_sessions = [s for s in ref.session_analytics(bids, user_events, SESSION_GAP_MS) if s[-1] < today]
        assert expected_agg and expected_sessions

        deadline = time.monotonic() + DEADLINE_S
        while True:
            agg = [r for r in ref.columns(rows(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS) if r[-1] < today]
            sessions = [s for s in ref.columns(rows(ws, "session_analytics"), ref.SESSION_COLUMNS) if s[-1] < today]
            raw = rows(ws, "bid_events_raw")
            if len(agg) >= len(expected_agg) and len(sessions) >= len(expected_sessions) and len(raw) >= len(bids):
                break
            assert job.poll() is None, "the job stopped"
            assert time.monotonic() < deadline, (
                f"after {DEADLINE_S}s: {len(agg)}/{len(expected_agg)} windows, "
                f"{len(sessions)}/{len(expected_sessions)} sessions, "
                f"{len(raw)}/{len(bids)} raw bids"
            )
            time.sleep(2)
        assert_same_rows(agg, expected_agg)
        assert_same_rows(sessions, expected_sessions)
        assert_same_rows(ref.columns(raw, ref.RAW_COLUMNS), ref.bid_events_raw(bids))
        assert_same_rows(
            ref.columns(rows(ws, "user_events_processed"), ref.USER_EVENTS_COLUMNS),
            ref.user_events_processed(user_events),
        )
        assert_same_rows(
            ref.columns(rows(ws, "order_events_enriched"), ref.ORDER_COLUMNS), ref.order_events_enriched(orders)
        )
        assert rows(ws, "bid_events_hourly_agg_late") == [] and rows(ws, "dead_letters") == []
    finally:
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=120)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]
