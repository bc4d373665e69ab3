"""Names of the columns every Kafka records table adds to a topic's schema (see kafka_sources).

In a module of its own so the loader can reserve them without importing the renderer. The
strict-json format (src/main/java/mskiceberg/streaming/format) fills EVENT_TIME_COLUMN,
REASON, RAW_VALUE and RAW_TEXT by these same names.
"""

EVENT_TIME_COLUMN = "event_time"
REASON = "dead_letter_reason"
RAW_VALUE = "raw_value"  # the value's exact bytes, on dead letters only
RAW_TEXT = "raw_text"  # the value as text, on dead letters whose value is UTF-8
KAFKA_KEY = "kafka_key"  # the record key (the key format is raw bytes)
KAFKA_KEY_TEXT = "kafka_key_text"  # the key as text, NULL unless UTF-8: in the view only (kafka_sources)
KAFKA_PARTITION = "kafka_partition"  # the record's partition: also in the good-records view
METADATA_COLUMNS = (
    (KAFKA_PARTITION, "INT", "partition"),
    ("kafka_offset", "BIGINT", "offset"),
    ("kafka_timestamp", "TIMESTAMP_LTZ(3)", "timestamp"),
    ("kafka_headers", "MAP<STRING, BYTES>", "headers"),
)
# A topic's `metadata:` in topics.yaml -> the columns each value adds to the good-records view,
# in the view's order. Opt-in, so a view (and a SELECT * over it) only has what was asked for;
# kafka_partition is always there (the late pipelines name each late record's partition).
VIEW_METADATA = {
    "key": (KAFKA_KEY, KAFKA_KEY_TEXT),
    "offset": ("kafka_offset",),
    "timestamp": ("kafka_timestamp",),
    "headers": ("kafka_headers",),
}

# column -> why a topic schema may not use that name
RESERVED = {
    EVENT_TIME_COLUMN: "the event time computed from event_time.field",
    REASON: "why a record is a dead letter",
    RAW_VALUE: "the record's raw value",
    RAW_TEXT: "the record's raw value as text",
    KAFKA_KEY: "the Kafka record key",
    KAFKA_KEY_TEXT: "the Kafka record key as text",
    **{name: "Kafka metadata" for name, _, _ in METADATA_COLUMNS},
}

# Scalar types Flink's DDL knows but the decoder does not read from JSON (TIMESTAMP WITH TIME
# ZONE does not even plan in a Flink 2.2 table), and the ones it reads (docs/reference/configuration.md).
UNREADABLE_TYPES = ("TIMESTAMP_TZ", "INTERVAL")
READABLE_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INT",
    "BIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL(p, s)",
    "BOOLEAN",
    "STRING",
    "CHAR(n)",
    "VARCHAR(n)",
    "BYTES",
    "BINARY(n)",
    "VARBINARY(n)",
    "DATE",
    "TIME(p)",
    "TIMESTAMP(p)",
    "TIMESTAMP_LTZ(p)",
    "ROW<name type, ...>",
    "ARRAY<type>",
    "MAP<STRING, type>",
)
