"""End to end: bid events on a 2-partition topic -> the job (--bounded) -> Iceberg, row by row."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow.parquet as pq

from common.ops.local_warehouse import open_table
from sample_gen import bid_events, produce

UTC = dt.timezone.utc
# 2025-12-31 23:20 UTC: the events run past midnight, so two day partitions are written.
START_MS = int(dt.datetime(2025, 12, 31, 23, 20, tzinfo=UTC).timestamp() * 1000)
COUNT = 400


def expected_row(event: dict) -> tuple:
    """The definition of bid_events_raw, computed in Python from the produced event."""
    event_time = dt.datetime.fromtimestamp(event["timestamp_ms"] / 1000, UTC).replace(tzinfo=None)
    return (
        event["event_name"],
        event["user_id"],
        event["city_id"],
        event["platform"],
        event["session_id"],
        event["bid_amount"],
        event_time,
        event_time.date(),
    )


def actual_row(row: dict) -> tuple:
    return (
        row["event_name"],
        row["user_id"],
        row["city_id"],
        row["platform"],
        row["session_id"],
        row["bid_amount"],
        row["event_time"],
        row["event_date"],
    )


def test_every_bid_event_lands_once_with_utc_event_time_and_day_partition(workspace):
    events = list(bid_events(COUNT, seed=7, start_ms=START_MS))
    report = produce(workspace.bootstrap, workspace.topics["bid_events"], events)
    assert report.failed == 0
    assert len(report.per_partition) == 2, "events must be spread over both partitions"

    before = dt.datetime.now(UTC).replace(tzinfo=None)
    result = workspace.run_job("--bounded")
    after = dt.datetime.now(UTC).replace(tzinfo=None)
    assert result.returncode == 0, result.stderr[-4000:]

    table = open_table(str(workspace.warehouse), "sink", "bid_events_raw")
    rows = table.scan().to_arrow().to_pylist()
    # Exact multiset equality: a missing, duplicated or altered row fails.
    assert Counter(actual_row(r) for r in rows) == Counter(expected_row(e) for e in events)
    assert all(before - dt.timedelta(seconds=1) <= r["ingestion_time"] <= after for r in rows)

    # Partitioned by the UTC day of the event time, and every file holds only its own day.
    assert [f.name for f in table.spec().fields] == ["event_date"]
    assert [str(f.transform) for f in table.spec().fields] == ["identity"]
    days_seen = set()
    for task in table.scan().plan_files():
        partition_day = task.file.partition[0]
        if isinstance(partition_day, int):  # Iceberg stores a date as days since the epoch
            partition_day = dt.date(1970, 1, 1) + dt.timedelta(days=partition_day)
        file_days = set(
            pq.read_table(task.file.file_path.removeprefix("file:"), columns=["event_date"])
            .column("event_date")
            .to_pylist()
        )
        assert file_days == {partition_day}
        days_seen |= file_days
    assert days_seen == {dt.date(2025, 12, 31), dt.date(2026, 1, 1)}
