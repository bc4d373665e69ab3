package mskiceberg.streaming.format;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.JsonProperties;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericMapData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.MapType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;

/**
 * The declared columns as Avro: the reader's schema a writer's schema is resolved into, and the
 * conversion of what Avro read into Flink's values, one definition for both and the same at every
 * depth. (Flink's own flink-avro maps timestamps inside arrays, maps and nested rows with its
 * legacy rules, which know no TIMESTAMP_LTZ and no TIMESTAMP(6), and turns an Instant into
 * milliseconds: a topic with such a column would not start, or would lose microseconds.)
 *
 * <p>Timestamps are Avro's: TIMESTAMP(p) is local-timestamp-millis / -micros, TIMESTAMP_LTZ(p)
 * timestamp-millis / -micros; Avro's resolution compares the longs beneath, so a writer's
 * timestamp-millis reads into either. The datum reader turns them into LocalDateTime / Instant
 * at the reader's precision ({@link RegistryAvroDecoder}).
 */
final class AvroColumns {

    private AvroColumns() {
    }

    /** Converts one value Avro read (never null) into Flink's internal value of the column type. */
    @FunctionalInterface
    interface Converter {
        Object convert(Object avro);
    }

    /** The record schema of the columns: every column nullable (NOT NULL is the decoder's check, by name). */
    static Schema readerSchema(RowType columns) {
        return record(columns, "columns", true, new HashMap<>());
    }

    private static Schema record(RowType row, String name, boolean topLevel, Map<String, Integer> names) {
        int n = names.merge(name, 1, Integer::sum);
        List<Schema.Field> fields = new ArrayList<>();
        for (RowType.RowField field : row.getFields()) {
            LogicalType type = topLevel ? field.getType().copy(true) : field.getType();
            Schema schema = schema(type, name + "_" + field.getName(), names);
            fields.add(type.isNullable()
                    ? new Schema.Field(field.getName(), schema, null, JsonProperties.NULL_VALUE)
                    : new Schema.Field(field.getName(), schema));
        }
        return Schema.createRecord(n == 1 ? name : name + "_" + n, null, null, false, fields);
    }

    private static Schema schema(LogicalType type, String name, Map<String, Integer> names) {
        Schema schema = notNull(type, name, names);
        return type.isNullable() ? Schema.createUnion(Schema.create(Schema.Type.NULL), schema) : schema;
    }

    private static Schema notNull(LogicalType type, String name, Map<String, Integer> names) {
        switch (type.getTypeRoot()) {
            case BOOLEAN:
                return Schema.create(Schema.Type.BOOLEAN);
            case TINYINT:
            case SMALLINT:
            case INTEGER:
                return Schema.create(Schema.Type.INT);
            case BIGINT:
                return Schema.create(Schema.Type.LONG);
            case FLOAT:
                return Schema.create(Schema.Type.FLOAT);
            case DOUBLE:
                return Schema.create(Schema.Type.DOUBLE);
            case CHAR:
            case VARCHAR:
                return Schema.create(Schema.Type.STRING);
            case BINARY:
            case VARBINARY:
                return Schema.create(Schema.Type.BYTES);
            case DECIMAL:
                DecimalType decimal = (DecimalType) type;
                return LogicalTypes.decimal(decimal.getPrecision(), decimal.getScale())
                        .addToSchema(Schema.create(Schema.Type.BYTES));
            case DATE:
                return LogicalTypes.date().addToSchema(Schema.create(Schema.Type.INT));
            case TIME_WITHOUT_TIME_ZONE:
                return LogicalTypes.timeMillis().addToSchema(Schema.create(Schema.Type.INT));
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                return (micros(((TimestampType) type).getPrecision(), type)
                        ? LogicalTypes.localTimestampMicros() : LogicalTypes.localTimestampMillis())
                        .addToSchema(Schema.create(Schema.Type.LONG));
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                return (micros(((LocalZonedTimestampType) type).getPrecision(), type)
                        ? LogicalTypes.timestampMicros() : LogicalTypes.timestampMillis())
                        .addToSchema(Schema.create(Schema.Type.LONG));
            case ARRAY:
                return Schema.createArray(schema(((ArrayType) type).getElementType(), name, names));
            case MAP:
                return Schema.createMap(schema(((MapType) type).getValueType(), name, names));
            case ROW:
                return record((RowType) type, name, false, names);
            default:
                throw new ValidationException("registry-avro: no Avro reading for a column of type " + type);
        }
    }

    private static boolean micros(int precision, LogicalType type) {
        if (precision > 6) {
            throw new ValidationException("registry-avro: " + type + ": Avro timestamps are millis or micros (precision <= 6)");
        }
        return precision > 3;
    }

