"""What an operator asks of each Iceberg table: how big, how fresh, how fragmented.

Everything comes from metadata where the metadata knows it: rows, files and bytes from the
current snapshot's summary (Iceberg keeps running totals there), the commit history from the
snapshot log, and the newest event time from the column's upper bounds in the manifests (one
small read per data file's metrics, no Parquet scan). Only if some live file carries no bound
for the column (metrics mode ``none``, or beyond ``write.metadata.metrics.max-inferred-column-defaults``)
is the column itself scanned.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common.render.metrics import freshness_column

log = logging.getLogger(__name__)

UTC = dt.timezone.utc


@dataclass
class Commit:
    """One snapshot of the history, for the picture of commits and rows over time."""

    timestamp_ms: int
    operation: str
    total_records: int | None
    added_records: int


@dataclass
class TableStatus:
    name: str
    exists: bool = False
    rows: int | None = None  # total-records of the current snapshot (before row-level deletes, if any)
    snapshots: int = 0  # snapshots the metadata keeps (expired ones are gone)
    data_files: int | None = None
    delete_files: int | None = None
    total_file_bytes: int | None = None  # data and delete files (the summary's total-files-size)
    last_commit: dt.datetime | None = None  # the current snapshot's commit time (UTC)
    created: dt.datetime | None = None  # a table without snapshots: when its metadata was written
    event_time_column: str | None = None
    newest_event_time: dt.datetime | None = None  # UTC; a bound from column stats (exact max for timestamps)
    error: str | None = None
    history: list[Commit] = field(default_factory=list, repr=False)

    @property
    def mean_file_bytes(self) -> float | None:
        files = (self.data_files or 0) + (self.delete_files or 0)
        if not files or self.total_file_bytes is None:
            return None
        return self.total_file_bytes / files

    def commit_age_s(self, now: dt.datetime) -> float | None:
        """Since the last commit; for a table never committed to, since it was created (the
        Iceberg sink skips empty checkpoints, up to 10 in a row: a new table gets its first
        snapshot late, and a bounded run that wrote nothing to it never gives it one)."""
        since = self.last_commit or self.created
        return None if since is None else (now - since).total_seconds()

    def event_age_s(self, now: dt.datetime) -> float | None:
        return None if self.newest_event_time is None else (now - self.newest_event_time).total_seconds()


def event_time_column(schema: Any, declared: str | None = None) -> str | None:
    """The table's freshness column by the job's own rule (common/render/metrics.freshness_column),
    from the timestamp columns of its Iceberg schema; None if it has none."""
    from pyiceberg.types import TimestampType, TimestamptzType

    timestamps = [f.name for f in schema.fields if isinstance(f.field_type, (TimestampType, TimestamptzType))]
    return freshness_column(timestamps, declared)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Iceberg `timestamp` (no zone) holds UTC wall time here: the job's session zone is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _int(summary: Any, key: str) -> int | None:
    value = summary.get(key) if summary is not None else None
    return int(value) if value is not None else None


def history(table: Any) -> list[Commit]:
    commits = []
    for snapshot in sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms):
        summary = snapshot.summary
        operation = summary.operation.value if summary is not None else "?"
        commits.append(
            Commit(
                snapshot.timestamp_ms, operation, _int(summary, "total-records"), _int(summary, "added-records") or 0
            )
        )
    return commits


def newest_value(table: Any, column: str) -> dt.datetime | None:
    """Max of a timestamp column over the live data files: from their upper bounds if every
    file that holds a non-null value has one, else by scanning that one column."""
    import pyarrow.compute as pc

    files = table.inspect.data_files()
    if files.num_rows == 0:
        return None
    metrics = files.column("readable_metrics").combine_chunks().field(column).to_pylist()
    bounds, unbounded = [], 0
    for m in metrics:
        if m["upper_bound"] is not None:
            bounds.append(m["upper_bound"])
        elif m["value_count"] is None or (m["value_count"] or 0) > (m["null_value_count"] or 0):
            unbounded += 1
    if not unbounded:
        return as_utc(max(bounds)) if bounds else None
    log.info(
        "%d data file(s) of %s have no upper bound for %s: scanning the column",
        unbounded,
        table.metadata.location,
        column,
    )
    newest = pc.max(table.scan(selected_fields=(column,)).to_arrow().column(column)).as_py()
    return as_utc(newest)


def table_status(table: Any, name: str, with_history: bool = False, declared_column: str | None = None) -> TableStatus:
    """The status of one open pyiceberg table (``declared_column``: its pipeline's get_event_time_column())."""
    status = TableStatus(name=name, exists=True, snapshots=len(table.metadata.snapshots))
    status.event_time_column = event_time_column(table.schema(), declared_column)
    if with_history:
        status.history = history(table)
    snapshot = table.current_snapshot()
    if snapshot is None:  # created, nothing committed yet
        status.created = dt.datetime.fromtimestamp(table.metadata.last_updated_ms / 1000, UTC)
        status.rows, status.data_files, status.delete_files, status.total_file_bytes = 0, 0, 0, 0
        return status
    summary = snapshot.summary
    status.last_commit = dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)
    status.rows = _int(summary, "total-records")
    status.data_files = _int(summary, "total-data-files")
    status.delete_files = _int(summary, "total-delete-files")
    status.total_file_bytes = _int(summary, "total-files-size")
    if None in (status.rows, status.data_files, status.total_file_bytes):
        # A writer that keeps no running totals: count the live files instead.
        files = table.inspect.data_files()
        status.rows = sum(files.column("record_count").to_pylist())
        status.data_files = files.num_rows
        status.total_file_bytes = sum(files.column("file_size_in_bytes").to_pylist())
    if status.event_time_column and status.data_files:  # no data file: no event time (and nothing to inspect)
        status.newest_event_time = newest_value(table, status.event_time_column)
    return status


