package mskiceberg.streaming.catalog;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.iceberg.PartitionField;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.UpdatePartitionSpec;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.expressions.Term;

/**
 * A sink's Iceberg partition spec, in the job's text: a column (identity), {@code year(c)},
 * {@code month(c)}, {@code day(c)}, {@code hour(c)}, {@code bucket(N, c)}, {@code truncate(N, c)}
 * (the canonical text of common/load/partitioning.py).
 *
 * <p>Why: Flink DDL can only declare identity partitions ({@code PARTITIONED BY (col)}), and
 * Iceberg's Flink catalog reports a table with any other transform as unpartitioned. So the job
 * creates such a table unpartitioned with its DDL, then sets the declared spec here, through
 * the Iceberg catalog behind the job's Flink catalog ({@code FlinkCatalog.catalog()}), and reads
 * an existing table's spec here for the schema-evolution check. Called from Python (py4j):
 * common/run/sink_evolution.py.
 */
public final class PartitionSpecs {

    private static final Pattern CALL = Pattern.compile("(\\w+)\\((?:(\\d+), )?(\\w+)\\)");
    private static final Pattern BRACKETED = Pattern.compile("(\\w+)\\[(\\d+)]");

    private PartitionSpecs() {}

    /** The table, or null if the catalog has none of that name. */
    public static Table load(Catalog catalog, String namespace, String table) {
        try {
            return catalog.loadTable(TableIdentifier.of(Namespace.of(namespace), table));
        } catch (NoSuchTableException e) {
            return null;
        }
    }

    /** The fields of the table's current spec, in order, as text. */
    public static List<String> fields(Table table) {
        Schema schema = table.schema();
        List<String> result = new ArrayList<>();
        for (PartitionField field : table.spec().fields()) {
            result.add(text(field, schema));
        }
        return result;
    }

    /** Whether the table has a snapshot (then its files are laid out by its spec). */
    public static boolean hasData(Table table) {
        return table.currentSnapshot() != null;
    }

    /**
     * Give a table with no snapshot the declared spec; nothing if it has it already. Idempotent:
     * safe to call again after a run that died between creating the table and this call.
     *
     * @return whether the spec was changed
     * @throws IllegalStateException if the table has data and another spec (the caller checked
     *     that before; a table must not be re-laid out behind its files)
     */
    public static boolean ensure(Table table, List<String> declared) {
        List<String> current = fields(table);
        if (current.equals(declared)) {
            return false;
        }
        if (hasData(table)) {
            throw new IllegalStateException("table " + table.name() + " has data partitioned by " + current
                    + ", not " + declared + ": its spec is not changed");
        }
        if (!current.isEmpty()) {  // one commit removing every field, one adding the declared ones in order
            UpdatePartitionSpec remove = table.updateSpec();
            for (PartitionField field : table.spec().fields()) {
                remove.removeField(field.name());
            }
            commit(table, remove, List.of());
        }
        if (!declared.isEmpty()) {
            UpdatePartitionSpec add = table.updateSpec();
            for (String field : declared) {
                add.addField(term(field));
            }
            commit(table, add, declared);
        }
        return true;
    }

    /**
     * Commit; a conflict after which the table has the spec anyway is success. Why: a commit whose
     * answer was lost is retried by the S3 Tables client, and the retry meets the version token the
     * first attempt already moved (409 Conflict). Seen on every commit against moto, whose answer the
     * AWS SDK cannot parse; on AWS, after a timeout.
     */
    private static void commit(Table table, UpdatePartitionSpec update, List<String> expected) {
        try {
            update.commit();
        } catch (CommitFailedException e) {
            table.refresh();
            if (!fields(table).equals(expected)) {
                throw e;
            }
        }
    }

    /** A field as text: {@code c}, {@code day(c)}, {@code bucket(16, c)}, {@code void(c)}. */
    static String text(PartitionField field, Schema schema) {
        String column = schema.findColumnName(field.sourceId());
        String transform = field.transform().toString();
        if (field.transform().isIdentity()) {
            return column;
        }
        Matcher bracketed = BRACKETED.matcher(transform);  // bucket[16], truncate[10]
        if (bracketed.matches()) {
            return bracketed.group(1) + "(" + bracketed.group(2) + ", " + column + ")";
        }
        return transform + "(" + column + ")";
    }

    /** The Iceberg term of a field's canonical text. */
    static Term term(String text) {
        Matcher call = CALL.matcher(text);
        if (!call.matches()) {
            return Expressions.ref(text);
        }
        String transform = call.group(1).toLowerCase(Locale.ROOT);
        String column = call.group(3);
        String width = call.group(2);
        switch (transform) {
            case "year":
                return Expressions.year(column);
            case "month":
                return Expressions.month(column);
            case "day":
                return Expressions.day(column);
            case "hour":
                return Expressions.hour(column);
            case "bucket":
                return Expressions.bucket(column, Integer.parseInt(required(width, text)));
            case "truncate":
                return Expressions.truncate(column, Integer.parseInt(required(width, text)));
            default:
                throw new IllegalArgumentException("not a partition field: " + text);
        }
    }

    private static String required(String width, String text) {
        if (width == null) {
            throw new IllegalArgumentException("no width in partition field: " + text);
        }
        return width;
    }
}
