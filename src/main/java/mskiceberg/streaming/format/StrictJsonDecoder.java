package mskiceberg.streaming.format;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
    /** The fast pass's answer for a record with a nested value or broken JSON: parse it again, strictly. */
    private static final String STRICT_AGAIN = new String("again, strictly");

    private final RowType rowType;
    private final DecoderSettings settings;
    private final TypeInformation<RowData> producedType;

    private transient JsonFactory json; // the fast pass: duplicate keys are checked here, at the top level
    private transient JsonFactory strictJson; // Jackson's duplicate detection at every depth: records with nested values
    private transient boolean nestedSchema; // a ROW / ARRAY / MAP field: every record has nested values, parse strictly at once
    private transient Map<String, Integer> fieldIndex; // JSON field name -> index into the arrays below
    private transient int[] follows; // the field that came after field i (last slot: first) in the record before
    private transient int[] seenIn; // seenIn[i] == record: field i was seen in this record
    private transient int record; // a number per record, for seenIn (no array to clear)
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
        json = new JsonFactory();
        strictJson = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
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
        follows = new int[count + 1];
        for (int i = 0; i <= count; i++) {
            follows[i] = i < count ? i + 1 : 0; // schema order until records say otherwise
        }
        seenIn = new int[count];
        record = 0;
        converters = new FieldConverter[count];
        nestedSchema = false;
        positions = new int[count];
        for (int i = 0; i < count; i++) {
            fieldNames[i] = fields[i];
            converters[i] = FieldConverter.of(fields[i], types[i], json);
            nestedSchema |= isNested(types[i]);
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
        return decode(message, values, false);
    }

    /** {@code strictOnly}: Jackson's duplicate detection on every record (the tests' reference). */
    String decode(byte[] message, Object[] values, boolean strictOnly) {
        if (message == null) {
            return dead(DeadLetterKind.NO_VALUE, "no value");
        }
        if (message.length > settings.maxBytes) {
            return dead(DeadLetterKind.TOO_LARGE, "too large: more than " + settings.maxBytes + " bytes");
        }
        if (!Utf8.isValid(message)) {
            return dead(DeadLetterKind.NOT_UTF8, "not UTF-8");
        }
        String parsed = parse(strictOnly || nestedSchema ? strictJson : json, message, values);
        if (parsed == STRICT_AGAIN) {
            Arrays.fill(values, null);
            parsed = parse(strictJson, message, values);
        }
        if (parsed != null) {
            return parsed;
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

    private transient String fieldReason; // parse's: the first field that breaks a rule

    /**
     * One pass of the parser over the JSON: the values, or the reason of a broken JSON (null when
     * it is a whole object; {@link #fieldReason} then says whether a field broke a rule). The fast
     * factory checks top-level keys for duplicates itself (a seen-mark per schema field, a set
     * only when the record has keys the schema does not know) and answers {@link #STRICT_AGAIN} at the
     * first object or array value, whose keys only Jackson's detection checks at every depth, and
     * for a JSON Jackson refuses (its reason may be a duplicate key the pass never got to see).
     */
    private String parse(JsonFactory factory, byte[] message, Object[] values) {
        boolean fast = factory == json;
        fieldReason = null; // the first field that breaks a rule; the JSON's own problems come first
        if (++record == Integer.MAX_VALUE) {
            record = 1;
            Arrays.fill(seenIn, 0);
        }
        Set<String> unknown = null;
        try (JsonParser parser = factory.createParser(message)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object");
            }
            JsonToken token;
            int last = follows.length - 1; // the slot of "the first field"
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                int index = follows[last];
                if (index >= fieldNames.length || !fieldNames[index].equals(name)) {
                    Integer found = fieldIndex.get(name);
                    index = found == null ? NONE : found;
                }
                if (fast) { // at the name, as Jackson's detection: before anything the value may break
                    if (index == NONE) {
                        if (unknown == null) {
                            unknown = new HashSet<>();
                        }
                        if (!unknown.add(name)) {
                            return dead(DeadLetterKind.DUPLICATE_KEY, "duplicate key " + name);
                        }
                    } else {
                        if (seenIn[index] == record) {
                            return dead(DeadLetterKind.DUPLICATE_KEY, "duplicate key " + name);
                        }
                        seenIn[index] = record;
                        follows[last] = index;
                        last = index;
                    }
                }
                JsonToken value = parser.nextToken();
                if (fast && (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY)) {
                    return STRICT_AGAIN;
                }
                if (index == NONE || value == JsonToken.VALUE_NULL) {
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
        } catch (IOException e) {
            if (fast) { // where Jackson failed after a key (one nextToken reads key and colon), only it knows
                return STRICT_AGAIN;
            }
            return broken(e);
        }
        return null;
    }

    /** The reason of a JSON that Jackson's parser refused. */
    private String broken(IOException error) {
        if (error instanceof StreamConstraintsException) {
            return dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object: beyond the parser's limits ("
                    + ((StreamConstraintsException) error).getOriginalMessage() + ")");
        }
        String duplicate = error instanceof JsonParseException
                ? duplicateKey(((JsonParseException) error).getOriginalMessage())
                : null;
        return duplicate != null
                ? dead(DeadLetterKind.DUPLICATE_KEY, "duplicate key " + duplicate)
                : dead(DeadLetterKind.NOT_JSON_OBJECT, "not a JSON object");
    }

    private String dead(DeadLetterKind k, String reason) {
        kind = k;
        return reason;
    }

    /** The kind of the reason the last decode() returned (undefined after a good record). */
    DeadLetterKind lastKind() {
        return kind;
    }

    private static boolean isNested(LogicalType type) {
        LogicalTypeRoot root = type.getTypeRoot();
        return root == LogicalTypeRoot.ROW || root == LogicalTypeRoot.ARRAY || root == LogicalTypeRoot.MAP;
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
