package mskiceberg.streaming.maintenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.CombinedScanTask;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.relocated.com.google.common.collect.Iterables;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The maintenance operations that need no Flink runtime (compaction itself runs as a Flink job:
 * tests/e2e/test_maintenance.py runs it beside a running job). Data files here are stand-ins of known
 * size; what is checked is which snapshots and files stay.
 */
class TableMaintenanceTest {

    private static final Schema SCHEMA = new Schema(
            Types.NestedField.required(1, "id", Types.LongType.get()),
            Types.NestedField.required(2, "d", Types.DateType.get()));
    private static final long DAY_MS = 86_400_000L;

    @TempDir
    Path warehouse;
    private Table table;
    private int fileCounter;

    @BeforeEach
    void createTable() {
        table = MaintainTables.catalog(warehouse.toUri().toString()).createTable(
                TableIdentifier.of("sink", "t"), SCHEMA, PartitionSpec.builderFor(SCHEMA).identity("d").build(),
                Map.of("format-version", "2"));
    }

    private DataFile dataFile(String day, long bytes) throws IOException {
        Path path = Path.of(table.location().replaceFirst("^file:", "")).resolve("data/d=" + day
                + "/f" + (fileCounter++) + ".parquet");
        Files.createDirectories(path.getParent());
        Files.write(path, new byte[(int) bytes]);
        return DataFiles.builder(table.spec()).withPath(path.toString()).withFileSizeInBytes(bytes)
                .withRecordCount(1).withPartitionPath("d=" + day).withFormat(FileFormat.PARQUET).build();
    }

    /** One commit; {@code byJob}: with the summary key Iceberg's Flink committer sets. */
    private void append(boolean byJob, DataFile... files) {
        AppendFiles append = table.newAppend();
        for (DataFile file : files) {
            append.appendFile(file);
        }
        if (byJob) {
            append.set(TableMaintenance.FLINK_JOB_ID, "job-1");
        }
        append.commit();
    }

    @Test
    void aVersionFileIsNeverReplaced() throws IOException {
        Configuration conf = new Configuration();
        conf.set(NoReplaceLocalFileSystem.IMPL_KEY, NoReplaceLocalFileSystem.class.getName());
        conf.setBoolean("fs.file.impl.disable.cache", true);
        FileSystem fs = FileSystem.get(warehouse.toUri(), conf);
        assertTrue(fs instanceof NoReplaceLocalFileSystem);
        Path dir = Files.createDirectories(warehouse.resolve("metadata"));
        Files.writeString(dir.resolve("v3.metadata.json"), "first");
        Files.writeString(dir.resolve("tmp-a"), "second");
        Files.writeString(dir.resolve("tmp-b"), "third");

        assertFalse(fs.rename(path(dir.resolve("tmp-a")), path(dir.resolve("v3.metadata.json"))));
        assertEquals("first", Files.readString(dir.resolve("v3.metadata.json")));
        assertTrue(Files.exists(dir.resolve("tmp-a")));

        assertTrue(fs.rename(path(dir.resolve("tmp-b")), path(dir.resolve("v4.metadata.json"))));
        assertEquals("third", Files.readString(dir.resolve("v4.metadata.json")));
        assertFalse(Files.exists(dir.resolve("tmp-b")));

        // any other name keeps Hadoop's behaviour (the version hint is replaced on purpose)
        Files.writeString(dir.resolve("version-hint.text"), "3");
        assertTrue(fs.rename(path(dir.resolve("tmp-a")), path(dir.resolve("version-hint.text"))));
        assertEquals("second", Files.readString(dir.resolve("version-hint.text")));
    }

    private static org.apache.hadoop.fs.Path path(Path local) {
        return new org.apache.hadoop.fs.Path(local.toUri());
    }

    @Test
    void expiryKeepsTheNewestSnapshotTheJobCommitted() throws IOException {
        for (int i = 0; i < 3; i++) {
            append(true, dataFile("2026-03-01", 10));
        }
        for (int i = 0; i < 3; i++) {
            append(false, dataFile("2026-03-01", 10));
        }
        long now = System.currentTimeMillis() + 1;

        Map<String, Object> dry = new TableMaintenance(table, true).expireSnapshots(now, 1, now);
        assertEquals(2, dry.get("snapshots_to_expire"));
        assertEquals(6, Iterables.size(table.snapshots()));

        Map<String, Object> done = new TableMaintenance(table, false).expireSnapshots(now, 1, now);
        assertEquals(2, done.get("snapshots_expired"));
        assertEquals(4, done.get("retained_at_least"));
        table.refresh();
        assertEquals(4, Iterables.size(table.snapshots()));
        assertEquals(6, TableStats.of(table).dataFiles);  // appends only: every file is still live
    }

