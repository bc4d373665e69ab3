"""Render the Iceberg table of a pipeline: format v2, Parquet + zstd, day partitions, and the
table properties a streaming writer needs to keep the table healthy."""

from __future__ import annotations

from typing import Sequence

from common.load.partitioning import parse_partition_field
from common.sql import column_list, qualified, quote, with_clause

# Names as in Iceberg 1.11's org.apache.iceberg.TableProperties. They are set when the job
# creates a table (CREATE TABLE IF NOT EXISTS): a table that already exists keeps the
# properties it was created with (changing them is table evolution, not this statement).
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    # What compaction (scripts/maintain_tables.py) packs small files into. Streaming commits
    # write far smaller files per checkpoint whatever this says; the default (512 MB) would
    # leave a day of this job's tables in one or two files that readers cannot split well.
    "write.target-file-size-bytes": str(128 * 1024 * 1024),
    # `none`: each writer subtask writes the rows it gets, no shuffle. `hash` would key rows by
    # partition, and nearly every row of a day-partitioned stream is in today's partition: at
    # parallelism 2 one writer would get all of them (half the write throughput) behind an
    # extra network shuffle, to save one file per checkpoint. An upsert table (primary key)
    # is keyed by its key under `none` anyway (Iceberg's FlinkSink), as upserts require.
    "write.distribution-mode": "none",
    # Every commit writes a new metadata.json; keep the last 50, delete older ones on commit.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "50",
    # Snapshot expiry defaults (read by the maintenance command, as by any Iceberg engine):
    # one day of snapshots, at least 10 (a commit per checkpoint would otherwise keep 5 days).
    "history.expire.max-snapshot-age-ms": str(24 * 3600 * 1000),
    "history.expire.min-snapshots-to-keep": "10",
    # A maintenance commit beside the job makes a job commit retry; allow more than the 4 tries.
    "commit.retry.num-retries": "10",
}


def sink_ref(catalog: str, namespace: str, table: str) -> str:
    return qualified(catalog, namespace, table)


def render_sink_ddl(
    catalog: str,
    namespace: str,
    table: str,
    schema: Sequence[tuple[str, str]],
    partition_by: Sequence[str] = (),
    primary_key: Sequence[str] = (),
) -> str:
    """CREATE TABLE IF NOT EXISTS in the catalog's namespace.

    Flink DDL can only partition by columns (identity): a spec of columns only goes in
    PARTITIONED BY, as it always did. A spec with any Iceberg transform (``day(event_time)``,
    ``bucket(16, user_id)``) creates the table unpartitioned, and the run phase then sets the
    whole spec through Iceberg's API (common/run/sink_evolution.py, PartitionSpecs in the jar).
    A primary key makes the table an upsert table (equality deletes, format v2).
    """
    lines = column_list(schema)
    if primary_key:
        lines.append(f"  PRIMARY KEY ({', '.join(quote(c) for c in primary_key)}) NOT ENFORCED")
    options = dict(TABLE_PROPERTIES)
    if primary_key:
        options["write.upsert.enabled"] = "true"
    fields = [parse_partition_field(f) for f in partition_by]
    identity = bool(fields) and all(f.is_identity for f in fields)
    partition = f"\nPARTITIONED BY ({', '.join(quote(f.column) for f in fields)})" if identity else ""
    body = ",\n".join(lines)
    return (
        f"CREATE TABLE IF NOT EXISTS {sink_ref(catalog, namespace, table)} (\n{body}\n)"
        f"{partition}\n{with_clause(options)}"
    )
