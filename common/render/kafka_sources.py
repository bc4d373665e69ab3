"""Render each topic's Kafka source: records decoded once, good and dead decided together.

Design (no silent loss, one parse): the source table ``kafka_<topic>_records`` reads every
Kafka record through the project's own value format ``strict-json`` (Java, in the job's jar:
src/main/java/mskiceberg/streaming/format). One pass over each value yields the topic's
typed fields, ``event_time`` and ``dead_letter_reason`` (NULL when the record is good); a
dead letter also carries its exact bytes (``raw_value``) and text (``raw_text``). The key
is read as raw bytes (``kafka_key``), the headers, partition, offset and timestamp as
metadata. Pipelines read the view ``kafka_<topic>`` = the records whose reason is NULL, with
the Kafka metadata the topic opts into (``metadata:``, ``view_columns``); the
dead-letter pipeline writes the others. Both come from one scan, and one decision, so a
record is always on exactly one side.

The watermark is on ``event_time``, which the decoder only sets on good records (a record
whose event time is missing or outside the topic's valid range is a dead letter), so no
window ever sees a NULL or absurd event time.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from common.errors import ConfigError
from common.load.config import AVRO, CDC_FORMATS, DEBEZIUM_AVRO, DEBEZIUM_JSON, REGISTRY_FORMATS, TopicConfig
from common.load.flink_types import split_nullability
from common.load.properties import REGISTRY, KafkaSettings
from common.load.source_columns import (
    EVENT_TIME_COLUMN,
    KAFKA_KEY,
    KAFKA_KEY_TEXT,
    KAFKA_PARTITION,
    METADATA_COLUMNS,
    RAW_TEXT,
    RAW_VALUE,
    REASON,
    VIEW_METADATA,
)
from common.sql import interval, literal, qualified, quote, with_clause

SOURCE_CATALOG = "default_catalog"
SOURCE_DATABASE = "default_database"
VALUE_FORMAT = "strict-json"  # StrictJsonFormatFactory.IDENTIFIER
# The jar's decoder of each topics.yaml format: the same row (fields, event_time, reason, raw
# value) and the same dead-letter rules, whatever the bytes (src/main/java/.../format).
VALUE_FORMATS = {
    "json": VALUE_FORMAT,
    AVRO: "registry-avro",  # RegistryAvroFormatFactory.IDENTIFIER
    DEBEZIUM_JSON: "strict-debezium-json",  # DebeziumJsonFormatFactory.IDENTIFIER
    DEBEZIUM_AVRO: "registry-debezium-avro",  # DebeziumAvroFormatFactory.IDENTIFIER
}
CONNECTOR = "kafka-idle-aware"  # IdleAwareKafkaTableFactory.IDENTIFIER: Flink's kafka + exact idleness

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


def required_fields(topic: TopicConfig) -> list[str]:
    """Fields declared NOT NULL in topics.yaml (the decoder also always requires the event-time field)."""
    return [column for column, sql_type in topic.schema if split_nullability(sql_type)[1]]


def format_options(topic: TopicConfig, kafka: KafkaSettings) -> dict[str, str]:
    """The value format's options: the rules every format shares, then the format's own."""
    value_format = VALUE_FORMATS[topic.format]
    prefix = f"value.{value_format}."
    options = {"value.format": value_format}
    if topic.format in CDC_FORMATS:  # event time: the envelope's ts_ms, always
        options[prefix + "key-fields"] = ";".join(topic.primary_key)
    else:
        options[prefix + "event-time.field"] = topic.event_time.field
    options.update(
        {
            prefix + "event-time.valid-from": topic.event_time.valid_from,
            prefix + "event-time.valid-until": topic.event_time.valid_until,
            prefix + "max-bytes": str(kafka.max_record_bytes),
            prefix + "topic": topic.topic_name,  # the "topic" label of its metrics (common/render/metrics.py)
        }
    )
    required = required_fields(topic)
    if required:
        options[prefix + "required-fields"] = ";".join(required)
    if topic.format in REGISTRY_FORMATS:
        options.update({prefix + k: v for k, v in registry_options(topic, kafka).items()})
    return options


def registry_options(topic: TopicConfig, kafka: KafkaSettings) -> dict[str, str]:
    """registry-avro's options (RegistryAvroFormatFactory): which registry, and where it is."""
    assert topic.registry is not None  # the loader requires it for an Avro topic
    if topic.registry.kind == "confluent" and not kafka.registry.confluent_url:
        raise ConfigError(
            "application properties",
            f"{REGISTRY}.confluent.url",
            f"topic {topic.key} reads Avro through a Confluent-compatible registry, and no URL is set",
            "the registry's base URL, e.g. https://registry.example:8081 (or $SCHEMA_REGISTRY_URL)",
        )
    return {"registry": topic.registry.kind, **registry_location(kafka, topic.registry.kind)}


