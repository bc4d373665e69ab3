package mskiceberg.streaming.format;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonGenerator;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParseException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericMapData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.BinaryType;
import org.apache.flink.table.types.logical.CharType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.MapType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarBinaryType;
import org.apache.flink.table.types.logical.VarCharType;

/**
 * Turns the current (non-null) JSON value of a parser into Flink's internal value of one column
 * type, or refuses it with a {@link BadValue} naming the field and the problem. The rules are
 * the conversion table of docs/reference/configuration.md; each is one small method here.
 */
@FunctionalInterface
interface FieldConverter {

    Object convert(JsonParser parser, JsonToken token) throws BadValue, IOException;

    static FieldConverter of(String field, LogicalType type, JsonFactory factory) {
        String name = typeName(type);
        switch (type.getTypeRoot()) {
            case TINYINT:
                return (p, t) -> (byte) integer(p, t, field, name, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case SMALLINT:
                return (p, t) -> (short) integer(p, t, field, name, Short.MIN_VALUE, Short.MAX_VALUE);
            case INTEGER:
                return (p, t) -> (int) integer(p, t, field, name, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case BIGINT:
                return (p, t) -> integer(p, t, field, name, Long.MIN_VALUE, Long.MAX_VALUE);
            case DOUBLE:
                return (p, t) -> finiteDouble(p, t, field, name);
            case FLOAT:
                return (p, t) -> finiteFloat(p, t, field, name);
            case DECIMAL:
                DecimalType decimal = (DecimalType) type;
                return (p, t) -> decimal(p, t, field, name, decimal.getPrecision(), decimal.getScale());
            case BOOLEAN:
                return (p, t) -> {
                    if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
                        return t == JsonToken.VALUE_TRUE;
                    }
                    throw wrongKind(field, name, t);
                };
            case CHAR:
                return text(field, name, ((CharType) type).getLength(), factory);
            case VARCHAR:
                return text(field, name, ((VarCharType) type).getLength(), factory);
            case BINARY:
                return bytes(field, name, ((BinaryType) type).getLength());
            case VARBINARY:
                return bytes(field, name, ((VarBinaryType) type).getLength());
            case DATE:
                return (p, t) -> {
                    try {
                        return (int) LocalDate.parse(string(p, t, field, name)).toEpochDay();
                    } catch (DateTimeParseException e) {
                        throw new BadValue(field, "not a DATE (yyyy-MM-dd)");
                    }
                };
            case TIME_WITHOUT_TIME_ZONE:
                return (p, t) -> {
                    try {
                        return (int) (LocalTime.parse(string(p, t, field, name)).toNanoOfDay() / 1_000_000L);
                    } catch (DateTimeParseException e) {
                        throw new BadValue(field, "not a TIME (HH:mm:ss[.fff])");
                    }
                };
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                int precision = ((TimestampType) type).getPrecision();
                return (p, t) -> timestamp(string(p, t, field, name), field, name, precision);
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                int ltzPrecision = ((LocalZonedTimestampType) type).getPrecision();
                return (p, t) -> timestamp(string(p, t, field, name), field, name, ltzPrecision);
            case ROW:
                return row(field, (RowType) type, factory);
            case ARRAY:
                return array(field, (ArrayType) type, factory);
            case MAP:
                return map(field, (MapType) type, factory);
            default:
                throw new ValidationException(
                        "strict-json cannot read field '" + field + "' of type " + type
                                + ": declare STRING and use JSON_VALUE / JSON_QUERY in the pipeline");
        }
    }

    // --- nested values ------------------------------------------------------------------------
    // The same rules at every depth. A converter that refuses a value leaves the parser on the
    // value's first token (a scalar, or the start of an object/array of the wrong kind) or, for
    // a container, on its last token; the container above skips the rest of its own value, then
    // adds its step to the path. A nested value whose type is NOT NULL must be present and not null.

    /** A JSON object into a ROW: unknown keys ignored, an absent key is NULL, {} a row of NULLs. */
    static FieldConverter row(String field, RowType type, JsonFactory factory) {
        String name = typeName(type);
        List<String> names = type.getFieldNames();
        Map<String, Integer> index = new HashMap<>();
        FieldConverter[] children = new FieldConverter[names.size()];
        boolean[] notNull = new boolean[names.size()];
        for (int i = 0; i < children.length; i++) {
            index.put(names.get(i), i);
            children[i] = of(names.get(i), type.getTypeAt(i), factory);
            notNull[i] = !type.getTypeAt(i).isNullable();
        }
        return (p, t) -> {
            if (t != JsonToken.START_OBJECT) {
                throw wrongKind(field, name, t);
            }
            GenericRowData row = new GenericRowData(children.length);
            JsonToken token;
            while ((token = p.nextToken()) == JsonToken.FIELD_NAME) {
                Integer i = index.get(p.currentName());
                JsonToken value = p.nextToken();
                if (i == null || value == JsonToken.VALUE_NULL) {
                    p.skipChildren();
                    continue;
                }
                try {
                    row.setField(i, children[i].convert(p, value));
                } catch (BadValue bad) {
                    throw leaveContainer(p, bad, field);
                }
            }
            endOf(token, JsonToken.END_OBJECT);
            for (int i = 0; i < children.length; i++) {
                if (notNull[i] && row.isNullAt(i)) {
                    throw new BadValue(BadValue.join(field, names.get(i)), "missing or null, and declared NOT NULL");
                }
            }
            return row;
        };
    }

    /** A JSON array into an ARRAY, elements in order; a NULL element only where the element type allows it. */
    static FieldConverter array(String field, ArrayType type, JsonFactory factory) {
        String name = typeName(type);
        FieldConverter element = of("", type.getElementType(), factory);
        boolean notNull = !type.getElementType().isNullable();
        return (p, t) -> {
            if (t != JsonToken.START_ARRAY) {
                throw wrongKind(field, name, t);
            }
            List<Object> values = new ArrayList<>();
            JsonToken token;
            while ((token = p.nextToken()) != JsonToken.END_ARRAY && token != null) {
                if (token == JsonToken.VALUE_NULL) {
                    if (notNull) {
                        throw leaveContainer(p, new BadValue("", "null, and declared NOT NULL"), at(field, values));
                    }
                    values.add(null);
                    continue;
                }
                try {
                    values.add(element.convert(p, token));
                } catch (BadValue bad) {
                    throw leaveContainer(p, bad, at(field, values));
                }
            }
            endOf(token, JsonToken.END_ARRAY);
            return new GenericArrayData(values.toArray());
        };
    }

    /** A JSON object into a MAP with character-string keys: each key once (duplicates are the parser's). */
    static FieldConverter map(String field, MapType type, JsonFactory factory) {
        String name = typeName(type);
        LogicalTypeRoot keyRoot = type.getKeyType().getTypeRoot();
        if (keyRoot != LogicalTypeRoot.VARCHAR || ((VarCharType) type.getKeyType()).getLength() != VarCharType.MAX_LENGTH) {
            throw new ValidationException("strict-json cannot read field '" + field + "' of type " + type
                    + ": JSON object keys are text, so a MAP's key type must be STRING");
        }
        FieldConverter value = of("", type.getValueType(), factory);
        boolean notNull = !type.getValueType().isNullable();
        return (p, t) -> {
            if (t != JsonToken.START_OBJECT) {
                throw wrongKind(field, name, t);
            }
            Map<Object, Object> entries = new LinkedHashMap<>();
            JsonToken token;
            while ((token = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.VALUE_NULL) {
                    if (notNull) {
                        throw leaveContainer(p, new BadValue("", "null, and declared NOT NULL"), at(field, key));
                    }
                    entries.put(StringData.fromString(key), null);
                    continue;
                }
                try {
                    entries.put(StringData.fromString(key), value.convert(p, v));
                } catch (BadValue bad) {
                    throw leaveContainer(p, bad, at(field, key));
                }
            }
            endOf(token, JsonToken.END_OBJECT);
            return new GenericMapData(entries);
        };
    }

    /** The path of the next element of an array, as Flink SQL counts: items[1] is the first. */
    static String at(String field, List<Object> before) {
        return field + "[" + (before.size() + 1) + "]";
    }

    /** The path of a map value, as Flink SQL writes it: attrs['k'] (a quote in the key doubled). */
    static String at(String field, String key) {
        return field + "['" + key.replace("'", "''") + "']";
    }

    /**
     * A child of the current container refused its value: move the parser to the container's last
     * token (so the field loop above goes on from there) and give the problem the container's path.
     */
    static BadValue leaveContainer(JsonParser p, BadValue bad, String path) throws IOException {
        p.skipChildren(); // the child's own object/array, if it refused it at its first token
        int depth = 1;
        while (depth > 0) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new JsonParseException(p, "unexpected end of input");
            }
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                depth++;
            } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                depth--;
            }
        }
        return bad.under(path);
    }

    /** The parser ran out inside a container (a value cut short): a broken JSON, not a bad field. */
    static void endOf(JsonToken found, JsonToken expected) throws IOException {
        if (found != expected) {
            throw new IOException("expected " + expected + ", found " + found);
        }
    }

    /** The type as reasons name it: BIGINT, DECIMAL(10, 2), TIMESTAMP(3), STRING... (nullability left out). */
    static String typeName(LogicalType type) {
        return type.copy(true).asSummaryString();
    }

    // --- numbers ------------------------------------------------------------------------------

    BigDecimal LONG_MIN = BigDecimal.valueOf(Long.MIN_VALUE);
    BigDecimal LONG_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

    /** An integral JSON number in [min, max]: 42, 42.0 and 4.2e1 are 42; 4.5 is refused, never truncated. */
    static long integer(JsonParser p, JsonToken t, String field, String name, long min, long max)
            throws BadValue, IOException {
        long value;
        if (t == JsonToken.VALUE_NUMBER_INT) {
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw new BadValue(field, "out of range for " + name);
            }
            value = p.getLongValue();
        } else if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            BigDecimal exact = p.getDecimalValue();
            if (exact.compareTo(LONG_MIN) < 0 || exact.compareTo(LONG_MAX) > 0) {
                throw new BadValue(field, "out of range for " + name);
            }
            if (exact.signum() != 0 && exact.stripTrailingZeros().scale() > 0) {
                throw new BadValue(field, "not an integer for " + name);
            }
            value = exact.longValue();
        } else {
            throw wrongKind(field, name, t);
        }
        if (value < min || value > max) {
            throw new BadValue(field, "out of range for " + name);
        }
        return value;
    }

    static double finiteDouble(JsonParser p, JsonToken t, String field, String name) throws BadValue, IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw wrongKind(field, name, t);
        }
        double value = p.getDoubleValue();
        if (Double.isInfinite(value) || Double.isNaN(value)) {
            throw new BadValue(field, "out of range for " + name);
        }
        return value;
    }

    static float finiteFloat(JsonParser p, JsonToken t, String field, String name) throws BadValue, IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw wrongKind(field, name, t);
        }
        float value = (float) p.getDoubleValue();
        if (Float.isInfinite(value) || Float.isNaN(value)) {
            throw new BadValue(field, "out of range for " + name);
        }
        return value;
    }

    /** Exact: a value that would need rounding to the scale, or more digits than the precision, is refused. */
    static DecimalData decimal(JsonParser p, JsonToken t, String field, String name, int precision, int scale)
            throws BadValue, IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw wrongKind(field, name, t);
        }
        BigDecimal exact = p.getDecimalValue();
        BigDecimal scaled;
        try {
            scaled = exact.setScale(scale, RoundingMode.UNNECESSARY);
        } catch (ArithmeticException e) {
            throw new BadValue(field, "needs rounding for " + name);
        }
        if (scaled.precision() > precision) {
            throw new BadValue(field, "too many digits for " + name);
        }
        return DecimalData.fromBigDecimal(scaled, precision, scale);
    }

    // --- text and bytes -----------------------------------------------------------------------

    /** Any JSON value as text: strings as they are, numbers as written, objects and arrays as compact JSON. */
    static FieldConverter text(String field, String name, int maxLength, JsonFactory factory) {
        boolean limited = maxLength < VarCharType.MAX_LENGTH;
        return (p, t) -> {
            String text;
            if (t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT
                    || t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
                text = p.getText();
            } else {
                text = compactJson(p, factory);
            }
            if (limited && text.codePointCount(0, text.length()) > maxLength) {
                throw new BadValue(field, "longer than " + maxLength + " characters for " + name);
            }
            return StringData.fromString(text);
        };
    }

    /** The object or array the parser is at, written again without whitespace; numbers keep their text. */
    static String compactJson(JsonParser p, JsonFactory factory) throws IOException {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = factory.createGenerator(out)) {
            int depth = 0;
            JsonToken t = p.currentToken();
            do {
                switch (t) {
                    case START_OBJECT:
                        g.writeStartObject();
                        depth++;
                        break;
                    case START_ARRAY:
                        g.writeStartArray();
                        depth++;
                        break;
                    case END_OBJECT:
                        g.writeEndObject();
                        depth--;
                        break;
                    case END_ARRAY:
                        g.writeEndArray();
                        depth--;
                        break;
                    case FIELD_NAME:
                        g.writeFieldName(p.currentName());
                        break;
                    case VALUE_STRING:
                        g.writeString(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                        break;
                    case VALUE_NUMBER_INT:
                    case VALUE_NUMBER_FLOAT:
                        g.writeNumber(p.getText());
                        break;
                    case VALUE_TRUE:
                    case VALUE_FALSE:
                        g.writeBoolean(t == JsonToken.VALUE_TRUE);
                        break;
                    default:
                        g.writeNull();
                }
                if (depth > 0) {
                    t = p.nextToken();
                }
            } while (depth > 0);
        }
        return out.toString();
    }

    static FieldConverter bytes(String field, String name, int maxLength) {
        return (p, t) -> {
            byte[] value;
            try {
                value = Base64.getDecoder().decode(string(p, t, field, name));
            } catch (IllegalArgumentException e) {
                throw new BadValue(field, "not base64 for " + name);
            }
            if (value.length > maxLength) {
                throw new BadValue(field, "longer than " + maxLength + " bytes for " + name);
            }
            return value;
        };
    }

    // --- time ---------------------------------------------------------------------------------

    /**
     * ISO-8601 ({@code T} or a space between date and time), optionally with {@code Z} or an
     * offset {@code +hh:mm} (then converted to UTC); without a zone the text is UTC wall time.
     * Digits beyond the type's precision are cut, as Flink's CAST does.
     */
    static TimestampData timestamp(String text, String field, String name, int precision) throws BadValue {
        LocalDateTime utc;
        try {
            if (text.length() < 11 || (text.charAt(10) != 'T' && text.charAt(10) != ' ')) {
                throw new DateTimeParseException("no date and time", text, 0);
            }
            String iso = text.charAt(10) == ' ' ? text.substring(0, 10) + 'T' + text.substring(11) : text;
            if (hasZone(iso)) {
                utc = OffsetDateTime.parse(iso).withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime();
            } else {
                utc = LocalDateTime.parse(iso);
            }
        } catch (DateTimeParseException e) {
            throw new BadValue(field, "not a " + name + " (ISO-8601 or yyyy-MM-dd HH:mm:ss[.fff])");
        }
        int nanos = utc.getNano();
        int unit = (int) Math.pow(10, 9 - precision);
        return TimestampData.fromLocalDateTime(utc.withNano(nanos - nanos % unit));
    }

    /** A trailing Z, or a + / - after the date (whose own '-' come before index 10). */
    static boolean hasZone(String iso) {
        if (iso.endsWith("Z")) {
            return true;
        }
        for (int i = iso.length() - 1; i > 10; i--) {
            char c = iso.charAt(i);
            if (c == '+' || c == '-') {
                return true;
            }
        }
        return false;
    }

    // --- shared -------------------------------------------------------------------------------

    static String string(JsonParser p, JsonToken t, String field, String name) throws BadValue, IOException {
        if (t != JsonToken.VALUE_STRING) {
            throw wrongKind(field, name, t);
        }
        return p.getText();
    }

    static BadValue wrongKind(String field, String name, JsonToken t) {
        return new BadValue(field, "expected " + name + ", found " + kind(t));
    }

    static String kind(JsonToken t) {
        switch (t) {
            case VALUE_STRING:
                return "a string";
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return "a number";
            case VALUE_TRUE:
            case VALUE_FALSE:
                return "a boolean";
            case START_OBJECT:
                return "an object";
            case START_ARRAY:
                return "an array";
            default:
                return String.valueOf(t);
        }
    }
}
