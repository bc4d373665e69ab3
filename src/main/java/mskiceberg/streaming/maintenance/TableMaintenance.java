package mskiceberg.streaming.maintenance;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.fs.Path;
import org.apache.iceberg.CombinedScanTask;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.ExpireSnapshots;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.actions.RewriteDataFilesActionResult;
import org.apache.iceberg.flink.actions.Actions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.relocated.com.google.common.collect.Iterables;
import org.apache.iceberg.util.PropertyUtil;
import org.apache.iceberg.util.SnapshotUtil;
import org.apache.iceberg.util.StructLikeWrapper;
import org.apache.iceberg.util.TableScanUtil;

/**
 * Maintenance of one Iceberg table that a streaming job keeps writing: compaction, snapshot
 * expiry, orphan-file removal, each with a dry run that changes nothing.
 *
 * <p>Why it is safe beside the running job (optimistic concurrency): every change here is an
 * Iceberg commit that is validated against the table as it is at commit time, retried on a newer
 * version, and never replaces a version file (see {@link NoReplaceLocalFileSystem}).
 * <ul>
 *   <li>Compaction commits a {@code RewriteFiles} that removes the small files it read. It only
 *       commits if all of them are still live and no delete committed since it started applies to
 *       them; the job's appends touch neither, so both sides succeed (the job's commit retries on
 *       the newer version). The new files carry the data sequence number of the snapshot the
 *       compaction started from, so equality deletes an upsert table commits meanwhile still apply
 *       to the rewritten rows.</li>
 *   <li>Expiry removes old snapshots and deletes files only they reference; a file the job has
 *       written but not yet committed is referenced by no snapshot and is never considered. It
 *       always keeps the newest snapshot a Flink job committed and everything after it: the job's
 *       committer finds its last committed checkpoint there when it restores, and would commit a
 *       checkpoint's files twice without it.</li>
 *   <li>Orphan removal deletes unreferenced files older than a safe age only: a restored job
 *       commits files it wrote before it stopped, so younger files may still become live.</li>
 * </ul>
 */
public final class TableMaintenance {

    /** Snapshot summary key Iceberg's Flink committer sets on every commit it makes. */
    static final String FLINK_JOB_ID = "flink.job-id";
    /**
     * The size a file counts as at least when files are packed into one output file. Iceberg's
     * default (read.split.open-file-cost, 4 MiB) caps a 128 MiB output at 32 input files, so a
     * partition of a thousand 4 KiB streaming files would still become 32 files.
     */
    static final long OPEN_FILE_COST_BYTES = 64 * 1024;
    /** Orphan removal refuses younger files than this, whatever is asked. */
    public static final long MIN_ORPHAN_AGE_MS = 3_600_000L;

    private final Table table;
    private final boolean dryRun;

    public TableMaintenance(Table table, boolean dryRun) {
        this.table = table;
        this.dryRun = dryRun;
    }

