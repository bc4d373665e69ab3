package mskiceberg.streaming.format;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.RowType;

/**
 * The {@code strict-json} table format: one parse of each Kafka value gives the typed fields,
 * the event time and the dead-letter reason (see {@link StrictJsonDecoder}).
 *
 * <p>Found by Flink through {@code META-INF/services}; a source table says
 * {@code 'value.format' = 'strict-json'} and names the event-time field.
 */
public final class StrictJsonFormatFactory implements DeserializationFormatFactory {

    public static final String IDENTIFIER = "strict-json";

    public static final ConfigOption<String> EVENT_TIME_FIELD =
            ConfigOptions.key("event-time.field")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("JSON field that carries event time (BIGINT epoch millis or a timestamp).");

    public static final ConfigOption<String> VALID_FROM =
            ConfigOptions.key("event-time.valid-from")
                    .stringType()
                    .defaultValue("2000-01-01T00:00:00Z")
                    .withDescription("Earliest event time accepted (ISO-8601 instant); earlier is a dead letter.");

    public static final ConfigOption<String> VALID_UNTIL =
            ConfigOptions.key("event-time.valid-until")
                    .stringType()
                    .defaultValue("2100-01-01T00:00:00Z")
                    .withDescription("Event times at or after this instant are dead letters.");

    public static final ConfigOption<List<String>> REQUIRED_FIELDS =
            ConfigOptions.key("required-fields")
                    .stringType()
                    .asList()
                    .defaultValues()
                    .withDescription("Fields that must be present and not null (NOT NULL in topics.yaml).");

    public static final ConfigOption<Integer> MAX_BYTES =
            ConfigOptions.key("max-bytes")
                    .intType()
                    .defaultValue(1_048_576)
                    .withDescription("Longer values are dead letters ('too large').");

    public static final ConfigOption<String> TOPIC =
            ConfigOptions.key("topic")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("The Kafka topic, as the decoder's metrics name it (label 'topic'); "
                            + "default: the name of the table.");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = new HashSet<>();
        options.add(EVENT_TIME_FIELD);
        return options;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return recordOptions();
    }

    /** The options of the rules every value format shares (RecordDecoder): each format takes them. */
    static Set<ConfigOption<?>> recordOptions() {
        Set<ConfigOption<?>> options = new HashSet<>();
        options.add(VALID_FROM);
        options.add(VALID_UNTIL);
        options.add(REQUIRED_FIELDS);
        options.add(MAX_BYTES);
        options.add(TOPIC);
        return options;
    }

    @Override
    public DecodingFormat<DeserializationSchema<RowData>> createDecodingFormat(
            DynamicTableFactory.Context context, ReadableConfig formatOptions) {
        FactoryUtil.validateFactoryOptions(this, formatOptions);
        DecoderSettings settings = settings(formatOptions, context.getObjectIdentifier().getObjectName());
        return insertOnly((rowType, type) -> new StrictJsonDecoder(rowType, settings, type));
    }

    /** A decoder of the row a record becomes, given its row type and produced type information. */
    @FunctionalInterface
    interface Decoders {
        DeserializationSchema<RowData> create(RowType rowType, TypeInformation<RowData> producedType);
    }

    /** The decoding format of an insert-only value format: one row per record, good or dead. */
    static DecodingFormat<DeserializationSchema<RowData>> insertOnly(Decoders decoders) {
        return new DecodingFormat<DeserializationSchema<RowData>>() {
            @Override
            public DeserializationSchema<RowData> createRuntimeDecoder(
                    DynamicTableSource.Context sourceContext, DataType physicalDataType) {
                return decoders.create(
                        (RowType) physicalDataType.getLogicalType(), sourceContext.createTypeInformation(physicalDataType));
            }

            @Override
            public ChangelogMode getChangelogMode() {
                return ChangelogMode.insertOnly();
            }
        };
    }

    static DecoderSettings settings(ReadableConfig options) {
        return settings(options, "unknown");
    }

    /** The decoder's settings; {@code defaultTopic} labels its metrics when the options name no topic. */
    static DecoderSettings settings(ReadableConfig options, String defaultTopic) {
        Instant from = instant(options, VALID_FROM);
        Instant until = instant(options, VALID_UNTIL);
        if (!from.isBefore(until)) {
            throw new ValidationException(
                    "'" + VALID_FROM.key() + "' must be before '" + VALID_UNTIL.key() + "'");
        }
        int maxBytes = options.get(MAX_BYTES);
        if (maxBytes < 1) {
            throw new ValidationException("'" + MAX_BYTES.key() + "' must be at least 1");
        }
        return new DecoderSettings(
                options.get(EVENT_TIME_FIELD), from, until, options.get(REQUIRED_FIELDS), maxBytes,
                options.getOptional(TOPIC).orElse(defaultTopic));
    }

    private static Instant instant(ReadableConfig options, ConfigOption<String> option) {
        String text = options.get(option);
        try {
            Instant instant = Instant.parse(text);
            instant.toEpochMilli(); // representable as epoch millis, like every event time
            return instant;
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new ValidationException(
                    "'" + option.key() + "' = '" + text + "' is not an ISO-8601 instant such as 2000-01-01T00:00:00Z");
        }
    }
}
