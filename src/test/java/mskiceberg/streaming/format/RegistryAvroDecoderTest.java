package mskiceberg.streaming.format;

import static org.apache.flink.table.api.DataTypes.BIGINT;
import static org.apache.flink.table.api.DataTypes.BYTES;
import static org.apache.flink.table.api.DataTypes.DOUBLE;
import static org.apache.flink.table.api.DataTypes.FIELD;
import static org.apache.flink.table.api.DataTypes.ROW;
import static org.apache.flink.table.api.DataTypes.STRING;
import static org.apache.flink.table.api.DataTypes.TIMESTAMP_LTZ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.zip.Deflater;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.types.logical.RowType;
import org.junit.jupiter.api.Test;

/**
 * The registry-avro format against an in-memory registry: framing, the writer's schema resolved
 * into the declared columns (evolution Avro allows works, the rest is refused per schema), and a
 * dead letter with a reason for each kind of bad value. The registries' own APIs are proven end
 * to end against real servers (tests/e2e/test_e2e_avro.py).
 */
class RegistryAvroDecoderTest {

    private static final RowType ROW_TYPE = (RowType) ROW(
            FIELD("user_id", BIGINT()),
            FIELD("name", STRING()),
            FIELD("amount", DOUBLE()),
            FIELD("ts", BIGINT()),
            FIELD("event_time", TIMESTAMP_LTZ(3)),
            FIELD("dead_letter_reason", STRING()),
            FIELD("raw_value", BYTES()),
            FIELD("raw_text", STRING())).getLogicalType();
    private static final List<String> NAMES = ROW_TYPE.getFieldNames();
    private static final long TS = 1_772_400_000_000L;

    static final Schema V1 = schema("{\"type\":\"record\",\"name\":\"Bid\",\"namespace\":\"shop\",\"fields\":["
            + "{\"name\":\"user_id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},"
            + "{\"name\":\"amount\",\"type\":\"double\"},{\"name\":\"ts\",\"type\":\"long\"}]}");
    /** v2: amount removed, a field added with a default, user_id an int (Avro widens it to long). */
    static final Schema V2 = schema("{\"type\":\"record\",\"name\":\"Bid\",\"namespace\":\"shop\",\"fields\":["
            + "{\"name\":\"ts\",\"type\":\"long\"},{\"name\":\"user_id\",\"type\":\"int\"},"
            + "{\"name\":\"name\",\"type\":[\"null\",\"string\"],\"default\":null},"
            + "{\"name\":\"coupon\",\"type\":\"string\",\"default\":\"\"}]}");
    /** name as a long: no Avro resolution reads it as a string. */
    static final Schema BROKEN = schema("{\"type\":\"record\",\"name\":\"Bid\",\"fields\":["
            + "{\"name\":\"user_id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"long\"},"
            + "{\"name\":\"ts\",\"type\":\"long\"}]}");
    /** no user_id: readable, but the column is required. */
    static final Schema NO_USER = schema("{\"type\":\"record\",\"name\":\"Bid\",\"fields\":["
            + "{\"name\":\"ts\",\"type\":\"long\"}]}");

    /** The registry: schema texts by key (Confluent ids and Glue version UUIDs alike). */
    static final class MemoryRegistry implements SchemaRegistryClient {
        final Map<String, Found> schemas = new HashMap<>();
        int asked;
        boolean down;

        @Override
        public Found schema(String key) throws IOException {
            asked++;
            if (down) {
                throw new IOException("connection refused");
            }
            return schemas.get(key);
        }

        @Override
        public void close() {}
    }

    static Schema schema(String text) {
        return new Schema.Parser().parse(text);
    }

    static RegistryAvroDecoder decoder(String registry, MemoryRegistry schemas) {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        options.set(StrictJsonFormatFactory.REQUIRED_FIELDS, List.of("user_id"));
        RegistryAvroDecoder decoder = new RegistryAvroDecoder(ROW_TYPE, StrictJsonFormatFactory.settings(options),
                new RegistrySettings(registry, "http://unused", null, null, null), null);
        decoder.useRegistry(schemas);
        return decoder;
    }

