"""Render each topic's Kafka source: raw records, their parsed fields, and why a record is bad.

Design (no silent loss): the source table ``kafka_<topic>_records`` reads every Kafka value
as raw text (``'format' = 'raw'``) with its partition, offset and timestamp. Every schema
field is a computed column parsed from that text (``JSON_VALUE`` + ``TRY_CAST``), and one
more computed column, ``dead_letter_reason``, says why the record cannot be used (NULL if
it can): no value, too large, not a JSON object, a required field missing, a field of the
wrong type. Pipelines read the view ``kafka_<topic>`` = the records whose reason is NULL;
the dead-letter pipeline writes the others. Both come from one scan of the topic, and one
expression decides, so a record is always on exactly one side.

The watermark is on the parsed event time; records without one are dead letters and never
reach a window.
"""

from __future__ import annotations

from common.config import TopicConfig
from common.flink_types import split_nullability
from common.properties import KafkaSettings
from common.source_columns import EVENT_TIME_COLUMN, METADATA_COLUMNS, RAW_VALUE, REASON
from common.sql import interval, literal, qualified, quote, with_clause

SOURCE_CATALOG = "default_catalog"
SOURCE_DATABASE = "default_database"

# MSK with IAM: SASL over TLS, signed by the aws-msk-iam-auth library in the job's jar.
MSK_IAM_OPTIONS = {
    "properties.security.protocol": "SASL_SSL",
    "properties.sasl.mechanism": "AWS_MSK_IAM",
    "properties.sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
    "properties.sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
}

def records_table(topic: TopicConfig) -> str:
    """Every record of the topic, good or bad."""
    return qualified(SOURCE_CATALOG, SOURCE_DATABASE, f"{topic.source_table}_records")


def source_ref(topic: TopicConfig) -> str:
    """The good records of the topic: what pipeline SQL reads."""
    return qualified(SOURCE_CATALOG, SOURCE_DATABASE, topic.source_table)


def _json_text(column: str) -> str:
    return f"JSON_VALUE({quote(RAW_VALUE)}, {literal('$.' + column)})"


def parsed_expression(column: str, sql_type: str) -> str:
    """The field parsed from the raw JSON: NULL when missing, null or not convertible."""
    base, _ = split_nullability(sql_type)
    if base.upper() == "STRING":
        return _json_text(column)  # JSON_VALUE already returns STRING
    return f"TRY_CAST({_json_text(column)} AS {base})"


def event_time_expression(topic: TopicConfig) -> str:
    """A TIMESTAMP_LTZ(3) expression of the topic's event-time field (parsed from the raw value)."""
    parsed = parsed_expression(topic.event_time.field, dict(topic.schema)[topic.event_time.field])
    if topic.event_time.field_type.startswith("BIGINT"):
        return f"TO_TIMESTAMP_LTZ({parsed}, 3)"
    # TIMESTAMP_LTZ as is; a zone-less TIMESTAMP is read as UTC (the session zone is UTC).
    return f"CAST({parsed} AS TIMESTAMP_LTZ(3))"


def reason_expression(topic: TopicConfig, max_chars: int) -> str:
    """CASE giving the first reason a record is unusable, or NULL."""
    raw = quote(RAW_VALUE)
    whens = [
        (f"{raw} IS NULL", "no value"),
        (f"CHAR_LENGTH({raw}) > {max_chars}", f"too large: more than {max_chars} characters"),
        (f"NOT ({raw} IS JSON OBJECT)", "not a JSON object"),
    ]
    for column, sql_type in topic.schema:
        _, required = split_nullability(sql_type)
        if required or column == topic.event_time.field:
            whens.append((f"{_json_text(column)} IS NULL", f"missing required field {column}"))
    for column, sql_type in topic.schema:
        base, _ = split_nullability(sql_type)
        if base.upper() != "STRING":  # any JSON scalar reads as a STRING
            whens.append((f"{_json_text(column)} IS NOT NULL AND {parsed_expression(column, sql_type)} IS NULL",
                          f"field {column} is not {base}"))
    body = "\n".join(f"    WHEN {cond} THEN {literal(text)}" for cond, text in whens)
    return f"CASE\n{body}\n  END"


def source_options(topic: TopicConfig, kafka: KafkaSettings, bounded: bool) -> dict[str, str]:
    """The connector options of a topic's records table."""
    options = {
        "connector": "kafka",
        "topic": topic.topic_name,
        "properties.bootstrap.servers": kafka.bootstrap_servers,
        "properties.group.id": topic.consumer_group,
        "scan.startup.mode": topic.startup_mode,
    }
    if topic.startup_timestamp_ms is not None:
        options["scan.startup.timestamp-millis"] = str(topic.startup_timestamp_ms)
    if topic.event_time.emit != "on-periodic":
        options["scan.watermark.emit.strategy"] = topic.event_time.emit
    if bounded:
        # Stop at the offsets that are latest when the job starts: the job then finishes.
        options["scan.bounded.mode"] = "latest-offset"
    options.update({"format": "raw", "raw.charset": "UTF-8"})
    if kafka.auth == "iam":
        options.update(MSK_IAM_OPTIONS)
    return options


def render_source_ddl(topic: TopicConfig, kafka: KafkaSettings, bounded: bool) -> str:
    """CREATE TABLE kafka_<topic>_records: raw value, Kafka metadata, parsed fields, reason, watermark."""
    delay_ms = topic.event_time.max_out_of_orderness_ms
    lines = [f"  {quote(RAW_VALUE)} STRING"]
    lines += [f"  {quote(name)} {sql_type} METADATA FROM {literal(key)} VIRTUAL" for name, sql_type, key in METADATA_COLUMNS]
    lines += [f"  {quote(column)} AS {parsed_expression(column, sql_type)}" for column, sql_type in topic.schema]
    lines += [
        f"  {quote(EVENT_TIME_COLUMN)} AS {event_time_expression(topic)}",
        f"  {quote(REASON)} AS {reason_expression(topic, kafka.max_record_chars)}",
        f"  WATERMARK FOR {quote(EVENT_TIME_COLUMN)} AS {quote(EVENT_TIME_COLUMN)} - {interval(delay_ms)}",
    ]
    body = ",\n".join(lines)
    return f"CREATE TABLE {records_table(topic)} (\n{body}\n) {with_clause(source_options(topic, kafka, bounded))}"


def render_good_records_view(topic: TopicConfig) -> str:
    """The view pipelines read: the topic's schema plus event_time, good records only."""
    columns = ", ".join(quote(c) for c, _ in topic.schema) + f", {quote(EVENT_TIME_COLUMN)}"
    return (f"CREATE TEMPORARY VIEW {source_ref(topic)} AS\n"
            f"SELECT {columns}\nFROM {records_table(topic)}\nWHERE {quote(REASON)} IS NULL")

