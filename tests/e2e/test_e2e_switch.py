"""Edit the YAML of a running deployment: nothing lost, nothing twice (docs/reference/semantics.md).

The job runs unbounded at parallelism 2 and reads part one of the traffic (event time before
the cut). It stops with a savepoint while hourly windows and sessions are still open. The YAML
then changes: a new pipeline (``big_bids``), a changed one (``user_events_processed`` becomes
SQL that adds a column: the upper-cased action), a removed one (``order_events_enriched``). The job restarts
from the savepoint, reads part two and stops draining its windows. Then:

- every unchanged pipeline's table equals the reference over both parts, exactly: windows and
  sessions spanning the switch are whole (their state survived), and no row is there twice
  (the sources resumed at the savepoint's offsets);
- the changed pipeline's table gained the column before the restart (schema evolution): part
  one's rows read NULL in it, part two's rows carry the new SQL's value;
- the removed pipeline's table holds part one and nothing more;
- the new pipeline started at the switch (part two only) and, after ``--backfill``, holds both
  parts exactly once.
"""

from __future__ import annotations

import json
import re
import signal
import time

import yaml

from common.kafka_client import produce
from common.ops.local_warehouse import read_rows
from tests.support import reference_model as ref
from tests.support.e2e import NAMESPACE, SESSION_GAP_MS
from tests.support.event_data import START_MS, generate
from tests.support.harness import assert_same_rows

CUT_MS = START_MS + 13 * ref.HOUR_MS + 25 * 60_000  # inside an hour: windows and sessions span the switch
DEADLINE_S = 180
BIG_BID = 50.0

BIG_BIDS = {
    "name": "big_bids",
    "source_topic": "bid_events",
    "sink_table": "big_bids",
    "sink_schema": {"user_id": "BIGINT", "bid_amount": "DOUBLE", "event_time": "TIMESTAMP(3)", "event_date": "DATE"},
    "partition_by": ["event_date"],
    "sql": (
        "SELECT `user_id`, `bid_amount`, CAST(`event_time` AS TIMESTAMP(3)) AS `event_time`, "
        f"CAST(`event_time` AS DATE) AS `event_date` FROM {{source}} WHERE `bid_amount` > {BIG_BID}"
    ),
}
USER_EVENTS_AS_SQL = {
    "name": "user_events_processed",
    "source_topic": "user_events",
    "sink_table": "user_events_processed",
    "sink_schema": {
        "event_type": "STRING",
        "user_id": "BIGINT",
        "action": "STRING",
        "event_time": "TIMESTAMP(3)",
        "event_date": "DATE",
        "event_hour": "INT",
        "metadata": "STRING",
        "ingestion_time": "TIMESTAMP(3)",
        "action_upper": "STRING",
    },
    "partition_by": ["event_date"],
    "sql": (
        "SELECT `event_type`, `user_id`, `action`, CAST(`event_time` AS TIMESTAMP(3)) AS "
        "`event_time`, CAST(`event_time` AS DATE) AS `event_date`, CAST(HOUR(CAST(`event_time` AS TIMESTAMP(3))) "
        "AS INT) AS `event_hour`, `metadata`, CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS `ingestion_time`, "
        "UPPER(`action`) AS `action_upper` FROM {source}"
    ),
}
KEPT = ("bid_events_raw", "bid_events_aggregated", "bid_events_late", "session_analytics", "session_late")


def rows(ws, table: str) -> list[dict]:
    try:
        return read_rows(str(ws.warehouse), NAMESPACE, table)
    except FileNotFoundError:
        return []


def wait_for(ws, job, counts: dict[str, int], log_name: str) -> None:
    """Until each table holds at least its count of rows (committed by checkpoints)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        have = {t: len(rows(ws, t)) for t in counts}
        if all(have[t] >= n for t, n in counts.items()):
            return
        assert job.poll() is None, (ws.warehouse.parent / log_name).read_text()[-4000:]
        assert time.monotonic() < deadline, f"after {DEADLINE_S}s: {have} of {counts}"
        time.sleep(1)


def stop(ws, job, log_name: str) -> str:
    """SIGTERM: the job stops with a savepoint and exits 0; the savepoint's path."""
    job.send_signal(signal.SIGTERM)
    code = job.wait(timeout=180)
    log = (ws.warehouse.parent / log_name).read_text()
    assert code == 0, log[-5000:]
    return re.findall(r"savepoint written to (\S+)", log)[-1]


def split(events: list[dict]) -> tuple[list[dict], list[dict]]:
    return [e for e in events if e["timestamp_ms"] < CUT_MS], [e for e in events if e["timestamp_ms"] >= CUT_MS]


