"""scripts/status.py against one small bounded run of every pipeline on the local warehouse:
each figure it prints is checked against an independent source (the rows read back, the
metadata JSON and Parquet files on disk, the events and bad records produced, the broker's
offsets), and its exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from common.kafka_client import KafkaSink, Target, client_config
from common.ops.local_warehouse import read_rows
from tests.support.e2e import produce_all
from tests.support.event_data import generate
from tests.support.harness import ROOT, make_workspace

STATUS = ROOT / "scripts" / "status.py"
NAMESPACE = "sink"
TABLES = [
    "bid_events_raw",
    "bid_events_hourly_agg",
    "bid_events_hourly_agg_late",
    "user_events_processed",
    "order_events_enriched",
    "session_analytics",
    "session_analytics_late",
    "dead_letters",
]
EVENT_TIME = {
    "bid_events_raw": "event_time",
    "bid_events_hourly_agg": "window_end",
    "bid_events_hourly_agg_late": "event_time",
    "user_events_processed": "event_time",
    "order_events_enriched": "order_time",
    "session_analytics": "session_end",
    "session_analytics_late": "event_time",
    "dead_letters": "kafka_timestamp",
}
# (topic key, value, reason the job gives it)
BAD = (
    [("bid_events", b"not json", "not a JSON object")] * 3
    + [("bid_events", b'{"user_id": 1}', "missing required field timestamp_ms")] * 2
    + [
        (
            "user_events",
            b'{"user_id": 1, "timestamp_ms": 1}',
            "event time timestamp_ms outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)",
        )
    ]
)


def run_status(ws, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ICEBERG_WAREHOUSE": str(ws.warehouse), "KAFKA_BOOTSTRAP_SERVERS": ws.bootstrap}
    return subprocess.run(
        [sys.executable, str(STATUS), "--config-dir", str(ws.config_dir), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def iso_ms(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@pytest.fixture(scope="module")
def ran(tmp_path_factory, kafka_broker):
    """A bounded run over ~300 events and a few bad records, then status --json (and --html)."""
    ws = make_workspace(tmp_path_factory.mktemp("status"), kafka_broker)
    produce_all(ws, generate(seed=5, users=3, days=1).topics())
    sink = KafkaSink(client_config(Target(ws.bootstrap)))
    for key, value, _ in BAD:
        sink.send(ws.topics[key], b"bad", value)  # one key: the same partition every time
    assert sink.flush(30) == 0 and sink.tracker.failed_total == 0
    started = dt.datetime.now(dt.timezone.utc)
    job = ws.run_job("--bounded")
    assert job.returncode == 0, job.stderr[-5000:]
    page = ws.warehouse.parent / "status.html"
    result = run_status(ws, "--json", "--max-staleness", "1d", "--html", str(page))
    assert result.returncode == 0, result.stdout + result.stderr
    return ws, json.loads(result.stdout), page, started


def metadata(ws, table: str) -> dict:
    folder = ws.warehouse / NAMESPACE / table / "metadata"
    version = (folder / "version-hint.text").read_text().strip()
    return json.loads((folder / f"v{version}.metadata.json").read_text())


def test_tables_figures_match_the_data_and_the_files(ran):
    ws, report, _, started = ran
    assert [t["name"] for t in report["tables"]] == TABLES
    for t in report["tables"]:
        name = t["name"]
        rows = read_rows(str(ws.warehouse), NAMESPACE, name)
        meta = metadata(ws, name)
        files = sorted((ws.warehouse / NAMESPACE / name / "data").rglob("*.parquet"))
        assert (t["rows"], t["snapshots"], t["data_files"]) == (len(rows), len(meta["snapshots"]), len(files)), name
        assert t["total_file_bytes"] == sum(f.stat().st_size for f in files), name
        assert t["event_time_column"] == EVENT_TIME[name]
        assert not t["stale"] and t["error"] is None
        if meta["snapshots"]:
            newest = max(r[EVENT_TIME[name]] for r in rows)
            assert t["newest_event_time"] == iso_ms(newest), name
            current = next(s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"])
            committed = dt.datetime.fromtimestamp(current["timestamp-ms"] / 1000, dt.timezone.utc)
            assert t["last_commit"] == iso_ms(committed) and t["created"] is None
            assert t["mean_file_bytes"] == t["total_file_bytes"] / len(files)
        else:  # nothing was late: the bounded run committed nothing there; its age counts from creation
            assert name.endswith("_late") and rows == []
            assert t["last_commit"] is None and t["newest_event_time"] is None
            assert t["created"] == iso_ms(dt.datetime.fromtimestamp(meta["last-updated-ms"] / 1000, dt.timezone.utc))
        since = dt.datetime.fromisoformat((t["last_commit"] or t["created"]).replace("Z", "+00:00"))
        assert started - dt.timedelta(seconds=1) <= since  # written by this run
    assert sum(t["rows"] for t in report["tables"] if t["name"] == "dead_letters") == len(BAD)


def test_dead_letters_per_topic_and_reason(ran):
    ws, report, _, _ = ran
    expected = Counter((ws.topics[key], reason) for key, _, reason in BAD)
    got = {(r["topic"], r["reason"]): r["count"] for r in report["dead_letters"]["by_topic_reason"]}
    assert got == dict(expected)
    assert report["dead_letters"]["total"] == len(BAD)


def test_lag_is_what_the_broker_says(ran):
    """Lag per partition = the broker's high watermark - the group's committed offset, both
    read here with a plain consumer. What a bounded run leaves committed is not fixed: its
    sources commit on each checkpoint, but the commit of the final offsets races the end of
    the job (seen: none, some, all), so the run's offsets are only checked to be within
    [0, high watermark]. Then the test commits offsets of its own: the lag is exact."""
    ws, report, _, _ = ran
    groups = {t["topic_name"]: t["consumer_group"] for t in _topics(ws).values()}
    high, committed = broker_offsets(ws, groups)
    assert sum(high.values()) == sum(len(v) for v in generate(seed=5, users=3, days=1).topics().values()) + len(BAD)
    assert (ws.topics["order_events"], 0) in [n for n, offset in high.items() if offset == 0]  # 3 users, 1 partition
    assert all(0 <= committed[n] <= high[n] for n in committed)

    def expected_lag(n):
        return high[n] - committed[n] if n in committed else 0 if high[n] == 0 else None

    assert [
        (p["topic"], p["group"], p["partition"], p["high_watermark"], p["committed"], p["lag"])
        for p in report["lag"]["partitions"]
    ] == [(t, groups[t], p, high[(t, p)], committed.get((t, p)), expected_lag((t, p))) for t, p in sorted(high)]

    from confluent_kafka import Consumer, TopicPartition

    topic = ws.topics["bid_events"]
    mine = {p: high[(topic, p)] // 3 for p in (0, 1)}
    committer = Consumer({"bootstrap.servers": ws.bootstrap, "group.id": groups[topic], "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition(topic, p, o) for p, o in mine.items()], asynchronous=False)
    committer.close()
    lag = json.loads(run_status(ws, "--json", "--max-staleness", "1d").stdout)["lag"]
    assert {p["partition"]: (p["committed"], p["lag"]) for p in lag["partitions"] if p["topic"] == topic} == {
        p: (o, high[(topic, p)] - o) for p, o in mine.items()
    }
    assert next(t for t in lag["topics"] if t["topic"] == topic)["lag"] == sum(
        high[(topic, p)] - o for p, o in mine.items()
    )


def broker_offsets(ws, groups: dict[str, str]) -> tuple[dict, dict]:
    """(topic, partition) -> high watermark, and -> the group's committed offset (absent: none)."""
    from confluent_kafka import Consumer, TopicPartition

    high, committed = {}, {}
    for topic, group in groups.items():
        consumer = Consumer({"bootstrap.servers": ws.bootstrap, "group.id": group, "enable.auto.commit": False})
        for p in (0, 1):
            high[(topic, p)] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for tp in consumer.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=10):
            if tp.offset >= 0:
                committed[(topic, tp.partition)] = tp.offset
        consumer.close()
    return high, committed


def _topics(ws) -> dict:
    import yaml

    return yaml.safe_load((ws.config_dir / "topics.yaml").read_text())["kafka_topics"]


def test_exit_codes_and_text(ran):
    ws = ran[0]
    stale = run_status(ws, "--max-staleness", "0s", "--no-lag")
    assert stale.returncode == 3, stale.stderr
    assert stale.stdout.rstrip().splitlines()[-1] == "STALE: " + ", ".join(TABLES)
    fresh = run_status(ws, "--max-staleness", "1d", "--no-lag")
    assert fresh.returncode == 0 and fresh.stdout.rstrip().endswith("healthy"), fresh.stdout + fresh.stderr
    assert run_status(ws, "--since", "soon").returncode == 2
    assert run_status(ws, "--only", "no_such_pipeline").returncode == 2


def test_html_page_is_self_contained(ran):
    _, report, page, _ = ran
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "http://" not in html and "https://" not in html
    assert "<script" not in html and " src=" not in html
    committed = [t for t in report["tables"] if t["snapshots"]]
    assert html.count("<svg") == len(committed) and html.count("<circle") == sum(t["snapshots"] for t in committed)
