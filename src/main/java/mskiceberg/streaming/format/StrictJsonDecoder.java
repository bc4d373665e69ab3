package mskiceberg.streaming.format;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParseException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.StreamReadFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.exc.StreamConstraintsException;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

import mskiceberg.streaming.metrics.MetricNames;

/**
 * One pass over a Kafka value: every field of the topic's schema, the event time and, for a
 * record that cannot be used, the reason. Good and dead are decided here, once, so a record is
 * on exactly one side; it never throws for bad data (a poison record would stop the job).
 *
 * <p>Columns of the produced row it fills besides the schema's fields: {@code event_time}
 * (TIMESTAMP_LTZ(3)), {@code dead_letter_reason} (NULL when good) and, on dead letters only,
 * {@code raw_value} (the value's exact bytes) and {@code raw_text} (the value where it is UTF-8).
 * A column missing from the produced row (projected away) is simply not filled.
 *
 * <p>Metrics (registered in {@link #open}): {@code goodRecords} per topic and {@code deadRecords}
 * per topic and reason kind ({@link DeadLetterKind}), counted where the decision is made, so
 * good + dead = every record read.
 */
public final class StrictJsonDecoder implements DeserializationSchema<RowData> {

    private static final long serialVersionUID = 1L;

    public static final String EVENT_TIME_COLUMN = "event_time";
    public static final String REASON_COLUMN = "dead_letter_reason";
    public static final String RAW_VALUE_COLUMN = "raw_value";
    public static final String RAW_TEXT_COLUMN = "raw_text";
    private static final int NONE = -1;

    private final RowType rowType;
    private final DecoderSettings settings;
    private final TypeInformation<RowData> producedType;

    private transient JsonFactory json;
    private transient Map<String, Integer> fieldIndex; // JSON field name -> index into the arrays below
    private transient FieldConverter[] converters;
    private transient String[] fieldNames;
    private transient int[] positions; // output column of each field, NONE if not in the produced row
    private transient int[] required; // field indexes that must be present and not null
    private transient int eventTimeField;
    private transient LogicalTypeRoot eventTimeRoot;
    private transient int eventTimePos;
    private transient int reasonPos;
    private transient int rawValuePos;
    private transient int rawTextPos;
    private transient long validFromMillis;
    private transient long validUntilMillis;
    private transient String eventTimeRangeReason;
    private transient DeadLetterKind kind; // of the reason decode() returned last
    private transient Counter goodRecords;
    private transient Counter[] deadRecords; // by DeadLetterKind ordinal

    public StrictJsonDecoder(RowType rowType, DecoderSettings settings, TypeInformation<RowData> producedType) {
        this.rowType = rowType;
        this.settings = settings;
        this.producedType = producedType;
        prepare(); // fail at planning time, not on the first record, when the configuration is wrong
    }

    @Override
    public void open(InitializationContext context) {
        prepare();
        registerMetrics(context.getMetricGroup());
    }

    /** goodRecords {topic} and deadRecords {topic, reason}: every reason kind, so a kind never seen reads 0. */
    void registerMetrics(MetricGroup root) {
        MetricGroup topic = MetricNames.group(root, MetricNames.TOPIC, settings.topic);
        goodRecords = topic.counter(MetricNames.GOOD_RECORDS);
        for (DeadLetterKind k : DeadLetterKind.values()) {
            deadRecords[k.ordinal()] = topic.addGroup(MetricNames.REASON, k.label()).counter(MetricNames.DEAD_RECORDS);
        }
    }

    long goodRecords() {
        return goodRecords.getCount();
    }

    long deadRecords(DeadLetterKind k) {
        return deadRecords[k.ordinal()].getCount();
    }