def edit_pipelines(ws) -> None:
    path = ws.config_dir / "transformations.yaml"
    doc = yaml.safe_load(path.read_text())
    pipelines = [p for p in doc["transformations"] if p["name"] != "order_events_enriched"]
    pipelines = [USER_EVENTS_AS_SQL if p["name"] == "user_events_processed" else p for p in pipelines]
    doc["transformations"] = [*pipelines, BIG_BIDS]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def big_bids(bids: list[dict]) -> list[tuple]:
    return [
        (b["user_id"], b["bid_amount"], ref.utc(b["timestamp_ms"]), ref.utc(b["timestamp_ms"]).date())
        for b in bids
        if b["bid_amount"] > BIG_BID
    ]


def test_add_change_remove_pipelines_across_a_savepoint(workspace, tmp_path):
    ws = workspace
    traffic = generate(seed=77, users=8, days=1)
    parts = {key: split(events) for key, events in traffic.topics().items()}
    one = {key: p[0] for key, p in parts.items()}
    two = {key: p[1] for key, p in parts.items()}
    assert all(one.values()) and all(two.values())
    env = {
        "FLINK_PARALLELISM": "2",
        "FLINK_CHECKPOINT_INTERVAL": "2s",
        "FLINK_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
    }

    for key, events in one.items():
        assert produce(ws.bootstrap, ws.topics[key], events).delivered == len(events)
    job = ws.start_job(env=env, log_name="part1.log")
    try:
        wait_for(
            ws,
            job,
            {
                "bid_events_raw": len(one["bid_events"]),
                "user_events_processed": len(one["user_events"]),
                "order_events_enriched": len(one["order_events"]),
            },
            "part1.log",
        )
    finally:
        savepoint = stop(ws, job, "part1.log")
    open_windows = len(ref.bid_events_hourly_agg(one["bid_events"])) - len(rows(ws, "bid_events_hourly_agg"))
    assert open_windows > 0, "the savepoint must hold open windows for this test to prove anything"

    edit_pipelines(ws)
    job = ws.start_job("--restore", savepoint, "--drain", env=env, log_name="part2.log")
    try:
        for key, events in two.items():
            assert produce(ws.bootstrap, ws.topics[key], events).delivered == len(events)
        all_bids = one["bid_events"] + two["bid_events"]
        wait_for(
            ws,
            job,
            {
                "bid_events_raw": len(all_bids),
                "big_bids": len(big_bids(two["bid_events"])),
                "user_events_processed": len(traffic.user_events),
            },
            "part2.log",
        )
    finally:
        stop(ws, job, "part2.log")
    log = (ws.warehouse.parent / "part2.log").read_text()
    for name in KEPT:
        assert re.search(rf"plan: {name}\s+kept with its state", log), log[-4000:]
    assert re.search(r"plan: user_events_processed\s+changed", log)
    assert re.search(r"plan: big_bids\s+new", log) and re.search(r"plan: order_events_enriched\s+removed", log)
    assert "added column `action_upper`" in log

    bids, user_events = traffic.bid_events, traffic.user_events
    assert_same_rows(ref.columns(rows(ws, "bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(bids))
    assert_same_rows(
        ref.columns(rows(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS), ref.bid_events_hourly_agg(bids)
    )
    assert_same_rows(
        ref.columns(rows(ws, "session_analytics"), ref.SESSION_COLUMNS),
        ref.session_analytics(bids, user_events, SESSION_GAP_MS),
    )
    assert rows(ws, "bid_events_hourly_agg_late") == [] and rows(ws, "session_analytics_late") == []
    # the table gained a column at the restart: NULL for part one, the new SQL's value after
    with_upper = [(*row, None) for row in ref.user_events_processed(one["user_events"])] + [
        (*row, e["action"].upper()) for row, e in zip(ref.user_events_processed(two["user_events"]), two["user_events"])
    ]
    assert_same_rows(
        ref.columns(rows(ws, "user_events_processed"), [*ref.USER_EVENTS_COLUMNS, "action_upper"]), with_upper
    )
    assert_same_rows(
        ref.columns(rows(ws, "order_events_enriched"), ref.ORDER_COLUMNS),
        ref.order_events_enriched(one["order_events"]),
    )
    assert rows(ws, "dead_letters") == []
    big_columns = ["user_id", "bid_amount", "event_time", "event_date"]
    assert_same_rows(ref.columns(rows(ws, "big_bids"), big_columns), big_bids(two["bid_events"]))

    # the switch point is the savepoint's own source state: every part-one bid, none of part two
    switch = json.loads((tmp_path / "checkpoints" / "switch-big_bids.json").read_text())["offsets"]
    assert sum(switch[ws.topics["bid_events"]].values()) == len(one["bid_events"])
    backfill = ws.run_job("--backfill", "big_bids", env=env)
    assert backfill.returncode == 0, backfill.stderr[-5000:]
    assert_same_rows(ref.columns(rows(ws, "big_bids"), big_columns), big_bids(bids))
    assert len(rows(ws, "bid_events_raw")) == len(bids)  # the backfill touched no other table