    static byte[] avro(Schema schema, Object... namesAndValues) {
        GenericRecord record = new GenericData.Record(schema);
        for (int i = 0; i < namesAndValues.length; i += 2) {
            record.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
            new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }

    static byte[] confluent(int id, byte[] payload) {
        return ByteBuffer.allocate(5 + payload.length).put((byte) 0).putInt(id).put(payload).array();
    }

    static byte[] glue(UUID version, byte[] payload, boolean zlib) {
        byte[] body = payload;
        if (zlib) {
            Deflater deflater = new Deflater();
            deflater.setInput(payload);
            deflater.finish();
            byte[] buffer = new byte[payload.length + 64];
            body = Arrays.copyOf(buffer, deflater.deflate(buffer));
            deflater.end();
        }
        return ByteBuffer.allocate(18 + body.length).put((byte) 3).put((byte) (zlib ? 5 : 0))
                .putLong(version.getMostSignificantBits()).putLong(version.getLeastSignificantBits())
                .put(body).array();
    }

    static Object field(GenericRowData row, String name) {
        Object value = row.getField(NAMES.indexOf(name));
        return value == null ? null : value instanceof byte[] ? value : value.toString();
    }

    static String reason(RegistryAvroDecoder decoder, byte[] value) {
        return (String) field((GenericRowData) decoder.deserialize(value), "dead_letter_reason");
    }

    static MemoryRegistry confluentRegistry() {
        MemoryRegistry registry = new MemoryRegistry();
        registry.schemas.put("1", new SchemaRegistryClient.Found(V1.toString(), "AVRO"));
        registry.schemas.put("2", new SchemaRegistryClient.Found(V2.toString(), "AVRO"));
        registry.schemas.put("3", new SchemaRegistryClient.Found(BROKEN.toString(), "AVRO"));
        registry.schemas.put("4", new SchemaRegistryClient.Found(NO_USER.toString(), "AVRO"));
        registry.schemas.put("5", new SchemaRegistryClient.Found("{\"type\":\"record\"", "AVRO"));
        registry.schemas.put("6", new SchemaRegistryClient.Found("syntax = \"proto3\";", "PROTOBUF"));
        return registry;
    }

    @Test
    void readsEveryWriterVersionIntoTheDeclaredColumns() {
        RegistryAvroDecoder decoder = decoder("confluent", confluentRegistry());
        GenericRowData v1 = (GenericRowData) decoder.deserialize(
                confluent(1, avro(V1, "user_id", 7L, "name", "ann", "amount", 2.5, "ts", TS)));
        assertNull(field(v1, "dead_letter_reason"));
        assertEquals(Arrays.asList("7", "ann", "2.5", String.valueOf(TS)),
                Arrays.asList(field(v1, "user_id"), field(v1, "name"), field(v1, "amount"), field(v1, "ts")));
        assertEquals(TS, v1.getTimestamp(NAMES.indexOf("event_time"), 3).getMillisecond());
        GenericRowData v2 = (GenericRowData) decoder.deserialize(
                confluent(2, avro(V2, "user_id", 8, "name", null, "coupon", "x", "ts", TS + 1)));
        assertNull(field(v2, "dead_letter_reason"));
        assertEquals(Arrays.asList("8", null, null, String.valueOf(TS + 1)),
                Arrays.asList(field(v2, "user_id"), field(v2, "name"), field(v2, "amount"), field(v2, "ts")));
        assertEquals(1L, decoder.goodRecords() - 1);
    }

    @Test
    void asksTheRegistryOncePerSchema() {
        MemoryRegistry registry = confluentRegistry();
        RegistryAvroDecoder decoder = decoder("confluent", registry);
        for (int i = 0; i < 5; i++) {
            decoder.deserialize(confluent(1, avro(V1, "user_id", 7L, "name", "a", "amount", 1.0, "ts", TS)));
            decoder.deserialize(confluent(3, avro(BROKEN, "user_id", 7L, "name", 1L, "ts", TS)));
        }
        assertEquals(2, registry.asked);
    }

    @Test
    void refusesWhatIsNotReadableWithItsReason() {
        RegistryAvroDecoder decoder = decoder("confluent", confluentRegistry());
        byte[] good = avro(V1, "user_id", 7L, "name", "ann", "amount", 2.5, "ts", TS);
        assertEquals("not the Confluent wire format: 3 bytes, shorter than its 5-byte header",
                reason(decoder, new byte[] {0, 0, 1}));
        assertEquals(DeadLetterKind.NOT_WIRE_FORMAT, decoder.lastKind());
        assertEquals("not the Confluent wire format: first byte 0x7b, expected the magic byte 0x00",
                reason(decoder, "{\"user_id\": 1}".getBytes()));
        assertEquals("unknown schema id 99: the registry does not have it", reason(decoder, confluent(99, good)));
        assertEquals(DeadLetterKind.UNKNOWN_SCHEMA, decoder.lastKind());
        assertEquals("schema id 3 cannot be read as the declared columns: field name: written as \"long\", "
                + "declared STRING (reader union lacking writer type: LONG)", reason(decoder, confluent(3, avro(BROKEN, "user_id", 1L,
                "name", 2L, "ts", TS))));
        assertEquals(DeadLetterKind.INCOMPATIBLE_SCHEMA, decoder.lastKind());
        assertEquals("missing required field user_id", reason(decoder, confluent(4, avro(NO_USER, "ts", TS))));
        assertEquals(DeadLetterKind.MISSING_REQUIRED_FIELD, decoder.lastKind());
        String invalid = reason(decoder, confluent(5, good));
        assertEquals(true, invalid.startsWith("schema id 5 is not a valid Avro schema: "), invalid);
        assertEquals("schema id 6 is a PROTOBUF schema, not Avro", reason(decoder, confluent(6, good)));
        assertEquals("not Avro of schema id 1: cut short",
                reason(decoder, confluent(1, Arrays.copyOf(good, good.length - 3))));
        assertEquals(DeadLetterKind.NOT_AVRO, decoder.lastKind());
        byte[] longer = Arrays.copyOf(good, good.length + 2);
        assertEquals("not Avro of schema id 1: bytes left after the record", reason(decoder, confluent(1, longer)));
        assertEquals("no value", reason(decoder, null));
    }

    @Test
    void readsGluesFramingPlainAndZlib() {
        UUID version = UUID.fromString("0708175b-f25f-460e-ad80-05a86154947c");
        MemoryRegistry registry = new MemoryRegistry();
        registry.schemas.put(version.toString(), new SchemaRegistryClient.Found(V1.toString(), "AVRO"));
        RegistryAvroDecoder decoder = decoder("glue", registry);
        byte[] payload = avro(V1, "user_id", 7L, "name", "ann", "amount", 2.5, "ts", TS);
        for (boolean zlib : new boolean[] {false, true}) {
            GenericRowData row = (GenericRowData) decoder.deserialize(glue(version, payload, zlib));
            assertNull(field(row, "dead_letter_reason"));
            assertEquals("ann", field(row, "name"));
        }
        byte[] framed = glue(version, payload, false);
        framed[1] = 1;
        assertEquals("not the Glue Schema Registry wire format: compression byte 0x01, expected 0x00 (none) or "
                + "0x05 (zlib)", reason(decoder, framed));
        assertEquals("not the Glue Schema Registry wire format: header version byte 0x00, expected 0x03",
                reason(decoder, confluent(1, payload)));
        byte[] zlib = glue(version, payload, true);
        assertEquals("not the Glue Schema Registry wire format: its zlib data is cut short",
                reason(decoder, Arrays.copyOf(zlib, zlib.length - 4)));
        UUID other = UUID.fromString("00000000-0000-0000-0000-000000000001");
        assertEquals("unknown schema version 00000000-0000-0000-0000-000000000001: the registry does not have it",
                reason(decoder, glue(other, payload, false)));
    }

    @Test
    void aRegistryThatCannotAnswerFailsTheJobInsteadOfTheRecord() {
        MemoryRegistry registry = confluentRegistry();
        registry.down = true;
        RegistryAvroDecoder decoder = decoder("confluent", registry);
        byte[] value = confluent(1, avro(V1, "user_id", 7L, "name", "ann", "amount", 2.5, "ts", TS));
        assertThrows(RegistryAvroDecoder.RegistryUnavailable.class, () -> decoder.deserialize(value));
        assertEquals(RegistryAvroDecoder.FETCH_ATTEMPTS, registry.asked);
        registry.down = false; // the restarted job reads it
        assertNull(reason(decoder, value));
    }

    @Test
    void readsTimestampsOfEveryPrecisionAndZone() {
        RowType type = (RowType) ROW(
                FIELD("ts", BIGINT()),
                FIELD("at", org.apache.flink.table.api.DataTypes.TIMESTAMP(3)),
                FIELD("at_micros", org.apache.flink.table.api.DataTypes.TIMESTAMP(6)),
                FIELD("at_ltz", TIMESTAMP_LTZ(3)),
                FIELD("event_time", TIMESTAMP_LTZ(3)),
                FIELD("dead_letter_reason", STRING())).getLogicalType();
        Schema writer = schema("{\"type\":\"record\",\"name\":\"T\",\"fields\":["
                + "{\"name\":\"ts\",\"type\":\"long\"},"
                + "{\"name\":\"at\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
                + "{\"name\":\"at_micros\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
                + "{\"name\":\"at_ltz\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}");
        MemoryRegistry registry = new MemoryRegistry();
        registry.schemas.put("1", new SchemaRegistryClient.Found(writer.toString(), "AVRO"));
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "at_ltz");
        RegistryAvroDecoder decoder = new RegistryAvroDecoder(type, StrictJsonFormatFactory.settings(options),
                new RegistrySettings("confluent", "http://unused", null, null, null), null);
        decoder.useRegistry(registry);
        GenericRowData row = (GenericRowData) decoder.deserialize(confluent(1,
                avro(writer, "ts", TS, "at", TS + 1, "at_micros", (TS + 2) * 1000 + 7, "at_ltz", TS + 3)));
        assertNull(row.getField(5));
        assertEquals("2026-03-01T21:20:00.001", row.getTimestamp(1, 3).toString());
        assertEquals("2026-03-01T21:20:00.002007", row.getTimestamp(2, 6).toString());
        assertEquals(TS + 3, row.getTimestamp(3, 3).getMillisecond());
        assertEquals(TS + 3, row.getTimestamp(4, 3).getMillisecond());
    }

