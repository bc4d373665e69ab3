"""The job's own metrics, as rendered SQL: rows out, freshness and late records per pipeline.

Per-topic good / dead record counts come from the strict-json decoder itself (Java,
src/main/java/mskiceberg/streaming/format). Per-pipeline metrics come from a Java scalar
function in the job's jar, ``pipeline_metrics`` (mskiceberg.streaming.metrics.PipelineMetrics),
registered once in the job's DDL. Each pipeline's INSERT passes one sink column through it::

    INSERT INTO sink (`a`, `b`, `event_time`, ...)
    SELECT pipeline_metrics('<pipeline>', `a`, `<event-time column>`[, '<window>']) AS `a`, `b`, `event_time`, ...
    FROM (
    <the pipeline's SELECT>
    )

The function returns the column unchanged and counts the row. Being in the projection of the
query's output, it runs once per row the sink receives, after every filter, whatever the query
is (append or updating, class or SQL-only); being non-deterministic, it is never folded or
moved below an aggregation. (A WHERE filter was tried first: the planner pushed it below the
hourly window aggregation, counting input rows, and merged it into other conditions.) The
column passed through is the first one not in the primary key, so an upsert table's key stays
plain columns (the planner still sees the query's upsert key and adds no materializer); and, of
those, the first of a fixed-width type (a number, a date, a boolean) if there is one: Flink's
generated code copies a STRING or BYTES value it passes to a function (a copy of its bytes per
row, measured on the raw bid pipeline), a number it passes as it is.

Which column is a table's event time (its ``newestEventTime`` gauge): the transformer's
``get_event_time_column()`` if it names one, else ``event_time``, ``window_end``, ``session_end`` or
``kafka_timestamp``, else the first TIMESTAMP / TIMESTAMP_LTZ column that is not processing time
(``ingestion_time``...), else none (then rows out only): ``freshness_column``, which the status
command uses too, so both report the same column.
A pipeline whose rows are the late events of a windowed pipeline names that pipeline with
``get_late_records_of()``; its rows then also count as that window's ``lateRecords``, and, when
its table keeps ``kafka_partition``, as the ``lateRecords`` of that window's topic and partition
(``window=<w>,topic=<topic key>,partition=<p>``): lateness in one partition points upstream.
"""

from __future__ import annotations

import logging
from typing import Sequence

from common.load.flink_types import FlinkTypeError, parse_type
from common.load.source_columns import KAFKA_PARTITION
from common.load.transformer import BaseTransformer, SourceTables
from common.sql import literal, quote

log = logging.getLogger(__name__)

FUNCTION = "pipeline_metrics"  # PipelineMetrics.SQL_NAME
SERVICE_GROUP = "kinesisanalytics"  # MetricNames.SERVICE_GROUP: every metric of the job is under it
FUNCTION_CLASS = "mskiceberg.streaming.metrics.PipelineMetrics"
# By name first: the raw tables' `event_time`, the end of a window or session (a row stands for
# events up to it), the Kafka timestamp of a dead letter (it has no valid event time of its own).
FRESHNESS_NAMES = ("event_time", "window_end", "session_end", "kafka_timestamp")
# Timestamp columns that say when the job ran, not when things happened: never event time.
PROCESSING_TIME_NAMES = frozenset({"ingestion_time", "watermark_at_arrival"})
TIMESTAMP_ROOTS = ("TIMESTAMP", "TIMESTAMP_LTZ")
PARTITION_COLUMN = KAFKA_PARTITION  # the good-records view's column, as a late table keeps it


def function_ddl() -> str:
    """Registers the function for the job's INSERTs (temporary: nothing is written to a catalog)."""
    return f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {FUNCTION} AS {literal(FUNCTION_CLASS)} LANGUAGE JAVA"


def _is_timestamp(sql_type: str) -> bool:
    try:
        return parse_type(sql_type).root in TIMESTAMP_ROOTS
    except FlinkTypeError:
        return False


def freshness_column(timestamps: Sequence[str], declared: str | None = None) -> str | None:
    """The one rule for a table's freshness column, given its timestamp columns in order (the job's
    ``newestEventTime`` gauge and the status command both use it): the pipeline's declared column,
    else the first of FRESHNESS_NAMES, else the first timestamp that is not processing time."""
    if declared is not None and declared in timestamps:
        return declared
    for name in FRESHNESS_NAMES:
        if name in timestamps:
            return name
    return next((name for name in timestamps if name not in PROCESSING_TIME_NAMES), None)