def dead_letter_counts(table: Any, since: dt.datetime) -> dict[tuple[str, str], int]:
    """(topic, reason) -> dead letters the job wrote at or after `since` (by `ingestion_time`).

    By when the job wrote them rather than by Kafka timestamp: a backlog of old records
    that turns out bad is news now. The filter prunes files by their ingestion_time bounds.
    """
    from pyiceberg.expressions import GreaterThanOrEqual

    snapshot = table.current_snapshot()
    if snapshot is None or _int(snapshot.summary, "total-data-files") == 0:  # nothing to scan (pyiceberg fails)
        return {}
    naive_utc = since.astimezone(UTC).replace(tzinfo=None).isoformat()
    rows = table.scan(
        row_filter=GreaterThanOrEqual("ingestion_time", naive_utc), selected_fields=("topic", "reason")
    ).to_arrow()
    return dict(Counter(zip(rows.column("topic").to_pylist(), rows.column("reason").to_pylist())))


def late_counts(table: Any) -> dict[tuple[str | None, int | None], int]:
    """(source_topic, kafka_partition) -> rows of a late table: where its late records came from.

    ``source_topic`` is None for a table without that column (it has one source topic), and
    ``kafka_partition`` None for rows written before the late tables kept it."""
    names = {f.name for f in table.schema().fields}
    fields = tuple(c for c in ("source_topic", "kafka_partition") if c in names)
    snapshot = table.current_snapshot()
    if not fields or snapshot is None or _int(snapshot.summary, "total-data-files") == 0:  # nothing to scan
        return {}
    rows = table.scan(selected_fields=fields).to_arrow()
    n = rows.num_rows
    topics = rows.column("source_topic").to_pylist() if "source_topic" in names else [None] * n
    partitions = rows.column("kafka_partition").to_pylist() if "kafka_partition" in names else [None] * n
    return dict(Counter(zip(topics, partitions)))


def describe_bytes(n: float | None) -> str:
    """A size for people: '512 B', '3.4 MiB'; '-' when unknown."""
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "-"
