"""Names of the columns every Kafka records table adds to a topic's schema (see kafka_sources).

In a module of its own so the loader can reserve them without importing the renderer.
"""

EVENT_TIME_COLUMN = "event_time"
RAW_VALUE = "raw_value"
REASON = "dead_letter_reason"
METADATA_COLUMNS = (
    ("kafka_partition", "INT", "partition"),
    ("kafka_offset", "BIGINT", "offset"),
    ("kafka_timestamp", "TIMESTAMP_LTZ(3)", "timestamp"),
)

# column -> why a topic schema may not use that name
RESERVED = {
    EVENT_TIME_COLUMN: "the event time computed from event_time.field",
    RAW_VALUE: "the record's raw value",
    REASON: "why a record is a dead letter",
    **{name: "Kafka metadata" for name, _, _ in METADATA_COLUMNS},
}

# Types a field cannot be parsed into from JSON text with TRY_CAST (nested values).
NESTED_TYPES = ("ARRAY", "MULTISET", "MAP", "ROW")
