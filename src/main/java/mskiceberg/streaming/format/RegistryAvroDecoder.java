package mskiceberg.streaming.format;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.RowType;

/**
 * The {@code registry-avro} format's parse: a value framed by a schema registry (Confluent's or
 * AWS Glue's wire format) names its writer's schema; the record is read with Avro's schema
 * resolution from the writer's schema into the reader's, which is the topic's declared columns
 * (as Avro, every top-level column optional: a column the writer does not
 * have is NULL, and NOT NULL is then checked by name as for JSON; see {@link AvroColumns}). So every evolution Avro allows
 * (fields added with defaults, removed, widened numbers) is read mid-stream without a restart.
 *
 * <p>Dead letters: not the wire format; a schema the registry does not have; a writer's schema
 * that cannot be read as declared (checked once per schema: every record of it is refused with
 * the same reason); bytes that do not decode with the writer's schema. A registry that cannot
 * answer is not a reason to refuse a record: after a few retries the decoder throws, the job
 * restarts from its checkpoint and reads the record again.
 */
public final class RegistryAvroDecoder extends RecordDecoder {

    private static final long serialVersionUID = 1L;

    static final int FETCH_ATTEMPTS = 5;
    static final long FIRST_BACKOFF_MS = 200;
    static final long UNKNOWN_RETRY_MS = 30_000; // a schema the registry did not have is asked for again after this

    /** Timestamps read as Instant / LocalDateTime at the reader's precision (a bare long would be millis to Flink). */
    private static final GenericData TIMES = new GenericData();

    static {
        TIMES.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
        TIMES.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
        TIMES.addLogicalTypeConversion(new TimeConversions.LocalTimestampMillisConversion());
        TIMES.addLogicalTypeConversion(new TimeConversions.LocalTimestampMicrosConversion());
    }

    private final RegistrySettings registry;

    private transient WireFormat wire;
    private transient Schema readerSchema;
    private transient AvroColumns.Converter[] converters; // per column
    private transient Map<String, Writer> writers; // by the wire format's key
    private transient SchemaRegistryClient client; // opened on the first lookup
    private transient BinaryDecoder decoder; // reused

    /** What is known of one writer schema: a reader for it, or why its records are refused. */
    private static final class Writer {
        final GenericDatumReader<GenericRecord> reader; // null: refused
        final DeadLetterKind kind;
        final String reason;
        final long askAgainAt; // an unknown schema: when to ask the registry again

        Writer(GenericDatumReader<GenericRecord> reader, DeadLetterKind kind, String reason, long askAgainAt) {
            this.reader = reader;
            this.kind = kind;
            this.reason = reason;
            this.askAgainAt = askAgainAt;
        }
    }

    public RegistryAvroDecoder(
            RowType rowType, DecoderSettings settings, RegistrySettings registry, TypeInformation<RowData> producedType) {
        super(rowType, settings, producedType);
        this.registry = registry;
        prepare();
    }

    @Override
    protected String formatName() {
        return RegistryAvroFormatFactory.IDENTIFIER;
    }

    @Override
    protected void prepareFormat() {
        wire = registry.wireFormat();
        RowType fields = RowType.of(fieldTypes, fieldNames);
        readerSchema = AvroColumns.readerSchema(fields);
        converters = AvroColumns.fieldConverters(fields);
        writers = new HashMap<>();
    }

    /** A registry client other than the one the settings name (the tests' in-memory registry). */
    void useRegistry(SchemaRegistryClient other) {
        client = other;
    }

    /** The reader's schema: the declared columns as Avro (what writers' schemas are resolved into). */
    Schema readerSchema() {
        return readerSchema;
    }

    @Override
    protected String parse(byte[] message, Object[] values) {
        WireFormat.Framed framed;
        try {
            framed = wire.unframe(message);
        } catch (WireFormat.BadFrame bad) {
            return dead(DeadLetterKind.NOT_WIRE_FORMAT, bad.getMessage());
        }
        Writer writer = writer(framed);
        if (writer.reader == null) {
            return dead(writer.kind, writer.reason);
        }
        GenericRecord record;
        try {
            decoder = DecoderFactory.get().binaryDecoder(framed.bytes, framed.offset, framed.length, decoder);
            record = writer.reader.read(null, decoder);
            if (!decoder.isEnd()) {
                return dead(DeadLetterKind.NOT_AVRO, "not Avro of " + framed.name + ": bytes left after the record");
            }
        } catch (IOException | AvroRuntimeException | IndexOutOfBoundsException | NegativeArraySizeException e) {
            String problem = e.getMessage() == null ? "cut short" : e.getMessage();
            return dead(DeadLetterKind.NOT_AVRO, "not Avro of " + framed.name + ": " + problem);
        }
        for (int i = 0; i < values.length; i++) {
            try {
                values[i] = converters[i].convert(record.get(i));
            } catch (RuntimeException e) {
                return dead(DeadLetterKind.INVALID_FIELD, "field " + fieldNames[i] + ": " + e.getMessage());
            }
        }
        return null;
    }

