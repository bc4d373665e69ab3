package mskiceberg.streaming.catalog;

import java.util.Map;

import org.apache.flink.table.catalog.Catalog;
import org.apache.flink.table.factories.CatalogFactory;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.flink.FlinkCatalog;
import org.apache.iceberg.flink.FlinkCatalogFactory;

/**
 * Iceberg's Flink catalog ({@code 'type' = 'iceberg-portable'}) that runs wherever this jar is
 * loaded as user code: locally, on a self-managed cluster, on the managed service.
 *
 * <p>Iceberg's own factory ({@code 'type' = 'iceberg'}) asks Flink's
 * {@code org.apache.flink.runtime.util.HadoopUtils} for the Hadoop configuration. That class
 * lives in flink-dist, in the parent class loader ({@code org.apache.flink.} loads
 * parent-first), and resolves Hadoop's {@code Configuration} there: without Hadoop on the
 * Flink class path, creating the catalog fails with {@code NoClassDefFoundError:
 * org/apache/hadoop/conf/Configuration} (measured on a standalone cluster and locally), even
 * though this jar carries Hadoop's classes. A same-named stand-in of {@code HadoopUtils} in the
 * jar is never loaded for the same reason.
 *
 * <p>This factory creates the catalog exactly as Iceberg's does (same options, same catalog
 * types and {@code catalog-impl}), but with a Hadoop configuration made here, from the Hadoop
 * classes of this jar: Hadoop's built-in defaults only, nothing from the machine
 * ({@code HADOOP_CONF_DIR} and {@code flink.hadoop.*} are not read). The catalogs the job uses
 * take every setting from the catalog options: a {@code hadoop} catalog on a local directory,
 * and {@code S3TablesCatalog} with Iceberg's S3FileIO.
 */
public class PortableIcebergCatalogFactory extends FlinkCatalogFactory {

    /** The value of {@code 'type'} in {@code CREATE CATALOG ... WITH (...)}. */
    public static final String IDENTIFIER = "iceberg-portable";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Catalog createCatalog(CatalogFactory.Context context) {
        return createCatalog(context.getName(), context.getOptions(), hadoopConfiguration());
    }

    /** The catalog of these options (the properties of {@code CREATE CATALOG}), made as above. */
    static FlinkCatalog catalog(String name, Map<String, String> properties) {
        return (FlinkCatalog) new PortableIcebergCatalogFactory().createCatalog(name, properties, hadoopConfiguration());
    }

    /**
     * Hadoop's defaults (core-default.xml of this jar), with this jar's class loader for every
     * class Hadoop looks up by name (file systems), whatever the thread's context class loader.
     */
    static Configuration hadoopConfiguration() {
        Configuration conf = new Configuration();
        conf.setClassLoader(PortableIcebergCatalogFactory.class.getClassLoader());
        return conf;
    }
}
