package mskiceberg.streaming.format;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeFamily;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.Collector;

/**
 * The {@code strict-debezium-json} and {@code registry-debezium-avro} formats: a Debezium change
 * event (JSON converter with {@code schemas.enable=false}, or Avro framed by a schema registry)
 * becomes the change rows of the table whose columns describe its
 * row images: {@code c} / {@code r} one +I (after), {@code u} -U (before, when sent) and +U
 * (after), {@code d} one -D (before). A tombstone (null value, Debezium's compaction marker after
 * a delete) emits nothing and is counted apart. Anything else is one dead-letter row (RowKind
 * INSERT, {@code dead_letter_reason} set, {@code raw_value} / {@code raw_text} as strict-json),
 * so a bad record never throws and never vanishes.
 *
 * <p>The envelope is read by an inner decoder of the value format ({@link StrictJsonDecoder} or
 * {@link RegistryAvroDecoder}) whose row is
 * {@code before ROW<the table's columns>, after ROW<same>, op STRING, ts_ms BIGINT}, with event
 * time {@code ts_ms} and {@code op} required: every rule of the format (size, UTF-8, duplicates,
 * nested types; the wire format and the writer's schema) is that format's, and its reasons name
 * paths as SQL reaches them ({@code after.price}).
 * This class adds only what makes an envelope a change: op, the images it needs, their key.
 */
public final class DebeziumDecoder implements DeserializationSchema<RowData> {

    private static final long serialVersionUID = 1L;

    static final String BEFORE = "before";
    static final String AFTER = "after";
    static final String OP = "op";
    static final String TS_MS = "ts_ms";
    // the inner decoder's fields are the envelope row's columns in order, minus its own special columns
    private static final int BEFORE_AT = 0;
    private static final int AFTER_AT = 1;
    private static final int OP_AT = 2;
    private static final int TS_MS_AT = 3;
    private static final int ENVELOPE_FIELDS = 4;

    static final String SCHEMAS_ENABLED = "a JsonConverter record with schema and payload: "
            + "set value.converter.schemas.enable=false on the Debezium connector";
    static final String TRUNCATE = "op t (truncate) cannot be applied per key: truncate the table yourself";
    private static final int MAX_OP_SHOWN = 20; // an op that is not c/r/u/d is named, up to this many characters

    private final RowType rowType; // the produced row: the table's columns + event_time and the dead-letter columns
    private final List<String> keyFields;
    private final DecoderSettings settings; // its requiredFields: the table's NOT NULL columns; eventTimeField unused
    private final TypeInformation<RowData> producedType;
    private final RegistrySettings registry; // Avro envelopes' registry; null: JSON envelopes

    private transient RecordDecoder envelope;
    private transient JsonFactory json; // only to recognise a record with schema and payload
    private transient int[] positions; // output column of each table column
    private transient int[] keys; // table column indexes of the key
    private transient int[] afterRequired; // key columns, then the NOT NULL columns: present in an after image
    private transient String[] columnNames;
    private transient int eventTimePos;
    private transient int reasonPos;
    private transient int rawValuePos;
    private transient int rawTextPos;
    private transient DeadLetterKind kind; // of the last dead letter
    private transient RecordCounters counters;

    /**
     * @param keyFields the table's primary key columns
     * @param settings the event-time range, size limit, metrics topic and the table's NOT NULL
     *     columns ({@code requiredFields}); its event-time field is not used: a change's event time
     *     is the envelope's {@code ts_ms}
     */
    public DebeziumDecoder(
            RowType rowType, List<String> keyFields, DecoderSettings settings, TypeInformation<RowData> producedType) {
        this(rowType, keyFields, settings, null, producedType);
    }

    /** @param registry where Avro envelopes' writer schemas are (null: the envelopes are JSON) */
    public DebeziumDecoder(RowType rowType, List<String> keyFields, DecoderSettings settings,
                           RegistrySettings registry, TypeInformation<RowData> producedType) {
        this.registry = registry;
        this.rowType = rowType;
        this.keyFields = new ArrayList<>(keyFields);
        this.settings = settings;
        this.producedType = producedType;
        prepare(); // fail at planning time, not on the first record, when the configuration is wrong
    }