def event_time_column(schema: Sequence[tuple[str, str]], declared: str | None = None) -> str | None:
    """The sink column whose newest value is the table's freshness (rule: freshness_column)."""
    types = dict(schema)
    if declared is not None and (declared not in types or not _is_timestamp(types[declared])):
        raise ValueError(
            f"get_event_time_column() names '{declared}', which is not a TIMESTAMP or "
            f"TIMESTAMP_LTZ column of the sink schema ({', '.join(types)})"
        )
    return freshness_column([name for name, sql_type in schema if _is_timestamp(sql_type)], declared)


def metrics_call(
    pipeline: str,
    column: str,
    time_column: str | None,
    window: str | None = None,
    late_origin: tuple[str, str] | None = None,
) -> str:
    """The call that returns `column` and counts the row (and a window's late records, also per
    topic and partition when `late_origin` gives their SQL expressions)."""
    arguments = [literal(pipeline), quote(column)]
    if time_column or window:
        arguments.append(quote(time_column) if time_column else "CAST(NULL AS TIMESTAMP(3))")
    if window:
        arguments.append(literal(window))
        if late_origin:
            arguments += list(late_origin)
    return f"{FUNCTION}({', '.join(arguments)})"


def late_origin(columns: Sequence[str], primary_topic: str) -> tuple[str, str] | None:
    """Where a late pipeline's rows came from, for lateRecords per partition: the topic (its
    ``source_topic`` column, else the pipeline's source topic) and the ``kafka_partition`` column;
    None when the table does not keep the partition."""
    if PARTITION_COLUMN not in columns:
        return None
    topic = quote("source_topic") if "source_topic" in columns else literal(primary_topic)
    return topic, quote(PARTITION_COLUMN)


FIXED_WIDTH_ROOTS = frozenset({"BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "DATE"})


def _is_fixed_width(sql_type: str) -> bool:
    try:
        return parse_type(sql_type).root in FIXED_WIDTH_ROOTS
    except FlinkTypeError:
        return False


def carrier_column(schema: Sequence[tuple[str, str]], primary_key: Sequence[str]) -> str:
    """The column the call passes through: the first fixed-width one outside the primary key,
    else the first outside it (see the module docstring)."""
    free = [(c, t) for c, t in schema if c not in primary_key]
    return next((c for c, t in free if _is_fixed_width(t)), free[0][0] if free else schema[0][0])


def metered_select(
    select_sql: str,
    schema: Sequence[tuple[str, str]],
    primary_key: Sequence[str],
    pipeline: str,
    time_column: str | None,
    window: str | None = None,
    origin: tuple[str, str] | None = None,
) -> str:
    """The SELECT as a sub-query whose columns pass through the metrics call (a newline before
    the closing parenthesis, so a trailing -- comment in the SELECT cannot swallow it)."""
    carrier = carrier_column(schema, primary_key)
    projected = ", ".join(
        f"{metrics_call(pipeline, c, time_column, window, origin)} AS {quote(c)}" if c == carrier else quote(c)
        for c, _ in schema
    )
    return f"SELECT {projected}\nFROM (\n{select_sql.strip()}\n)"


def metered_insert(transformer: BaseTransformer, sources: SourceTables, sink: str, pipeline: str) -> str:
    """The pipeline's INSERT with its metrics: BaseTransformer.get_transformation_sql's INSERT
    (the sink's columns named) over the metered SELECT. A transformer that writes its own INSERT
    keeps it, unmetered."""
    if type(transformer).get_transformation_sql is not BaseTransformer.get_transformation_sql:
        log.warning(
            "pipeline %s: %s writes its own INSERT; it has no rowsOut / newestEventTime metrics",
            pipeline,
            type(transformer).__name__,
        )
        return transformer.get_transformation_sql(sources, sink)
    schema = list(transformer.get_sink_schema().items())
    columns = [c for c, _ in schema]
    time_column = event_time_column(schema, transformer.get_event_time_column())
    window = transformer.get_late_records_of()
    origin = late_origin(columns, sources.primary_topic) if window else None
    select = metered_select(
        transformer.get_select_sql(sources),
        schema,
        transformer.get_primary_key(),
        pipeline,
        time_column,
        window,
        origin,
    )
    return f"INSERT INTO {sink} ({', '.join(quote(c) for c in columns)})\n{select}"
