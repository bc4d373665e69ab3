package mskiceberg.streaming.format;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/**
 * What every value format of the job shares, whatever the bytes are (JSON, Avro): the row it
 * fills and the rules after parsing. A format only parses a value into the topic's fields (or
 * says why it cannot); this class then decides, once, whether the record is good: required
 * fields present, event time present and in the topic's valid range. It never throws for bad
 * data (a poison record would stop the job).
 *
 * <p>Columns of the produced row it fills besides the schema's fields: {@code event_time}
 * (TIMESTAMP_LTZ(3)), {@code dead_letter_reason} (NULL when good) and, on dead letters only,
 * {@code raw_value} (the value's exact bytes) and {@code raw_text} (the value where it is UTF-8).
 * A column missing from the produced row (projected away) is simply not filled.
 */
public abstract class RecordDecoder implements DeserializationSchema<RowData> {

    private static final long serialVersionUID = 1L;

    public static final String EVENT_TIME_COLUMN = "event_time";
    public static final String REASON_COLUMN = "dead_letter_reason";
    public static final String RAW_VALUE_COLUMN = "raw_value";
    public static final String RAW_TEXT_COLUMN = "raw_text";
    protected static final int NONE = -1;

    protected final RowType rowType;
    protected final DecoderSettings settings;
    private final TypeInformation<RowData> producedType;

    protected transient String[] fieldNames; // the topic's fields, in the row's order
    protected transient LogicalType[] fieldTypes;
    private transient int[] positions; // output column of each field, NONE if not in the produced row
    private transient int[] required; // field indexes that must be present and not null
    protected transient int eventTimeField;
    private transient LogicalTypeRoot eventTimeRoot;
    private transient int eventTimePos;
    private transient int reasonPos;
    private transient int rawValuePos;
    private transient int rawTextPos;
    private transient long validFromMillis;
    private transient long validUntilMillis;
    private transient String eventTimeRangeReason;
    private transient DeadLetterKind kind; // of the reason decode() returned last
    private transient RecordCounters counters;

    protected RecordDecoder(RowType rowType, DecoderSettings settings, TypeInformation<RowData> producedType) {
        this.rowType = rowType;
        this.settings = settings;
        this.producedType = producedType;
    }

    /** The format's name, for configuration errors. */
    protected abstract String formatName();

    /** The format's own preparation, after the fields are known (called again on the task). */
    protected abstract void prepareFormat();

    /**
     * Fill values (one per field, null when absent) from a non-null value within the size limit
     * and return null, or return why the record is a dead letter through {@link #dead}.
     */
    protected abstract String parse(byte[] message, Object[] values);

    @Override
    public void open(InitializationContext context) throws Exception {
        prepare();
        registerMetrics(context.getMetricGroup());
    }

    /** goodRecords {topic} and deadRecords {topic, reason}. */
    void registerMetrics(MetricGroup root) {
        counters.register(root, settings.topic);
    }

    long goodRecords() {
        return counters.goodCount();
    }

    long deadRecords(DeadLetterKind k) {
        return counters.deadCount(k);
    }