    @Override
    public void open(InitializationContext context) {
        prepare();
        registerMetrics(context.getMetricGroup());
    }

    /** goodRecords {topic}, deadRecords {topic, reason} and tombstoneRecords {topic}. */
    void registerMetrics(MetricGroup root) {
        counters.register(root, settings.topic);
        counters.registerTombstones(root, settings.topic);
    }

    RecordCounters counters() {
        return counters;
    }

    /** The kind of the last dead letter (undefined before one). */
    DeadLetterKind lastKind() {
        return kind;
    }

    /** Checks the configuration against the row and builds the decoder's state (planning, then each task). */
    private void prepare() {
        List<String> names = rowType.getFieldNames();
        eventTimePos = names.indexOf(RecordDecoder.EVENT_TIME_COLUMN);
        if (eventTimePos != RecordDecoder.NONE && !rowType.getTypeAt(eventTimePos).is(LogicalTypeFamily.TIMESTAMP)) {
            throw new ValidationException(DebeziumJsonFormatFactory.IDENTIFIER + ": column '"
                    + RecordDecoder.EVENT_TIME_COLUMN + "' must be a TIMESTAMP_LTZ(3), not " + rowType.getTypeAt(eventTimePos));
        }
        reasonPos = special(names, RecordDecoder.REASON_COLUMN, LogicalTypeFamily.CHARACTER_STRING);
        rawValuePos = special(names, RecordDecoder.RAW_VALUE_COLUMN, LogicalTypeFamily.BINARY_STRING);
        rawTextPos = special(names, RecordDecoder.RAW_TEXT_COLUMN, LogicalTypeFamily.CHARACTER_STRING);

        List<RowType.RowField> image = new ArrayList<>(); // the table's columns, as a row image carries them
        List<Integer> at = new ArrayList<>();
        for (int pos = 0; pos < names.size(); pos++) {
            if (pos != eventTimePos && pos != reasonPos && pos != rawValuePos && pos != rawTextPos) {
                // nullable at the top: a key-only before image leaves the other columns out
                image.add(new RowType.RowField(names.get(pos), rowType.getTypeAt(pos).copy(true)));
                at.add(pos);
            }
        }
        positions = at.stream().mapToInt(Integer::intValue).toArray();
        columnNames = image.stream().map(RowType.RowField::getName).toArray(String[]::new);

        String keyOption = DebeziumJsonFormatFactory.KEY_FIELDS.key();
        if (keyFields.isEmpty() || keyFields.stream().anyMatch(String::isBlank)
                || new HashSet<>(keyFields).size() != keyFields.size()) {
            throw new ValidationException(DebeziumJsonFormatFactory.IDENTIFIER + ": '" + keyOption
                    + "' must name the table's primary key columns, each once, ';'-separated (found " + keyFields + ")");
        }
        keys = indexes(keyFields, keyOption);
        int[] notNull = indexes(settings.requiredFields, StrictJsonFormatFactory.REQUIRED_FIELDS.key());
        afterRequired = IntStream.concat(Arrays.stream(keys), Arrays.stream(notNull)).distinct().toArray();

        envelope = envelopeDecoder(new RowType(image));
        json = new JsonFactory();
        counters = new RecordCounters();
    }

