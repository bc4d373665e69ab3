package mskiceberg.streaming.format;

import static org.apache.flink.table.api.DataTypes.ARRAY;
import static org.apache.flink.table.api.DataTypes.BYTES;
import static org.apache.flink.table.api.DataTypes.DECIMAL;
import static org.apache.flink.table.api.DataTypes.FIELD;
import static org.apache.flink.table.api.DataTypes.INT;
import static org.apache.flink.table.api.DataTypes.ROW;
import static org.apache.flink.table.api.DataTypes.STRING;
import static org.apache.flink.table.api.DataTypes.TIMESTAMP_LTZ;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.ObjectIdentifier;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.InstantiationUtil;
import org.apache.flink.util.UserCodeClassLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import mskiceberg.streaming.metrics.RecordingMetricGroup;

/**
 * strict-debezium-json: every op, every envelope error with its exact reason and kind, tombstones,
 * counters, planning-time validation, and a seeded random changelog replayed against a model.
 */
class DebeziumJsonDecoderTest {

    private static final DataType DATA_TYPE = ROW(
            FIELD("tenant", STRING().notNull()), // a key column NOT NULL in the DDL, as a primary key is
            FIELD("id", INT().notNull()),
            FIELD("name", STRING()), // required-fields
            FIELD("price", DECIMAL(10, 2)),
            FIELD("scores", ARRAY(INT())),
            FIELD("address", ROW(FIELD("city", STRING()), FIELD("zip", INT()))),
            FIELD("event_time", TIMESTAMP_LTZ(3)),
            FIELD("dead_letter_reason", STRING()),
            FIELD("raw_value", BYTES()),
            FIELD("raw_text", STRING()));
    private static final RowType ROW_TYPE = (RowType) DATA_TYPE.getLogicalType();
    private static final List<String> NAMES = ROW_TYPE.getFieldNames();
    private static final int COLUMNS = 6; // the table's own columns, first in the row
    private static final int REASON = NAMES.indexOf("dead_letter_reason");
    private static final int EVENT_TIME = NAMES.indexOf("event_time");
    private static final long TS = 1_772_400_000_000L; // 2026-03-01T21:20:00Z
    private static final String RANGE = "event time ts_ms outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)";

    private static Configuration options(int maxBytes) {
        Configuration options = Configuration.fromMap(Map.of("key-fields", "tenant;id", "required-fields", "name"));
        options.set(StrictJsonFormatFactory.MAX_BYTES, maxBytes);
        options.set(StrictJsonFormatFactory.TOPIC, "orders-cdc");
        return options;
    }

    private static DebeziumDecoder decoder(RowType type, Configuration options) {
        return new DebeziumDecoder(type, options.get(DebeziumJsonFormatFactory.KEY_FIELDS),
                StrictJsonFormatFactory.settings(options, "table"), null);
    }

    private static DebeziumDecoder decoder() {
        return decoder(ROW_TYPE, options(100_000));
    }

    private static final DebeziumDecoder DECODER = decoder();

    private static List<RowData> decode(DebeziumDecoder decoder, byte[] value) {
        List<RowData> rows = new ArrayList<>();
        decoder.deserialize(value, new ListCollector<>(rows));
        return rows;
    }

    private static List<RowData> decode(String json) {
        return decode(DECODER, json.getBytes(StandardCharsets.UTF_8));
    }

    // --- envelopes ----------------------------------------------------------------------------

    private static final String IMAGE =
            "{\"tenant\":\"acme\",\"id\":7,\"name\":\"pen\",\"price\":1.5,\"scores\":[1,null,3],"
                    + "\"address\":{\"city\":\"Oslo\",\"zip\":150}}";
    private static final String IMAGE2 =
            "{\"tenant\":\"acme\",\"id\":7,\"name\":\"ink\",\"price\":2,\"scores\":[],\"address\":null}";
    private static final String KEY_ONLY = "{\"tenant\":\"acme\",\"id\":7}";
    private static final String SOURCE =
            "{\"version\":\"2.7.0.Final\",\"connector\":\"postgresql\",\"name\":\"shop\",\"ts_ms\":" + (TS - 5)
                    + ",\"db\":\"shop\",\"schema\":\"public\",\"table\":\"items\",\"lsn\":24023128}";

    /** A Debezium envelope as the JsonConverter writes it (schemas.enable=false); null images as JSON null. */
    private static String envelope(String op, String before, String after) {
        return "{\"before\":" + before + ",\"after\":" + after + ",\"source\":" + SOURCE + ",\"op\":\"" + op
                + "\",\"ts_ms\":" + TS + ",\"transaction\":null}";
    }

    /** An image with one member set to a raw JSON value (added when missing), or left out when value is null. */
    private static String with(String image, String member, String value) {
        return value == null ? Generator.removeMember(image, member) : Generator.replaceMember(image, member, value);
    }

    private static Object field(RowData row, String name) {
        return ((GenericRowData) row).getField(NAMES.indexOf(name));
    }

    private static void assertImage(RowData row, RowKind kind, String name) {
        assertEquals(kind, row.getRowKind());
        assertNull(field(row, "dead_letter_reason"));
        assertEquals(StringData.fromString("acme"), field(row, "tenant"));
        assertEquals(7, field(row, "id"));
        assertEquals(name == null ? null : StringData.fromString(name), field(row, "name"));
        assertEquals(TimestampData.fromEpochMillis(TS), field(row, "event_time"));
        assertNull(field(row, "raw_value"), "good rows carry no raw copy");
        assertNull(field(row, "raw_text"));
    }

    // --- every op -----------------------------------------------------------------------------

    @Test
    void createAndReadAreOneInsertOfAfter() {
        for (String op : List.of("c", "r")) {
            List<RowData> rows = decode(envelope(op, "null", IMAGE));
            assertEquals(1, rows.size());
            RowData row = rows.get(0);
            assertImage(row, RowKind.INSERT, "pen");
            assertEquals(new BigDecimal("1.50"), row.getDecimal(3, 10, 2).toBigDecimal());
            ArrayData scores = row.getArray(4);
            assertEquals(3, scores.size());
            assertEquals(1, scores.getInt(0));
            assertTrue(scores.isNullAt(1));
            assertEquals(StringData.fromString("Oslo"), row.getRow(5, 2).getString(0));
            assertEquals(150, row.getRow(5, 2).getInt(1));
        }
    }