    private Writer writer(WireFormat.Framed framed) {
        Writer known = writers.get(framed.key);
        if (known != null && (known.askAgainAt == 0 || System.currentTimeMillis() < known.askAgainAt)) {
            return known;
        }
        Writer writer = resolve(framed.name, fetch(framed.key));
        writers.put(framed.key, writer);
        return writer;
    }

    /** The reader of a writer's schema, or why it cannot be read as the declared columns. */
    private Writer resolve(String name, SchemaRegistryClient.Found found) {
        if (found == null) {
            return new Writer(null, DeadLetterKind.UNKNOWN_SCHEMA,
                    "unknown " + name + ": the registry does not have it", System.currentTimeMillis() + UNKNOWN_RETRY_MS);
        }
        if (!"AVRO".equalsIgnoreCase(found.dataFormat)) {
            return refused(name + " is a " + found.dataFormat + " schema, not Avro");
        }
        Schema schema;
        try {
            schema = new Schema.Parser().setValidateDefaults(false).parse(found.text);
        } catch (RuntimeException e) {
            return refused(name + " is not a valid Avro schema: " + e.getMessage());
        }
        if (schema.getType() != Schema.Type.RECORD) {
            return refused(name + " is a " + schema.getType().getName() + ", not a record");
        }
        Schema reader = AvroColumns.adapt(readerSchema, schema);
        List<String> problems = new ArrayList<>();
        for (SchemaCompatibility.Incompatibility problem : SchemaCompatibility
                .checkReaderWriterCompatibility(reader, schema).getResult().getIncompatibilities()) {
            // Record names are the writer's business (the declared columns have none): only shapes count.
            if (problem.getType() != SchemaCompatibility.SchemaIncompatibilityType.NAME_MISMATCH) {
                problems.add(describe(problem, schema));
            }
        }
        if (!problems.isEmpty()) {
            return refused(name + " cannot be read as the declared columns: " + String.join("; ", problems));
        }
        return new Writer(new GenericDatumReader<>(schema, reader, TIMES), null, null, 0);
    }

    private static Writer refused(String reason) {
        return new Writer(null, DeadLetterKind.INCOMPATIBLE_SCHEMA, reason, 0);
    }

    /**
     * "field amount: written as "string", declared DOUBLE (reader union lacking writer type:
     * STRING)": the declared column the problem is in (Avro's JSON-pointer location, e.g.
     * /fields/1/type/1, counts the reader's fields), what the writer wrote there, Avro's words.
     */
    private String describe(SchemaCompatibility.Incompatibility problem, Schema writer) {
        String[] steps = problem.getLocation().split("/");
        if (steps.length > 2 && steps[1].equals("fields")) {
            try {
                int index = Integer.parseInt(steps[2]);
                String name = readerSchema.getFields().get(index).name();
                Schema.Field written = writer.getField(name);
                String as = written == null ? "" : "written as " + written.schema() + ", ";
                return "field " + name + ": " + as + "declared " + FieldConverter.typeName(fieldTypes[index])
                        + " (" + problem.getMessage() + ")";
            } catch (RuntimeException e) {
                // fall through: a location this does not know
            }
        }
        return problem.getLocation() + ": " + problem.getMessage();
    }

    /** The registry's answer, asked again with backoff when it cannot answer; then the job fails. */
    private SchemaRegistryClient.Found fetch(String key) {
        if (client == null) {
            client = registry.client();
        }
        long backoff = FIRST_BACKOFF_MS;
        IOException last = null;
        for (int attempt = 1; attempt <= FETCH_ATTEMPTS; attempt++) {
            try {
                return client.schema(key);
            } catch (IOException e) {
                last = e;
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            backoff *= 2;
        }
        throw new RegistryUnavailable("the schema registry did not answer after " + FETCH_ATTEMPTS
                + " attempts; the job restarts and reads this record again", last);
    }

    /** The registry could not answer: not the record's fault, so the job fails (and restarts) instead. */
    static final class RegistryUnavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RegistryUnavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
