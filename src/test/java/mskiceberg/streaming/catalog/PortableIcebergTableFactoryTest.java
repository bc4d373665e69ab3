package mskiceberg.streaming.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.factories.Factory;
import org.junit.jupiter.api.Test;

/**
 * The sink factory a compiled plan's Iceberg sinks are pointed at: found by its identifier, and
 * the catalog it rebuilds is the one the table's {@code src-catalog} option names. (Creating the
 * sink needs Flink's runtime: tests/e2e/test_e2e_switch.py runs it.)
 */
class PortableIcebergTableFactoryTest {

    private static final String SRC = "{\"catalog-name\":\"ice\",\"catalog-database\":\"sink\","
            + "\"catalog-table\":\"t\",\"catalog-props\":{\"catalog-type\":\"hadoop\",\"warehouse\":\"file:///w\"}}";

    @Test
    void flinkFindsTheSinkFactoryByItsIdentifier() {
        List<Factory> found = StreamSupport.stream(ServiceLoader.load(Factory.class).spliterator(), false)
                .filter(f -> "iceberg-portable-sink".equals(f.factoryIdentifier()))
                .collect(Collectors.toList());
        assertEquals(1, found.size());
        assertTrue(found.get(0) instanceof PortableIcebergTableFactory);
    }

    @Test
    void theCatalogComesFromTheSourceCatalogOption() {
        Map<String, String> options = Map.of("connector", "iceberg-portable-sink", "src-catalog", SRC);
        assertEquals("ice", PortableIcebergTableFactory.catalogName(options));
        assertEquals(Map.of("catalog-type", "hadoop", "warehouse", "file:///w"),
                PortableIcebergTableFactory.catalogProperties(options));
    }

    @Test
    void aTableWithoutItsCatalogIsRefused() {
        ValidationException missing = assertThrows(ValidationException.class,
                () -> PortableIcebergTableFactory.catalogProperties(Map.of("connector", "iceberg")));
        assertTrue(missing.getMessage().contains("src-catalog"));
        assertThrows(ValidationException.class,
                () -> PortableIcebergTableFactory.catalogProperties(Map.of("src-catalog", "{not json")));
        assertThrows(ValidationException.class,
                () -> PortableIcebergTableFactory.catalogProperties(Map.of("src-catalog", "{\"catalog-name\":\"x\"}")));
    }
}
