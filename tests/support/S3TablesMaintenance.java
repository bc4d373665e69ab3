import java.util.LinkedHashMap;
import java.util.Map;

import mskiceberg.streaming.maintenance.TableMaintenance;
import mskiceberg.streaming.maintenance.TableStats;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import software.amazon.s3tables.iceberg.S3TablesCatalog;

/**
 * Test support (tests/e2e/test_e2e_storage_faults.py): the maintenance S3 Tables runs on a table by
 * itself (compaction, snapshot expiry) stands in for the service, which moto does not emulate.
 * The project's own maintenance engine (src/main/java/.../maintenance/TableMaintenance: Iceberg's
 * rewrite action as a local Flink batch job, then snapshot expiry keeping the job's newest commit),
 * committing through the production catalog (S3TablesCatalog, a conditional swap of the table's
 * metadata location), as the service's commits do. Run with Java's single-file source launcher:
 *
 * <pre>
 * java -cp JAR:FLINK_LIB/* tests/support/S3TablesMaintenance.java TABLE_BUCKET_ARN ENDPOINT NAMESPACE TABLE RETAIN_LAST
 * </pre>
 * Prints one JSON report: data files and snapshots before and after, what each step did.
 */
public class S3TablesMaintenance {

    public static void main(String[] args) throws Exception {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("warehouse", args[0]);
        properties.put("s3tables.endpoint", args[1]);
        properties.put("s3.endpoint", args[1]);
        properties.put("s3.path-style-access", "true");
        properties.put("client.region", System.getenv().getOrDefault("AWS_REGION", "us-east-1"));
        // moto answers UpdateTableMetadataLocation with a body the AWS SDK cannot parse (the namespace
        // as a string, not a list). Retried, the commit that moto applied is refused (409) and the
        // catalog reports it as failed: Iceberg then redoes the expiry on a table that has it already
        // and fails. Not retried, the catalog checks whether the table points at the new metadata,
        // which it does. (The job's appends are safe either way: a redone append finds its own
        // snapshot id already committed and changes nothing.)
        properties.put("s3tables.client-factory-impl", "mskiceberg.streaming.catalog.RetryingS3TablesClientFactory");
        properties.put("s3tables.retry.num-retries", "0");
        S3TablesCatalog catalog = new S3TablesCatalog();
        catalog.initialize("s3tables", properties);
        Table table = catalog.loadTable(TableIdentifier.of(args[2], args[3]));
        TableMaintenance maintenance = new TableMaintenance(table, false);
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("table", args[3]);
        report.put("before", stats(table));
        report.put("rewrite", maintenance.rewriteSmallFiles(null, 1));
        long now = System.currentTimeMillis();
        report.put("expire", maintenance.expireSnapshots(now, Integer.valueOf(args[4]), now));
        table.refresh();
        report.put("after", stats(table));
        System.out.println(new ObjectMapper().writeValueAsString(report));
        System.exit(0);  // the rewrite's local Flink leaves non-daemon threads behind
    }

    static Map<String, Object> stats(Table table) {
        TableStats stats = TableStats.of(table);
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("snapshots", stats.snapshots);
        map.put("data_files", stats.dataFiles);
        map.put("records", stats.records);
        return map;
    }
}
