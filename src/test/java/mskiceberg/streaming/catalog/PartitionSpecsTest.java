package mskiceberg.streaming.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Setting and reading a sink's partition spec against a local Hadoop catalog, as the job does. */
class PartitionSpecsTest {

    private static final Schema SCHEMA = new Schema(
            Types.NestedField.optional(1, "event_time", Types.TimestampType.withoutZone()),
            Types.NestedField.optional(2, "user_id", Types.LongType.get()),
            Types.NestedField.optional(3, "city", Types.StringType.get()),
            Types.NestedField.optional(4, "event_date", Types.DateType.get()),
            Types.NestedField.optional(5, "amount", Types.DecimalType.of(10, 2)));

    @TempDir
    Path warehouse;

    private Catalog catalog;

    @BeforeEach
    void catalog() {
        catalog = CatalogUtil.loadCatalog("org.apache.iceberg.hadoop.HadoopCatalog", "c",
                Map.of("warehouse", warehouse.toUri().toString()),
                PortableIcebergCatalogFactory.hadoopConfiguration());
        ((SupportsNamespaces) catalog).createNamespace(Namespace.of("sink"));
    }

    private Table create(String name, PartitionSpec spec) {
        return catalog.createTable(TableIdentifier.of("sink", name), SCHEMA, spec,
                Map.of("format-version", "2"));
    }

    @Test
    void anUnknownTableIsNull() {
        assertNull(PartitionSpecs.load(catalog, "sink", "missing"));
    }

    @Test
    void aNewUnpartitionedTableGetsTheDeclaredSpecOnceWithIcebergsDefaultNames() {
        create("t", PartitionSpec.unpartitioned());
        List<String> declared = List.of("day(event_time)", "bucket(4, user_id)", "truncate(3, city)");
        Table table = PartitionSpecs.load(catalog, "sink", "t");
        assertTrue(PartitionSpecs.ensure(table, declared));

        Table reloaded = PartitionSpecs.load(catalog, "sink", "t");
        assertEquals(declared, PartitionSpecs.fields(reloaded));
        assertEquals(List.of("event_time_day", "user_id_bucket_4", "city_trunc_3"),
                reloaded.spec().fields().stream().map(PartitionField::name).collect(Collectors.toList()));
        assertFalse(PartitionSpecs.ensure(reloaded, declared));  // idempotent: no second commit
        assertEquals(2, reloaded.specs().size());  // the unpartitioned one, then the declared one
    }

    @Test
    void everyTransformReadsBackAsItsText() {
        PartitionSpec spec = PartitionSpec.builderFor(SCHEMA).year("event_time").bucket("city", 16)
                .truncate("amount", 100).identity("event_date").build();
        Table table = create("t", spec);
        assertEquals(List.of("year(event_time)", "bucket(16, city)", "truncate(100, amount)", "event_date"),
                PartitionSpecs.fields(table));
        for (String text : List.of("month(event_time)", "hour(event_time)", "MONTH(event_time)")) {
            Table other = create("t_" + Math.abs(text.hashCode()), PartitionSpec.unpartitioned());
            PartitionSpecs.ensure(other, List.of(text));
            assertEquals(List.of(text.toLowerCase()), PartitionSpecs.fields(other));
        }
    }

    @Test
    void anEmptyTableWithAnotherSpecIsRespecced() {
        Table table = create("t", PartitionSpec.builderFor(SCHEMA).identity("event_date").build());
        List<String> declared = List.of("hour(event_time)", "event_date");
        assertTrue(PartitionSpecs.ensure(table, declared));
        assertEquals(declared, PartitionSpecs.fields(PartitionSpecs.load(catalog, "sink", "t")));
    }

    @Test
    void aTableWithDataKeepsItsSpec() {
        Table table = create("t", PartitionSpec.builderFor(SCHEMA).identity("event_date").build());
        table.newAppend().appendFile(DataFiles.builder(table.spec())
                .withPath(warehouse.resolve("f.parquet").toString())
                .withFileSizeInBytes(10).withRecordCount(1).withPartitionPath("event_date=2024-01-01")
                .build()).commit();
        assertTrue(PartitionSpecs.hasData(table));
        assertFalse(PartitionSpecs.ensure(table, List.of("event_date")));
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> PartitionSpecs.ensure(table, List.of("day(event_time)")));
        assertTrue(refused.getMessage().contains("[event_date], not [day(event_time)]"), refused.getMessage());
        assertEquals(List.of("event_date"), PartitionSpecs.fields(PartitionSpecs.load(catalog, "sink", "t")));
    }
}
