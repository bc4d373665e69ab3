package mskiceberg.streaming.maintenance;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.hadoop.HadoopCatalog;

/**
 * Command line of the local warehouse's maintenance (run by scripts/maintain_tables.py, which
 * builds the class path and the arguments): one JSON object per table on stdout.
 *
 * <pre>
 * --warehouse URI --namespace NS [--table NAME ...] [--dry-run] [--parallelism N]
 * [--rewrite-target-bytes N | --no-rewrite] [--expire-older-than-ms TS] [--retain-last N] [--no-expire]
 * [--orphans-older-than-ms TS]
 * </pre>
 * Timestamps are epoch milliseconds; expiry defaults to the table's history.expire.* properties. Exit codes: 0 ok, 1 a table failed, 2 bad arguments.
 */
public final class MaintainTables {

    private MaintainTables() {
    }

    /** The Hadoop catalog of the warehouse, committing through {@link NoReplaceLocalFileSystem}. */
    public static HadoopCatalog catalog(String warehouse) {
        Configuration conf = new Configuration();
        conf.setClassLoader(MaintainTables.class.getClassLoader());
        conf.set(NoReplaceLocalFileSystem.IMPL_KEY, NoReplaceLocalFileSystem.class.getName());
        conf.setBoolean("fs.file.impl.disable.cache", true);
        return new HadoopCatalog(conf, warehouse);
    }

    /** The exception and its causes, one line: the outermost message alone rarely says what failed. */
    static String describe(Throwable e) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (text.length() > 0) {
                text.append(" <- ");
            }
            text.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return text.toString();
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, String> options = new LinkedHashMap<>();
        List<String> tables = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--dry-run") || arg.equals("--no-rewrite") || arg.equals("--no-expire")) {
                options.put(arg, "true");
            } else if (arg.startsWith("--") && i + 1 < args.length) {
                if (arg.equals("--table")) {
                    tables.add(args[++i]);
                } else {
                    options.put(arg, args[++i]);
                }
            } else {
                err.println("bad argument: " + arg);
                return 2;
            }
        }
        if (!options.containsKey("--warehouse") || !options.containsKey("--namespace")) {
            err.println("--warehouse and --namespace are required");
            return 2;
        }
        boolean dryRun = options.containsKey("--dry-run");
        long now = System.currentTimeMillis();
        HadoopCatalog catalog = catalog(options.get("--warehouse"));
        Namespace namespace = Namespace.of(options.get("--namespace"));
        if (tables.isEmpty()) {
            catalog.listTables(namespace).forEach(id -> tables.add(id.name()));
            tables.sort(null);
        }
        ObjectMapper json = new ObjectMapper();
        int code = 0;
        for (String name : tables) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("table", name);
            try {
                Table table = catalog.loadTable(TableIdentifier.of(namespace, name));
                TableMaintenance maintenance = new TableMaintenance(table, dryRun);
                report.put("before", TableStats.of(table).toMap());
                if (!options.containsKey("--no-rewrite")) {
                    String target = options.get("--rewrite-target-bytes");
                    report.put("rewrite", maintenance.rewriteSmallFiles(target == null ? null : Long.valueOf(target),
                            Integer.parseInt(options.getOrDefault("--parallelism", "1"))));
                }
                if (!options.containsKey("--no-expire")) {
                    String olderThan = options.get("--expire-older-than-ms");
                    String retainLast = options.get("--retain-last");
                    report.put("expire", maintenance.expireSnapshots(
                            olderThan == null ? null : Long.valueOf(olderThan),
                            retainLast == null ? null : Integer.valueOf(retainLast), now));
                }
                if (options.containsKey("--orphans-older-than-ms")) {
                    report.put("orphans", maintenance.removeOrphanFiles(
                            Long.parseLong(options.get("--orphans-older-than-ms")), now));
                }
                table.refresh();
                report.put("after", TableStats.of(table).toMap());
            } catch (RuntimeException e) {
                report.put("error", describe(e));
                e.printStackTrace(err);
                code = 1;
            }
            try {
                out.println(json.writeValueAsString(report));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            out.flush();
        }
        return code;
    }
}
