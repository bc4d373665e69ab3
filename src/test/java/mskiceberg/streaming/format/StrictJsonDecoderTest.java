package mskiceberg.streaming.format;

import static org.apache.flink.table.api.DataTypes.BIGINT;
import static org.apache.flink.table.api.DataTypes.BOOLEAN;
import static org.apache.flink.table.api.DataTypes.BYTES;
import static org.apache.flink.table.api.DataTypes.DATE;
import static org.apache.flink.table.api.DataTypes.DECIMAL;
import static org.apache.flink.table.api.DataTypes.DOUBLE;
import static org.apache.flink.table.api.DataTypes.FIELD;
import static org.apache.flink.table.api.DataTypes.FLOAT;
import static org.apache.flink.table.api.DataTypes.INT;
import static org.apache.flink.table.api.DataTypes.ROW;
import static org.apache.flink.table.api.DataTypes.SMALLINT;
import static org.apache.flink.table.api.DataTypes.STRING;
import static org.apache.flink.table.api.DataTypes.TIME;
import static org.apache.flink.table.api.DataTypes.TIMESTAMP;
import static org.apache.flink.table.api.DataTypes.TIMESTAMP_LTZ;
import static org.apache.flink.table.api.DataTypes.TINYINT;
import static org.apache.flink.table.api.DataTypes.VARCHAR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.RowType;
import org.junit.jupiter.api.Test;

import mskiceberg.streaming.metrics.RecordingMetricGroup;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every cell of the conversion table (docs/reference/configuration.md) and every dead-letter reason, one case each. */
class StrictJsonDecoderTest {

    private static final RowType ROW_TYPE = (RowType) ROW(
            FIELD("ts", BIGINT()),
            FIELD("i", INT()),
            FIELD("l", BIGINT()),
            FIELD("t", TINYINT()),
            FIELD("s", SMALLINT()),
            FIELD("d", DOUBLE()),
            FIELD("f", FLOAT()),
            FIELD("dec", DECIMAL(5, 2)),
            FIELD("b", BOOLEAN()),
            FIELD("str", STRING()),
            FIELD("vc", VARCHAR(3)),
            FIELD("tsf", TIMESTAMP(3)),
            FIELD("ltz", TIMESTAMP_LTZ(3)),
            FIELD("dt", DATE()),
            FIELD("tm", TIME(0)),
            FIELD("by", BYTES()),
            FIELD("req", STRING()),
            FIELD("event_time", TIMESTAMP_LTZ(3)),
            FIELD("dead_letter_reason", STRING()),
            FIELD("raw_value", BYTES()),
            FIELD("raw_text", STRING())).getLogicalType();

    private static final List<String> NAMES = ROW_TYPE.getFieldNames();
    private static final long TS = 1_772_400_000_000L; // 2026-03-01T21:20:00Z

    private static StrictJsonDecoder decoder(int maxBytes) {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        options.set(StrictJsonFormatFactory.REQUIRED_FIELDS, List.of("req"));
        options.set(StrictJsonFormatFactory.MAX_BYTES, maxBytes);
        return new StrictJsonDecoder(ROW_TYPE, StrictJsonFormatFactory.settings(options), null);
    }

    private static final StrictJsonDecoder DECODER = decoder(1000);

