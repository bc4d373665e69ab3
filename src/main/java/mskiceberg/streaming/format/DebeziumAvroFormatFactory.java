package mskiceberg.streaming.format;

import java.util.Set;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.FactoryUtil;

/**
 * The {@code registry-debezium-avro} table format: Debezium change events written by its Avro
 * converter through a schema registry (Confluent's or AWS Glue's wire format), as a changelog of
 * the table whose columns describe the row images: the options of {@code strict-debezium-json}
 * and the registry options of {@code registry-avro} (see {@link DebeziumDecoder}).
 */
public final class DebeziumAvroFormatFactory implements DeserializationFormatFactory {

    public static final String IDENTIFIER = "registry-debezium-avro";

    private final DebeziumJsonFormatFactory changes = new DebeziumJsonFormatFactory();
    private final RegistryAvroFormatFactory avro = new RegistryAvroFormatFactory();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = changes.requiredOptions();
        options.add(RegistryAvroFormatFactory.REGISTRY);
        return options;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = changes.optionalOptions();
        options.addAll(avro.optionalOptions());
        return options;
    }

    @Override
    public DecodingFormat<DeserializationSchema<RowData>> createDecodingFormat(
            DynamicTableFactory.Context context, ReadableConfig formatOptions) {
        FactoryUtil.validateFactoryOptions(this, formatOptions);
        return DebeziumJsonFormatFactory.changes(context, formatOptions, RegistryAvroFormatFactory.registry(formatOptions));
    }
}
