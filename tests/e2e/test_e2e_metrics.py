"""The job's own metrics, read from the Flink REST API of a local unbounded run.

Good records and bad records of every reason kind go to 2-partition topics (a known number
per topic and kind), the job runs at parallelism 2, then events far behind the watermark are
produced (late for the hourly windows and the sessions). The test polls the REST API and the
tables until they agree, then checks exact values: good / dead records per topic and reason
kind = what was produced; rows out per pipeline = rows in its Iceberg table; each table's
newestEventTime = the newest event time in it; lateRecords of each window = rows of its late
table = the late events produced. Then it stops the job with SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from collections import Counter

from common.kafka_client import KafkaSink, Target, client_config
from common.load.config import build_transformer, load_project
from common.ops.event_time_status import FlinkRest
from common.ops.local_warehouse import read_rows
from common.render import metrics as metric_sql
from tests.support.e2e import NAMESPACE
from tests.support.event_data import START_MS, generate
from tests.support.harness import free_port

DEADLINE_S = 300  # from start: planning alone took 2 min on a loaded 2-core machine
LATE_MS = START_MS + 3_600_000  # an hour into the traffic: far behind the watermark once a day of it is read
DEAD_KINDS = (
    "no_value",
    "too_large",
    "not_utf8",
    "not_json_object",
    "trailing_content",
    "duplicate_key",
    "invalid_field",
    "missing_required_field",
    "event_time_out_of_range",
)


def bad_records(good: dict, kinds: list[str]) -> list[tuple[str, bytes | None]]:
    """(kind, value) of one bad record of each kind asked for, built from a good event."""
    text = json.dumps(good).encode()
    made = {
        "no_value": None,
        "not_utf8": text.replace(b'"}', b'\xff"}', 1) if text.endswith(b'"}') else b"\xff" + text,
        "not_json_object": b"{not json",
        "trailing_content": text + b" 1",
        "duplicate_key": text[:-1] + b', "timestamp_ms": 1}',
        "invalid_field": json.dumps({**good, "timestamp_ms": "soon"}).encode(),
        "missing_required_field": json.dumps({k: v for k, v in good.items() if k != "timestamp_ms"}).encode(),
        "event_time_out_of_range": json.dumps({**good, "timestamp_ms": 1}).encode(),
    }
    return [(kind, made[kind]) for kind in kinds]


# per topic, the bad records produced (the counts differ per topic, so a mix-up shows)
BAD_KINDS = {
    "bid_events": [
        "no_value",
        "not_utf8",
        "not_json_object",
        "trailing_content",
        "duplicate_key",
        "invalid_field",
        "missing_required_field",
        "event_time_out_of_range",
    ],
    "user_events": ["not_json_object", "not_json_object", "invalid_field"],
    "order_events": ["no_value", "event_time_out_of_range", "event_time_out_of_range", "event_time_out_of_range"],
}


def send(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    """Alternately to partition 0 and 1 (each partition keeps the order), every one confirmed."""
    sink = KafkaSink(client_config(Target(bootstrap)))
    for i, value in enumerate(values):
        sink.send(topic, f"k{i}".encode(), value, partition=i % 2)
        sink.poll(0)
    assert sink.flush(30) == 0 and sink.tracker.failed_total == 0
    assert sink.tracker.delivered_to(topic) == len(values)


def job_metrics(port: int) -> dict[str, int]:
    """The job's own metrics ("topic.<t>.goodRecords", "pipeline.<p>.rowsOut", ...): counters
    summed and newestEventTime the maximum, over every subtask and operator that has them."""
    rest = FlinkRest(f"http://127.0.0.1:{port}")
    job = rest.running_job()
    if job is None:
        return {}
    values: dict[str, int] = {}
    for vertex in rest.get(f"/jobs/{job}")["vertices"]:
        service = rest.metrics(job, vertex["id"], lambda name: f".{metric_sql.SERVICE_GROUP}." in name)
        for metric, reading in service.items():
            name = metric.split(f".{metric_sql.SERVICE_GROUP}.", 1)[1]
            value = int(reading)
            if name.endswith(".newestEventTime"):
                values[name] = max(values.get(name, value), value)
            elif not name.endswith(".eventTimeLag"):
                values[name] = values.get(name, 0) + value
    return values


def partitions_add_up(values: dict[str, int]) -> bool:
    """Each window's late records per topic and partition add up to its late records, as the job
    counts them (one call counts both). A snapshot where they do not is torn: Flink's REST API
    answers a request from the metrics it has, then fetches newer ones in the background, so
    job_metrics may list the names before a partition's counter was first registered and read
    the values after it (seen once in CI: the window's 6 late records and no partition counter)."""
    late = {
        name[: -len(".lateRecords")]: v
        for name, v in values.items()
        if name.startswith("window.") and name.endswith(".lateRecords")
    }
    windows = {name for name in late if ".topic." not in name}
    return all(late[w] == sum(v for name, v in late.items() if name.startswith(w + ".topic.")) for w in windows)


def rows(ws, table: str) -> list[dict]:
    try:
        return read_rows(str(ws.warehouse), NAMESPACE, table)
    except FileNotFoundError:  # nothing committed yet
        return []


def epoch_ms(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def test_metrics_of_a_running_job_match_what_was_produced_and_written(workspace):
    ws = workspace
    ws.edit_topics(lambda doc: [t["event_time"].update(idle_timeout="2s") for t in doc["kafka_topics"].values()])
    traffic = generate(seed=13, users=3, days=1)
    good, dead = Counter(), {key: Counter() for key in ws.topics}
    for key, events in traffic.topics().items():
        values = [json.dumps(e).encode() for e in events]
        for i, (kind, value) in enumerate(bad_records(events[0], BAD_KINDS[key])):
            values.insert((i + 1) * len(values) // (len(BAD_KINDS[key]) + 1), value)  # between good records
            dead[key][kind] += 1
        send(ws.bootstrap, ws.topics[key], values)
        good[key] += len(events)

    port = free_port()
    job = ws.start_job(
        env={
            "FLINK_PARALLELISM": "2",
            "FLINK_CHECKPOINT_INTERVAL": "2s",
            "FLINK_REST_PORT": str(port),
            "FLINK_CHECKPOINT_DIR": str(ws.warehouse.parent / "checkpoints"),
        }
    )
    try:
        deadline = time.monotonic() + DEADLINE_S

        def poll(done, what: str) -> dict[str, int]:
            while True:
                assert job.poll() is None, "the job stopped"
                try:
                    values = job_metrics(port)
                except OSError:  # the REST endpoint is not up yet
                    values = {}
                if values and done(values):
                    return values
                assert time.monotonic() < deadline, f"after {DEADLINE_S}s, {what}: {values}"
                time.sleep(1)

        def read_all(values: dict[str, int]) -> bool:
            return all(values.get(f"topic.{ws.topics[k]}.goodRecords") == good[k] for k in ws.topics)

        poll(read_all, "not every good record read")
        time.sleep(1)  # the periodic watermark (200 ms) of every source subtask is past the day
        late_bids = [{**e, "timestamp_ms": LATE_MS + i} for i, e in enumerate(traffic.bid_events[:6])]
        late_users = [{**e, "timestamp_ms": LATE_MS + i} for i, e in enumerate(traffic.user_events[:4])]
        send(ws.bootstrap, ws.topics["bid_events"], [json.dumps(e).encode() for e in late_bids])
        send(ws.bootstrap, ws.topics["user_events"], [json.dumps(e).encode() for e in late_users])
        good["bid_events"] += len(late_bids)
        good["user_events"] += len(late_users)

        pipelines = {p.name: p for p in load_project(ws.config_dir).pipelines}
        tables = {name: p.sink_table for name, p in pipelines.items()}

        def settled(values: dict[str, int]) -> bool:
            """Every record read, every table holds what its pipeline handed to the sink, and the
            snapshot is whole (see partitions_add_up)."""
            return (
                read_all(values)
                and partitions_add_up(values)
                and all(
                    values.get(f"pipeline.{name}.rowsOut", -1) == len(rows(ws, table)) for name, table in tables.items()
                )
            )

        values = poll(settled, "metrics and tables do not agree")
        tables_now = {name: rows(ws, table) for name, table in tables.items()}
    finally:
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=120)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]

    # per topic: good and dead records by reason kind, exactly as produced
    for key, topic in ws.topics.items():
        assert values[f"topic.{topic}.goodRecords"] == good[key]
        assert {kind: values[f"topic.{topic}.reason.{kind}.deadRecords"] for kind in DEAD_KINDS} == {
            kind: dead[key][kind] for kind in DEAD_KINDS
        }, key
    dead_letters = Counter(r["topic"] for r in rows(ws, "dead_letters"))
    assert dead_letters == {ws.topics[k]: sum(dead[k].values()) for k in ws.topics}

    # per pipeline: rows out = rows in its table (polled until equal), and the raw pipelines wrote every good record
    assert values["pipeline.bid_events_raw.rowsOut"] == good["bid_events"]
    assert values["pipeline.user_events_processed.rowsOut"] == good["user_events"]
    assert values["pipeline.order_events_enriched.rowsOut"] == good["order_events"]
    assert all(tables_now[name] for name in tables), {name: len(r) for name, r in tables_now.items()}

    # per table: the newest event time written
    for name, p in pipelines.items():
        transformer = build_transformer(p)
        schema = list(transformer.get_sink_schema().items())
        column = metric_sql.event_time_column(schema, transformer.get_event_time_column())
        newest = max(epoch_ms(r[column]) for r in tables_now[name])
        assert values[f"pipeline.{name}.newestEventTime"] == newest, name

    # per window: its late records = its late table = the late events produced
    assert values["window.bid_events_aggregated.lateRecords"] == len(tables_now["bid_events_late"]) == len(late_bids)
    assert (
        values["window.session_analytics.lateRecords"]
        == len(tables_now["session_late"])
        == len(late_bids) + len(late_users)
    )
    # ... and per topic and partition: the late table's rows from that partition
    for window, late_table in (("bid_events_aggregated", "bid_events_late"), ("session_analytics", "session_late")):
        by_partition = Counter(
            (r.get("source_topic", "bid_events"), r["kafka_partition"]) for r in tables_now[late_table]
        )
        prefix = f"window.{window}.topic."
        reported = {}
        for name, value in values.items():  # window.<w>.topic.<t>.partition.<p>.lateRecords
            if name.startswith(prefix) and name.endswith(".lateRecords"):
                topic, _, partition, _ = name[len(prefix) :].split(".")
                reported[(topic, int(partition))] = value
        assert by_partition and reported == by_partition, window