    @Test
    void timestampsKeepTheirPrecisionAndZoneAtEveryDepth() {
        RowType type = (RowType) ROW(
                FIELD("ts", BIGINT()),
                FIELD("ltz6", TIMESTAMP_LTZ(6)),
                FIELD("times", org.apache.flink.table.api.DataTypes.ARRAY(TIMESTAMP_LTZ(3))),
                FIELD("by_name", org.apache.flink.table.api.DataTypes.MAP(STRING(),
                        org.apache.flink.table.api.DataTypes.TIMESTAMP(6))),
                FIELD("inner", ROW(FIELD("at", TIMESTAMP_LTZ(6)))),
                FIELD("event_time", TIMESTAMP_LTZ(3)),
                FIELD("dead_letter_reason", STRING())).getLogicalType();
        String micros = "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}";
        Schema writer = schema("{\"type\":\"record\",\"name\":\"T\",\"fields\":["
                + "{\"name\":\"ts\",\"type\":\"long\"},"
                + "{\"name\":\"ltz6\",\"type\":" + micros + "},"
                + "{\"name\":\"times\",\"type\":{\"type\":\"array\",\"items\":"
                + "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}},"
                + "{\"name\":\"by_name\",\"type\":{\"type\":\"map\",\"values\":"
                + "{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}}},"
                + "{\"name\":\"inner\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"In\",\"fields\":["
                + "{\"name\":\"at\",\"type\":" + micros + "}]}]}]}");
        MemoryRegistry registry = new MemoryRegistry();
        registry.schemas.put("1", new SchemaRegistryClient.Found(writer.toString(), "AVRO"));
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        RegistryAvroDecoder decoder = new RegistryAvroDecoder(type, StrictJsonFormatFactory.settings(options),
                new RegistrySettings("confluent", "http://unused", null, null, null), null);
        decoder.useRegistry(registry);
        GenericRecord inner = new GenericData.Record(writer.getField("inner").schema().getTypes().get(1));
        inner.put("at", TS * 1000 + 123);
        GenericRowData row = (GenericRowData) decoder.deserialize(confluent(1, avro(writer, "ts", TS,
                "ltz6", TS * 1000 + 7, "times", List.of(TS, TS + 1), "by_name", Map.of("a", TS * 1000 + 9),
                "inner", inner)));
        assertNull(row.getField(6), String.valueOf(row.getField(6)));
        assertEquals(java.time.Instant.ofEpochSecond(TS / 1000, 7_000), row.getTimestamp(1, 6).toInstant());
        assertEquals(TS + 1, row.getArray(2).getTimestamp(1, 3).getMillisecond());
        assertEquals("2026-03-01T21:20:00.000009",
                row.getMap(3).valueArray().getTimestamp(0, 6).toString());
        assertEquals(java.time.Instant.ofEpochSecond(TS / 1000, 123_000), row.getRow(4, 1).getTimestamp(0, 6).toInstant());
    }

