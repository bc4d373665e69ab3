package mskiceberg.streaming.format;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;

import mskiceberg.streaming.metrics.MetricNames;

/**
 * The decision counters of one topic's decoder: {@code goodRecords} {topic} and
 * {@code deadRecords} {topic, reason kind}, counted where a record is judged, so good + dead =
 * every record read. Every kind is registered, so a kind never seen reads 0. A CDC format also
 * counts {@code tombstoneRecords} {topic}: there a tombstone is neither good nor dead (good + dead
 * + tombstones = every record read).
 */
public final class RecordCounters {

    private Counter good = new SimpleCounter(); // counted but not reported until registered
    private final Counter[] dead = new Counter[DeadLetterKind.values().length];
    private Counter tombstones = new SimpleCounter();

    public RecordCounters() {
        for (int i = 0; i < dead.length; i++) {
            dead[i] = new SimpleCounter();
        }
    }

    /** Report the counters under the job's metric group, labelled with the topic. */
    public void register(MetricGroup root, String topic) {
        MetricGroup group = MetricNames.group(root, MetricNames.TOPIC, topic);
        good = group.counter(MetricNames.GOOD_RECORDS);
        for (DeadLetterKind k : DeadLetterKind.values()) {
            dead[k.ordinal()] = group.addGroup(MetricNames.REASON, k.label()).counter(MetricNames.DEAD_RECORDS);
        }
    }

    /** Report tombstoneRecords too: only formats where a tombstone is not a dead letter (CDC) have it. */
    public void registerTombstones(MetricGroup root, String topic) {
        tombstones = MetricNames.group(root, MetricNames.TOPIC, topic).counter(MetricNames.TOMBSTONE_RECORDS);
    }

    public void good() {
        good.inc();
    }

    public void dead(DeadLetterKind kind) {
        dead[kind.ordinal()].inc();
    }

    public long goodCount() {
        return good.getCount();
    }

    public long deadCount(DeadLetterKind kind) {
        return dead[kind.ordinal()].getCount();
    }

    public void tombstone() {
        tombstones.inc();
    }

    public long tombstoneCount() {
        return tombstones.getCount();
    }
}