def registry_location(kafka: KafkaSettings, kind: str) -> dict[str, str]:
    """Where a registry of the kind is, as registry-avro's registry.* options."""
    where = kafka.registry
    if kind == "confluent":
        options = {"registry.url": where.confluent_url, "registry.basic-auth.user-info": where.confluent_user_info}
    else:
        options = {"registry.region": where.glue_region, "registry.endpoint": where.glue_endpoint}
    return {k: v for k, v in options.items() if v}


def event_time_peer(topic: TopicConfig) -> str:
    """topic|field|type[|avro:REGISTRY]: how the idle-aware source reads this topic's event time from its log."""
    peer = f"{topic.topic_name}|{topic.event_time.field}|{split_nullability(topic.event_time.field_type)[0]}"
    return peer + (f"|avro:{topic.registry.kind}" if topic.registry else "")


def idleness_options(topic: TopicConfig, peers: Sequence[TopicConfig], kafka: KafkaSettings) -> dict[str, str]:
    """The idle-aware connector's options (src/main/java/mskiceberg/streaming/source/IdleRule.java).

    A partition is idle when nothing was read from it for the idle timeout and it has nothing
    to read; it then holds the watermark at the newest event time that its own topic's log had
    one idle timeout earlier, minus the topic's out-of-orderness. ``peers`` (every topic of the
    job) share one log probe per JVM, and are what a topic with ``release_after`` follows.
    """
    options = {
        "idle-aware.idle-timeout": f"{topic.event_time.idle_timeout_ms} ms",
        "idle-aware.out-of-orderness": f"{topic.event_time.max_out_of_orderness_ms} ms",
        "idle-aware.event-time-peers": ";".join(event_time_peer(t) for t in peers or (topic,)),
    }
    if topic.event_time.release_after_ms:
        options["idle-aware.release-after"] = f"{topic.event_time.release_after_ms} ms"
    # Avro peers' event times are read through their registries (the job's registry properties)
    for kind in sorted({t.registry.kind for t in peers or (topic,) if t.registry}):
        options.update({f"idle-aware.{k}": v for k, v in registry_location(kafka, kind).items()})
    return options


def source_options(
    topic: TopicConfig, kafka: KafkaSettings, bounded: bool, peers: Sequence[TopicConfig] = ()
) -> dict[str, str]:
    """The connector options of a topic's records table."""
    options = {
        "connector": CONNECTOR,
        "topic": topic.topic_name,
        "properties.bootstrap.servers": kafka.bootstrap_servers,
        "properties.group.id": topic.consumer_group,
        "scan.startup.mode": topic.startup_mode,
    }
    if topic.startup_timestamp_ms is not None:
        options["scan.startup.timestamp-millis"] = str(topic.startup_timestamp_ms)
    if topic.event_time.emit != "on-periodic":
        options["scan.watermark.emit.strategy"] = topic.event_time.emit
    options.update(idleness_options(topic, peers, kafka))
    if bounded:
        # Stop at the offsets that are latest when the job starts: the job then finishes.
        options["scan.bounded.mode"] = "latest-offset"
    options.update({"key.format": "raw", "key.fields": KAFKA_KEY, "value.fields-include": "EXCEPT_KEY"})
    options.update(format_options(topic, kafka))
    if kafka.auth == "iam":
        options.update(MSK_IAM_OPTIONS)
    options.update({f"properties.{key}": value for key, value in kafka.client_properties})
    return options


