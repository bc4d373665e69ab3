package mskiceberg.streaming.source;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the state of the job's topics straight from the brokers, once a check interval, for every
 * idle-aware reader of this JVM: each partition's end offset, when each topic's end offsets last
 * moved, and per topic the newest event time any of its partitions has had (read from the newest
 * record of each partition whose end moved).
 *
 * <p>Why from the logs and not from the readers: a reader only knows its own partitions, and
 * the readers of other subtasks run elsewhere. The logs are the same for everyone, so every
 * reader can judge for itself, with no coordination, how far its topic's event time has got.
 */
final class LogProbe implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LogProbe.class);
    private static final Map<String, LogProbe> SHARED = new HashMap<>();
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(2);
    private static final long RETAIN_MARKS_NANOS = Duration.ofHours(1).toNanos();

    /** End offsets of every partition of the job's topics, asked for at startNanos. */
    static final class Snapshot {
        final long startNanos;
        final Map<TopicPartition, Long> ends;
        final Map<TopicPartition, Long> beginnings;

        Snapshot(long startNanos, Map<TopicPartition, Long> ends, Map<TopicPartition, Long> beginnings) {
            this.startNanos = startNanos;
            this.ends = ends;
            this.beginnings = beginnings;
        }
    }

    private final String key;
    private final IdleSettings settings;
    private final Map<String, EventTimeReader> readers = new HashMap<>();
    private final Map<TopicPartition, Long> readUpTo = new HashMap<>(); // end offset when last read
    private final Map<String, EventTimeHistory> histories = new ConcurrentHashMap<>(); // per topic
    private final Map<String, Long> endsMovedNanos = new ConcurrentHashMap<>(); // per topic
    private final Map<TopicPartition, Long> lastEnds = new HashMap<>();
    private final Map<String, Set<TopicPartition>> committedWanted = new ConcurrentHashMap<>();
    private final Map<String, Long> committed = new ConcurrentHashMap<>(); // group/topic/partition -> offset
    private final Thread thread;
    private volatile Snapshot latest;
    private volatile boolean running = true;
    private int users;
    private long failures;

    private LogProbe(String key, IdleSettings settings) {
        this.key = key;
        this.settings = settings;
        for (IdleSettings.Peer peer : settings.peers) {
            readers.put(peer.topic, new EventTimeReader(peer));
        }
        thread = new Thread(this::run, "idle-aware-log-probe");
        thread.setDaemon(true);
        thread.setContextClassLoader(LogProbe.class.getClassLoader());
    }

    static synchronized LogProbe acquire(IdleSettings settings) {
        LogProbe probe = SHARED.computeIfAbsent(settings.probeKey(), k -> {
            LogProbe p = new LogProbe(k, settings);
            p.thread.start();
            return p;
        });
        probe.users++;
        return probe;
    }

    static synchronized void release(LogProbe probe) {
        if (--probe.users == 0) {
            SHARED.remove(probe.key);
            probe.close();
        }
    }

    Snapshot latest() {
        return latest;
    }

    /** The newest event time seen in the topic's log by a read that ended at or before nanos. */
    OptionalLong newestEventTimeAt(String topic, long nanos) {
        EventTimeHistory history = histories.get(topic);
        return history == null ? OptionalLong.empty() : history.at(nanos);
    }

    /** The newest event time seen in the log of any of the job's topics by a read that ended at or before nanos. */
    OptionalLong newestOfAllTopicsAt(long nanos) {
        OptionalLong newest = OptionalLong.empty();
        for (EventTimeHistory history : histories.values()) {
            OptionalLong at = history.at(nanos);
            if (at.isPresent() && (newest.isEmpty() || at.getAsLong() > newest.getAsLong())) {
                newest = at;
            }
        }
        return newest;
    }

    /**
     * When an end offset of the topic last moved (a record was written to it), as far as this
     * probe has seen: its first snapshot counts as a move, since what came before is not known.
     * Null before the first snapshot.
     */
    Long endsMovedNanos(String topic) {
        return endsMovedNanos.get(topic);
    }

    /** The group's committed offset of tp, once the probe has asked the brokers (-1 when none). */
    Long committedOffset(String groupId, TopicPartition tp) {
        Long offset = committed.get(groupId + "/" + tp);
        if (offset == null) {
            committedWanted.computeIfAbsent(groupId, g -> ConcurrentHashMap.newKeySet()).add(tp);
        }
        return offset;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }

    private void run() {
        try (KafkaConsumer<byte[], byte[]> consumer = newConsumer(null)) {
            while (running) {
                try {
                    round(consumer);
                    failures = 0;
                } catch (org.apache.kafka.common.errors.InterruptException e) {
                    break;
                } catch (RuntimeException e) {
                    // the brokers cannot be reached: no new snapshot, so no partition becomes idle
                    if (failures++ % 30 == 0) {
                        LOG.warn("idle-aware source: cannot read the topics' end offsets ({}); partitions keep "
                                + "holding the watermark until the brokers answer", e.toString());
                    }
                }
                try {
                    Thread.sleep(settings.checkIntervalMs);
                } catch (InterruptedException e) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("idle-aware source: log probe stopped", e);
        }
    }

    private KafkaConsumer<byte[], byte[]> newConsumer(String groupId) {
        Properties props = new Properties();
        props.putAll(settings.kafkaProperties);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        if (groupId != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "idle-aware-probe");
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "65536");
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private void round(KafkaConsumer<byte[], byte[]> consumer) {
        long start = System.nanoTime();
        List<TopicPartition> partitions = new ArrayList<>();
        for (IdleSettings.Peer peer : settings.peers) {
            List<PartitionInfo> infos = consumer.partitionsFor(peer.topic, CALL_TIMEOUT);
            if (infos == null) {
                continue;
            }
            for (PartitionInfo info : infos) {
                partitions.add(new TopicPartition(info.topic(), info.partition()));
            }
        }
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, CALL_TIMEOUT);
        Map<TopicPartition, Long> beginnings = consumer.beginningOffsets(partitions, CALL_TIMEOUT);
        readNewest(consumer, ends, beginnings);
        noteMovedEnds(start, ends);
        latest = new Snapshot(start, Collections.unmodifiableMap(ends), Collections.unmodifiableMap(beginnings));
        resolveCommitted();
    }

    private void noteMovedEnds(long nanos, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            Long before = lastEnds.put(e.getKey(), e.getValue());
            if (before == null || !before.equals(e.getValue())) {
                endsMovedNanos.put(e.getKey().topic(), nanos);
            }
        }
    }

    /** The newest record of each partition whose end moved: the newest event time of each topic's log. */
    private void readNewest(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> ends,
                            Map<TopicPartition, Long> beginnings) {
        Set<TopicPartition> toRead = new HashSet<>();
        for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
            long end = e.getValue();
            if (end > beginnings.getOrDefault(e.getKey(), 0L) && end != readUpTo.getOrDefault(e.getKey(), -1L)) {
                toRead.add(e.getKey());
            }
        }
        if (toRead.isEmpty()) {
            return;
        }
        consumer.assign(toRead);
        for (TopicPartition tp : toRead) {
            consumer.seek(tp, ends.get(tp) - 1);
        }
        Map<String, Long> newest = new HashMap<>();
        Set<TopicPartition> pending = new HashSet<>(toRead);
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                pending.remove(tp);
                OptionalLong ts = readers.get(record.topic()).eventTimeMillis(record.value());
                if (ts.isPresent()) {
                    newest.merge(record.topic(), ts.getAsLong(), Math::max);
                }
            }
        }
        for (TopicPartition tp : toRead) {
            if (!pending.contains(tp)) {
                readUpTo.put(tp, ends.get(tp));
            }
        }
        consumer.assign(Collections.emptyList());
        long now = System.nanoTime();
        newest.forEach((topic, eventTime) -> histories.computeIfAbsent(topic, t -> new EventTimeHistory())
                .add(now, eventTime, RETAIN_MARKS_NANOS));
    }

    private void resolveCommitted() {
        for (Iterator<Map.Entry<String, Set<TopicPartition>>> it = committedWanted.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Set<TopicPartition>> wanted = it.next();
            Set<TopicPartition> tps = new HashSet<>(wanted.getValue());
            try (KafkaConsumer<byte[], byte[]> group = newConsumer(wanted.getKey())) {
                Map<TopicPartition, OffsetAndMetadata> offsets = group.committed(tps, CALL_TIMEOUT);
                for (TopicPartition tp : tps) {
                    OffsetAndMetadata om = offsets.get(tp);
                    committed.put(wanted.getKey() + "/" + tp, om == null ? -1L : om.offset());
                }
            }
            it.remove();
        }
    }
}
