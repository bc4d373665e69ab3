package mskiceberg.streaming.format;

import static org.apache.flink.table.api.DataTypes.ARRAY;
import static org.apache.flink.table.api.DataTypes.BIGINT;
import static org.apache.flink.table.api.DataTypes.BYTES;
import static org.apache.flink.table.api.DataTypes.DECIMAL;
import static org.apache.flink.table.api.DataTypes.FIELD;
import static org.apache.flink.table.api.DataTypes.INT;
import static org.apache.flink.table.api.DataTypes.MAP;
import static org.apache.flink.table.api.DataTypes.ROW;
import static org.apache.flink.table.api.DataTypes.STRING;
import static org.apache.flink.table.api.DataTypes.TIMESTAMP_LTZ;
import static org.apache.flink.table.api.DataTypes.VARCHAR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericMapData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.types.logical.RowType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Nested values (ROW, ARRAY, MAP at any depth): the top level's conversion rules at every depth,
 * and a dead letter whose reason names the path as Flink SQL reaches the value.
 */
class NestedJsonDecoderTest {

    private static final RowType ROW_TYPE = (RowType) ROW(
            FIELD("ts", BIGINT()),
            FIELD("device", ROW(FIELD("os", STRING()), FIELD("version", INT()))),
            FIELD("items", ARRAY(ROW(
                    FIELD("sku", STRING()),
                    FIELD("price", DECIMAL(10, 2)),
                    FIELD("qty", INT().notNull()),
                    FIELD("sizes", ARRAY(INT()))))),
            FIELD("attrs", MAP(STRING(), INT())),
            FIELD("tags", ARRAY(STRING().notNull())),
            FIELD("deep", ROW(FIELD("a", ROW(FIELD("b", ARRAY(MAP(STRING(), BIGINT()))))))),
            FIELD("event_time", TIMESTAMP_LTZ(3)),
            FIELD("dead_letter_reason", STRING()),
            FIELD("raw_value", BYTES()),
            FIELD("raw_text", STRING())).getLogicalType();

    private static final List<String> NAMES = ROW_TYPE.getFieldNames();
    private static final long TS = 1_772_400_000_000L;

    private static StrictJsonDecoder decoder(RowType type) {
        Configuration options = new Configuration();
        options.set(StrictJsonFormatFactory.EVENT_TIME_FIELD, "ts");
        options.set(StrictJsonFormatFactory.MAX_BYTES, 100_000);
        return new StrictJsonDecoder(type, StrictJsonFormatFactory.settings(options), null);
    }

    private static final StrictJsonDecoder DECODER = decoder(ROW_TYPE);

