"""Render the Iceberg table of a pipeline: format v2, Parquet + zstd, day partitions."""

from __future__ import annotations

from typing import Sequence

from common.sql import column_list, qualified, quote, with_clause

TABLE_PROPERTIES = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
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

    Flink DDL can only partition by columns, so "partitioned by the day of the event
    time" is an identity partition on a DATE column the transformer fills from event time.
    A primary key makes the table an upsert table (equality deletes, format v2).
    """
    lines = column_list(schema)
    if primary_key:
        lines.append(f"  PRIMARY KEY ({', '.join(quote(c) for c in primary_key)}) NOT ENFORCED")
    options = dict(TABLE_PROPERTIES)
    if primary_key:
        options["write.upsert.enabled"] = "true"
    partition = f"\nPARTITIONED BY ({', '.join(quote(c) for c in partition_by)})" if partition_by else ""
    body = ",\n".join(lines)
    return (f"CREATE TABLE IF NOT EXISTS {sink_ref(catalog, namespace, table)} (\n{body}\n)"
            f"{partition}\n{with_clause(options)}")