    @Test
    void createIgnoresABeforeImageAndUnknownMembers() {
        String after = with(IMAGE, "unknown_column", "{\"deep\":[1,2]}");
        List<RowData> rows = decode("{\"before\":" + IMAGE2 + ",\"after\":" + after + ",\"source\":" + SOURCE
                + ",\"op\":\"c\",\"ts_ms\":" + TS + ",\"ts_us\":" + TS * 1000 + ",\"ts_ns\":" + TS * 1_000_000
                + ",\"transaction\":{\"id\":\"571:53195829\",\"total_order\":1,\"data_collection_order\":1}}");
        assertEquals(1, rows.size());
        assertImage(rows.get(0), RowKind.INSERT, "pen");
    }

    @Test
    void updateWithBeforeIsUpdateBeforeThenUpdateAfter() {
        List<RowData> rows = decode(envelope("u", IMAGE, IMAGE2));
        assertEquals(2, rows.size());
        assertImage(rows.get(0), RowKind.UPDATE_BEFORE, "pen");
        assertImage(rows.get(1), RowKind.UPDATE_AFTER, "ink");
        assertTrue(rows.get(1).isNullAt(5), "after's address is null");
    }

    @Test
    void updateWithoutBeforeIsUpdateAfterOnly() {
        for (String json : List.of(envelope("u", "null", IMAGE2),
                "{\"after\":" + IMAGE2 + ",\"op\":\"u\",\"ts_ms\":" + TS + "}")) {
            List<RowData> rows = decode(json);
            assertEquals(1, rows.size(), json);
            assertImage(rows.get(0), RowKind.UPDATE_AFTER, "ink");
        }
    }

    @Test
    void updateWithKeyOnlyBeforeNeedsNoRequiredColumnsInBefore() {
        List<RowData> rows = decode(envelope("u", KEY_ONLY, IMAGE2));
        assertEquals(2, rows.size());
        assertImage(rows.get(0), RowKind.UPDATE_BEFORE, null);
        assertImage(rows.get(1), RowKind.UPDATE_AFTER, "ink");
    }

    @Test
    void deleteIsOneDeleteOfBefore() {
        List<RowData> rows = decode(envelope("d", IMAGE, "null"));
        assertEquals(1, rows.size());
        assertImage(rows.get(0), RowKind.DELETE, "pen");
        assertEquals(new BigDecimal("1.50"), rows.get(0).getDecimal(3, 10, 2).toBigDecimal());
    }

    @Test
    void deleteWithKeyOnlyBeforeHasNullOtherColumns() { // PostgreSQL's default replica identity
        List<RowData> rows = decode(envelope("d", KEY_ONLY, "null"));
        assertEquals(1, rows.size());
        RowData row = rows.get(0);
        assertImage(row, RowKind.DELETE, null);
        for (int i = 2; i < COLUMNS; i++) {
            assertTrue(row.isNullAt(i), NAMES.get(i));
        }
    }

    @Test
    void tombstoneEmitsNothingAndIsCounted() {
        DebeziumDecoder decoder = decoder();
        RecordingMetricGroup group = new RecordingMetricGroup();
        decoder.registerMetrics(group);
        assertEquals(List.of(), decode(decoder, null));
        assertEquals(List.of(), decode(decoder, null));
        assertEquals(2L, decoder.counters().tombstoneCount());
        assertEquals(2L, group.count("kinesisanalytics.topic.orders-cdc.tombstoneRecords"));
        assertEquals(0L, decoder.counters().goodCount());
        for (DeadLetterKind kind : DeadLetterKind.values()) {
            assertEquals(0L, decoder.counters().deadCount(kind), kind::label);
        }
    }

    @Test
    void singleRowDeserializeIsRefused() {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> DECODER.deserialize(envelope("c", "null", IMAGE).getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("deserialize(byte[], Collector)"), e.getMessage());
    }

    // --- dead letters: every reason, with its kind ---------------------------------------------

