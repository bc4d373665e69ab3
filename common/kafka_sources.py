"""Render one Kafka source table per topic: JSON values, event time and watermark from YAML."""

from __future__ import annotations

from common.config import TopicConfig
from common.properties import KafkaSettings
from common.sql import column_list, interval, qualified, quote, with_clause

SOURCE_CATALOG = "default_catalog"
SOURCE_DATABASE = "default_database"
EVENT_TIME_COLUMN = "event_time"

# MSK with IAM: SASL over TLS, signed by the aws-msk-iam-auth library in the job's jar.
MSK_IAM_OPTIONS = {
    "properties.security.protocol": "SASL_SSL",
    "properties.sasl.mechanism": "AWS_MSK_IAM",
    "properties.sasl.jaas.config": "software.amazon.msk.auth.iam.IAMLoginModule required;",
    "properties.sasl.client.callback.handler.class": "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
}


def source_ref(topic: TopicConfig) -> str:
    """Fully qualified name of a topic's source table, for use in pipeline SQL."""
    return qualified(SOURCE_CATALOG, SOURCE_DATABASE, topic.source_table)


def event_time_expression(topic: TopicConfig) -> str:
    """A TIMESTAMP_LTZ(3) expression of the topic's event-time field."""
    field = quote(topic.event_time.field)
    if topic.event_time.field_type.startswith("BIGINT"):
        return f"TO_TIMESTAMP_LTZ({field}, 3)"
    if topic.event_time.field_type.startswith("TIMESTAMP_LTZ"):
        return f"CAST({field} AS TIMESTAMP_LTZ(3))"
    # A zone-less TIMESTAMP is read as UTC wall-clock time (the session zone is pinned to UTC).
    return f"CAST({field} AS TIMESTAMP_LTZ(3))"


def source_options(topic: TopicConfig, kafka: KafkaSettings, bounded: bool) -> dict[str, str]:
    """The connector options of a topic's source table."""
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
    options.update({
        "format": "json",
        "json.fail-on-missing-field": "false",
        # Explicit, from the kafka.on.malformed property: skip or fail, never a silent default.
        "json.ignore-parse-errors": "true" if kafka.on_malformed == "skip" else "false",
    })
    if kafka.auth == "iam":
        options.update(MSK_IAM_OPTIONS)
    return options


def render_source_ddl(topic: TopicConfig, kafka: KafkaSettings, bounded: bool) -> str:
    """CREATE TABLE for a topic: its schema, an event_time column and its watermark."""
    delay_ms = topic.event_time.max_out_of_orderness_ms
    lines = column_list(topic.schema) + [
        f"  {quote(EVENT_TIME_COLUMN)} AS {event_time_expression(topic)}",
        f"  WATERMARK FOR {quote(EVENT_TIME_COLUMN)} AS {quote(EVENT_TIME_COLUMN)} - {interval(delay_ms)}",
    ]
    body = ",\n".join(lines)
    return f"CREATE TABLE {source_ref(topic)} (\n{body}\n) {with_clause(source_options(topic, kafka, bounded))}"