    /**
     * The value format reading the envelope: {@code before} and {@code after} as rows of the
     * table's columns, {@code op} required, {@code ts_ms} the event time (so its range check).
     */
    private RecordDecoder envelopeDecoder(RowType image) {
        RowType envelopeType = (RowType) DataTypes.ROW(
                DataTypes.FIELD(BEFORE, DataTypes.of(image)),
                DataTypes.FIELD(AFTER, DataTypes.of(image)),
                DataTypes.FIELD(OP, DataTypes.STRING()),
                DataTypes.FIELD(TS_MS, DataTypes.BIGINT()),
                DataTypes.FIELD(RecordDecoder.EVENT_TIME_COLUMN, DataTypes.TIMESTAMP_LTZ(3)),
                DataTypes.FIELD(RecordDecoder.REASON_COLUMN, DataTypes.STRING()),
                DataTypes.FIELD(RecordDecoder.RAW_VALUE_COLUMN, DataTypes.BYTES()),
                DataTypes.FIELD(RecordDecoder.RAW_TEXT_COLUMN, DataTypes.STRING())).getLogicalType();
        DecoderSettings envelopeSettings = new DecoderSettings(
                TS_MS, settings.validFrom, settings.validUntil, List.of(OP), settings.maxBytes, settings.topic);
        return registry == null
                ? new StrictJsonDecoder(envelopeType, envelopeSettings, null)
                : new RegistryAvroDecoder(envelopeType, envelopeSettings, registry, null);
    }

    /** The inner Avro decoder's registry (the tests' in-memory one). */
    void useRegistry(SchemaRegistryClient other) {
        ((RegistryAvroDecoder) envelope).useRegistry(other);
    }

    /** The position of a column every dead letter needs. */
    private int special(List<String> names, String column, LogicalTypeFamily family) {
        int pos = names.indexOf(column);
        if (pos == RecordDecoder.NONE || !rowType.getTypeAt(pos).is(family)) {
            throw new ValidationException(DebeziumJsonFormatFactory.IDENTIFIER + ": the table needs a column '"
                    + column + "' (" + (family == LogicalTypeFamily.BINARY_STRING ? "BYTES" : "STRING")
                    + ") for its dead letters, found " + (pos == RecordDecoder.NONE ? "none" : rowType.getTypeAt(pos)));
        }
        return pos;
    }

    /** The table column indexes of the columns an option names. */
    private int[] indexes(List<String> named, String option) {
        List<String> columns = Arrays.asList(columnNames);
        int[] indexes = new int[named.size()];
        for (int i = 0; i < indexes.length; i++) {
            indexes[i] = columns.indexOf(named.get(i));
            if (indexes[i] == RecordDecoder.NONE) {
                throw new ValidationException(DebeziumJsonFormatFactory.IDENTIFIER + ": '" + option + "' names '"
                        + named.get(i) + "', not a column of the table (columns: " + columns + ")");
            }
        }
        return indexes;
    }

    @Override
    public RowData deserialize(byte[] message) {
        throw new UnsupportedOperationException(DebeziumJsonFormatFactory.IDENTIFIER
                + " emits zero, one or two rows per record: call deserialize(byte[], Collector)");
    }

    @Override
    public void deserialize(byte[] message, Collector<RowData> out) {
        if (message == null) {
            counters.tombstone();
            return;
        }
        Object[] values = new Object[ENVELOPE_FIELDS];
        String reason = judge(message, values);
        if (reason != null) {
            counters.dead(kind);
            out.collect(deadLetter(message, reason));
            return;
        }
        counters.good();
        GenericRowData before = (GenericRowData) values[BEFORE_AT];
        GenericRowData after = (GenericRowData) values[AFTER_AT];
        long eventTime = (Long) values[TS_MS_AT];
        switch (values[OP_AT].toString()) {
            case "u":
                if (before != null) {
                    out.collect(change(RowKind.UPDATE_BEFORE, before, eventTime));
                }
                out.collect(change(RowKind.UPDATE_AFTER, after, eventTime));
                break;
            case "d":
                out.collect(change(RowKind.DELETE, before, eventTime));
                break;
            default: // c, r: judge let no other op through
                out.collect(change(RowKind.INSERT, after, eventTime));
        }
    }

