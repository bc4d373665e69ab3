package mskiceberg.streaming.format;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParseException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.StreamReadFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.exc.StreamConstraintsException;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;


/**
 * The {@code strict-json} format's parse: one pass over a Kafka value gives every field of the
 * topic's schema, or the reason the record cannot be used ({@link RecordDecoder} then applies the
 * rules every format shares: required fields, event time).
 */
public final class StrictJsonDecoder extends RecordDecoder {

    private static final long serialVersionUID = 1L;

    /** The fast pass's answer for a record with a nested value or broken JSON: parse it again, strictly. */
    private static final String STRICT_AGAIN = new String("again, strictly");

    private transient JsonFactory json; // the fast pass: duplicate keys are checked here, at the top level
    private transient JsonFactory strictJson; // Jackson's duplicate detection at every depth: records with nested values
    private transient boolean nestedSchema; // a ROW / ARRAY / MAP field: every record has nested values, parse strictly at once
    private transient boolean strictOnly; // the tests' reference: Jackson's detection on every record
    private transient Map<String, Integer> fieldIndex; // JSON field name -> index into the arrays below
    private transient int[] follows; // the field that came after field i (last slot: first) in the record before
    private transient int[] seenIn; // seenIn[i] == record: field i was seen in this record
    private transient int record; // a number per record, for seenIn (no array to clear)
    private transient FieldConverter[] converters;

    public StrictJsonDecoder(RowType rowType, DecoderSettings settings, TypeInformation<RowData> producedType) {
        super(rowType, settings, producedType);
        prepare(); // fail at planning time, not on the first record, when the configuration is wrong
    }

    @Override
    protected String formatName() {
        return StrictJsonFormatFactory.IDENTIFIER;
    }

    @Override
    protected void prepareFormat() {
        json = new JsonFactory();
        strictJson = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        int count = fieldNames.length;
        fieldIndex = new HashMap<>();
        follows = new int[count + 1];
        for (int i = 0; i <= count; i++) {
            follows[i] = i < count ? i + 1 : 0; // schema order until records say otherwise
        }
        seenIn = new int[count];
        record = 0;
        converters = new FieldConverter[count];
        nestedSchema = false;
        for (int i = 0; i < count; i++) {
            fieldIndex.put(fieldNames[i], i);
            converters[i] = FieldConverter.of(fieldNames[i], fieldTypes[i], json);
            nestedSchema |= isNested(fieldTypes[i]);
        }
    }

    /** {@code strictOnly}: Jackson's duplicate detection on every record (the tests' reference). */
    String decode(byte[] message, Object[] values, boolean strictOnly) {
        this.strictOnly = strictOnly;
        try {
            return decode(message, values);
        } finally {
            this.strictOnly = false;
        }
    }

    @Override
    protected String parse(byte[] message, Object[] values) {
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
        return fieldReason == null ? null : dead(DeadLetterKind.INVALID_FIELD, fieldReason);
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

    private static boolean isNested(LogicalType type) {
        LogicalTypeRoot root = type.getTypeRoot();
        return root == LogicalTypeRoot.ROW || root == LogicalTypeRoot.ARRAY || root == LogicalTypeRoot.MAP;
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
}
