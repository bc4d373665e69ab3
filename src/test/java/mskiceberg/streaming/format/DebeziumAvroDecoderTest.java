package mskiceberg.streaming.format;

import static org.apache.flink.table.api.DataTypes.BIGINT;
import static org.apache.flink.table.api.DataTypes.BYTES;
import static org.apache.flink.table.api.DataTypes.FIELD;
import static org.apache.flink.table.api.DataTypes.INT;
import static org.apache.flink.table.api.DataTypes.ROW;
import static org.apache.flink.table.api.DataTypes.STRING;
import static org.apache.flink.table.api.DataTypes.TIMESTAMP_LTZ;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

/**
 * Debezium envelopes from its Avro converter (Confluent wire format): the row images resolved
 * into the table's columns through the writer's envelope schema, the same changes and dead
 * letters as the JSON envelopes (DebeziumJsonDecoderTest proves the envelope rules at length).
 */
class DebeziumAvroDecoderTest {

    private static final RowType ROW_TYPE = (RowType) ROW(
            FIELD("id", BIGINT()),
            FIELD("name", STRING()),
            FIELD("tier", INT()),
            FIELD("event_time", TIMESTAMP_LTZ(3)),
            FIELD("dead_letter_reason", STRING()),
            FIELD("raw_value", BYTES()),
            FIELD("raw_text", STRING())).getLogicalType();
    private static final long TS = 1_772_400_000_000L;

    private static final Schema ENVELOPE = RegistryAvroDecoderTest.schema("{\"type\":\"record\",\"name\":\"Envelope\","
            + "\"namespace\":\"shop.public.customers\",\"fields\":["
            + "{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Value\",\"fields\":["
            + "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":[\"null\",\"string\"],\"default\":null},"
            + "{\"name\":\"tier\",\"type\":[\"null\",\"int\"],\"default\":null}]}],\"default\":null},"
            + "{\"name\":\"after\",\"type\":[\"null\",\"Value\"],\"default\":null},"
            + "{\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":\"Source\",\"fields\":["
            + "{\"name\":\"connector\",\"type\":\"string\"}]}},"
            + "{\"name\":\"op\",\"type\":\"string\"},{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"],\"default\":null}]}");
    private static final Schema VALUE = ENVELOPE.getField("before").schema().getTypes().get(1);

    private static DebeziumDecoder decoder() {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.REQUIRED_FIELDS, List.of("name"));
        RegistryAvroDecoderTest.MemoryRegistry registry = new RegistryAvroDecoderTest.MemoryRegistry();
        registry.schemas.put("7", new SchemaRegistryClient.Found(ENVELOPE.toString(), "AVRO"));
        DebeziumDecoder decoder = new DebeziumDecoder(ROW_TYPE, List.of("id"), StrictJsonFormatFactory.settings(options),
                new RegistrySettings("confluent", "http://unused", null, null, null), null);
        decoder.useRegistry(registry);
        return decoder;
    }

    private static GenericRecord value(long id, String name, Integer tier) {
        GenericRecord row = new GenericData.Record(VALUE);
        row.put("id", id);
        row.put("name", name);
        row.put("tier", tier);
        return row;
    }

    private static byte[] change(String op, GenericRecord before, GenericRecord after) {
        GenericRecord source = new GenericData.Record(ENVELOPE.getField("source").schema());
        source.put("connector", "postgresql");
        return RegistryAvroDecoderTest.confluent(7, RegistryAvroDecoderTest.avro(ENVELOPE,
                "before", before, "after", after, "source", source, "op", op, "ts_ms", TS));
    }

    private static List<String> rows(DebeziumDecoder decoder, byte[] value) {
        List<String> out = new ArrayList<>();
        decoder.deserialize(value, new Collector<RowData>() {
            @Override
            public void collect(RowData row) {
                out.add(row.getRowKind().shortString() + " " + (row.isNullAt(4)
                        ? row.getLong(0) + " " + (row.isNullAt(1) ? null : row.getString(1)) + " "
                        + (row.isNullAt(2) ? null : row.getInt(2)) + " " + row.getTimestamp(3, 3).getMillisecond()
                        : row.getString(4).toString()));
            }

            @Override
            public void close() {}
        });
        return out;
    }

    @Test
    void changesAndDeadLettersOfAvroEnvelopes() {
        DebeziumDecoder decoder = decoder();
        assertEquals(List.of("+I 1 ann 2 " + TS), rows(decoder, change("c", null, value(1, "ann", 2))));
        assertEquals(List.of("-U 1 ann 2 " + TS, "+U 1 bob null " + TS),
                rows(decoder, change("u", value(1, "ann", 2), value(1, "bob", null))));
        assertEquals(List.of("+U 1 cy 3 " + TS), rows(decoder, change("u", null, value(1, "cy", 3))));
        assertEquals(List.of("-D 1 null null " + TS), rows(decoder, change("d", value(1, null, null), null)));
        assertEquals(List.of(), rows(decoder, null)); // the tombstone after a delete
        assertEquals(1, decoder.counters().tombstoneCount());
        assertEquals(List.of("+I missing required field after.name"), rows(decoder, change("c", null, value(2, null, 1))));
        assertEquals(List.of("+I before missing or null for op d"), rows(decoder, change("d", null, null)));
        assertEquals(List.of("+I unknown op \"x\": expected c, r, u or d"), rows(decoder, change("x", null, value(3, "a", 1))));
        assertEquals(List.of("+I not the Confluent wire format: first byte 0x7b, expected the magic byte 0x00"),
                rows(decoder, "{\"op\":\"c\"}".getBytes()));
        byte[] cut = change("c", null, value(4, "d", 1));
        assertEquals(List.of("+I not Avro of schema id 7: cut short"),
                rows(decoder, java.util.Arrays.copyOf(cut, cut.length - 3)));
        assertEquals(List.of("+I unknown schema id 8: the registry does not have it"),
                rows(decoder, RegistryAvroDecoderTest.confluent(8, new byte[] {2})));
    }
}