    /**
     * Fills the envelope's values and returns null when they make a change, or returns why not
     * (and sets {@link #kind}). The JSON format's reasons first, then the envelope's rules.
     */
    private String judge(byte[] message, Object[] values) {
        String reason = envelope.decode(message, values);
        if (reason != null) {
            kind = envelope.lastKind();
            if (kind == DeadLetterKind.MISSING_REQUIRED_FIELD && registry == null && hasSchemaAndPayload(message)) {
                return dead(DeadLetterKind.BAD_ENVELOPE, SCHEMAS_ENABLED);
            }
            return reason;
        }
        GenericRowData before = (GenericRowData) values[BEFORE_AT];
        GenericRowData after = (GenericRowData) values[AFTER_AT];
        String op = values[OP_AT].toString();
        switch (op) {
            case "c":
            case "r":
                return image(AFTER, after, op, afterRequired);
            case "u":
                reason = image(AFTER, after, op, afterRequired);
                if (reason == null && before != null) {
                    reason = missing(BEFORE, before, keys);
                    return reason != null ? reason : sameKey(before, after);
                }
                return reason;
            case "d":
                return image(BEFORE, before, op, keys);
            case "t":
                return dead(DeadLetterKind.BAD_ENVELOPE, TRUNCATE);
            default:
                return dead(DeadLetterKind.BAD_ENVELOPE, "unknown op \"" + shown(op) + "\": expected c, r, u or d");
        }
    }

    /** The image an op needs: present, with the columns that must not be null. */
    private String image(String name, GenericRowData image, String op, int[] columns) {
        if (image == null) {
            return dead(DeadLetterKind.BAD_ENVELOPE, name + " missing or null for op " + op);
        }
        return missing(name, image, columns);
    }

    /** The first of the columns that is missing or null in the image, as the JSON format words it. */
    private String missing(String name, GenericRowData image, int[] columns) {
        for (int i : columns) {
            if (image.isNullAt(i)) {
                return dead(DeadLetterKind.MISSING_REQUIRED_FIELD, "missing required field " + name + "." + columnNames[i]);
            }
        }
        return null;
    }

    /** An update keeps its key: Debezium sends a key change as a delete and a create. */
    private String sameKey(GenericRowData before, GenericRowData after) {
        for (int i : keys) {
            if (!Objects.deepEquals(before.getField(i), after.getField(i))) {
                String column = columnNames[i];
                return dead(DeadLetterKind.BAD_ENVELOPE, "update changes key column " + column + " (before." + column
                        + " differs from after." + column + "): a key change must come as a delete and a create");
            }
        }
        return null;
    }

    /** The op as a reason shows it: short, whatever the record sent. */
    private static String shown(String op) {
        return op.length() <= MAX_OP_SHOWN ? op : op.substring(0, MAX_OP_SHOWN) + "...";
    }

    /**
     * Whether the top level has both schema and payload (the JsonConverter with schemas.enable=true).
     * Asked only of a record the JSON format found whole but without op or ts_ms.
     */
    private boolean hasSchemaAndPayload(byte[] message) {
        boolean schema = false;
        boolean payload = false;
        try (JsonParser parser = json.createParser(message)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                schema |= "schema".equals(parser.currentName());
                payload |= "payload".equals(parser.currentName());
                parser.nextToken();
                parser.skipChildren();
            }
        } catch (IOException e) {
            return false;
        }
        return schema && payload;
    }

    private String dead(DeadLetterKind k, String reason) {
        kind = k;
        return reason;
    }

    /** A row of the table from an image, with the change's kind and event time. */
    private RowData change(RowKind rowKind, GenericRowData image, long eventTime) {
        GenericRowData row = new GenericRowData(rowKind, rowType.getFieldCount());
        for (int i = 0; i < positions.length; i++) {
            row.setField(positions[i], image.getField(i));
        }
        if (eventTimePos != RecordDecoder.NONE) {
            row.setField(eventTimePos, TimestampData.fromEpochMillis(eventTime));
        }
        return row;
    }

    /** One INSERT row: the reason, the exact bytes and, when UTF-8, the text; no column of the table. */
    private RowData deadLetter(byte[] message, String reason) {
        GenericRowData row = new GenericRowData(RowKind.INSERT, rowType.getFieldCount());
        row.setField(reasonPos, StringData.fromString(reason));
        row.setField(rawValuePos, message);
        if (Utf8.isValid(message)) {
            row.setField(rawTextPos, StringData.fromBytes(message));
        }
        return row;
    }

    @Override
    public boolean isEndOfStream(RowData nextElement) {
        return false;
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return producedType;
    }
}