    static Stream<Arguments> refused() {
        DeadLetterKind envelope = DeadLetterKind.BAD_ENVELOPE;
        DeadLetterKind missing = DeadLetterKind.MISSING_REQUIRED_FIELD;
        DeadLetterKind invalid = DeadLetterKind.INVALID_FIELD;
        String keyChange = "update changes key column id (before.id differs from after.id): "
                + "a key change must come as a delete and a create";
        return Stream.of(
                // op
                Arguments.of(envelope("t", "null", "null"), DebeziumDecoder.TRUNCATE, envelope),
                Arguments.of(envelope("x", "null", IMAGE), "unknown op \"x\": expected c, r, u or d", envelope),
                Arguments.of(envelope("C", "null", IMAGE), "unknown op \"C\": expected c, r, u or d", envelope),
                Arguments.of(envelope("", "null", IMAGE), "unknown op \"\": expected c, r, u or d", envelope),
                Arguments.of(envelope("create-create-create-create", "null", IMAGE),
                        "unknown op \"create-create-create...\": expected c, r, u or d", envelope),
                Arguments.of(envelope("c", "null", IMAGE).replace("\"op\":\"c\"", "\"op\":1"),
                        "unknown op \"1\": expected c, r, u or d", envelope),
                Arguments.of(envelope("c", "null", IMAGE).replace("\"op\":\"c\",", ""), "missing required field op", missing),
                Arguments.of(envelope("c", "null", IMAGE).replace("\"op\":\"c\"", "\"op\":null"),
                        "missing required field op", missing),
                // ts_ms: the event time
                Arguments.of(envelope("c", "null", IMAGE).replace(",\"ts_ms\":" + TS, ""),
                        "missing required field ts_ms", missing),
                Arguments.of(envelope("c", "null", IMAGE).replace("\"ts_ms\":" + TS, "\"ts_ms\":" + TS / 1000),
                        RANGE, DeadLetterKind.EVENT_TIME_OUT_OF_RANGE),
                Arguments.of(envelope("c", "null", IMAGE).replace("\"ts_ms\":" + TS, "\"ts_ms\":\"" + TS + "\""),
                        "field ts_ms: expected BIGINT, found a string", invalid),
                // the image an op needs
                Arguments.of(envelope("c", "null", "null"), "after missing or null for op c", envelope),
                Arguments.of(envelope("r", "null", "null"), "after missing or null for op r", envelope),
                Arguments.of(envelope("u", IMAGE, "null"), "after missing or null for op u", envelope),
                Arguments.of("{\"op\":\"c\",\"ts_ms\":" + TS + "}", "after missing or null for op c", envelope),
                Arguments.of(envelope("d", "null", IMAGE), "before missing or null for op d", envelope),
                Arguments.of("{\"op\":\"d\",\"ts_ms\":" + TS + "}", "before missing or null for op d", envelope),
                // key and NOT NULL columns in the image used
                Arguments.of(envelope("c", "null", with(IMAGE, "id", null)), "missing required field after.id", missing),
                Arguments.of(envelope("r", "null", with(IMAGE, "tenant", "null")),
                        "missing required field after.tenant", missing),
                Arguments.of(envelope("c", "null", with(IMAGE, "name", "null")), "missing required field after.name", missing),
                Arguments.of(envelope("u", "null", with(IMAGE, "name", null)), "missing required field after.name", missing),
                Arguments.of(envelope("u", with(IMAGE, "id", "null"), IMAGE2), "missing required field before.id", missing),
                Arguments.of(envelope("d", with(KEY_ONLY, "tenant", null), "null"),
                        "missing required field before.tenant", missing),
                Arguments.of(envelope("d", "{}", "null"), "missing required field before.tenant", missing),
                // an update keeps its key
                Arguments.of(envelope("u", with(IMAGE, "id", "8"), IMAGE2), keyChange, envelope),
                Arguments.of(envelope("u", with(KEY_ONLY, "id", "8"), IMAGE2), keyChange, envelope),
                Arguments.of(envelope("u", with(IMAGE, "tenant", "\"globex\""), IMAGE2),
                        "update changes key column tenant (before.tenant differs from after.tenant): "
                                + "a key change must come as a delete and a create", envelope),
                // the JSON format's rules, with the path as SQL reaches the value
                Arguments.of(envelope("c", "null", with(IMAGE, "price", "\"1.50\"")),
                        "field after.price: expected DECIMAL(10, 2), found a string", invalid),
                Arguments.of(envelope("c", "null", with(IMAGE, "price", "1.505")),
                        "field after.price: needs rounding for DECIMAL(10, 2)", invalid),
                Arguments.of(envelope("u", "null", with(IMAGE, "scores", "[1,\"two\"]")),
                        "field after.scores[2]: expected INT, found a string", invalid),
                Arguments.of(envelope("c", "null", with(IMAGE, "address", "{\"city\":\"Oslo\",\"zip\":\"0150\"}")),
                        "field after.address.zip: expected INT, found a string", invalid),
                Arguments.of(envelope("d", with(IMAGE, "id", "7.5"), "null"), "field before.id: not an integer for INT", invalid),
                Arguments.of(envelope("c", "null", with(IMAGE, "id", "\"7\"")), "field after.id: expected INT, found a string",
                        invalid),
                // a bad value in an image the op does not use is still a bad record
                Arguments.of(envelope("c", with(IMAGE, "price", "true"), IMAGE),
                        "field before.price: expected DECIMAL(10, 2), found a boolean", invalid),
                Arguments.of("not json", "not a JSON object", DeadLetterKind.NOT_JSON_OBJECT),
                Arguments.of("", "not a JSON object", DeadLetterKind.NOT_JSON_OBJECT),
                Arguments.of("[" + envelope("c", "null", IMAGE) + "]", "not a JSON object", DeadLetterKind.NOT_JSON_OBJECT),
                Arguments.of(envelope("c", "null", IMAGE).substring(0, 60), "not a JSON object",
                        DeadLetterKind.NOT_JSON_OBJECT),
                Arguments.of(envelope("c", "null", IMAGE) + "{}", "trailing content after the JSON object",
                        DeadLetterKind.TRAILING_CONTENT),
                Arguments.of(envelope("c", "null", IMAGE).replace("\"op\":\"c\"", "\"op\":\"c\",\"op\":\"d\""),
                        "duplicate key op", DeadLetterKind.DUPLICATE_KEY),
                Arguments.of(envelope("c", "null", with(IMAGE, "name", "\"a\",\"name\":\"b\"")),
                        "duplicate key name", DeadLetterKind.DUPLICATE_KEY),
                // the JsonConverter with schemas.enable=true
                Arguments.of("{\"schema\":{\"type\":\"struct\",\"fields\":[],\"optional\":false,\"name\":\"shop.items.Envelope\"},"
                        + "\"payload\":" + envelope("c", "null", IMAGE) + "}", DebeziumDecoder.SCHEMAS_ENABLED, envelope),
                Arguments.of("{\"payload\":" + envelope("c", "null", IMAGE) + "}", "missing required field op", missing));
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("refused")
    void deadLetterReasonAndKind(String json, String reason, DeadLetterKind kind) {
        List<RowData> rows = decode(json);
        assertEquals(1, rows.size(), "a dead letter is one row");
        RowData row = rows.get(0);
        assertEquals(reason, row.getString(REASON).toString());
        assertEquals(kind, DECODER.lastKind());
        assertEquals(RowKind.INSERT, row.getRowKind());
        assertArrayEquals(json.getBytes(StandardCharsets.UTF_8), (byte[]) field(row, "raw_value"));
        assertEquals(StringData.fromString(json), field(row, "raw_text"));
        for (int i = 0; i < COLUMNS; i++) {
            assertTrue(row.isNullAt(i), () -> "no partial values on a dead letter: " + row);
        }
        assertTrue(row.isNullAt(EVENT_TIME));
    }

    @Test
    void notUtf8AndTooLarge() {
        byte[] value = envelope("c", "null", IMAGE.replace("pen", "p#n")).getBytes(StandardCharsets.UTF_8);
        value[new String(value, StandardCharsets.ISO_8859_1).indexOf('#')] = (byte) 0xFF;
        List<RowData> rows = decode(DECODER, value);
        assertEquals("not UTF-8", rows.get(0).getString(REASON).toString());
        assertEquals(DeadLetterKind.NOT_UTF8, DECODER.lastKind());
        assertArrayEquals(value, (byte[]) field(rows.get(0), "raw_value"));
        assertNull(field(rows.get(0), "raw_text"));

        DebeziumDecoder small = decoder(ROW_TYPE, options(100));
        byte[] large = envelope("c", "null", IMAGE).getBytes(StandardCharsets.UTF_8);
        assertTrue(large.length > 100);
        assertEquals("too large: more than 100 bytes", decode(small, large).get(0).getString(REASON).toString());
        assertEquals(DeadLetterKind.TOO_LARGE, small.lastKind());
    }

    @Test
    void emptyValueIsNotATombstone() {
        List<RowData> rows = decode(DECODER, new byte[0]);
        assertEquals("not a JSON object", rows.get(0).getString(REASON).toString());
    }

    // --- counters -----------------------------------------------------------------------------

    private static String deadPath(DeadLetterKind kind) {
        return "kinesisanalytics.topic.orders-cdc.reason." + kind.label() + ".deadRecords";
    }

    @Test
    void countsEachChangeEventOnceAndEachDeadLetterByKind() {
        DebeziumDecoder decoder = decoder();
        RecordingMetricGroup group = new RecordingMetricGroup();
        decoder.registerMetrics(group);
        assertEquals(2 + DeadLetterKind.values().length, group.metrics().size(), group.metrics().keySet()::toString);
        String[] good = {envelope("c", "null", IMAGE), envelope("u", IMAGE, IMAGE2), envelope("u", "null", IMAGE),
            envelope("d", KEY_ONLY, "null"), envelope("r", "null", IMAGE)};
        String[] dead = {envelope("t", "null", "null"), envelope("d", "null", "null"),
            envelope("c", "null", with(IMAGE, "name", null)), "{}", "nope"};
        int rows = 0;
        for (String json : good) {
            rows += decode(decoder, json.getBytes(StandardCharsets.UTF_8)).size();
        }
        for (String json : dead) {
            rows += decode(decoder, json.getBytes(StandardCharsets.UTF_8)).size();
        }
        decode(decoder, null);
        assertEquals(6 + dead.length, rows, "the update with before is two rows, one change");
        assertEquals(5L, group.count("kinesisanalytics.topic.orders-cdc.goodRecords"));
        assertEquals(1L, group.count("kinesisanalytics.topic.orders-cdc.tombstoneRecords"));
        Map<DeadLetterKind, Long> expected = Map.of(
                DeadLetterKind.BAD_ENVELOPE, 2L,
                DeadLetterKind.MISSING_REQUIRED_FIELD, 2L, // "{}": missing required field op
                DeadLetterKind.NOT_JSON_OBJECT, 1L);
        for (DeadLetterKind kind : DeadLetterKind.values()) {
            assertEquals(expected.getOrDefault(kind, 0L), group.count(deadPath(kind)), kind::label);
        }
    }

    @Test
    void opensAfterSerializationAsOnATaskManager() throws Exception {
        DebeziumDecoder copy = InstantiationUtil.clone(decoder());
        RecordingMetricGroup group = new RecordingMetricGroup();
        copy.open(new DeserializationSchema.InitializationContext() {
            @Override
            public MetricGroup getMetricGroup() {
                return group;
            }

            @Override
            public UserCodeClassLoader getUserCodeClassLoader() {
                throw new UnsupportedOperationException();
            }
        });
        List<RowData> rows = decode(copy, envelope("u", IMAGE, IMAGE2).getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(RowKind.UPDATE_BEFORE, RowKind.UPDATE_AFTER), rows.stream().map(RowData::getRowKind).collect(java.util.stream.Collectors.toList()));
        assertEquals(1L, group.count("kinesisanalytics.topic.orders-cdc.goodRecords"));
    }

    // --- planning -----------------------------------------------------------------------------

    private static <T> T stub(Class<T> type, Object answer) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> method.getName().equals("getObjectIdentifier") ? answer : null));
    }

    private static DeserializationSchema<RowData> plan(Configuration options, DataType physical) {
        DecodingFormat<DeserializationSchema<RowData>> format = new DebeziumJsonFormatFactory().createDecodingFormat(
                stub(DynamicTableFactory.Context.class, ObjectIdentifier.of("c", "d", "kafka_orders_records")), options);
        return format.createRuntimeDecoder(stub(DynamicTableSource.Context.class, null), physical);
    }

    @Test
    void factoryIsFoundAndProducesAFullChangelog() {
        DeserializationFormatFactory factory = FactoryUtil.discoverFactory(
                getClass().getClassLoader(), DeserializationFormatFactory.class, "strict-debezium-json");
        assertInstanceOf(DebeziumJsonFormatFactory.class, factory);
        DecodingFormat<DeserializationSchema<RowData>> format = factory.createDecodingFormat(
                stub(DynamicTableFactory.Context.class, ObjectIdentifier.of("c", "d", "t")), options(1000));
        ChangelogMode mode = format.getChangelogMode();
        for (RowKind kind : RowKind.values()) {
            assertTrue(mode.contains(kind), kind::toString);
        }
        DeserializationSchema<RowData> decoder = format.createRuntimeDecoder(stub(DynamicTableSource.Context.class, null),
                DATA_TYPE);
        assertInstanceOf(DebeziumDecoder.class, decoder);
    }

    @Test
    void topicLabelDefaultsToTheTableName() {
        Configuration options = Configuration.fromMap(Map.of("key-fields", "id"));
        DebeziumDecoder decoder = (DebeziumDecoder) plan(options, DATA_TYPE);
        RecordingMetricGroup group = new RecordingMetricGroup();
        decoder.registerMetrics(group);
        assertEquals(0L, group.count("kinesisanalytics.topic.kafka_orders_records.tombstoneRecords"));
    }

    private static void assertRefused(String expectedPart, Configuration options, DataType physical) {
        ValidationException e = assertThrows(ValidationException.class, () -> plan(options, physical));
        assertTrue(e.getMessage().contains(expectedPart), e.getMessage());
    }

    @Test
    void badConfigurationFailsAtPlanning() {
        assertRefused("'key-fields' names 'sku', not a column of the table",
                Configuration.fromMap(Map.of("key-fields", "tenant;sku")), DATA_TYPE);
        assertRefused("'key-fields' names 'event_time', not a column of the table",
                Configuration.fromMap(Map.of("key-fields", "event_time")), DATA_TYPE);
        assertRefused("'required-fields' names 'nope', not a column of the table",
                Configuration.fromMap(Map.of("key-fields", "id", "required-fields", "nope")), DATA_TYPE);
        assertRefused("'key-fields' must name", Configuration.fromMap(Map.of("key-fields", "")), DATA_TYPE);
        assertRefused("'key-fields' must name the table's primary key columns, each once",
                Configuration.fromMap(Map.of("key-fields", "id;id")), DATA_TYPE);
        assertRefused("key-fields", new Configuration(), DATA_TYPE); // the required option is missing
        assertRefused("'event-time.valid-from' must be before",
                Configuration.fromMap(Map.of("key-fields", "id", "event-time.valid-from", "2100-01-01T00:00:00Z",
                        "event-time.valid-until", "2000-01-01T00:00:00Z")), DATA_TYPE);
        Configuration ok = Configuration.fromMap(Map.of("key-fields", "id"));
        for (String column : List.of("dead_letter_reason", "raw_value", "raw_text")) {
            List<DataTypes.Field> fields = new ArrayList<>();
            for (int i = 0; i < NAMES.size(); i++) {
                if (!NAMES.get(i).equals(column)) {
                    fields.add(FIELD(NAMES.get(i), DATA_TYPE.getChildren().get(i)));
                }
            }
            assertRefused("needs a column '" + column + "'", ok, ROW(fields.toArray(new DataTypes.Field[0])));
        }
        assertRefused("needs a column 'raw_value' (BYTES)", ok, ROW(FIELD("id", INT()),
                FIELD("dead_letter_reason", STRING()), FIELD("raw_value", STRING()), FIELD("raw_text", STRING())));
    }

    // --- a seeded random changelog, replayed against a model -----------------------------------

    // A row image as the test sees it: [tenant, id, name, price, scores, address] as plain Java
    // values (String, Integer, BigDecimal with scale 2, List of Integer, [city, zip]); nulls allowed.

    /** The key of an image: [tenant, id]. */
    private static List<Object> key(List<Object> image) {
        return Arrays.asList(image.get(0), image.get(1));
    }

    /** One record of the topic, and what it must be: a change (reason null) or a dead letter. */
    private static final class Event {
        final byte[] value; // null: a tombstone
        final String op;
        final List<Object> before; // the images the change is about (null when the op has none)
        final List<Object> after;
        final long ts;
        final String reason; // the dead letter's reason, null for a change
        final DeadLetterKind kind;

        Event(byte[] value, String op, List<Object> before, List<Object> after, long ts, String reason,
                DeadLetterKind kind) {
            this.value = value;
            this.op = op;
            this.before = before;
            this.after = after;
            this.ts = ts;
            this.reason = reason;
            this.kind = kind;
        }
    }

    /** What a changelog comes to: the table by key, and the records that are not changes. */
    private static final class Outcome {
        final Map<List<Object>, List<Object>> table = new HashMap<>();
        final Map<DeadLetterKind, List<String>> dead = new EnumMap<>(DeadLetterKind.class);
        long changes;
        long tombstones;

        void deadLetter(DeadLetterKind kind, String reason) {
            dead.computeIfAbsent(kind, k -> new ArrayList<>()).add(reason);
        }

        /** The first difference from another outcome, or null. */
        String differenceFrom(Outcome other) {
            for (DeadLetterKind kind : DeadLetterKind.values()) { // the reasons of each kind, in order
                List<String> mine = dead.getOrDefault(kind, List.of());
                List<String> theirs = other.dead.getOrDefault(kind, List.of());
                if (!mine.equals(theirs)) {
                    return "dead letters of kind " + kind + ": " + mine + " vs " + theirs;
                }
            }
            if (changes != other.changes || tombstones != other.tombstones) {
                return "changes " + changes + " vs " + other.changes + ", tombstones " + tombstones + " vs "
                        + other.tombstones;
            }
            for (List<Object> k : union(table.keySet(), other.table.keySet())) {
                if (!java.util.Objects.equals(table.get(k), other.table.get(k))) {
                    return "key " + k + ": " + table.get(k) + " vs " + other.table.get(k);
                }
            }
            return null;
        }

        private static List<List<Object>> union(java.util.Set<List<Object>> a, java.util.Set<List<Object>> b) {
            java.util.Set<List<Object>> all = new java.util.HashSet<>(a);
            all.addAll(b);
            return new ArrayList<>(all);
        }
    }

    /** The model: the raw change list applied to a map directly, skipping what must be dead letters. */
    private static Outcome model(List<Event> events) {
        Outcome outcome = new Outcome();
        for (Event event : events) {
            if (event.value == null) {
                outcome.tombstones++;
            } else if (event.reason != null) {
                outcome.deadLetter(event.kind, event.reason);
            } else {
                outcome.changes++;
                if (event.op.equals("d")) {
                    outcome.table.remove(key(event.before));
                } else { // c, r, u: the after image is the row now
                    outcome.table.put(key(event.after), event.after);
                }
            }
        }
        return outcome;
    }

    /**
     * The decoder's rows applied by RowKind alone (+I / +U put by key, -D removes by key, -U must
     * match the row it retracts), after {@code mutation} (the identity, or a deliberate bug);
     * returns the outcome, or throws an AssertionError at the first row that cannot be applied.
     */
    private static Outcome replay(List<Event> events, UnaryOperator<List<RowData>> mutation) {
        DebeziumDecoder decoder = decoder();
        Outcome outcome = new Outcome();
        for (Event event : events) {
            List<RowData> rows = mutation.apply(decode(decoder, event.value));
            for (RowData row : rows) {
                if (!row.isNullAt(REASON)) {
                    check(rows.size() == 1 && row.getRowKind() == RowKind.INSERT, "a dead letter is one +I row", row);
                    outcome.deadLetter(decoder.lastKind(), row.getString(REASON).toString());
                    continue;
                }
                check(row.getTimestamp(EVENT_TIME, 3).getMillisecond() == event.ts, "event time is ts_ms", row);
                List<Object> image = image(row);
                List<Object> k = key(image);
                switch (row.getRowKind()) {
                    case INSERT:
                    case UPDATE_AFTER:
                        outcome.table.put(k, image);
                        break;
                    case UPDATE_BEFORE:
                        check(retracts(image, outcome.table.get(k)), "-U retracts the row there", row);
                        break;
                    case DELETE:
                        check(outcome.table.remove(k) != null, "-D removes a row there", row);
                        break;
                    default:
                        throw new AssertionError(row);
                }
            }
        }
        RecordCounters counters = decoder.counters();
        outcome.changes = counters.goodCount();
        outcome.tombstones = counters.tombstoneCount();
        for (DeadLetterKind kind : DeadLetterKind.values()) {
            check(counters.deadCount(kind) == outcome.dead.getOrDefault(kind, List.of()).size(),
                    "dead letters counted by kind", kind);
        }
        return outcome;
    }

    private static void check(boolean condition, String rule, Object what) {
        if (!condition) {
            throw new AssertionError(rule + ": " + what);
        }
    }

    /** A -U matches the row it retracts where it has values (a key-only before has only the key). */
    private static boolean retracts(List<Object> before, List<Object> current) {
        if (current == null) {
            return false;
        }
        for (int i = 0; i < before.size(); i++) {
            if (before.get(i) != null && !before.get(i).equals(current.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** A row of the table as the test sees an image. */
    private static List<Object> image(RowData row) {
        List<Object> scores = null;
        if (!row.isNullAt(4)) {
            ArrayData array = row.getArray(4);
            scores = new ArrayList<>();
            for (int i = 0; i < array.size(); i++) {
                scores.add(array.isNullAt(i) ? null : array.getInt(i));
            }
        }
        List<Object> address = null;
        if (!row.isNullAt(5)) {
            RowData a = row.getRow(5, 2);
            address = Arrays.asList(a.isNullAt(0) ? null : a.getString(0).toString(), a.isNullAt(1) ? null : a.getInt(1));
        }
        return Arrays.asList(
                row.isNullAt(0) ? null : row.getString(0).toString(),
                row.isNullAt(1) ? null : row.getInt(1),
                row.isNullAt(2) ? null : row.getString(2).toString(),
                row.isNullAt(3) ? null : row.getDecimal(3, 10, 2).toBigDecimal(),
                scores,
                address);
    }

    /** Writes the changelog: what a Debezium connector would send, with mistakes mixed in. */
    private static final class Generator {
        private static final String[] PRODUCT_NAMES = {"pen", "ink \"blue\"", "café", "tab\there", "back\\slash", "日本", "😀", ""};
        private static final String[] CITIES = {"Oslo", "Zürich", "São Paulo", "x\ny"};
        private static final String[] DEFECTS = {"price", "score", "zip", "no-image", "truncate", "unknown-op",
            "no-name", "no-key", "no-key-before", "key-change", "ts-range", "cut", "duplicate", "schemas", "not-utf8",
            "no-op"};

        final Random random;
        final Map<List<Object>, List<Object>> table = new HashMap<>(); // the database as the connector sees it
        final List<Event> events = new ArrayList<>();
        final java.util.Set<List<Object>> deletedOnce = new java.util.HashSet<>();
        final Map<String, Integer> seen = new TreeMap<>(); // what the changelog holds, for the test's own check
        long ts = TS;

        Generator(long seed) {
            random = new Random(seed);
        }

        List<Event> changelog(int count) {
            List<List<Object>> keys = new ArrayList<>();
            for (String tenant : List.of("acme", "globex")) {
                for (int id = 1; id <= 25; id++) {
                    keys.add(Arrays.asList(tenant, id));
                }
            }
            for (List<Object> k : keys.subList(0, 30)) { // the initial snapshot
                change("r", null, fresh(k));
            }
            while (events.size() < count) {
                List<Object> k = keys.get(random.nextInt(keys.size()));
                List<Object> current = table.get(k);
                if (current == null) {
                    if (deletedOnce.contains(k)) {
                        seen.merge("re-insert", 1, Integer::sum);
                    }
                    change(random.nextInt(10) == 0 ? "r" : "c", null, fresh(k));
                    continue;
                }
                int roll = random.nextInt(20);
                if (roll < 13) {
                    int shape = random.nextInt(4); // before: full (MySQL, REPLICA IDENTITY FULL), none, key only
                    List<Object> before = shape < 2 ? current : shape == 2 ? null : key(current);
                    change("u", before, changed(current));
                } else if (roll < 17) {
                    boolean done = change("d", random.nextInt(5) < 3 ? current : key(current), null);
                    if (done && random.nextInt(5) < 4) { // the compaction marker that follows a delete
                        events.add(new Event(null, null, null, null, ts, null, null));
                        seen.merge("tombstone", 1, Integer::sum);
                    }
                } else { // an incremental snapshot reads the row as it is
                    change("r", null, current);
                }
            }
            return events;
        }

        /** Adds the change (or, sometimes, a broken record of it instead); true when it is a good change. */
        boolean change(String op, List<Object> before, List<Object> after) {
            ts += 1 + random.nextInt(1000);
            String defect = random.nextInt(12) == 0 ? DEFECTS[random.nextInt(DEFECTS.length)] : "none";
            Broken broken = new Broken(op, before, after);
            boolean applies = broken.apply(defect);
            if (!applies) {
                defect = "none";
                broken = new Broken(op, before, after);
            }
            seen.merge(defect.equals("none") ? shape(op, before) : "defect " + defect, 1, Integer::sum);
            events.add(new Event(broken.bytes(ts), op, before, after, ts, broken.reason, broken.kind));
            if (broken.reason == null) {
                if (op.equals("d")) {
                    table.remove(key(before));
                    deletedOnce.add(key(before));
                } else {
                    table.put(key(after), after);
                }
            }
            return broken.reason == null;
        }

        /** What kind of good change it is, for the test's check that the changelog has each. */
        private static String shape(String op, List<Object> before) {
            if (op.equals("u")) {
                return before == null ? "op u without before" : before.size() == 2 ? "op u with key-only before" : "op u with before";
            }
            if (op.equals("d")) {
                return before.size() == 2 ? "op d key-only" : "op d full";
            }
            return "op " + op;
        }

        /** A change as JSON, with at most one mistake, and the reason the decoder must give for it. */
        final class Broken {
            String op;
            String beforeJson;
            String afterJson;
            String opMember;
            String tsMember;
            String wrapPrefix = "";
            String wrapSuffix = "";
            boolean cut;
            boolean notUtf8;
            String reason;
            DeadLetterKind kind;

            Broken(String op, List<Object> before, List<Object> after) {
                this.op = op;
                beforeJson = json(before);
                afterJson = json(after);
                opMember = "\"op\":\"" + op + "\"";
            }

            /** False when the defect does not fit the op (the change is then sent as it is). */
            boolean apply(String defect) {
                boolean usesAfter = !op.equals("d");
                switch (defect) {
                    case "none":
                        return true;
                    case "price":
                        return usesAfter && refuse(DeadLetterKind.INVALID_FIELD,
                                "field after.price: expected DECIMAL(10, 2), found a string",
                                () -> afterJson = replaceMember(afterJson, "price", "\"12.50\""));
                    case "score":
                        return usesAfter && refuse(DeadLetterKind.INVALID_FIELD,
                                "field after.scores[2]: expected INT, found a string",
                                () -> afterJson = replaceMember(afterJson, "scores", "[1,\"x\",3]"));
                    case "zip":
                        return usesAfter && refuse(DeadLetterKind.INVALID_FIELD,
                                "field after.address.zip: expected INT, found a string",
                                () -> afterJson = replaceMember(afterJson, "address", "{\"city\":null,\"zip\":\"0150\"}"));
                    case "no-image":
                        return refuse(DeadLetterKind.BAD_ENVELOPE,
                                (usesAfter ? "after" : "before") + " missing or null for op " + op,
                                () -> {
                                    if (usesAfter) {
                                        afterJson = "null";
                                    } else {
                                        beforeJson = "null";
                                    }
                                });
                    case "truncate":
                        return refuse(DeadLetterKind.BAD_ENVELOPE, DebeziumDecoder.TRUNCATE, () -> {
                            opMember = "\"op\":\"t\"";
                            beforeJson = "null";
                            afterJson = "null";
                        });
                    case "unknown-op":
                        return refuse(DeadLetterKind.BAD_ENVELOPE, "unknown op \"m\": expected c, r, u or d",
                                () -> opMember = "\"op\":\"m\"");
                    case "no-name":
                        return usesAfter && refuse(DeadLetterKind.MISSING_REQUIRED_FIELD, "missing required field after.name",
                                () -> afterJson = replaceMember(afterJson, "name", "null"));
                    case "no-key":
                        return usesAfter && refuse(DeadLetterKind.MISSING_REQUIRED_FIELD, "missing required field after.id",
                                () -> afterJson = replaceMember(afterJson, "id", "null"));
                    case "no-key-before":
                        return !beforeJson.equals("null") && !op.equals("c") && !op.equals("r")
                                && refuse(DeadLetterKind.MISSING_REQUIRED_FIELD, "missing required field before.tenant",
                                        () -> beforeJson = replaceMember(beforeJson, "tenant", "null"));
                    case "key-change":
                        return op.equals("u") && !beforeJson.equals("null") && refuse(DeadLetterKind.BAD_ENVELOPE,
                                "update changes key column id (before.id differs from after.id): "
                                        + "a key change must come as a delete and a create",
                                () -> beforeJson = replaceMember(beforeJson, "id", "99"));
                    case "ts-range":
                        return refuse(DeadLetterKind.EVENT_TIME_OUT_OF_RANGE, RANGE, () -> tsMember = "\"ts_ms\":" + ts / 1000);
                    case "cut":
                        return refuse(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object", () -> cut = true);
                    case "duplicate":
                        return refuse(DeadLetterKind.DUPLICATE_KEY, "duplicate key op", () -> opMember += "," + opMember);
                    case "schemas":
                        return refuse(DeadLetterKind.BAD_ENVELOPE, DebeziumDecoder.SCHEMAS_ENABLED, () -> {
                            wrapPrefix = "{\"schema\":{\"type\":\"struct\",\"optional\":false},\"payload\":";
                            wrapSuffix = "}";
                        });
                    case "not-utf8":
                        return refuse(DeadLetterKind.NOT_UTF8, "not UTF-8", () -> notUtf8 = true);
                    case "no-op":
                        return refuse(DeadLetterKind.MISSING_REQUIRED_FIELD, "missing required field op",
                                () -> opMember = "\"ts_us\":" + ts * 1000);
                    default:
                        throw new AssertionError(defect);
                }
            }

            private boolean refuse(DeadLetterKind k, String why, Runnable breakIt) {
                kind = k;
                reason = why;
                breakIt.run();
                return true;
            }

            byte[] bytes(long eventTime) {
                String tsText = tsMember != null ? tsMember : "\"ts_ms\":" + eventTime;
                String source = "{\"connector\":\"postgresql\",\"db\":\"" + (notUtf8 ? "sh#p" : "shop")
                        + "\",\"table\":\"items\",\"lsn\":" + random.nextInt(1_000_000) + "}";
                String text = wrapPrefix + "{\"before\":" + beforeJson + ",\"after\":" + afterJson + ",\"source\":"
                        + source + "," + opMember + "," + tsText + ",\"transaction\":null}" + wrapSuffix;
                if (cut) {
                    text = text.substring(0, 1 + random.nextInt(text.length() - 1));
                }
                byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
                if (notUtf8) {
                    bytes[new String(bytes, StandardCharsets.ISO_8859_1).indexOf("sh#p") + 2] = (byte) 0xFF;
                }
                return bytes;
            }
        }

        /** A new row for the key. */
        List<Object> fresh(List<Object> k) {
            return Arrays.asList(k.get(0), k.get(1), PRODUCT_NAMES[random.nextInt(PRODUCT_NAMES.length)], price(), scores(), address());
        }

        /** The row after an update: the key kept, at least one other column changed. */
        List<Object> changed(List<Object> current) {
            List<Object> next;
            do {
                next = new ArrayList<>(current);
                int column = 2 + random.nextInt(COLUMNS - 2);
                next.set(column, column == 2 ? PRODUCT_NAMES[random.nextInt(PRODUCT_NAMES.length)] : column == 3 ? price()
                        : column == 4 ? scores() : address());
            } while (next.equals(current));
            return next;
        }

        BigDecimal price() {
            return random.nextInt(10) == 0 ? null : BigDecimal.valueOf(random.nextInt(1_000_000) - 1000, 2);
        }

        List<Object> scores() {
            if (random.nextInt(10) == 0) {
                return null;
            }
            List<Object> scores = new ArrayList<>();
            for (int i = random.nextInt(4); i > 0; i--) {
                scores.add(random.nextInt(20) == 0 ? null : random.nextInt(1000) - 500);
            }
            return scores;
        }

        List<Object> address() {
            if (random.nextInt(7) == 0) {
                return null;
            }
            return Arrays.asList(random.nextInt(10) == 0 ? null : CITIES[random.nextInt(CITIES.length)],
                    random.nextInt(10) == 0 ? null : random.nextInt(99_999));
        }

        /** An image as Debezium's JSON converter writes it (a null member sometimes left out). */
        String json(List<Object> image) {
            if (image == null) {
                return "null";
            }
            String[] columns = {"tenant", "id", "name", "price", "scores", "address"};
            StringBuilder out = new StringBuilder("{");
            for (int i = 0; i < image.size(); i++) {
                if (image.get(i) == null && random.nextBoolean()) {
                    continue;
                }
                out.append(out.length() > 1 ? "," : "").append('"').append(columns[i]).append("\":");
                value(out, i == 5 && image.get(i) != null ? address((List<?>) image.get(i)) : image.get(i));
            }
            return out.append('}').toString();
        }

        private static Map<String, Object> address(List<?> address) {
            Map<String, Object> members = new java.util.LinkedHashMap<>();
            members.put("city", address.get(0));
            members.put("zip", address.get(1));
            return members;
        }

        private static void value(StringBuilder out, Object value) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof String) {
                quote(out, (String) value);
            } else if (value instanceof BigDecimal) {
                out.append(((BigDecimal) value).toPlainString());
            } else if (value instanceof List) {
                out.append('[');
                List<?> list = (List<?>) value;
                for (int i = 0; i < list.size(); i++) {
                    out.append(i > 0 ? "," : "");
                    value(out, list.get(i));
                }
                out.append(']');
            } else if (value instanceof Map) {
                out.append('{');
                ((Map<?, ?>) value).forEach((k, v) -> {
                    out.append(out.charAt(out.length() - 1) == '{' ? "" : ",");
                    quote(out, (String) k);
                    out.append(':');
                    value(out, v);
                });
                out.append('}');
            } else {
                out.append(value);
            }
        }

        private static void quote(StringBuilder out, String text) {
            out.append('"');
            for (char c : text.toCharArray()) {
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c < 0x20) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
            out.append('"');
        }

        /** The image with one member set to a raw JSON value (added when the image left it out). */
        static String replaceMember(String image, String member, String raw) {
            String body = image.substring(1, image.length() - 1);
            String start = "\"" + member + "\":";
            int at = body.indexOf(start);
            if (at < 0) {
                return "{" + body + (body.isEmpty() ? "" : ",") + start + raw + "}";
            }
            int end = endOfValue(body, at + start.length());
            return "{" + body.substring(0, at + start.length()) + raw + body.substring(end) + "}";
        }

        /** The image without one member. */
        static String removeMember(String image, String member) {
            String body = image.substring(1, image.length() - 1);
            int at = body.indexOf("\"" + member + "\":");
            if (at < 0) {
                return image;
            }
            int end = endOfValue(body, at + member.length() + 3);
            String rest = (body.substring(0, at) + body.substring(Math.min(end + 1, body.length())));
            return "{" + (rest.endsWith(",") ? rest.substring(0, rest.length() - 1) : rest) + "}";
        }

        /** Where the JSON value starting at {@code from} ends (strings, nesting and escapes respected). */
        private static int endOfValue(String text, int from) {
            int depth = 0;
            boolean inString = false;
            for (int i = from; i < text.length(); i++) {
                char c = text.charAt(i);
                if (inString) {
                    if (c == '\\') {
                        i++;
                    } else if (c == '"') {
                        inString = false;
                    }
                } else if (c == '"') {
                    inString = true;
                } else if (c == '{' || c == '[') {
                    depth++;
                } else if (c == '}' || c == ']') {
                    depth--;
                } else if (c == ',' && depth == 0) {
                    return i;
                }
            }
            return text.length();
        }
    }

    private static List<Event> changelog() {
        return new Generator(20261208L).changelog(10_000);
    }

    @Test
    void randomChangelogEndsAsTheModelSays() {
        Generator generator = new Generator(20261208L);
        List<Event> events = generator.changelog(10_000);
        Outcome expected = model(events);
        Outcome got = replay(events, UnaryOperator.identity());
        assertNull(got.differenceFrom(expected));
        assertEquals(generator.table, expected.table, "the model agrees with the generator's database");
        // the changelog exercises what it should
        Map<String, Integer> seen = generator.seen;
        for (String what : List.of("op c", "op r", "op u with before", "op u without before", "op u with key-only before",
                "op d full", "op d key-only", "tombstone", "re-insert")) {
            assertTrue(seen.getOrDefault(what, 0) >= 50, () -> what + " in " + seen);
        }
        for (String defect : Generator.DEFECTS) {
            assertTrue(seen.getOrDefault("defect " + defect, 0) >= 10, () -> defect + " in " + seen);
        }
        assertTrue(expected.table.size() > 20 && expected.table.size() < 50, () -> "rows at the end: " + expected.table.size());
    }

    /** Deliberate bugs in the decoder's rows: the replay must notice each. */
    static Stream<Arguments> brokenDecoders() {
        UnaryOperator<List<RowData>> deleteAsInsert = rows -> map(rows, row -> {
            if (row.getRowKind() == RowKind.DELETE) {
                row.setRowKind(RowKind.INSERT);
            }
        });
        UnaryOperator<List<RowData>> updateAfterFirst = rows -> {
            List<RowData> reversed = new ArrayList<>(rows);
            Collections.reverse(reversed);
            return reversed;
        };
        UnaryOperator<List<RowData>> beforeAsAfter = rows -> rows.size() == 2
                ? List.of(rows.get(0), withKind(rows.get(0), RowKind.UPDATE_AFTER)) : rows;
        UnaryOperator<List<RowData>> noDeadLetters = rows -> rows.stream().filter(r -> r.isNullAt(REASON)).collect(java.util.stream.Collectors.toList());
        UnaryOperator<List<RowData>> deletesDropped = rows -> rows.stream()
                .filter(r -> r.getRowKind() != RowKind.DELETE).collect(java.util.stream.Collectors.toList());
        return Stream.of(
                Arguments.of("-D emitted as +I", deleteAsInsert),
                Arguments.of("+U before -U", updateAfterFirst),
                Arguments.of("+U carries the before image", beforeAsAfter),
                Arguments.of("dead letters dropped", noDeadLetters),
                Arguments.of("deletes dropped", deletesDropped));
    }

    private static List<RowData> map(List<RowData> rows, java.util.function.Consumer<GenericRowData> change) {
        rows.forEach(row -> change.accept((GenericRowData) row));
        return rows;
    }

    private static RowData withKind(RowData row, RowKind kind) {
        GenericRowData copy = new GenericRowData(kind, row.getArity());
        for (int i = 0; i < row.getArity(); i++) {
            copy.setField(i, ((GenericRowData) row).getField(i));
        }
        return copy;
    }

    private static final List<Event> CHANGELOG = changelog();
    private static final Outcome MODEL = model(CHANGELOG);

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenDecoders")
    void randomChangelogCatchesABrokenDecoder(String bug, UnaryOperator<List<RowData>> mutation) {
        String difference;
        try {
            difference = replay(CHANGELOG, mutation).differenceFrom(MODEL);
        } catch (AssertionError e) {
            difference = e.getMessage();
        }
        assertNotNull(difference, bug + " must not pass");
    }
}
