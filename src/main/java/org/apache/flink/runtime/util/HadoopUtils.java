package org.apache.flink.runtime.util;

import org.apache.hadoop.conf.Configuration;

/**
 * Stand-in for Flink's own HadoopUtils, for runtimes that ship no Hadoop classes.
 *
 * <p>Iceberg's FlinkCatalogFactory asks Flink's HadoopUtils for the cluster's Hadoop
 * configuration. Flink's class sits in the parent class loader, where the Hadoop classes of
 * this jar are not visible, so the call fails with NoClassDefFoundError. When this class is
 * resolved from the user jar instead, it returns an empty Hadoop configuration: the
 * catalogs this job uses (S3 Tables, a local Hadoop catalog) take every setting from the
 * catalog properties.
 */
public class HadoopUtils {
    public static Configuration getHadoopConfiguration(
            org.apache.flink.configuration.Configuration flinkConfiguration) {
        return new Configuration(false);
    }
}