    private void prepare() {
        goodRecords = new SimpleCounter(); // counted but not reported until open() registers them
        deadRecords = new Counter[DeadLetterKind.values().length];
        for (int i = 0; i < deadRecords.length; i++) {
            deadRecords[i] = new SimpleCounter();
        }
        json = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        List<String> names = rowType.getFieldNames();
        eventTimePos = names.indexOf(EVENT_TIME_COLUMN);
        reasonPos = names.indexOf(REASON_COLUMN);
        rawValuePos = names.indexOf(RAW_VALUE_COLUMN);
        rawTextPos = names.indexOf(RAW_TEXT_COLUMN);
        fieldIndex = new HashMap<>();
        int count = 0;
        String[] fields = new String[names.size() + 1];
        LogicalType[] types = new LogicalType[names.size() + 1];
        for (int pos = 0; pos < names.size(); pos++) {
            String name = names.get(pos);
            if (pos == eventTimePos || pos == reasonPos || pos == rawValuePos || pos == rawTextPos) {
                continue;
            }
            fieldIndex.put(name, count);
            fields[count] = name;
            types[count] = rowType.getTypeAt(pos);
            count++;
        }
        if (!fieldIndex.containsKey(settings.eventTimeField)) {
            throw new ValidationException("strict-json: event-time field '" + settings.eventTimeField
                    + "' is not a column of the table (columns: " + names + ")");
        }
        fieldNames = new String[count];
        converters = new FieldConverter[count];
        positions = new int[count];
        for (int i = 0; i < count; i++) {
            fieldNames[i] = fields[i];
            converters[i] = FieldConverter.of(fields[i], types[i], json);
            positions[i] = names.indexOf(fields[i]);
        }
        eventTimeField = fieldIndex.get(settings.eventTimeField);
        eventTimeRoot = types[eventTimeField].getTypeRoot();
        if (eventTimeRoot != LogicalTypeRoot.BIGINT
                && eventTimeRoot != LogicalTypeRoot.TIMESTAMP_WITHOUT_TIME_ZONE
                && eventTimeRoot != LogicalTypeRoot.TIMESTAMP_WITH_LOCAL_TIME_ZONE) {
            throw new ValidationException("strict-json: event-time field '" + settings.eventTimeField
                    + "' is " + types[eventTimeField] + ", not BIGINT (epoch millis), TIMESTAMP or TIMESTAMP_LTZ");
        }
        required = new int[settings.requiredFields.size() + 1];
        int r = 0;
        for (String name : settings.requiredFields) {
            Integer index = fieldIndex.get(name);
            if (index == null) {
                throw new ValidationException("strict-json: required field '" + name + "' is not a column of the table");
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
    }

    @Override
    public RowData deserialize(byte[] message) {
        GenericRowData row = new GenericRowData(rowType.getFieldCount());
        Object[] values = new Object[converters.length];
        String reason = decode(message, values);
        if (reason == null) {
            for (int i = 0; i < values.length; i++) {
                if (positions[i] != NONE) {
                    row.setField(positions[i], values[i]);
                }
            }
            if (eventTimePos != NONE) {
                row.setField(eventTimePos, TimestampData.fromEpochMillis(eventTimeMillis(values[eventTimeField])));
            }
            goodRecords.inc();
            return row;
        }
        deadRecords[kind.ordinal()].inc();
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
     * letter (and sets {@link #kind} to the reason's kind).
     */
    String decode(byte[] message, Object[] values) {
        if (message == null) {
            return dead(DeadLetterKind.NO_VALUE, "no value");
        }
        if (message.length > settings.maxBytes) {
            return dead(DeadLetterKind.TOO_LARGE, "too large: more than " + settings.maxBytes + " bytes");
        }
        if (!Utf8.isValid(message)) {
            return dead(DeadLetterKind.NOT_UTF8, "not UTF-8");
        }
        String fieldReason = null; // the first field that breaks a rule; the JSON's own problems come first
        try (JsonParser parser = json.createParser(message)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object");
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                Integer index = fieldIndex.get(parser.currentName());
                JsonToken value = parser.nextToken();
                if (index == null || value == JsonToken.VALUE_NULL) {
                    parser.skipChildren();
                    continue;
                }
                if (fieldReason != null) {
                    parser.skipChildren();
                    continue;
                }
                try {
                    values[index] = converters[index].convert(parser, value);
                } catch (BadValue bad) {
                    fieldReason = bad.getMessage();
                    parser.skipChildren();
                }
            }
            if (token != JsonToken.END_OBJECT) {
                return dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object");
            }
            try {
                if (parser.nextToken() != null) {
                    return dead(DeadLetterKind.TRAILING_CONTENT, "trailing content after the JSON object");
                }
            } catch (JsonProcessingException e) {
                return dead(DeadLetterKind.TRAILING_CONTENT, "trailing content after the JSON object");
            }
        } catch (StreamConstraintsException e) {
            return dead(DeadLetterKind.NOT_JSON_OBJECT,
                    "not a JSON object: beyond the parser's limits (" + e.getOriginalMessage() + ")");
        } catch (JsonParseException e) {
            String duplicate = duplicateKey(e.getOriginalMessage());
            return duplicate != null
                    ? dead(DeadLetterKind.DUPLICATE_KEY, "duplicate key " + duplicate)
                    : dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object");
        } catch (IOException e) {
            return dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object");
        }
        if (fieldReason != null) {
            return dead(DeadLetterKind.INVALID_FIELD, fieldReason);
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

    private String dead(DeadLetterKind k, String reason) {
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

    /** Jackson says "Duplicate field 'name'"; the name, or null for any other parse error. */
    static String duplicateKey(String message) {
        String prefix = "Duplicate field '";
        if (message == null || !message.startsWith(prefix)) {
            return null;
        }
        int end = message.lastIndexOf('\'');
        return end > prefix.length() ? message.substring(prefix.length(), end) : null;
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
