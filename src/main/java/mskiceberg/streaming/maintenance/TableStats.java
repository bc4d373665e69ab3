package mskiceberg.streaming.maintenance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.relocated.com.google.common.collect.Iterables;

/** What an operator asks of a table's layout: live files, their mean size, rows, snapshots. */
public final class TableStats {

    public final int snapshots;
    public final long dataFiles;
    public final long dataBytes;
    public final long deleteFiles;
    public final long records;

    TableStats(int snapshots, long dataFiles, long dataBytes, long deleteFiles, long records) {
        this.snapshots = snapshots;
        this.dataFiles = dataFiles;
        this.dataBytes = dataBytes;
        this.deleteFiles = deleteFiles;
        this.records = records;
    }

    /** Counted from the files of the current snapshot (not its summary, which lumps delete files in). */
    public static TableStats of(Table table) {
        int snapshots = Iterables.size(table.snapshots());
        if (table.currentSnapshot() == null) {
            return new TableStats(snapshots, 0, 0, 0, 0);
        }
        long files = 0;
        long bytes = 0;
        long records = 0;
        Set<String> deletes = new HashSet<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            for (FileScanTask task : tasks) {
                files++;
                bytes += task.file().fileSizeInBytes();
                records += task.file().recordCount();
                for (DeleteFile delete : task.deletes()) {
                    deletes.add(delete.location());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TableStats(snapshots, files, bytes, deletes.size(), records);
    }

    public long meanFileBytes() {
        return dataFiles == 0 ? 0 : dataBytes / dataFiles;
    }

    Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("snapshots", snapshots);
        map.put("data_files", dataFiles);
        map.put("data_bytes", dataBytes);
        map.put("mean_file_bytes", meanFileBytes());
        map.put("delete_files", deleteFiles);
        map.put("records", records);
        return map;
    }
}
