package mskiceberg.streaming.catalog;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import mskiceberg.streaming.sink.SafeCloseTableSink;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.iceberg.flink.FlinkCatalog;
import org.apache.iceberg.flink.FlinkDynamicTableFactory;

/**
 * Iceberg's table sink ({@code 'connector' = 'iceberg-portable'}) for a job executed from a
 * compiled plan.
 *
 * <p>A compiled plan names each sink by its catalog table's options, and when Flink executes the
 * plan it creates the sink from those options alone, not through the catalog's own factory. For
 * an Iceberg table those options say {@code 'connector' = 'iceberg'} plus the catalog's
 * properties ({@code src-catalog}), and Iceberg's connector then rebuilds the catalog through
 * Flink's {@code HadoopUtils}, which fails without Hadoop on Flink's class path (see
 * {@link PortableIcebergCatalogFactory}). The job rewrites its plan's Iceberg sinks to this
 * connector, which rebuilds the same catalog with the jar's own Hadoop classes and hands over
 * to Iceberg's factory, exactly as a sink planned from SQL is created.
 *
 * <p>Every run executes its compiled plan, so every Iceberg sink the job runs is made here; each is
 * wrapped so that its writers close safely when a task fails or is cancelled ({@link SafeCloseTableSink}).
 */
public class PortableIcebergTableFactory implements DynamicTableSinkFactory {

    /** The value of {@code 'connector'} in a rewritten plan. */
    public static final String IDENTIFIER = "iceberg-portable-sink";

    static final String SOURCE_CATALOG = "src-catalog";

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        Map<String, String> options = context.getCatalogTable().getOptions();
        String catalogName = catalogName(options);
        FlinkCatalog catalog = PortableIcebergCatalogFactory.catalog(catalogName, catalogProperties(options));
        return SafeCloseTableSink.wrap(new FlinkDynamicTableFactory(catalog).createDynamicTableSink(context));
    }

    /** The catalog's name, from the table's {@code src-catalog} option. */
    static String catalogName(Map<String, String> options) {
        return sourceCatalog(options).path("catalog-name").asText("iceberg");
    }

    /** The properties the catalog was created with, from the table's {@code src-catalog} option. */
    static Map<String, String> catalogProperties(Map<String, String> options) {
        JsonNode props = sourceCatalog(options).path("catalog-props");
        Map<String, String> out = new HashMap<>();
        props.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        if (out.isEmpty()) {
            throw new ValidationException("Iceberg sink option '" + SOURCE_CATALOG + "' names no catalog properties");
        }
        return out;
    }

    private static JsonNode sourceCatalog(Map<String, String> options) {
        String text = options.get(SOURCE_CATALOG);
        if (text == null) {
            throw new ValidationException("Iceberg sink without option '" + SOURCE_CATALOG
                    + "': only tables of an Iceberg catalog can be written from a compiled plan");
        }
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ValidationException("Iceberg sink option '" + SOURCE_CATALOG + "' is not JSON: " + text, e);
        }
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of();
    }
}