    /** A good record with `extra` JSON members appended (they override earlier ones only through duplicates). */
    private static String record(String extra) {
        return "{\"ts\":" + TS + ",\"req\":\"r\"" + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    private static RowData decode(String json) {
        return DECODER.deserialize(json.getBytes(StandardCharsets.UTF_8));
    }

    private static Object field(RowData row, String name) {
        int pos = NAMES.indexOf(name);
        if (row.isNullAt(pos)) {
            return null;
        }
        return ((org.apache.flink.table.data.GenericRowData) row).getField(pos);
    }

    private static String reason(String json) {
        Object reason = field(decode(json), "dead_letter_reason");
        return reason == null ? null : reason.toString();
    }

    // --- good values: JSON in -> Flink value out ---------------------------------------------------

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("i", "42", 42),
                Arguments.of("i", "-2147483648", Integer.MIN_VALUE),
                Arguments.of("i", "42.0", 42),
                Arguments.of("i", "4.2e1", 42),
                Arguments.of("l", "9223372036854775807", Long.MAX_VALUE),
                Arguments.of("l", "-0.0", 0L),
                Arguments.of("t", "127", (byte) 127),
                Arguments.of("s", "-32768", (short) -32768),
                Arguments.of("d", "12.5", 12.5),
                Arguments.of("d", "7", 7.0),
                Arguments.of("d", "1e-400", 0.0),
                Arguments.of("f", "1.5", 1.5f),
                Arguments.of("dec", "123.45", DecimalData.fromBigDecimal(new BigDecimal("123.45"), 5, 2)),
                Arguments.of("dec", "1.5", DecimalData.fromBigDecimal(new BigDecimal("1.50"), 5, 2)),
                Arguments.of("dec", "7", DecimalData.fromBigDecimal(new BigDecimal("7.00"), 5, 2)),
                Arguments.of("dec", "1.230", DecimalData.fromBigDecimal(new BigDecimal("1.23"), 5, 2)),
                Arguments.of("b", "true", true),
                Arguments.of("b", "false", false),
                Arguments.of("str", "\"caf\\u00e9\"", StringData.fromString("café")),
                Arguments.of("str", "12.50", StringData.fromString("12.50")),
                Arguments.of("str", "true", StringData.fromString("true")),
                Arguments.of("str", "{ \"a\" : [1, 2.50, \"x\"], \"b\": {\"c\": null} }",
                        StringData.fromString("{\"a\":[1,2.50,\"x\"],\"b\":{\"c\":null}}")),
                Arguments.of("str", "[ ]", StringData.fromString("[]")),
                Arguments.of("vc", "\"abc\"", StringData.fromString("abc")),
                Arguments.of("vc", "\"äöü\"", StringData.fromString("äöü")),
                Arguments.of("tsf", "\"2026-03-01 21:20:00\"", ts("2026-03-01T21:20:00")),
                Arguments.of("tsf", "\"2026-03-01T21:20:00.123\"", ts("2026-03-01T21:20:00.123")),
                Arguments.of("tsf", "\"2026-03-01T21:20:00.123456Z\"", ts("2026-03-01T21:20:00.123")),
                Arguments.of("tsf", "\"2026-03-01T23:20:00+02:00\"", ts("2026-03-01T21:20:00")),
                Arguments.of("ltz", "\"2026-03-01 16:20:00.5-05:00\"", ts("2026-03-01T21:20:00.500")),
                Arguments.of("ltz", "\"2026-03-01T21:20:00Z\"", ts("2026-03-01T21:20:00")),
                Arguments.of("dt", "\"2026-03-01\"", (int) LocalDate.parse("2026-03-01").toEpochDay()),
                Arguments.of("tm", "\"21:20:05\"", (21 * 3600 + 20 * 60 + 5) * 1000),
                Arguments.of("by", "\"AAEC\"", new byte[] {0, 1, 2}),
                Arguments.of("i", "null", null),
                Arguments.of("unknown", "{\"deep\": [1, {\"x\": NaNx}]}", null));
    }

    private static TimestampData ts(String iso) {
        return TimestampData.fromLocalDateTime(LocalDateTime.parse(iso));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("accepted")
    void acceptsAndConverts(String name, String json, Object expected) {
        String text = record("\"" + name + "\":" + json);
        if (name.equals("unknown")) { // an unknown member that is not valid JSON still makes the record bad
            assertEquals("not a JSON object", reason(text));
            return;
        }
        RowData row = decode(text);
        assertNull(field(row, "dead_letter_reason"), () -> "reason: " + field(row, "dead_letter_reason"));
        Object got = NAMES.contains(name) ? field(row, name) : null;
        if (expected instanceof byte[]) {
            assertArrayEquals((byte[]) expected, (byte[]) got);
        } else {
            assertEquals(expected, got);
        }
        assertNull(field(row, "raw_value"), "good records carry no raw copy");
        assertNull(field(row, "raw_text"));
    }

    @Test
    void goodRecordHasEventTimeAndTypedFields() {
        RowData row = decode(record("\"i\":1,\"unknown\":[1,2,{\"a\":\"b\"}]"));
        assertNull(field(row, "dead_letter_reason"));
        assertEquals(TimestampData.fromEpochMillis(TS), field(row, "event_time"));
        assertEquals(TS, field(row, "ts"));
        assertEquals(StringData.fromString("r"), field(row, "req"));
        assertEquals(1, field(row, "i"));
    }

    // --- dead letters: every reason ----------------------------------------------------------------

    static Stream<Arguments> refused() {
        return Stream.of(
                // the value as a whole
                Arguments.of("not json", "not a JSON object"),
                Arguments.of("[1, 2]", "not a JSON object"),
                Arguments.of("\"text\"", "not a JSON object"),
                Arguments.of("42", "not a JSON object"),
                Arguments.of("", "not a JSON object"),
                Arguments.of("{\"ts\":" + TS + ",\"req\":\"r\"", "not a JSON object"),
                Arguments.of(record("\"d\":NaN"), "not a JSON object"),
                Arguments.of(record("\"d\":Infinity"), "not a JSON object"),
                Arguments.of(record("\"i\":01"), "not a JSON object"),
                Arguments.of(record("\"i\":1") + " {}", "trailing content after the JSON object"),
                Arguments.of(record("\"i\":1") + "x", "trailing content after the JSON object"),
                Arguments.of(record("\"i\":1") + "}", "trailing content after the JSON object"),
                Arguments.of(record("\"i\":1") + " \n\t", null),
                Arguments.of(record("\"i\":1,\"i\":2"), "duplicate key i"),
                Arguments.of(record("\"x\":{\"k\":1,\"k\":2}"), "duplicate key k"),
                Arguments.of(record("\"zz\":1,\"zz\":2"), "duplicate key zz"),
                Arguments.of(record("\"i\":\"no\",\"i\":2"), "duplicate key i"),
                Arguments.of(record("\"x\":[{\"k\":1,\"k\":2}]"), "duplicate key k"),
                Arguments.of(record("\"str\":{\"a\":{\"k\":1,\"k\":2}}"), "duplicate key k"),
                Arguments.of("{\"i\":1,\"i\":2,", "duplicate key i"),
                Arguments.of("{\"i\":1,,\"i\":2}", "not a JSON object"),
                // JSON errors come before field errors, wherever they are
                Arguments.of(record("\"i\":\"one\",\"x\":[1,"), "not a JSON object"),
                // integers
                Arguments.of(record("\"i\":1.5"), "field i: not an integer for INT"),
                Arguments.of(record("\"l\":1e-3"), "field l: not an integer for BIGINT"),
                Arguments.of(record("\"i\":2147483648"), "field i: out of range for INT"),
                Arguments.of(record("\"l\":9223372036854775808"), "field l: out of range for BIGINT"),
                Arguments.of(record("\"l\":1e19"), "field l: out of range for BIGINT"),
                Arguments.of(record("\"t\":128"), "field t: out of range for TINYINT"),
                Arguments.of(record("\"s\":-32769"), "field s: out of range for SMALLINT"),
                Arguments.of(record("\"i\":\"42\""), "field i: expected INT, found a string"),
                Arguments.of(record("\"i\":true"), "field i: expected INT, found a boolean"),
                Arguments.of(record("\"l\":{\"v\":1}"), "field l: expected BIGINT, found an object"),
                Arguments.of(record("\"l\":[1]"), "field l: expected BIGINT, found an array"),
                // floating point
                Arguments.of(record("\"d\":1e400"), "field d: out of range for DOUBLE"),
                Arguments.of(record("\"d\":-1e400"), "field d: out of range for DOUBLE"),
                Arguments.of(record("\"f\":1e39"), "field f: out of range for FLOAT"),
                Arguments.of(record("\"d\":\"NaN\""), "field d: expected DOUBLE, found a string"),
                Arguments.of(record("\"d\":\"Infinity\""), "field d: expected DOUBLE, found a string"),
                // decimal
                Arguments.of(record("\"dec\":1.234"), "field dec: needs rounding for DECIMAL(5, 2)"),
                Arguments.of(record("\"dec\":1000"), "field dec: too many digits for DECIMAL(5, 2)"),
                Arguments.of(record("\"dec\":\"1.5\""), "field dec: expected DECIMAL(5, 2), found a string"),
                // boolean
                Arguments.of(record("\"b\":\"true\""), "field b: expected BOOLEAN, found a string"),
                Arguments.of(record("\"b\":1"), "field b: expected BOOLEAN, found a number"),
                // text
                Arguments.of(record("\"vc\":\"abcd\""), "field vc: longer than 3 characters for VARCHAR(3)"),
                // time
                Arguments.of(record("\"tsf\":\"yesterday\""),
                        "field tsf: not a TIMESTAMP(3) (ISO-8601 or yyyy-MM-dd HH:mm:ss[.fff])"),
                Arguments.of(record("\"tsf\":\"2026-03-0121:20:00\""),
                        "field tsf: not a TIMESTAMP(3) (ISO-8601 or yyyy-MM-dd HH:mm:ss[.fff])"),
                Arguments.of(record("\"tsf\":\"2026-02-30 10:00:00\""),
                        "field tsf: not a TIMESTAMP(3) (ISO-8601 or yyyy-MM-dd HH:mm:ss[.fff])"),
                Arguments.of(record("\"tsf\":" + TS), "field tsf: expected TIMESTAMP(3), found a number"),
                Arguments.of(record("\"ltz\":\"2026-03-01T25:00:00Z\""),
                        "field ltz: not a TIMESTAMP_LTZ(3) (ISO-8601 or yyyy-MM-dd HH:mm:ss[.fff])"),
                Arguments.of(record("\"dt\":\"2026-13-01\""), "field dt: not a DATE (yyyy-MM-dd)"),
                Arguments.of(record("\"tm\":\"24:00:00\""), "field tm: not a TIME (HH:mm:ss[.fff])"),
                Arguments.of(record("\"by\":\"%%%\""), "field by: not base64 for BYTES"),
                // the first bad field in the value's order is the reason
                Arguments.of(record("\"b\":0,\"i\":0.5"), "field b: expected BOOLEAN, found a number"),
                // required fields and event time
                Arguments.of("{\"req\":\"r\"}", "missing required field ts"),
                Arguments.of("{\"ts\":null,\"req\":\"r\"}", "missing required field ts"),
                Arguments.of("{\"ts\":" + TS + "}", "missing required field req"),
                Arguments.of("{\"ts\":" + TS + ",\"req\":null}", "missing required field req"),
                Arguments.of("{\"ts\":" + TS * 1000 + ",\"req\":\"r\"}",
                        "event time ts outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)"),
                Arguments.of("{\"ts\":" + TS / 1000 + ",\"req\":\"r\"}",
                        "event time ts outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)"),
                Arguments.of("{\"ts\":" + Long.MAX_VALUE + ",\"req\":\"r\"}",
                        "event time ts outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)"),
                Arguments.of("{\"ts\":4102444800000,\"req\":\"r\"}",
                        "event time ts outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)"),
                Arguments.of("{\"ts\":4102444799999,\"req\":\"r\"}", null),
                Arguments.of("{\"ts\":946684800000,\"req\":\"r\"}", null));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("refused")
    void deadLetterReason(String json, String expected) {
        assertEquals(expected, reason(json));
    }

    /** The reason's family, as docs/reference/metrics.md groups them: the kind its metric is labelled with. */
    private static DeadLetterKind expectedKind(String reason) {
        if (reason.startsWith("field ")) {
            return DeadLetterKind.INVALID_FIELD;
        } else if (reason.startsWith("missing required field ")) {
            return DeadLetterKind.MISSING_REQUIRED_FIELD;
        } else if (reason.startsWith("event time ")) {
            return DeadLetterKind.EVENT_TIME_OUT_OF_RANGE;
        } else if (reason.startsWith("duplicate key ")) {
            return DeadLetterKind.DUPLICATE_KEY;
        } else if (reason.startsWith("trailing content")) {
            return DeadLetterKind.TRAILING_CONTENT;
        } else if (reason.startsWith("not a JSON object")) {
            return DeadLetterKind.NOT_JSON_OBJECT;
        }
        throw new AssertionError("a reason of no known family: " + reason);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("refused")
    void deadLetterKind(String json, String expected) {
        if (expected != null) {
            decode(json);
            assertEquals(expectedKind(expected), DECODER.lastKind());
        }
    }

    /**
     * The fast pass (duplicates checked by the decoder at the top level, Jackson's detection only
     * for records with nested values) answers exactly as Jackson's detection on every record does:
     * the same reason, the same values. Seeded random records: schema and unknown keys in random
     * order, repeated keys, nested objects and arrays with and without repeats, nulls, values of
     * the wrong type, cut short; the key order changes from record to record (the field-order
     * guess must never pick a wrong field).
     */
    @Test
    void fastPassAnswersAsJacksonsDetection() {
        java.util.Random random = new java.util.Random(20261207L);
        String[] keys = {"ts", "i", "l", "d", "b", "str", "vc", "req", "zz", "yy", "I", "str "};
        String[] values = {"1", "-7", "2.5", "true", "null", "\"abc\"", "\"\"", "1e3", "{}",
                "{\"k\":1}", "{\"k\":1,\"k\":2}", "[1,{\"a\":1,\"a\":1}]", "[]", "\"x\\\"y\"", "9223372036854775808"};
        StrictJsonDecoder fast = decoder(1000);
        StrictJsonDecoder strict = decoder(1000);
        int nested = 0;
        int duplicates = 0;
        for (int n = 0; n < 20_000; n++) {
            StringBuilder json = new StringBuilder("{");
            int members = random.nextInt(9);
            for (int m = 0; m < members; m++) {
                String key = random.nextInt(3) == 0 ? keys[random.nextInt(keys.length)] : keys[m % keys.length];
                String value = key.equals("ts") && random.nextBoolean() ? Long.toString(TS) : values[random.nextInt(values.length)];
                json.append(m == 0 ? "" : ",").append('"').append(key).append("\":").append(value);
            }
            json.append('}');
            String text = random.nextInt(20) == 0 ? json.substring(0, random.nextInt(json.length())) : json.toString();
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            Object[] got = new Object[NAMES.size() - 4];
            Object[] want = new Object[NAMES.size() - 4];
            String gotReason = fast.decode(bytes, got, false);
            String wantReason = strict.decode(bytes, want, true);
            assertEquals(wantReason, gotReason, text);
            assertArrayEquals(want, got, text);
            nested += text.contains("{\"") && text.indexOf('{', 1) > 0 ? 1 : 0;
            duplicates += wantReason != null && wantReason.startsWith("duplicate key") ? 1 : 0;
        }
        assertTrue(nested > 1000 && duplicates > 1000, "the random records must exercise both: " + nested + ", " + duplicates);
    }

    private static String deadPath(String topic, DeadLetterKind kind) {
        return "kinesisanalytics.topic." + topic + ".reason." + kind.label() + ".deadRecords";
    }

    @Test
    void countsGoodAndDeadRecordsPerTopicAndKind() {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        options.set(StrictJsonFormatFactory.REQUIRED_FIELDS, List.of("req"));
        options.set(StrictJsonFormatFactory.MAX_BYTES, 40);
        options.set(StrictJsonFormatFactory.TOPIC, "bids-prod");
        StrictJsonDecoder decoder = new StrictJsonDecoder(ROW_TYPE, StrictJsonFormatFactory.settings(options), null);
        RecordingMetricGroup group = new RecordingMetricGroup();
        decoder.registerMetrics(group);
        // every kind is there from the start, at 0
        assertEquals(1 + DeadLetterKind.values().length, group.metrics().size(), group.metrics().keySet()::toString);
        for (DeadLetterKind kind : DeadLetterKind.values()) {
            assertEquals(0L, group.count(deadPath("bids-prod", kind)));
        }
        String[] inputs = {
            record(""), record("\"i\":1"), record(""), // good (each under 40 bytes)
            null, "x".repeat(41), "{\"ts\":1,\"ts\":2}", "[]", "{} {}", "{\"i\":\"1\"}", "{\"i\":\"2\"}",
            "{\"req\":\"r\"}", "{\"ts\":1,\"req\":\"r\"}",
        };
        for (String input : inputs) {
            decoder.deserialize(input == null ? null : input.getBytes(StandardCharsets.UTF_8));
        }
        decoder.deserialize(new byte[] {(byte) 0xFF});
        assertEquals(3L, group.count("kinesisanalytics.topic.bids-prod.goodRecords"));
        assertEquals(3L, decoder.goodRecords());
        long[] expected = {1, 1, 1, 1, 1, 1, 2, 1, 1, 0, 0, 0, 0, 0}; // in DeadLetterKind order (Avro, CDC kinds: 0)
        for (DeadLetterKind kind : DeadLetterKind.values()) {
            assertEquals(expected[kind.ordinal()], group.count(deadPath("bids-prod", kind)), kind::label);
            assertEquals(expected[kind.ordinal()], decoder.deadRecords(kind), kind::label);
        }
    }

    @Test
    void topicLabelDefaultsToTheTableName() {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        StrictJsonDecoder decoder = new StrictJsonDecoder(
                ROW_TYPE, StrictJsonFormatFactory.settings(options, "kafka_bid_events_records"), null);
        RecordingMetricGroup group = new RecordingMetricGroup();
        decoder.registerMetrics(group);
        assertEquals(0L, group.count("kinesisanalytics.topic.kafka_bid_events_records.goodRecords"));
    }

    @Test
    void deadLetterKeepsExactBytesAndNoFields() {
        byte[] value = record("\"i\":1.5").getBytes(StandardCharsets.UTF_8);
        RowData row = DECODER.deserialize(value);
        assertArrayEquals(value, (byte[]) field(row, "raw_value"));
        assertEquals(StringData.fromBytes(value), field(row, "raw_text"));
        assertNull(field(row, "ts"), "no partial values on a dead letter");
        assertNull(field(row, "event_time"));
    }

    @Test
    void notUtf8KeepsBytesButNoText() {
        byte[] value = Arrays.copyOf(record("\"str\":\"x\"").getBytes(StandardCharsets.UTF_8), 60);
        value[value.length - 1] = (byte) 0xC3; // a cut-short two-byte sequence
        RowData row = DECODER.deserialize(value);
        assertEquals("not UTF-8", field(row, "dead_letter_reason").toString());
        assertArrayEquals(value, (byte[]) field(row, "raw_value"));
        assertNull(field(row, "raw_text"));
    }

    @Test
    void tombstoneAndTooLarge() {
        assertEquals("no value", DECODER.deserialize(null).getString(NAMES.indexOf("dead_letter_reason")).toString());
        StrictJsonDecoder small = decoder(20);
        byte[] value = record("").getBytes(StandardCharsets.UTF_8);
        assertTrue(value.length > 20);
        RowData row = small.deserialize(value);
        assertEquals("too large: more than 20 bytes", row.getString(NAMES.indexOf("dead_letter_reason")).toString());
        assertArrayEquals(value, row.getBinary(NAMES.indexOf("raw_value")));
    }

    @Test
    void utf8Validation() {
        assertTrue(Utf8.isValid("aé€😀".getBytes(StandardCharsets.UTF_8)));
        byte[][] invalid = {
            {(byte) 0x80}, // continuation first
            {(byte) 0xC0, (byte) 0x80}, // overlong NUL
            {(byte) 0xE0, (byte) 0x80, (byte) 0x80}, // overlong
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // surrogate U+D800
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // above U+10FFFF
            {(byte) 0xE2, (byte) 0x82}, // cut short
            {(byte) 0xFF},
        };
        for (byte[] bytes : invalid) {
            assertTrue(!Utf8.isValid(bytes), () -> Arrays.toString(bytes));
        }
    }

    @Test
    void badConfigurationFailsAtPlanning() {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "nope");
        assertThrows(ValidationException.class,
                () -> new StrictJsonDecoder(ROW_TYPE, StrictJsonFormatFactory.settings(options), null));
        Configuration reversed = new Configuration();
        reversed.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        reversed.set(StrictJsonFormatFactory.VALID_FROM, "2100-01-01T00:00:00Z");
        reversed.set(StrictJsonFormatFactory.VALID_UNTIL, "2000-01-01T00:00:00Z");
        assertThrows(ValidationException.class, () -> StrictJsonFormatFactory.settings(reversed));
    }
}
