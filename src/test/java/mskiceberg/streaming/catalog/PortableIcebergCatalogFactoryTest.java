package mskiceberg.streaming.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import org.apache.flink.table.factories.Factory;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The factory's own part: Flink finds it, and the Hadoop configuration it hands to Iceberg is
 * enough for both catalogs the job uses. (Creating the Flink catalog itself needs Flink's
 * runtime, which is not on this class path: the end-to-end tests run it, locally and on a
 * standalone cluster, tests/e2e/test_e2e_cluster.py.)
 */
class PortableIcebergCatalogFactoryTest {

    @Test
    void flinkFindsTheFactoryByItsIdentifier() {
        List<Factory> found = StreamSupport.stream(ServiceLoader.load(Factory.class).spliterator(), false)
                .filter(f -> "iceberg-portable".equals(f.factoryIdentifier()))
                .collect(Collectors.toList());
        assertEquals(1, found.size());
        assertTrue(found.get(0) instanceof PortableIcebergCatalogFactory);
    }

    @Test
    void hadoopConfigurationComesFromThisJar() {
        Configuration conf = PortableIcebergCatalogFactory.hadoopConfiguration();
        assertSame(PortableIcebergCatalogFactory.class.getClassLoader(), conf.getClassLoader());
        assertEquals("file:///", conf.get("fs.defaultFS"));  // Hadoop's core-default.xml was read
    }

    @Test
    void hadoopCatalogOnALocalDirectory(@TempDir Path warehouse) throws Exception {
        Catalog catalog = CatalogUtil.loadCatalog("org.apache.iceberg.hadoop.HadoopCatalog", "c",
                Map.of("warehouse", warehouse.toUri().toString()),
                PortableIcebergCatalogFactory.hadoopConfiguration());
        ((SupportsNamespaces) catalog).createNamespace(Namespace.of("ns"));
        assertTrue(Files.isDirectory(warehouse.resolve("ns")));
    }

    @Test
    void s3TablesCatalogInitializesWithoutAnAwsCall() {
        Catalog catalog = CatalogUtil.loadCatalog("software.amazon.s3tables.iceberg.S3TablesCatalog", "s3_tables",
                Map.of("warehouse", "arn:aws:s3tables:us-east-1:" + "0".repeat(12) + ":bucket/b",
                        "client.region", "us-east-1"),
                PortableIcebergCatalogFactory.hadoopConfiguration());
        assertEquals("s3_tables", catalog.name());
    }
}
