"""Windows stay exact after a pause or an outage (issue 17): unbounded, parallelism 2, 4 partitions.

Each test feeds one producer's traffic (every topic interleaved in event-time order, keyed by
user, so every partition of every topic has records) in two parts with a fault between them,
waits until the raw tables hold every record, stops the job with SIGTERM (``--drain``: every
open window and session is written), and compares every table with the reference model. No
record was ever out of order by more than the bound, so nothing may be late: the late tables
must be empty, and every window and session exact.

The faults: (a) the producer pauses longer than the idle timeout; (b) the broker is SIGKILLed
for 20 s and restarted; (c) the broker is down for 3 minutes, past the clients' default
timeouts; (d) a bursty producer whose batches come three idle timeouts apart, each spanning the
event time since the last. With Flink's own idleness (a timer per partition) (a) and (b) make
records late: the first partition whose fetch returns after the quiet spell moves the watermark
past the others' backlog.

The complement, (e): events sent after the watermark has passed their windows (every partition
gets some) are late, exactly those, in every partition: the late tables list them and the
windows and sessions leave them out. Lateness is decided by what the job had committed before
they were sent, so it does not depend on how the partitions' reads interleave.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from typing import Callable

from common.kafka_client import KafkaSink, Target, client_config
from common.ops.local_warehouse import read_rows
from tests.support import reference_model as ref
from tests.support.e2e import LATE_PIPELINES, NAMESPACE, SESSION_GAP_MS
from tests.support.event_data import CITIES, PLATFORMS, START_MS, generate, late_bids
from tests.support.harness import KAFKA_SCRIPT, ROOT, assert_same_rows, free_port, make_workspace

PARTITIONS = 4
IDLE_TIMEOUT_S = 5
QUIET_S = 3 * IDLE_TIMEOUT_S  # every quiet spell is well past the idle timeout
DEADLINE_S = 240
JOB_ENV = {"FLINK_PARALLELISM": "2", "FLINK_CHECKPOINT_INTERVAL": "2s"}
RAW_TABLES = {
    "bid_events": "bid_events_raw",
    "user_events": "user_events_processed",
    "order_events": "order_events_enriched",
}


def kafka(command: str) -> None:
    subprocess.run([str(KAFKA_SCRIPT), command], check=True, cwd=ROOT, capture_output=True, timeout=180)


def send_interleaved(ws, by_topic: dict[str, list[dict]]) -> None:
    """One producer, every topic's events in event-time order, keyed by user; all confirmed.
    Retries until the broker answers, so it also rides out a broker that is coming back."""
    merged = sorted(
        ((e["timestamp_ms"], key, e) for key, events in by_topic.items() for e in events), key=lambda item: item[0]
    )
    sink = KafkaSink({**client_config(Target(ws.bootstrap)), "message.timeout.ms": 300_000})
    for _, key, event in merged:
        sink.send(ws.topics[key], str(event["user_id"]).encode(), json.dumps(event).encode())
        sink.poll(0)
    assert sink.flush(300) == 0
    assert sink.tracker.failed_total == 0


def rows(ws, name: str) -> list[dict]:
    try:
        return read_rows(str(ws.warehouse), NAMESPACE, name)
    except FileNotFoundError:
        return []


def wait_until(ws, job, done: Callable[[], bool], what: Callable[[], str]) -> None:
    """Polls done() once a second while the job runs, for at most DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while not done():
        assert job.poll() is None, "the job stopped:\n" + (ws.warehouse.parent / "job.log").read_text()[-5000:]
        assert time.monotonic() < deadline, f"after {DEADLINE_S}s: {what()}"
        time.sleep(1)


def wait_for_raw(ws, job, expected: dict[str, int]) -> None:
    def raw_counts() -> dict[str, int]:
        return {key: len(rows(ws, table)) for key, table in RAW_TABLES.items()}

    wait_until(
        ws,
        job,
        lambda: all(n >= expected.get(k, 0) for k, n in raw_counts().items()),
        lambda: f"{raw_counts()} of {expected} raw rows",
    )


