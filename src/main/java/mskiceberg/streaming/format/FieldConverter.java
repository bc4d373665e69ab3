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
import java.util.Base64;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonGenerator;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.BinaryType;
import org.apache.flink.table.types.logical.CharType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
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
                        throw new BadValue("field " + field + ": not a DATE (yyyy-MM-dd)");
                    }
                };
            case TIME_WITHOUT_TIME_ZONE:
                return (p, t) -> {
                    try {
                        return (int) (LocalTime.parse(string(p, t, field, name)).toNanoOfDay() / 1_000_000L);
                    } catch (DateTimeParseException e) {
                        throw new BadValue("field " + field + ": not a TIME (HH:mm:ss[.fff])");
                    }
                };
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                int precision = ((TimestampType) type).getPrecision();
                return (p, t) -> timestamp(string(p, t, field, name), field, name, precision);
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                int ltzPrecision = ((LocalZonedTimestampType) type).getPrecision();
                return (p, t) -> timestamp(string(p, t, field, name), field, name, ltzPrecision);
            default:
                throw new ValidationException(
                        "strict-json cannot read field '" + field + "' of type " + type
                                + ": declare STRING and use JSON_VALUE / JSON_QUERY in the pipeline");
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
                throw new BadValue("field " + field + ": out of range for " + name);
            }
            value = p.getLongValue();
        } else if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            BigDecimal exact = p.getDecimalValue();
            if (exact.compareTo(LONG_MIN) < 0 || exact.compareTo(LONG_MAX) > 0) {
                throw new BadValue("field " + field + ": out of range for " + name);
            }
            if (exact.signum() != 0 && exact.stripTrailingZeros().scale() > 0) {
                throw new BadValue("field " + field + ": not an integer for " + name);
            }
            value = exact.longValue();
        } else {
            throw wrongKind(field, name, t);
        }
        if (value < min || value > max) {
            throw new BadValue("field " + field + ": out of range for " + name);
        }
        return value;
    }

    static double finiteDouble(JsonParser p, JsonToken t, String field, String name) throws BadValue, IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw wrongKind(field, name, t);
        }
        double value = p.getDoubleValue();
        if (Double.isInfinite(value) || Double.isNaN(value)) {
            throw new BadValue("field " + field + ": out of range for " + name);
        }
        return value;
    }

    static float finiteFloat(JsonParser p, JsonToken t, String field, String name) throws BadValue, IOException {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw wrongKind(field, name, t);
        }
        float value = (float) p.getDoubleValue();
        if (Float.isInfinite(value) || Float.isNaN(value)) {
            throw new BadValue("field " + field + ": out of range for " + name);
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
            throw new BadValue("field " + field + ": needs rounding for " + name);
        }
        if (scaled.precision() > precision) {
            throw new BadValue("field " + field + ": too many digits for " + name);
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
                throw new BadValue("field " + field + ": longer than " + maxLength + " characters for " + name);
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
                throw new BadValue("field " + field + ": not base64 for " + name);
            }
            if (value.length > maxLength) {
                throw new BadValue("field " + field + ": longer than " + maxLength + " bytes for " + name);
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
            throw new BadValue("field " + field + ": not a " + name + " (ISO-8601 or yyyy-MM-dd HH:mm:ss[.fff])");
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
        return new BadValue("field " + field + ": expected " + name + ", found " + kind(t));
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
