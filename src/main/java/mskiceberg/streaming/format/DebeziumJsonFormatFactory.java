package mskiceberg.streaming.format;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.types.RowKind;

/**
 * The {@code strict-debezium-json} table format: Debezium change events (JSON converter,
 * {@code schemas.enable=false}) as a changelog of the table whose columns describe the row
 * images (see {@link DebeziumDecoder}). The options it shares with {@code strict-json} are
 * the same options; the event time is always the envelope's {@code ts_ms}.
 */
public final class DebeziumJsonFormatFactory implements DeserializationFormatFactory {

    public static final String IDENTIFIER = "strict-debezium-json";

    public static final ConfigOption<List<String>> KEY_FIELDS =
            ConfigOptions.key("key-fields")
                    .stringType()
                    .asList()
                    .noDefaultValue()
                    .withDescription("The table's primary key columns (';'-separated): present in every image "
                            + "a change uses, and the same in an update's before and after.");

    private static final ChangelogMode CHANGELOG = ChangelogMode.newBuilder()
            .addContainedKind(RowKind.INSERT)
            .addContainedKind(RowKind.UPDATE_BEFORE)
            .addContainedKind(RowKind.UPDATE_AFTER)
            .addContainedKind(RowKind.DELETE)
            .build();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = new HashSet<>();
        options.add(KEY_FIELDS);
        return options;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return StrictJsonFormatFactory.recordOptions();
    }

    @Override
    public DecodingFormat<DeserializationSchema<RowData>> createDecodingFormat(
            DynamicTableFactory.Context context, ReadableConfig formatOptions) {
        FactoryUtil.validateFactoryOptions(this, formatOptions);
        return changes(context, formatOptions, null);
    }

    /** The changelog decoding format of Debezium envelopes, JSON (registry null) or Avro. */
    static DecodingFormat<DeserializationSchema<RowData>> changes(
            DynamicTableFactory.Context context, ReadableConfig formatOptions, RegistrySettings registry) {
        List<String> keyFields = formatOptions.get(KEY_FIELDS); // checked against the columns by the decoder
        // strict-json's settings from the same options (strict-json's event-time field is not one here)
        DecoderSettings settings = StrictJsonFormatFactory.settings(
                formatOptions, context.getObjectIdentifier().getObjectName());
        return new DecodingFormat<DeserializationSchema<RowData>>() {
            @Override
            public DeserializationSchema<RowData> createRuntimeDecoder(
                    DynamicTableSource.Context sourceContext, DataType physicalDataType) {
                RowType rowType = (RowType) physicalDataType.getLogicalType();
                return new DebeziumDecoder(
                        rowType, keyFields, settings, registry, sourceContext.createTypeInformation(physicalDataType));
            }

            @Override
            public ChangelogMode getChangelogMode() {
                return CHANGELOG;
            }
        };
    }
}
