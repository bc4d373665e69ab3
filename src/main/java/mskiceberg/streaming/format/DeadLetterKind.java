package mskiceberg.streaming.format;

/**
 * What kind of rule a dead letter broke: a label with few values, for metrics. The reason text
 * itself names fields and values (and goes to the dead_letters table); a metric labelled with it
 * would make one time series per distinct text.
 */
public enum DeadLetterKind {
    NO_VALUE("no_value"), // a tombstone
    TOO_LARGE("too_large"),
    NOT_UTF8("not_utf8"),
    NOT_JSON_OBJECT("not_json_object"), // not JSON, not an object, beyond the parser's limits
    TRAILING_CONTENT("trailing_content"),
    DUPLICATE_KEY("duplicate_key"),
    INVALID_FIELD("invalid_field"), // a value that breaks its column's conversion rule
    MISSING_REQUIRED_FIELD("missing_required_field"),
    EVENT_TIME_OUT_OF_RANGE("event_time_out_of_range"),
    NOT_WIRE_FORMAT("not_wire_format"), // Avro: not the registry's framing (magic byte, header)
    UNKNOWN_SCHEMA("unknown_schema"), // Avro: the schema id / version is not in the registry
    INCOMPATIBLE_SCHEMA("incompatible_schema"), // Avro: the writer's schema cannot be read as declared
    NOT_AVRO("not_avro"), // Avro: the bytes do not decode with the writer's schema
    BAD_ENVELOPE("bad_envelope"); // CDC: op, before or after do not make a change

    private final String label;

    DeadLetterKind(String label) {
        this.label = label;
    }

    /** The metric label: lower case, underscores (valid as a Prometheus label and a CloudWatch dimension). */
    public String label() {
        return label;
    }
}
