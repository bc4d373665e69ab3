package mskiceberg.streaming.source;

import mskiceberg.streaming.metrics.MetricNames;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.data.RowData;

import org.apache.kafka.common.TopicPartition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The Kafka reader, with idleness decided by {@link IdleRule} instead of by a timer alone.
 *
 * <p>Its watermark generators have no idleness of their own; once a check interval this reader
 * asks the {@link LogProbe} which of its partitions have nothing to read, and emits their idle
 * watermark on their split outputs. A reader that owns no partition at all is marked idle.
 * Everything runs on the task's thread: a timer only makes the reader available.
 */
final class IdleAwareReader extends ForwardingSourceReader<RowData, KafkaPartitionSplit> {

    private final IdleSettings settings;
    private final PositionTracker tracker;
    private final int subtask;
    private final int readers;
    private final Map<String, TopicPartition> splits = new HashMap<>();
    private final Map<String, Long> startingOffsets = new HashMap<>();
    private final Map<String, Long> idleWatermarks = new HashMap<>();
    private final MetricGroup metrics;
    private volatile int idlePartitions;
    private volatile boolean released;
    private LogProbe probe;
    private ScheduledExecutorService timer;
    private volatile CompletableFuture<Void> tick = new CompletableFuture<>();

    IdleAwareReader(SourceReader<RowData, KafkaPartitionSplit> delegate, IdleSettings settings,
                    PositionTracker tracker, int subtask, int readers, MetricGroup metrics) {
        super(delegate);
        this.metrics = metrics;
        this.settings = settings;
        this.tracker = tracker;
        this.subtask = subtask;
        this.readers = readers;
    }

    @Override
    public void start() {
        delegate.start();
        probe = LogProbe.acquire(settings);
        registerMetrics();
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "idle-aware-reader-tick-" + subtask);
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> tick.complete(null), settings.checkIntervalMs, settings.checkIntervalMs,
                TimeUnit.MILLISECONDS);
    }

    @Override
    public InputStatus pollNext(ReaderOutput<RowData> output) throws Exception {
        if (tick.isDone()) {
            tick = new CompletableFuture<>();
            check(output);
        }
        return delegate.pollNext(output);
    }

    private void check(ReaderOutput<RowData> output) {
        LogProbe.Snapshot snapshot = probe.latest();
        if (snapshot == null) {
            return;
        }
        if (splits.isEmpty()) {
            if (IdleRule.ownsNone(settings.topic, snapshot.ends.keySet(), subtask, readers)) {
                output.markIdle(); // no partition will ever come here (until the topic grows)
            }
            return;
        }
        long idleNanos = TimeUnit.MILLISECONDS.toNanos(settings.idleTimeoutMs);
        long now = System.nanoTime();
        OptionalLong newest = probe.newestEventTimeAt(settings.topic, snapshot.startNanos - idleNanos);
        released = IdleRule.released(now, TimeUnit.MILLISECONDS.toNanos(settings.releaseAfterMs),
                probe.endsMovedNanos(settings.topic));
        if (released) {
            newest = max(newest, probe.newestOfAllTopicsAt(snapshot.startNanos - idleNanos));
        }
        int idleNow = 0;
        for (Map.Entry<String, TopicPartition> split : splits.entrySet()) {
            PositionTracker.Track track = tracker.get(split.getValue());
            if (track == null) {
                continue;
            }
            long position = position(split.getKey(), split.getValue(), track, snapshot);
            OptionalLong idle = IdleRule.idleWatermark(now, idleNanos, track.lastEmitNanos, position,
                    snapshot.ends.get(split.getValue()), newest, settings.outOfOrdernessMs);
            if (idle.isPresent()) {
                idleNow++;
            }
            if (idle.isPresent() && idle.getAsLong() > idleWatermarks.getOrDefault(split.getKey(), Long.MIN_VALUE)) {
                idleWatermarks.put(split.getKey(), idle.getAsLong());
                output.createOutputForSplit(split.getKey()).emitWatermark(new Watermark(idle.getAsLong()));
            }
        }
        idlePartitions = idleNow;
    }

    private static OptionalLong max(OptionalLong a, OptionalLong b) {
        return a.isEmpty() || (b.isPresent() && b.getAsLong() > a.getAsLong()) ? b : a;
    }

    /**
     * Gauges of what holds this topic's watermark, per subtask (docs/reference/event-time.md): its partitions,
     * how many are idle, how long nothing was written to the topic, whether it is released.
     */
    private void registerMetrics() {
        MetricGroup group = MetricNames.group(metrics, MetricNames.TOPIC, settings.topic);
        group.gauge(MetricNames.PARTITIONS, (Gauge<Integer>) splits::size);
        group.gauge(MetricNames.IDLE_PARTITIONS, (Gauge<Integer>) () -> idlePartitions);
        group.gauge(MetricNames.QUIET_MS, (Gauge<Long>) () -> {
            Long moved = probe == null ? null : probe.endsMovedNanos(settings.topic);
            return moved == null ? -1L : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - moved);
        });
        group.gauge(MetricNames.RELEASED, (Gauge<Integer>) () -> released ? 1 : 0);
    }

    /** The next offset this split will emit; a symbolic start is resolved as the Kafka reader does. */
    private long position(String splitId, TopicPartition tp, PositionTracker.Track track, LogProbe.Snapshot snapshot) {
        if (track.position >= 0) {
            return track.position;
        }
        long start = startingOffsets.getOrDefault(splitId, KafkaPartitionSplit.EARLIEST_OFFSET);
        Long beginning = snapshot.beginnings.get(tp);
        if (start == KafkaPartitionSplit.COMMITTED_OFFSET) {
            Long committed = probe.committedOffset(settings.groupId, tp);
            if (committed == null) {
                return -1; // asked; known after the probe's next round
            }
            if (committed >= 0) {
                return committed;
            }
        }
        // earliest, or no committed offset (the reader then starts at the earliest, the table's default reset)
        return beginning == null ? -1 : beginning;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
        CompletableFuture<Void> data = delegate.isAvailable();
        if (data.isDone()) {
            return data;
        }
        return CompletableFuture.anyOf(data, tick).thenApply(ignored -> null);
    }

    @Override
    public void addSplits(List<KafkaPartitionSplit> newSplits) {
        long now = System.nanoTime();
        for (KafkaPartitionSplit split : newSplits) {
            splits.put(split.splitId(), split.getTopicPartition());
            startingOffsets.put(split.splitId(), split.getStartingOffset());
            tracker.register(split.getTopicPartition(), split.getStartingOffset(), now);
        }
        delegate.addSplits(newSplits);
    }

    @Override
    public void close() throws Exception {
        try {
            delegate.close();
        } finally {
            if (timer != null) {
                timer.shutdownNow();
            }
            if (probe != null) {
                LogProbe.release(probe);
            }
        }
    }
}