def render_source_ddl(
    topic: TopicConfig,
    kafka: KafkaSettings,
    bounded: bool,
    overrides: Mapping[str, str] | None = None,
    peers: Sequence[TopicConfig] = (),
) -> str:
    """CREATE TABLE kafka_<topic>_records: key, decoded fields, event time, reason, raw value, metadata, watermark.

    ``peers``: every topic the job reads (default: this one), whose logs tell idle partitions
    how far event time has got."""
    delay_ms = topic.event_time.max_out_of_orderness_ms
    lines = [f"  {quote(KAFKA_KEY)} BYTES"]
    # NOT NULL is the decoder's business (a missing field makes a dead letter), not the column's.
    lines += [f"  {quote(column)} {split_nullability(sql_type)[0]}" for column, sql_type in topic.schema]
    lines += [
        f"  {quote(EVENT_TIME_COLUMN)} TIMESTAMP_LTZ(3)",
        f"  {quote(REASON)} STRING",
        f"  {quote(RAW_VALUE)} BYTES",
        f"  {quote(RAW_TEXT)} STRING",
    ]
    lines += [
        f"  {quote(name)} {sql_type} METADATA FROM {literal(key)} VIRTUAL" for name, sql_type, key in METADATA_COLUMNS
    ]
    if topic.primary_key:
        # A CDC topic's changes are keyed: the planner then writes them to an upsert table of the
        # same key as they come (no materializing operator, which drops deletes of rows it never saw).
        lines.append(f"  PRIMARY KEY ({', '.join(quote(c) for c in topic.primary_key)}) NOT ENFORCED")
    lines.append(f"  WATERMARK FOR {quote(EVENT_TIME_COLUMN)} AS {quote(EVENT_TIME_COLUMN)} - {interval(delay_ms)}")
    body = ",\n".join(lines)
    options = {**source_options(topic, kafka, bounded, peers), **(overrides or {})}
    return f"CREATE TABLE {records_table(topic)} (\n{body}\n) {with_clause(options)}"


def key_text() -> str:
    """kafka_key as text when its bytes are UTF-8, else NULL: CAST alone puts U+FFFD in place of
    each bad sequence (a text nobody sent); the bytes survive the round trip only when valid."""
    key = quote(KAFKA_KEY)
    return f"CASE WHEN CAST(CAST({key} AS STRING) AS BYTES) = {key} THEN CAST({key} AS STRING) END"


def view_columns(topic: TopicConfig) -> list[str]:
    """The view's columns: the schema, event_time, kafka_partition (the late pipelines name the
    partition of each late record), then the Kafka metadata the topic asked for (VIEW_METADATA)."""
    names = [c for c, _ in topic.schema] + [EVENT_TIME_COLUMN, KAFKA_PARTITION]
    return names + [c for m in topic.metadata for c in VIEW_METADATA[m]]


def render_good_records_view(topic: TopicConfig) -> str:
    """The view pipelines read: its view_columns, good records only."""
    columns = ", ".join(f"{key_text()} AS {quote(c)}" if c == KAFKA_KEY_TEXT else quote(c) for c in view_columns(topic))
    return (
        f"CREATE TEMPORARY VIEW {source_ref(topic)} AS\n"
        f"SELECT {columns}\nFROM {records_table(topic)}\nWHERE {quote(REASON)} IS NULL"
    )