    private static String record(String extra) {
        return "{\"ts\":" + TS + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    private static GenericRowData decode(String json) {
        return (GenericRowData) DECODER.deserialize(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String reason(String json) {
        Object reason = decode(json).getField(NAMES.indexOf("dead_letter_reason"));
        return reason == null ? null : reason.toString();
    }

    /** Flink's internal nested data as plain lists / maps / strings, to compare with assertEquals. */
    static Object plain(Object value) {
        if (value instanceof GenericRowData) {
            GenericRowData row = (GenericRowData) value;
            List<Object> fields = new ArrayList<>();
            for (int i = 0; i < row.getArity(); i++) {
                fields.add(plain(row.getField(i)));
            }
            return fields;
        }
        if (value instanceof GenericArrayData) {
            List<Object> elements = new ArrayList<>();
            for (Object element : ((GenericArrayData) value).toObjectArray()) {
                elements.add(plain(element));
            }
            return elements;
        }
        if (value instanceof GenericMapData) {
            GenericMapData map = (GenericMapData) value;
            ArrayData keys = map.keyArray();
            Map<Object, Object> entries = new LinkedHashMap<>();
            for (int i = 0; i < map.size(); i++) {
                Object key = ((GenericArrayData) keys).toObjectArray()[i];
                entries.put(key.toString(), plain(map.get(key)));
            }
            return entries;
        }
        if (value instanceof StringData) {
            return value.toString();
        }
        if (value instanceof DecimalData) {
            return ((DecimalData) value).toBigDecimal();
        }
        return value;
    }

    private static Object fieldOf(String json, String name) {
        GenericRowData row = decode(json);
        assertNull(row.getField(NAMES.indexOf("dead_letter_reason")),
                () -> "reason: " + row.getField(NAMES.indexOf("dead_letter_reason")));
        return plain(row.getField(NAMES.indexOf(name)));
    }

    private static List<Object> list(Object... values) {
        return Arrays.asList(values);
    }

    // --- good values --------------------------------------------------------------------------

    static Stream<Arguments> accepted() {
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("a", 1);
        attrs.put("b", null);
        attrs.put("c", 3);
        Map<String, Object> deepMap = new LinkedHashMap<>();
        deepMap.put("x", 7L);
        return Stream.of(
                Arguments.of("device", "{\"os\":\"ios\",\"version\":17}", list("ios", 17)),
                Arguments.of("device", "{\"version\":17.0,\"os\":\"ios\",\"extra\":{\"z\":[1]}}", list("ios", 17)),
                Arguments.of("device", "{}", list(null, null)),
                Arguments.of("device", "null", null),
                Arguments.of("device", "{\"os\":{\"name\": \"ios\" , \"v\":[1, 2.50]}}", list("{\"name\":\"ios\",\"v\":[1,2.50]}", null)),
                Arguments.of("items", "[]", list()),
                Arguments.of("items", "[{\"sku\":\"a\",\"price\":1.5,\"qty\":2,\"sizes\":[1,null,3]},{\"qty\":1}]",
                        list(list("a", new BigDecimal("1.50"), 2, list(1, null, 3)), list(null, null, 1, null))),
                Arguments.of("items", "[null]", list((Object) null)),
                Arguments.of("attrs", "{\"a\":1,\"b\":null,\"c\":3.0}", attrs),
                Arguments.of("attrs", "{}", new LinkedHashMap<>()),
                Arguments.of("tags", "[\"x\", 5, {\"k\":true}]", list("x", "5", "{\"k\":true}")),
                Arguments.of("deep", "{\"a\":{\"b\":[{\"x\":7},{}]}}", list(list(list(deepMap, new LinkedHashMap<>())))));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("accepted")
    void acceptsAndConverts(String name, String json, Object expected) {
        assertEquals(expected, fieldOf(record("\"" + name + "\":" + json), name));
    }

    @Test
    void absentNestedFieldsAreNull() {
        GenericRowData row = decode(record(""));
        assertNull(row.getField(NAMES.indexOf("dead_letter_reason")));
        for (String name : List.of("device", "items", "attrs", "tags", "deep")) {
            assertNull(row.getField(NAMES.indexOf(name)), name);
        }
    }

    // --- bad values: the reason names the path --------------------------------------------------

    static Stream<Arguments> refused() {
        String item = "{\"sku\":\"a\",\"price\":1,\"qty\":1}";
        return Stream.of(
                Arguments.of("\"device\":{\"version\":4.5}", "field device.version: not an integer for INT"),
                Arguments.of("\"device\":[1]", "field device: expected ROW<`os` STRING, `version` INT>, found an array"),
                Arguments.of("\"device\":\"ios\"", "field device: expected ROW<`os` STRING, `version` INT>, found a string"),
                Arguments.of("\"items\":[" + item + "," + item + ",{\"price\":\"x\",\"qty\":1}]",
                        "field items[3].price: expected DECIMAL(10, 2), found a string"),
                Arguments.of("\"items\":[" + item + ",{\"sku\":\"b\"}]",
                        "field items[2].qty: missing or null, and declared NOT NULL"),
                Arguments.of("\"items\":[{\"qty\":null}]", "field items[1].qty: missing or null, and declared NOT NULL"),
                Arguments.of("\"items\":[{\"qty\":1,\"sizes\":[1,2,\"3\"]}]",
                        "field items[1].sizes[3]: expected INT, found a string"),
                Arguments.of("\"items\":{\"qty\":1}", "field items: expected ARRAY<ROW<`sku` STRING, `price` DECIMAL(10, 2), "
                        + "`qty` INT NOT NULL, `sizes` ARRAY<INT>>>, found an object"),
                Arguments.of("\"items\":[5]", "field items[1]: expected ROW<`sku` STRING, `price` DECIMAL(10, 2), "
                        + "`qty` INT NOT NULL, `sizes` ARRAY<INT>>, found a number"),
                Arguments.of("\"attrs\":{\"a\":1,\"it's\":\"2\"}", "field attrs['it''s']: expected INT, found a string"),
                Arguments.of("\"attrs\":[]", "field attrs: expected MAP<STRING, INT>, found an array"),
                Arguments.of("\"tags\":[\"a\",null]", "field tags[2]: null, and declared NOT NULL"),
                Arguments.of("\"deep\":{\"a\":{\"b\":[{},{\"x\":1,\"y\":1.5}]}}", "field deep.a.b[2]['y']: not an integer for BIGINT"),
                // the first bad value in the document wins; later fields are still read as JSON
                Arguments.of("\"items\":[{\"qty\":\"1\"}],\"device\":{\"version\":\"x\"}", "field items[1].qty: expected INT, found a string"),
                // JSON problems come before field problems, at any depth
                Arguments.of("\"items\":[{\"qty\":\"1\"}],\"device\":{\"os\":\"a\",\"os\":\"b\"}", "duplicate key os"),
                Arguments.of("\"attrs\":{\"a\":1,\"a\":2}", "duplicate key a"),
                Arguments.of("\"device\":{\"version\":\"x\"},\"items\":[{\"qty\":1,\"sizes\":[1,]}]", "not a JSON object"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("refused")
    void refusesWithThePath(String member, String expected) {
        assertEquals(expected, reason(record(member)));
        DeadLetterKind kind = expected.startsWith("duplicate key") ? DeadLetterKind.DUPLICATE_KEY
                : expected.startsWith("not a JSON") ? DeadLetterKind.NOT_JSON_OBJECT : DeadLetterKind.INVALID_FIELD;
        assertEquals(kind, DECODER.lastKind());
    }

    @Test
    void cutShortInsideANestedValueIsBrokenJson() {
        assertEquals("not a JSON object", reason("{\"ts\":" + TS + ",\"items\":[{\"qty\":1}, {\"qty\""));
        assertEquals("not a JSON object", reason("{\"ts\":" + TS + ",\"device\":{\"os\":\"a\""));
    }

    @Test
    void mapKeysMustBeText() {
        RowType type = (RowType) ROW(FIELD("ts", BIGINT()), FIELD("m", MAP(INT(), INT()))).getLogicalType();
        ValidationException e = assertThrows(ValidationException.class, () -> decoder(type));
        assertEquals(true, e.getMessage().contains("a MAP's key type must be STRING"), e.getMessage());
        RowType bounded = (RowType) ROW(FIELD("ts", BIGINT()), FIELD("m", MAP(VARCHAR(3), INT()))).getLogicalType();
        assertThrows(ValidationException.class, () -> decoder(bounded));
    }

    // --- seeded: random nested records against an independent model of the rules ------------------

    /**
     * Random {@code items} arrays (rows with unknown members, nested unknown values, nulls, bad
     * leaves, missing NOT NULL fields, repeated keys, a broken tail), random member order and
     * whitespace. The model says what the record must give: the first repeated key anywhere, else a
     * broken JSON, else the first bad value in document order (a row's missing NOT NULL field counts
     * at the row's end), else the values.
     */
    @Test
    void randomNestedRecordsAnswerAsTheModel() {
        Random random = new Random(31);
        for (int n = 0; n < 20_000; n++) {
            Model model = new Model(random);
            String json = model.record();
            GenericRowData row = decode(json);
            Object reason = row.getField(NAMES.indexOf("dead_letter_reason"));
            String expected = model.expectedReason();
            String context = "seed 31, record " + n + ": " + json;
            assertEquals(expected, reason == null ? null : reason.toString(), context);
            if (expected == null) {
                assertEquals(model.items, plain(row.getField(NAMES.indexOf("items"))), context);
                assertEquals(model.attrs, plain(row.getField(NAMES.indexOf("attrs"))), context);
            }
        }
    }

    /** Writes one record and, beside it, what the decoder must make of it. */
    private static final class Model {
        final Random random;
        final StringBuilder out = new StringBuilder();
        String duplicate; // the first repeated key, in document order
        String firstBad; // the first bad value's reason, in document order
        boolean broken;
        List<Object> items; // the expected values when the record is good
        Map<Object, Object> attrs;

        Model(Random random) {
            this.random = random;
        }

        String record() {
            List<String> members = new ArrayList<>(List.of("ts", "items", "attrs", "junk"));
            java.util.Collections.shuffle(members, random);
            out.append('{');
            boolean first = true;
            for (String member : members) {
                if (member.equals("attrs") && random.nextInt(4) == 0 || member.equals("junk") && random.nextBoolean()) {
                    continue;
                }
                out.append(first ? "" : ",").append(space()).append('"').append(member).append("\":").append(space());
                first = false;
                switch (member) {
                    case "ts":
                        out.append(TS);
                        break;
                    case "items":
                        items = items();
                        break;
                    case "attrs":
                        attrs = attrs();
                        break;
                    default:
                        out.append("{\"z\":[1,{\"q\":null}],\"w\":\"v\"}");
                }
            }
            if (random.nextInt(40) == 0) {
                out.append(",\"items2\":[1,"); // cut short: broken whatever came before
                broken = true;
            } else {
                out.append('}');
            }
            return out.toString();
        }

        String expectedReason() {
            if (duplicate != null) {
                return "duplicate key " + duplicate;
            }
            if (broken) {
                return "not a JSON object";
            }
            return firstBad == null ? null : "field " + firstBad;
        }

        private String space() {
            return random.nextInt(3) == 0 ? " " : "";
        }

        private void bad(String reason) {
            if (firstBad == null) {
                firstBad = reason;
            }
        }

        private void repeated(String key) {
            if (duplicate == null) {
                duplicate = key;
            }
        }

        private List<Object> items() {
            if (random.nextInt(10) == 0) {
                out.append("null");
                return null;
            }
            List<Object> result = new ArrayList<>();
            int count = random.nextInt(5);
            out.append('[');
            for (int i = 1; i <= count; i++) {
                out.append(i > 1 ? "," : "").append(space());
                if (random.nextInt(12) == 0) {
                    out.append("null");
                    result.add(null);
                } else {
                    result.add(item("items[" + i + "]"));
                }
            }
            out.append(']');
            return result;
        }

        private List<Object> item(String path) {
            Object sku = null;
            BigDecimal price = null;
            Integer qty = null;
            List<Object> sizes = null;
            List<String> members = new ArrayList<>(List.of("sku", "price", "qty", "sizes", "other"));
            java.util.Collections.shuffle(members, random);
            out.append('{');
            boolean first = true;
            for (String member : members) {
                if (random.nextInt(5) == 0 && !member.equals("qty") || member.equals("qty") && random.nextInt(15) == 0) {
                    continue;
                }
                out.append(first ? "" : ",").append('"').append(member).append("\":");
                first = false;
                switch (member) {
                    case "sku":
                        if (random.nextInt(6) == 0) {
                            out.append("{\"id\": 1}");
                            sku = "{\"id\":1}";
                        } else {
                            sku = "s" + random.nextInt(100);
                            out.append('"').append(sku).append('"');
                        }
                        break;
                    case "price":
                        int kind = random.nextInt(12);
                        if (kind == 0) {
                            out.append("\"9.99\"");
                            bad(path + ".price: expected DECIMAL(10, 2), found a string");
                        } else if (kind == 1) {
                            out.append("1.005");
                            bad(path + ".price: needs rounding for DECIMAL(10, 2)");
                        } else {
                            int cents = random.nextInt(100_000);
                            out.append(cents / 100).append('.').append(String.format("%02d", cents % 100));
                            price = BigDecimal.valueOf(cents, 2);
                        }
                        break;
                    case "qty":
                        int q = random.nextInt(20);
                        if (q == 0) {
                            out.append("null");
                        } else if (q == 1) {
                            out.append("2.5");
                            bad(path + ".qty: not an integer for INT");
                            qty = 0; // not null: the row's end check does not fire for it
                        } else {
                            out.append(q).append(random.nextBoolean() ? ".0" : "");
                            qty = q;
                        }
                        break;
                    case "sizes":
                        sizes = new ArrayList<>();
                        int n = random.nextInt(4);
                        out.append('[');
                        for (int i = 1; i <= n; i++) {
                            out.append(i > 1 ? "," : "");
                            if (random.nextInt(15) == 0) {
                                out.append("\"L\"");
                                bad(path + ".sizes[" + i + "]: expected INT, found a string");
                            } else if (random.nextInt(8) == 0) {
                                out.append("null");
                                sizes.add(null);
                            } else {
                                int size = random.nextInt(50);
                                out.append(size);
                                sizes.add(size);
                            }
                        }
                        out.append(']');
                        break;
                    default:
                        out.append("{\"a\":{\"b\":[1,2]},\"c\":\"d\"}");
                }
            }
            if (random.nextInt(60) == 0) {
                out.append(first ? "" : ",").append("\"sku\":\"again\",\"sku\":\"twice\"");
                repeated("sku");
            }
            out.append('}');
            if (qty == null) {
                bad(path + ".qty: missing or null, and declared NOT NULL");
            }
            return Arrays.asList(sku, price, qty, sizes);
        }

        private Map<Object, Object> attrs() {
            Map<Object, Object> result = new LinkedHashMap<>();
            int n = random.nextInt(4);
            out.append('{');
            for (int i = 0; i < n; i++) {
                String key = "k" + i;
                out.append(i > 0 ? "," : "").append('"').append(key).append("\":");
                if (random.nextInt(20) == 0) {
                    out.append("true");
                    bad("attrs['" + key + "']: expected INT, found a boolean");
                } else {
                    int v = random.nextInt(1000) - 500;
                    out.append(v);
                    result.put(key, v);
                }
            }
            if (n > 0 && random.nextInt(30) == 0) {
                out.append(",\"k0\":1");
                repeated("k0");
            }
            out.append('}');
            return result;
        }
    }
}