    /** Bin-packs the small data files of each partition into files of about {@code targetBytes}
     *  (null: the table's {@code write.target-file-size-bytes}), as a Flink batch job. */
    public Map<String, Object> rewriteSmallFiles(Long target, int parallelism) {
        table.refresh();
        long targetBytes = target != null ? target : PropertyUtil.propertyAsLong(table.properties(),
                TableProperties.WRITE_TARGET_FILE_SIZE_BYTES, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("target_file_bytes", targetBytes);
        if (dryRun) {
            List<CombinedScanTask> groups = plan(table, targetBytes);
            result.put("files_to_rewrite", groups.stream().mapToLong(g -> g.files().size()).sum());
            result.put("files_to_write_about", groups.size());
            return result;
        }
        RewriteDataFilesActionResult done = Actions.forTable(table)
                .rewriteDataFiles()
                .maxParallelism(parallelism)
                .targetSizeInBytes(targetBytes)
                .splitOpenFileCost(OPEN_FILE_COST_BYTES)
                .useStartingSequenceNumber(true)
                .execute();
        result.put("files_rewritten", done.deletedDataFiles().size());
        result.put("files_written", done.addedDataFiles().size());
        result.put("committed", done.addedDataFiles().isEmpty() || live(done.addedDataFiles()));
        return result;
    }

    /**
     * Expires snapshots older than {@code olderThanMillis} (a timestamp), keeping at least
     * {@code retainLast} (more if the newest snapshot of a Flink job is further back). Null takes
     * the table's own defaults: {@code history.expire.max-snapshot-age-ms} before now and
     * {@code history.expire.min-snapshots-to-keep}.
     */
    public Map<String, Object> expireSnapshots(Long olderThanMillis, Integer retainLast, long nowMillis) {
        table.refresh();
        long olderThan = olderThanMillis != null ? olderThanMillis
                : nowMillis - PropertyUtil.propertyAsLong(table.properties(), TableProperties.MAX_SNAPSHOT_AGE_MS,
                        TableProperties.MAX_SNAPSHOT_AGE_MS_DEFAULT);
        int keep = retainLast != null ? retainLast
                : PropertyUtil.propertyAsInt(table.properties(), TableProperties.MIN_SNAPSHOTS_TO_KEEP,
                        TableProperties.MIN_SNAPSHOTS_TO_KEEP_DEFAULT);
        int retain = Math.max(keep, snapshotsUpToNewestJobCommit(table));
        AtomicLong deleted = new AtomicLong();
        ExpireSnapshots expire = table.expireSnapshots()
                .expireOlderThan(olderThan)
                .retainLast(retain)
                .deleteWith(location -> {
                    table.io().deleteFile(location);
                    deleted.incrementAndGet();
                });
        int expired = expire.apply().size();  // apply(): the snapshots it would remove
        if (!dryRun && expired > 0) {
            expire.commit();
            table.refresh();
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put(dryRun ? "snapshots_to_expire" : "snapshots_expired", expired);
        result.put("older_than_ms", olderThan);
        result.put("retained_at_least", retain);
        if (!dryRun) {
            result.put("files_deleted", deleted.get());
        }
        return result;
    }

    /** Deletes files under the table's location that no snapshot or metadata file references and
     *  that were last modified before {@code olderThanMillis}, their Hadoop checksum files too. */
    public Map<String, Object> removeOrphanFiles(long olderThanMillis, long nowMillis) {
        if (olderThanMillis > nowMillis - MIN_ORPHAN_AGE_MS) {
            throw new IllegalArgumentException("orphan files younger than " + MIN_ORPHAN_AGE_MS / 60_000
                    + " minutes are never removed: a running or restored job may still commit them");
        }
        // List first, then read what is referenced: a file committed in between is then referenced.
        List<File> candidates = listFilesOlderThan(localPath(table.location()), olderThanMillis);
        table.refresh();
        Set<String> referenced = referencedFiles(table);
        List<File> orphans = candidates.stream()
                .filter(f -> !referenced.contains(owner(f).getAbsolutePath()))
                .collect(Collectors.toList());
        long bytes = orphans.stream().mapToLong(File::length).sum();
        if (!dryRun) {
            for (File orphan : orphans) {
                try {
                    Files.deleteIfExists(orphan.toPath());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put(dryRun ? "orphan_files_to_remove" : "orphan_files_removed", orphans.size());
        result.put("orphan_bytes", bytes);
        return result;
    }

    /** The compaction groups Iceberg's rewrite action would form: the same grouping and packing. */
    static List<CombinedScanTask> plan(Table table, long targetBytes) {
        if (table.currentSnapshot() == null) {
            return List.of();
        }
        long splitSize = Math.min(targetBytes, PropertyUtil.propertyAsLong(table.properties(),
                TableProperties.SPLIT_SIZE, TableProperties.SPLIT_SIZE_DEFAULT));
        int lookback = PropertyUtil.propertyAsInt(table.properties(), TableProperties.SPLIT_LOOKBACK,
                TableProperties.SPLIT_LOOKBACK_DEFAULT);
        long openFileCost = OPEN_FILE_COST_BYTES;
        Map<StructLikeWrapper, List<FileScanTask>> byPartition = new HashMap<>();
        StructLikeWrapper wrapper = StructLikeWrapper.forType(table.spec().partitionType());
        try (CloseableIterable<FileScanTask> tasks = table.newScan().ignoreResiduals().planFiles()) {
            for (FileScanTask task : tasks) {
                byPartition.computeIfAbsent(wrapper.copyFor(task.file().partition()), k -> new ArrayList<>()).add(task);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<CombinedScanTask> groups = new ArrayList<>();
        for (Collection<FileScanTask> tasks : byPartition.values()) {
            if (tasks.size() < 2) {
                continue;
            }
            CloseableIterable<FileScanTask> split = TableScanUtil.splitFiles(
                    CloseableIterable.withNoopClose(tasks), splitSize);
            for (CombinedScanTask group : TableScanUtil.planTasks(split, targetBytes, lookback, openFileCost)) {
                if (group.files().size() > 1) {
                    groups.add(group);
                }
            }
        }
        return groups;
    }

    /** How many snapshots, from the current one back, reach the newest one a Flink job committed. */
    static int snapshotsUpToNewestJobCommit(Table table) {
        int count = 0;
        for (Snapshot snapshot : SnapshotUtil.currentAncestors(table)) {
            count++;
            if (snapshot.summary() != null && snapshot.summary().containsKey(FLINK_JOB_ID)) {
                return count;
            }
        }
        return 1;
    }

    /** Every file the table's metadata reaches: metadata files, manifest lists, manifests, data and delete files. */
    static Set<String> referencedFiles(Table table) {
        Set<String> files = new HashSet<>();
        ReachableFileUtil.metadataFileLocations(table, true).forEach(l -> files.add(localPath(l)));
        files.add(localPath(ReachableFileUtil.versionHintLocation(table)));
        ReachableFileUtil.manifestListLocations(table).forEach(l -> files.add(localPath(l)));
        ReachableFileUtil.statisticsFilesLocations(table).forEach(l -> files.add(localPath(l)));
        Set<String> manifests = new HashSet<>();
        for (Snapshot snapshot : table.snapshots()) {
            for (ManifestFile manifest : snapshot.allManifests(table.io())) {
                if (!manifests.add(manifest.path())) {
                    continue;
                }
                files.add(localPath(manifest.path()));
                try (CloseableIterable<? extends ContentFile<?>> entries = manifest.content() == org.apache.iceberg.ManifestContent.DATA
                        ? ManifestFiles.read(manifest, table.io(), table.specs())
                        : ManifestFiles.readDeleteManifest(manifest, table.io(), table.specs())) {
                    for (ContentFile<?> file : entries) {
                        files.add(localPath(file.location()));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return files;
    }

    private boolean live(List<DataFile> files) {
        table.refresh();
        Set<String> live = new HashSet<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(t -> live.add(t.file().location()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files.stream().allMatch(f -> live.contains(f.location()));
    }

    private static List<File> listFilesOlderThan(String root, long olderThanMillis) {
        try (Stream<java.nio.file.Path> paths = Files.walk(Paths.get(root))) {
            return paths.filter(Files::isRegularFile)
                    .map(java.nio.file.Path::toFile)
                    .filter(f -> f.lastModified() < olderThanMillis)
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file a Hadoop checksum file ({@code .name.crc}) belongs to; any other file itself. */
    static File owner(File file) {
        String name = file.getName();
        if (name.startsWith(".") && name.endsWith(".crc")) {
            return new File(file.getParentFile(), name.substring(1, name.length() - ".crc".length()));
        }
        return file;
    }

    /** A local path from a location as Iceberg writes it ({@code file:/a}, {@code file:///a} or {@code /a}). */
    static String localPath(String location) {
        return new File(new Path(location).toUri().getPath()).getAbsolutePath();
    }
}