    @Test
    void expiryDefaultsToTheTableProperties() throws IOException {
        table.updateProperties().set("history.expire.min-snapshots-to-keep", "2").commit();
        for (int i = 0; i < 4; i++) {
            append(false, dataFile("2026-03-01", 10));
        }
        long now = System.currentTimeMillis();
        // default age: 5 days, so nothing is old enough
        assertEquals(0, new TableMaintenance(table, false).expireSnapshots(null, null, now).get("snapshots_expired"));
        table.updateProperties().set("history.expire.max-snapshot-age-ms", "0").commit();
        Map<String, Object> done = new TableMaintenance(table, false).expireSnapshots(null, null, now + 1);
        assertEquals(2, done.get("snapshots_expired"));
    }

    @Test
    void orphanRemovalTakesOnlyOldUnreferencedFiles() throws IOException {
        DataFile live = dataFile("2026-03-01", 10);
        append(true, live);
        Path data = Path.of(live.location()).getParent();
        Path oldOrphan = Files.write(data.resolve("orphan-old.parquet"), new byte[7]);
        Path oldOrphanChecksum = Files.write(data.resolve(".orphan-old.parquet.crc"), new byte[3]);
        Path youngOrphan = Files.write(data.resolve("orphan-young.parquet"), new byte[5]);
        long now = System.currentTimeMillis();
        FileTime twoDaysAgo = FileTime.fromMillis(now - 2 * DAY_MS);
        for (Path p : List.of(oldOrphan, oldOrphanChecksum, Path.of(live.location()))) {
            Files.setLastModifiedTime(p, twoDaysAgo);
        }
        try (var files = Files.walk(Path.of(table.location().replaceFirst("^file:", "")).resolve("metadata"))) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.setLastModifiedTime(p, twoDaysAgo);  // referenced metadata, old too
            }
        }

        Map<String, Object> dry = new TableMaintenance(table, true).removeOrphanFiles(now - DAY_MS, now);
        assertEquals(2, dry.get("orphan_files_to_remove"));
        assertTrue(Files.exists(oldOrphan));

        Map<String, Object> done = new TableMaintenance(table, false).removeOrphanFiles(now - DAY_MS, now);
        assertEquals(2, done.get("orphan_files_removed"));
        assertEquals(10L, done.get("orphan_bytes"));
        assertFalse(Files.exists(oldOrphan));
        assertFalse(Files.exists(oldOrphanChecksum));
        assertTrue(Files.exists(youngOrphan));
        assertTrue(Files.exists(Path.of(live.location())));
        table.refresh();
        assertEquals(1, TableStats.of(table).dataFiles);
        assertEquals(1, Iterables.size(table.snapshots()));
    }

    @Test
    void orphanRemovalRefusesYoungFiles() {
        long now = System.currentTimeMillis();
        assertThrows(IllegalArgumentException.class,
                () -> new TableMaintenance(table, false).removeOrphanFiles(now - 60_000, now));
    }

    @Test
    void manySmallFilesOfAPartitionBecomeOneFile() throws IOException {
        DataFile[] files = new DataFile[40];
        for (int i = 0; i < files.length; i++) {
            files[i] = dataFile("2026-03-01", 4096);
        }
        append(true, files);
        // Iceberg's default open-file cost (4 MiB) would make two groups of 32 and 8 files
        List<CombinedScanTask> groups = TableMaintenance.plan(table, 128L * 1024 * 1024);
        assertEquals(1, groups.size());
        assertEquals(40, groups.get(0).files().size());
    }

    @Test
    void compactionPlanPacksSmallFilesPerPartitionAndSkipsLonelyOnes() throws IOException {
        append(true, dataFile("2026-03-01", 100), dataFile("2026-03-01", 100), dataFile("2026-03-01", 100));
        append(true, dataFile("2026-03-02", 100));
        List<CombinedScanTask> groups = TableMaintenance.plan(table, 128L * 1024 * 1024);
        assertEquals(1, groups.size());
        assertEquals(3, groups.get(0).files().size());

        Map<String, Object> dry = new TableMaintenance(table, true).rewriteSmallFiles(null, 1);
        assertEquals(3L, dry.get("files_to_rewrite"));
        assertEquals(536870912L, dry.get("target_file_bytes"));  // Iceberg's default: no property set

        TableStats stats = TableStats.of(table);
        assertEquals(4, stats.dataFiles);
        assertEquals(100, stats.meanFileBytes());
        assertEquals(2, stats.snapshots);
    }
}