    @Test
    void readsEnumsAsTextAndFixedAsBytesAtAnyDepth() {
        RowType type = (RowType) ROW(
                FIELD("ts", BIGINT()),
                FIELD("status", STRING()),
                FIELD("hash", BYTES()),
                FIELD("price", org.apache.flink.table.api.DataTypes.DECIMAL(6, 2)),
                FIELD("tags", org.apache.flink.table.api.DataTypes.ARRAY(STRING())),
                FIELD("inner", ROW(FIELD("level", STRING()))),
                FIELD("event_time", TIMESTAMP_LTZ(3)),
                FIELD("dead_letter_reason", STRING())).getLogicalType();
        String status = "{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":[\"NEW\",\"PAID\"]}";
        Schema writer = schema("{\"type\":\"record\",\"name\":\"T\",\"fields\":["
                + "{\"name\":\"ts\",\"type\":\"long\"},"
                + "{\"name\":\"status\",\"type\":[\"null\"," + status + "]},"
                + "{\"name\":\"hash\",\"type\":{\"type\":\"fixed\",\"name\":\"H\",\"size\":2}},"
                + "{\"name\":\"price\",\"type\":{\"type\":\"fixed\",\"name\":\"P\",\"size\":3,"
                + "\"logicalType\":\"decimal\",\"precision\":6,\"scale\":2}},"
                + "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"Status\"}},"
                + "{\"name\":\"inner\",\"type\":{\"type\":\"record\",\"name\":\"I\",\"fields\":["
                + "{\"name\":\"level\",\"type\":\"Status\"}]}}]}");
        MemoryRegistry registry = new MemoryRegistry();
        registry.schemas.put("1", new SchemaRegistryClient.Found(writer.toString(), "AVRO"));
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        RegistryAvroDecoder decoder = new RegistryAvroDecoder(type, StrictJsonFormatFactory.settings(options),
                new RegistrySettings("confluent", "http://unused", null, null, null), null);
        decoder.useRegistry(registry);
        Schema statusSchema = writer.getField("status").schema().getTypes().get(1);
        GenericRecord inner = new GenericData.Record(writer.getField("inner").schema());
        inner.put("level", new GenericData.EnumSymbol(statusSchema, "NEW"));
        GenericRowData row = (GenericRowData) decoder.deserialize(confluent(1, avro(writer, "ts", TS,
                "status", new GenericData.EnumSymbol(statusSchema, "PAID"),
                "hash", new GenericData.Fixed(writer.getField("hash").schema(), new byte[] {7, 9}),
                "price", new GenericData.Fixed(writer.getField("price").schema(), new byte[] {0, 0x30, 0x39}),
                "tags", List.of(new GenericData.EnumSymbol(statusSchema, "NEW"),
                        new GenericData.EnumSymbol(statusSchema, "PAID")),
                "inner", inner)));
        assertNull(row.getField(7), String.valueOf(row.getField(7)));
        assertEquals("PAID", row.getField(1).toString());
        assertEquals("[7, 9]", Arrays.toString((byte[]) row.getField(2)));
        assertEquals("123.45", row.getField(3).toString());
        assertEquals("NEW", row.getArray(4).getString(0).toString());
        assertEquals("PAID", row.getArray(4).getString(1).toString());
        assertEquals("NEW", row.getRow(5, 1).getString(0).toString());
    }

    /**
     * Seeded: random records of every writer version, good and broken, interleaved; each row
     * compared with what the writer wrote (by an independent reading: the values put in).
     */
    @Test
    void randomRecordsOfEveryVersionAgainstWhatWasWritten() {
        Random random = new Random(32);
        RegistryAvroDecoder decoder = decoder("confluent", confluentRegistry());
        List<String> kinds = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            long user = random.nextInt(1000);
            long ts = TS + random.nextInt(1_000_000);
            String name = random.nextBoolean() ? null : "n" + random.nextInt(50);
            int pick = random.nextInt(10);
            if (pick < 5) {
                double amount = random.nextInt(10_000) / 100.0;
                GenericRowData row = (GenericRowData) decoder.deserialize(confluent(1,
                        avro(V1, "user_id", user, "name", name == null ? "" : name, "amount", amount, "ts", ts)));
                assertEquals(Arrays.asList(null, String.valueOf(user), name == null ? "" : name,
                                String.valueOf(amount), String.valueOf(ts)),
                        Arrays.asList(field(row, "dead_letter_reason"), field(row, "user_id"), field(row, "name"),
                                field(row, "amount"), field(row, "ts")));
            } else if (pick < 8) {
                GenericRowData row = (GenericRowData) decoder.deserialize(confluent(2,
                        avro(V2, "user_id", (int) user, "name", name, "coupon", "c", "ts", ts)));
                assertEquals(Arrays.asList(null, String.valueOf(user), name, null, String.valueOf(ts)),
                        Arrays.asList(field(row, "dead_letter_reason"), field(row, "user_id"), field(row, "name"),
                                field(row, "amount"), field(row, "ts")));
            } else {
                byte[] good = avro(V1, "user_id", user, "name", "x", "amount", 1.0, "ts", ts);
                byte[] bad = pick == 8 ? confluent(1, Arrays.copyOf(good, random.nextInt(good.length)))
                        : confluent(3, avro(BROKEN, "user_id", user, "name", 1L, "ts", ts));
                GenericRowData row = (GenericRowData) decoder.deserialize(bad);
                assertEquals(pick == 8 ? DeadLetterKind.NOT_AVRO : DeadLetterKind.INCOMPATIBLE_SCHEMA,
                        decoder.lastKind());
                assertEquals(Arrays.toString(bad), Arrays.toString((byte[]) field(row, "raw_value")));
                kinds.add(decoder.lastKind().label());
            }
        }
        long dead = decoder.deadRecords(DeadLetterKind.NOT_AVRO) + decoder.deadRecords(DeadLetterKind.INCOMPATIBLE_SCHEMA);
        assertEquals(kinds.size(), dead);
        assertEquals(20_000 - kinds.size(), decoder.goodRecords());
    }
}