def split_by_event_time(traffic) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    stamps = sorted(e["timestamp_ms"] for events in traffic.topics().values() for e in events)
    cut = stamps[len(stamps) // 2]
    first = {k: [e for e in v if e["timestamp_ms"] < cut] for k, v in traffic.topics().items()}
    second = {k: [e for e in v if e["timestamp_ms"] >= cut] for k, v in traffic.topics().items()}
    return first, second


def counts(*parts: dict[str, list[dict]]) -> dict[str, int]:
    return {key: sum(len(p[key]) for p in parts) for key in RAW_TABLES}


def assert_exact(ws, parts: list[dict[str, list[dict]]]) -> None:
    bids = [e for p in parts for e in p["bid_events"]]
    user_events = [e for p in parts for e in p["user_events"]]
    orders = [e for p in parts for e in p["order_events"]]
    late = rows(ws, "bid_events_hourly_agg_late")
    session_late = rows(ws, "session_analytics_late")
    assert (len(late), len(session_late)) == (0, 0), (
        f"{len(late)} bids late for the windows, {len(session_late)} events late for the sessions, e.g. "
        f"{(late or session_late)[:3]}"
    )
    assert_same_rows(ref.columns(rows(ws, "bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(bids))
    assert_same_rows(
        ref.columns(rows(ws, "user_events_processed"), ref.USER_EVENTS_COLUMNS), ref.user_events_processed(user_events)
    )
    assert_same_rows(
        ref.columns(rows(ws, "order_events_enriched"), ref.ORDER_COLUMNS), ref.order_events_enriched(orders)
    )
    assert_same_rows(
        ref.columns(rows(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS), ref.bid_events_hourly_agg(bids)
    )
    assert_same_rows(
        ref.columns(rows(ws, "session_analytics"), ref.SESSION_COLUMNS),
        ref.session_analytics(bids, user_events, SESSION_GAP_MS),
    )
    assert rows(ws, "dead_letters") == []


def run_with_fault(tmp_path, broker: str, fault: Callable[[], None], seed: int) -> None:
    """First half, the fault, second half; drained; every table exact."""
    ws = make_workspace(tmp_path, broker, partitions=PARTITIONS)
    ws.edit_topics(
        lambda doc: [t["event_time"].update(idle_timeout=f"{IDLE_TIMEOUT_S}s") for t in doc["kafka_topics"].values()]
    )
    first, second = split_by_event_time(generate(seed=seed, users=16, days=1))
    send_interleaved(ws, first)
    job = ws.start_job("--drain", env=JOB_ENV)
    try:
        wait_for_raw(ws, job, counts(first))
        fault()
        send_interleaved(ws, second)
        wait_for_raw(ws, job, counts(first, second))
    finally:
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=180)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]
    assert_exact(ws, [first, second])


def broker_down(seconds: float) -> Callable[[], None]:
    def fault() -> None:
        kafka("kill")
        try:
            time.sleep(seconds)
        finally:
            kafka("start")

    return fault


def test_a_producer_pause_longer_than_the_idle_timeout_makes_nothing_late(tmp_path, kafka_broker):
    run_with_fault(tmp_path, kafka_broker, lambda: time.sleep(QUIET_S), seed=171)


def test_b_broker_killed_for_20s_and_restarted_makes_nothing_late(tmp_path, kafka_broker):
    run_with_fault(tmp_path, kafka_broker, broker_down(20), seed=172)


def test_c_broker_down_3_minutes_the_job_rides_it_out(tmp_path, kafka_broker):
    run_with_fault(tmp_path, kafka_broker, broker_down(180), seed=173)


def live_bursts(traffic, bursts: int, every_s: float, start_ms: int) -> list[dict[str, list[dict]]]:
    """The traffic's events squeezed into `bursts` batches of `every_s` seconds of event time,
    batch k covering [start + (k-1) * every, start + k * every)."""
    stamps = [e["timestamp_ms"] for events in traffic.topics().values() for e in events]
    t0, t1 = min(stamps), max(stamps) + 1
    span_ms = bursts * every_s * 1000
    batches: list[dict[str, list[dict]]] = [{k: [] for k in RAW_TABLES} for _ in range(bursts)]
    for key, events in traffic.topics().items():
        for e in events:
            offset = int((e["timestamp_ms"] - t0) * span_ms / (t1 - t0))
            batch = min(int(offset // (every_s * 1000)), bursts - 1)
            batches[batch][key].append({**e, "timestamp_ms": start_ms - int(every_s * 1000) + offset})
    return batches


def test_d_a_bursty_producer_makes_nothing_late(tmp_path, kafka_broker):
    ws = make_workspace(tmp_path, kafka_broker, partitions=PARTITIONS)
    ws.edit_topics(
        lambda doc: [t["event_time"].update(idle_timeout=f"{IDLE_TIMEOUT_S}s") for t in doc["kafka_topics"].values()]
    )
    job = ws.start_job("--drain", env=JOB_ENV)
    try:
        time.sleep(20)  # the job is up and every partition idle before the first burst
        start_ms = int(time.time() * 1000)
        batches = live_bursts(generate(seed=174, users=16, days=1), bursts=5, every_s=QUIET_S, start_ms=start_ms)
        for k, batch in enumerate(batches):
            # batch k is sent when its span of event time has passed: it spans the last QUIET_S seconds
            time.sleep(max(0.0, (start_ms + k * QUIET_S * 1000) / 1000 - time.time()))
            send_interleaved(ws, batch)
        wait_for_raw(ws, job, counts(*batches))
    finally:
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=180)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]
    assert_exact(ws, batches)


def behind_the_watermark(seed: int, per_partition: int) -> dict[int, list[dict]]:
    """Bids for the second hour of the on-time bids' span, per partition: once the watermark is
    past START + 3 h, their hourly windows and their sessions (event time + gap) are closed."""
    rng = random.Random(seed)
    return {
        p: [
            {
                "event_name": "bid_placed",
                "user_id": rng.randint(1, 20),
                "city_id": rng.choice(CITIES),
                "platform": rng.choice(PLATFORMS),
                "session_id": f"behind-{p}-{j}",
                "timestamp_ms": START_MS + ref.HOUR_MS + p * 600_000 + j * 60_000 + rng.randint(0, 999),
                "bid_amount": round(rng.uniform(1, 300), 2),
            }
            for j in range(per_partition)
        ]
        for p in range(PARTITIONS)
    }


def late_by_table_partition(ws) -> dict[tuple, int]:
    """The status command's late records per (table, window, topic, partition)."""
    status = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "status.py"),
            "--config-dir",
            str(ws.config_dir),
            "--json",
            "--no-lag",
            "--max-staleness",
            "1d",
            "--only",
            *LATE_PIPELINES,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ICEBERG_WAREHOUSE": str(ws.warehouse)},
    )
    assert status.returncode == 0, status.stdout + status.stderr
    return {
        (r["table"], r["window"], r["topic"], r["partition"]): r["records"]
        for r in json.loads(status.stdout)["late"]["by_table_partition"]
    }


def test_e_events_sent_behind_the_watermark_are_late_exactly_those_in_every_partition(tmp_path, kafka_broker):
    """Only bids are sent: the sessions also read the user events, a topic that never receives a
    record, which by the per-topic rule holds them until it is released (event_time.release_after,
    the opt-in of docs/reference/event-time.md): so this also proves the release end to end."""
    ws = make_workspace(tmp_path, kafka_broker, partitions=PARTITIONS)
    ws.edit_topics(
        lambda doc: [t["event_time"].update(idle_timeout=f"{IDLE_TIMEOUT_S}s") for t in doc["kafka_topics"].values()]
    )
    ws.edit_topics(lambda doc: doc["kafka_topics"]["user_events"]["event_time"].update(release_after=f"{QUIET_S}s"))
    on_time = late_bids(seed=12, count=600, late_every=10**9)  # in event-time order: none late
    closed_by = START_MS + 3 * ref.HOUR_MS
    assert max(b["timestamp_ms"] for b in on_time) > closed_by + ref.HOUR_MS
    must_close = {r[:4] for r in ref.bid_events_hourly_agg(on_time) if r[1] <= ref.utc(closed_by)}
    sessions_must_close = {
        r[:3]
        for r in ref.session_analytics(on_time, [], SESSION_GAP_MS)
        if r[3] + dt.timedelta(milliseconds=SESSION_GAP_MS) <= ref.utc(closed_by)
    }
    behind = behind_the_watermark(seed=13, per_partition=2)
    late = [b for p in sorted(behind) for b in behind[p]]

    send_interleaved(ws, {"bid_events": on_time})
    job = ws.start_job("--drain", "--only", *LATE_PIPELINES, env=JOB_ENV)
    try:

        def not_written() -> tuple[int, int]:
            windows = {r[:4] for r in ref.columns(rows(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS)}
            sessions = {r[:3] for r in ref.columns(rows(ws, "session_analytics"), ref.SESSION_COLUMNS)}
            return len(must_close - windows), len(sessions_must_close - sessions)

        wait_until(
            ws, job, lambda: not_written() == (0, 0), lambda: "%d windows, %d sessions not written" % not_written()
        )
        sink = KafkaSink(client_config(Target(ws.bootstrap)))
        for partition, bids in behind.items():
            for b in bids:
                sink.send(
                    ws.topics["bid_events"], str(b["user_id"]).encode(), json.dumps(b).encode(), partition=partition
                )
        assert sink.flush(60) == 0 and sink.tracker.failed_total == 0

        def late_rows_written() -> tuple[int, int]:
            return len(rows(ws, "bid_events_hourly_agg_late")), len(rows(ws, "session_analytics_late"))

        wait_until(
            ws,
            job,
            lambda: late_rows_written() == (len(late), len(late)),
            lambda: f"late rows {late_rows_written()} of {len(late)} each",
        )
    finally:
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=180)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]

    assert_same_rows(ref.columns(rows(ws, "bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(on_time + late))
    late_rows = rows(ws, "bid_events_hourly_agg_late")
    assert_same_rows(ref.columns(late_rows, ref.LATE_COLUMNS), ref.bid_events_late(late))
    assert all(r["watermark_at_arrival"] >= r["window_end"] for r in late_rows)
    assert_same_rows(
        ref.columns(rows(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS), ref.bid_events_hourly_agg(on_time)
    )
    session_rows = rows(ws, "session_analytics_late")
    assert_same_rows(
        ref.columns(session_rows, ref.SESSION_LATE_COLUMNS),
        ref.session_analytics_late({"bid_events": late}, SESSION_GAP_MS),
    )
    assert all(r["watermark_at_arrival"] >= r["session_deadline"] for r in session_rows)
    assert_same_rows(
        ref.columns(rows(ws, "session_analytics"), ref.SESSION_COLUMNS),
        ref.session_analytics(on_time, [], SESSION_GAP_MS),
    )

    # each late row names the partition its event was sent to; the status command counts them so
    partition_of = {b["session_id"]: p for p, bids in behind.items() for b in bids}
    assert {r["session_id"]: r["kafka_partition"] for r in late_rows} == partition_of
    by_time = {(b["user_id"], ref.utc(b["timestamp_ms"])): p for p, bids in behind.items() for b in bids}
    assert all(r["kafka_partition"] == by_time[(r["user_id"], r["event_time"])] for r in session_rows)
    topic = ws.topics["bid_events"]
    late_tables = (
        ("bid_events_hourly_agg_late", "bid_events_aggregated"),
        ("session_analytics_late", "session_analytics"),
    )
    assert late_by_table_partition(ws) == {
        (table, window, topic, p): len(bids) for table, window in late_tables for p, bids in behind.items()
    }


def on_clocks(by_topic: dict[str, list[dict]], ahead_ms: dict[str, int]) -> list[tuple[int, str, dict]]:
    """Every event in the order topics on different clocks send them: a topic ahead by d sends an
    event of time t when the others send t - d; each topic stays in its own order."""
    return sorted(
        ((e["timestamp_ms"] - ahead_ms.get(key, 0), key, e) for key, events in by_topic.items() for e in events),
        key=lambda item: item[0],
    )


def status_event_time(ws, port: int) -> dict:
    status = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "status.py"),
            "--config-dir",
            str(ws.config_dir),
            "--json",
            "--no-lag",
            "--max-staleness",
            "1d",
            "--flink",
            f"http://127.0.0.1:{port}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ICEBERG_WAREHOUSE": str(ws.warehouse)},
    )
    event = json.loads(status.stdout)["event_time"]  # tables may not all be written yet: only this part counts
    assert event["error"] is None, event
    return event


def test_f_topics_on_different_clocks_and_a_pause_make_nothing_late_and_the_status_names_the_quiet_topic(
    tmp_path, kafka_broker
):
    """Issue 28's case: the user events are 54 min ahead of the bids, the orders 84 min; all three
    pause at once, longer than the idle timeout; then the bids and orders go on while the user
    events stay quiet (the status must name them as what the sessions wait for), then they go on
    too. With the idle rule across topics, the bids after the pause were late (the orders' clock)."""
    ws = make_workspace(tmp_path, kafka_broker, partitions=PARTITIONS)
    ws.edit_topics(
        lambda doc: [t["event_time"].update(idle_timeout=f"{IDLE_TIMEOUT_S}s") for t in doc["kafka_topics"].values()]
    )
    traffic = generate(seed=175, users=16, days=1)
    order = on_clocks(traffic.topics(), {"user_events": 54 * 60_000, "order_events": 84 * 60_000})
    cut = order[len(order) // 3][0]
    first = {k: [e for t, key, e in order if key == k and t < cut] for k in RAW_TABLES}
    second = {k: [e for t, key, e in order if key == k and t >= cut] for k in RAW_TABLES}
    assert all(first[k] and second[k] for k in RAW_TABLES)
    port = free_port()
    send_on_clocks(ws, first, order)
    job = ws.start_job("--drain", env={**JOB_ENV, "FLINK_REST_PORT": str(port)})
    try:
        wait_for_raw(ws, job, counts(first))
        time.sleep(QUIET_S)  # every topic quiet, each on its own clock
        send_on_clocks(ws, {**second, "user_events": []}, order)
        wait_for_raw(ws, job, counts(first, {**second, "user_events": []}))
        users = ws.topics["user_events"]
        deadline = time.monotonic() + 60
        while True:
            event = status_event_time(ws, port)
            sessions = [w for w in event["windows"] if w["pipeline"] == "session_analytics"]
            if sessions and sessions[0]["reason"].startswith(f"session_analytics waits for {users}: nothing written"):
                break
            assert time.monotonic() < deadline, f"the status does not name {users}: {event}"
            time.sleep(2)
        quiet = next(t for t in event["topics"] if t["topic"] == users)
        assert (quiet["quiet"], quiet["idle_partitions"], quiet["partitions"]) == (True, PARTITIONS, PARTITIONS)
        send_on_clocks(ws, {"user_events": second["user_events"]}, order)
        wait_for_raw(ws, job, counts(first, second))
    finally:
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=180)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]
    assert_exact(ws, [first, second])


def send_on_clocks(ws, part: dict[str, list[dict]], order: list[tuple[int, str, dict]]) -> None:
    """The events of `part` in the clock order of `order`, one producer, all confirmed."""
    wanted = {(key, id(e)) for key, events in part.items() for e in events}
    sink = KafkaSink({**client_config(Target(ws.bootstrap)), "message.timeout.ms": 300_000})
    for _, key, event in order:
        if (key, id(event)) in wanted:
            sink.send(ws.topics[key], str(event["user_id"]).encode(), json.dumps(event).encode())
            sink.poll(0)
    assert sink.flush(300) == 0
    assert sink.tracker.failed_total == 0
