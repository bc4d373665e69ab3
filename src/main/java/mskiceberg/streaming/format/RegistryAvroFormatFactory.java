package mskiceberg.streaming.format;

import java.util.HashSet;
import java.util.Set;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.factories.FactoryUtil;

/**
 * The {@code registry-avro} table format: Avro values framed by a schema registry (Confluent's or
 * AWS Glue's), read into the topic's columns with the same row layout, event-time rules and dead
 * letters as {@code strict-json} (see {@link RegistryAvroDecoder}).
 */
public final class RegistryAvroFormatFactory implements DeserializationFormatFactory {

    public static final String IDENTIFIER = "registry-avro";

    public static final ConfigOption<String> REGISTRY =
            ConfigOptions.key("registry").stringType().noDefaultValue()
                    .withDescription("'confluent' (a Confluent-compatible REST registry) or 'glue' (AWS Glue Schema Registry).");

    public static final ConfigOption<String> URL =
            ConfigOptions.key("registry.url").stringType().noDefaultValue()
                    .withDescription("confluent: the registry's base URL.");

    public static final ConfigOption<String> BASIC_AUTH =
            ConfigOptions.key("registry.basic-auth.user-info").stringType().noDefaultValue()
                    .withDescription("confluent: 'user:password' for HTTP basic auth (a secret: Flink masks the key).");

    public static final ConfigOption<String> REGION =
            ConfigOptions.key("registry.region").stringType().noDefaultValue()
                    .withDescription("glue: the AWS region (default: the AWS SDK's region chain).");

    public static final ConfigOption<String> ENDPOINT =
            ConfigOptions.key("registry.endpoint").stringType().noDefaultValue()
                    .withDescription("glue: an endpoint other than AWS's (a local one).");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = new HashSet<>();
        options.add(StrictJsonFormatFactory.EVENT_TIME_FIELD);
        options.add(REGISTRY);
        return options;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = StrictJsonFormatFactory.recordOptions();
        options.add(URL);
        options.add(BASIC_AUTH);
        options.add(REGION);
        options.add(ENDPOINT);
        return options;
    }

    @Override
    public DecodingFormat<DeserializationSchema<RowData>> createDecodingFormat(
            DynamicTableFactory.Context context, ReadableConfig formatOptions) {
        FactoryUtil.validateFactoryOptions(this, formatOptions);
        DecoderSettings settings = StrictJsonFormatFactory.settings(formatOptions, context.getObjectIdentifier().getObjectName());
        RegistrySettings registry = registry(formatOptions);
        return StrictJsonFormatFactory.insertOnly((rowType, type) -> new RegistryAvroDecoder(rowType, settings, registry, type));
    }

    static RegistrySettings registry(ReadableConfig options) {
        String registry = options.get(REGISTRY);
        if (!RegistrySettings.CONFLUENT.equals(registry) && !RegistrySettings.GLUE.equals(registry)) {
            throw new ValidationException("'" + REGISTRY.key() + "' = '" + registry + "': valid are '"
                    + RegistrySettings.CONFLUENT + "' and '" + RegistrySettings.GLUE + "'");
        }
        String url = options.getOptional(URL).orElse(null);
        if (RegistrySettings.CONFLUENT.equals(registry) && (url == null || url.isEmpty())) {
            throw new ValidationException("'" + URL.key() + "' is required with '" + REGISTRY.key() + "' = 'confluent'");
        }
        return new RegistrySettings(registry, url, options.getOptional(BASIC_AUTH).orElse(null),
                options.getOptional(REGION).orElse(null), options.getOptional(ENDPOINT).orElse(null));
    }
}