    /**
     * The reader's schema for one writer: where the writer has an enum for a STRING column, or a
     * fixed for a BYTES (or DECIMAL) one, the reader takes the writer's type, at any depth. Avro's
     * resolution reads neither as the other, while Flink's conversion turns an enum symbol into
     * its name and a fixed into its bytes: so the column reads what the writer meant. Records take
     * the writer's names (the declared columns have none of their own).
     */
    static Schema adapt(Schema reader, Schema writer) {
        if (reader.getType() == Schema.Type.UNION && writer.getType() != Schema.Type.UNION) {
            List<Schema> branches = new ArrayList<>();
            boolean changed = false;
            for (Schema branch : reader.getTypes()) {
                Schema adapted = branch.getType() == Schema.Type.NULL ? branch : adapt(branch, writer);
                changed |= adapted != branch;
                branches.add(adapted);
            }
            return changed ? Schema.createUnion(branches) : reader;
        }
        if (writer.getType() == Schema.Type.UNION) { // ["null", T]: adapt to its one other branch
            List<Schema> others = new ArrayList<>();
            for (Schema branch : writer.getTypes()) {
                if (branch.getType() != Schema.Type.NULL) {
                    others.add(branch);
                }
            }
            return others.size() == 1 ? adapt(reader, others.get(0)) : reader;
        }
        switch (reader.getType()) {
            case STRING:
                return writer.getType() == Schema.Type.ENUM ? writer : reader;
            case BYTES:
                return writer.getType() == Schema.Type.FIXED ? writer : reader;
            case ARRAY:
                if (writer.getType() != Schema.Type.ARRAY) {
                    return reader;
                }
                Schema items = adapt(reader.getElementType(), writer.getElementType());
                return items == reader.getElementType() ? reader : Schema.createArray(items);
            case MAP:
                if (writer.getType() != Schema.Type.MAP) {
                    return reader;
                }
                Schema values = adapt(reader.getValueType(), writer.getValueType());
                return values == reader.getValueType() ? reader : Schema.createMap(values);
            case RECORD:
                if (writer.getType() != Schema.Type.RECORD) {
                    return reader;
                }
                List<Schema.Field> fields = new ArrayList<>();
                // the writer's name: a record in a nullable column is a union branch, found by name
                boolean changed = !reader.getFullName().equals(writer.getFullName());
                for (Schema.Field field : reader.getFields()) {
                    Schema.Field written = writer.getField(field.name());
                    Schema adapted = written == null ? field.schema() : adapt(field.schema(), written.schema());
                    changed |= adapted != field.schema();
                    fields.add(new Schema.Field(field, adapted));
                }
                return changed
                        ? Schema.createRecord(writer.getName(), reader.getDoc(), writer.getNamespace(), false, fields)
                        : reader;
            default:
                return reader;
        }
    }

    /** The converter of a column type (its values never null here: the caller checks). */
    static Converter converter(LogicalType type) {
        switch (type.getTypeRoot()) {
            case BOOLEAN:
            case INTEGER:
            case BIGINT:
            case FLOAT:
            case DOUBLE:
            case DATE:
            case TIME_WITHOUT_TIME_ZONE:
                return avro -> avro; // Boolean, Integer (days, millis of the day), Long, Float, Double as read
            case TINYINT:
                return avro -> ((Integer) avro).byteValue();
            case SMALLINT:
                return avro -> ((Integer) avro).shortValue();
            case CHAR:
            case VARCHAR:
                return avro -> StringData.fromString(avro.toString()); // a Utf8, a String or an enum symbol
            case BINARY:
            case VARBINARY:
                return AvroColumns::bytes;
            case DECIMAL:
                DecimalType decimal = (DecimalType) type;
                return avro -> {
                    DecimalData value = DecimalData.fromUnscaledBytes(bytes(avro), decimal.getPrecision(), decimal.getScale());
                    if (value == null) {
                        throw new IllegalArgumentException("more digits than " + type.asSummaryString());
                    }
                    return value;
                };
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                return avro -> TimestampData.fromLocalDateTime((LocalDateTime) avro);
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                return avro -> TimestampData.fromInstant((Instant) avro);
            case ARRAY:
                Converter element = nullable(converter(((ArrayType) type).getElementType()));
                return avro -> {
                    List<?> list = (List<?>) avro;
                    Object[] values = new Object[list.size()];
                    for (int i = 0; i < values.length; i++) {
                        values[i] = element.convert(list.get(i));
                    }
                    return new GenericArrayData(values);
                };
            case MAP:
                Converter value = nullable(converter(((MapType) type).getValueType()));
                return avro -> {
                    Map<Object, Object> map = new HashMap<>();
                    for (Map.Entry<?, ?> entry : ((Map<?, ?>) avro).entrySet()) {
                        map.put(StringData.fromString(entry.getKey().toString()), value.convert(entry.getValue()));
                    }
                    return new GenericMapData(map);
                };
            case ROW:
                Converter[] fields = fieldConverters((RowType) type);
                return avro -> {
                    GenericRowData row = new GenericRowData(fields.length);
                    fill((IndexedRecord) avro, fields, row);
                    return row;
                };
            default:
                throw new ValidationException("registry-avro: no Avro reading for a column of type " + type);
        }
    }

    /** One converter per field of the row, each passing nulls through. */
    static Converter[] fieldConverters(RowType row) {
        Converter[] converters = new Converter[row.getFieldCount()];
        for (int i = 0; i < converters.length; i++) {
            converters[i] = nullable(converter(row.getTypeAt(i)));
        }
        return converters;
    }

    /** The record's fields (in the reader's order: the columns') converted into the row. */
    static void fill(IndexedRecord record, Converter[] fields, GenericRowData row) {
        for (int i = 0; i < fields.length; i++) {
            row.setField(i, fields[i].convert(record.get(i)));
        }
    }

    private static Converter nullable(Converter converter) {
        return avro -> avro == null ? null : converter.convert(avro);
    }

    private static byte[] bytes(Object avro) {
        if (avro instanceof GenericFixed) {
            return ((GenericFixed) avro).bytes();
        }
        ByteBuffer buffer = ((ByteBuffer) avro).duplicate();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }
}