    /** Called by each format's constructor (fail at planning time, not on the first record) and by open(). */
    protected final void prepare() {
        counters = new RecordCounters();
        List<String> names = rowType.getFieldNames();
        eventTimePos = names.indexOf(EVENT_TIME_COLUMN);
        reasonPos = names.indexOf(REASON_COLUMN);
        rawValuePos = names.indexOf(RAW_VALUE_COLUMN);
        rawTextPos = names.indexOf(RAW_TEXT_COLUMN);
        List<String> fields = new ArrayList<>();
        List<LogicalType> types = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (int pos = 0; pos < names.size(); pos++) {
            if (pos != eventTimePos && pos != reasonPos && pos != rawValuePos && pos != rawTextPos) {
                fields.add(names.get(pos));
                types.add(rowType.getTypeAt(pos));
                at.add(pos);
            }
        }
        fieldNames = fields.toArray(new String[0]);
        fieldTypes = types.toArray(new LogicalType[0]);
        positions = at.stream().mapToInt(Integer::intValue).toArray();
        eventTimeField = fields.indexOf(settings.eventTimeField);
        if (eventTimeField == NONE) {
            throw new ValidationException(formatName() + ": event-time field '" + settings.eventTimeField
                    + "' is not a column of the table (columns: " + names + ")");
        }
        eventTimeRoot = fieldTypes[eventTimeField].getTypeRoot();
        if (eventTimeRoot != LogicalTypeRoot.BIGINT
                && eventTimeRoot != LogicalTypeRoot.TIMESTAMP_WITHOUT_TIME_ZONE
                && eventTimeRoot != LogicalTypeRoot.TIMESTAMP_WITH_LOCAL_TIME_ZONE) {
            throw new ValidationException(formatName() + ": event-time field '" + settings.eventTimeField
                    + "' is " + fieldTypes[eventTimeField] + ", not BIGINT (epoch millis), TIMESTAMP or TIMESTAMP_LTZ");
        }
        required = new int[settings.requiredFields.size() + 1];
        int r = 0;
        for (String name : settings.requiredFields) {
            int index = fields.indexOf(name);
            if (index == NONE) {
                throw new ValidationException(formatName() + ": required field '" + name + "' is not a column of the table");
            }
            if (index != eventTimeField) {
                required[r++] = index;
            }
        }
        required[r++] = eventTimeField; // the event time is always required
        required = Arrays.copyOf(required, r);
        validFromMillis = settings.validFrom.toEpochMilli();
        validUntilMillis = settings.validUntil.toEpochMilli();
        eventTimeRangeReason = "event time " + settings.eventTimeField + " outside ["
                + settings.validFrom + ", " + settings.validUntil + ")";
        prepareFormat();
    }

    @Override
    public RowData deserialize(byte[] message) {
        GenericRowData row = new GenericRowData(rowType.getFieldCount());
        Object[] values = new Object[fieldNames.length];
        String reason = decode(message, values);
        if (reason == null) {
            for (int i = 0; i < values.length; i++) {
                row.setField(positions[i], values[i]);
            }
            if (eventTimePos != NONE) {
                row.setField(eventTimePos, TimestampData.fromEpochMillis(eventTimeMillis(values[eventTimeField])));
            }
            counters.good();
            return row;
        }
        counters.dead(kind);
        if (reasonPos != NONE) {
            row.setField(reasonPos, StringData.fromString(reason));
        }
        if (rawValuePos != NONE) {
            row.setField(rawValuePos, message);
        }
        if (rawTextPos != NONE && message != null && Utf8.isValid(message)) {
            row.setField(rawTextPos, StringData.fromBytes(message));
        }
        return row;
    }

    /**
     * Fills values (one per schema field) and returns null, or returns why the record is a dead
     * letter (and sets {@link #lastKind} to the reason's kind).
     */
    String decode(byte[] message, Object[] values) {
        if (message == null) {
            return dead(DeadLetterKind.NO_VALUE, "no value");
        }
        if (message.length > settings.maxBytes) {
            return dead(DeadLetterKind.TOO_LARGE, "too large: more than " + settings.maxBytes + " bytes");
        }
        String parsed = parse(message, values);
        if (parsed != null) {
            return parsed;
        }
        for (int index : required) {
            if (values[index] == null) {
                return dead(DeadLetterKind.MISSING_REQUIRED_FIELD, "missing required field " + fieldNames[index]);
            }
        }
        long eventTime = eventTimeMillis(values[eventTimeField]);
        if (eventTime < validFromMillis || eventTime >= validUntilMillis) {
            return dead(DeadLetterKind.EVENT_TIME_OUT_OF_RANGE, eventTimeRangeReason);
        }
        return null;
    }

    /** Records the kind of a dead letter and returns its reason. */
    protected final String dead(DeadLetterKind k, String reason) {
        kind = k;
        return reason;
    }

    /** The kind of the reason the last decode() returned (undefined after a good record). */
    DeadLetterKind lastKind() {
        return kind;
    }

    private long eventTimeMillis(Object value) {
        return eventTimeRoot == LogicalTypeRoot.BIGINT ? (Long) value : ((TimestampData) value).getMillisecond();
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
