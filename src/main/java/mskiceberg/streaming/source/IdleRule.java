package mskiceberg.streaming.source;

import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.OptionalLong;

/**
 * When a partition may stop holding the watermark back, and how far it then lets it go.
 *
 * <p>The rule, per topic: a partition is idle when nothing was read from it for the idle timeout
 * T and it has nothing to read (its reader's position is at the end offset the broker reported).
 * An idle partition does not vanish from the watermark, as Flink's own idleness makes it; it
 * holds the watermark at the newest event time that any partition <em>of its own topic</em> had T
 * before the broker said it had nothing to read, minus its out-of-orderness. No other topic's
 * event time moves it, so a topic whose clock is behind another's (a slower producer, a replay)
 * is never made late by it; a topic with nothing to read stays where its own records put it.
 * A record is late only when it reaches its partition more than T after a record of the same
 * topic that is later by more than the allowed disorder reached another partition: never because
 * of fetch order, a pause, an outage or a restart, which delay every partition alike.
 *
 * <p>The one exception is opted into per topic ({@link #released}): once no record has been
 * written to any partition of the topic for the release time, its idle partitions follow the
 * newest event time of all the job's topics, so windows that also read other topics can close.
 */
final class IdleRule {

    private IdleRule() {
    }

    /**
     * The watermark an idle partition holds, or empty while it is not idle.
     *
     * @param nowNanos now
     * @param idleNanos the idle timeout T (0: never idle)
     * @param lastEmitNanos when the partition last emitted a record (or was assigned)
     * @param position the offset after its last emitted record (negative: not known)
     * @param endOffset the end offset the broker reported in the latest snapshot (null: none)
     * @param newestEventTime the newest event time of the topic's log read T before that snapshot
     * @param outOfOrdernessMs the partition's allowed disorder
     */
    static OptionalLong idleWatermark(long nowNanos, long idleNanos, long lastEmitNanos, long position, Long endOffset,
                                      OptionalLong newestEventTime, long outOfOrdernessMs) {
        if (idleNanos <= 0 || nowNanos - lastEmitNanos < idleNanos) {
            return OptionalLong.empty();
        }
        if (endOffset == null || position < 0 || position < endOffset || newestEventTime.isEmpty()) {
            return OptionalLong.empty();
        }
        // the same form as Flink's bounded out-of-orderness watermark: newest - disorder - 1 ms
        return OptionalLong.of(newestEventTime.getAsLong() - outOfOrdernessMs - 1);
    }

    /**
     * True when the topic's partitions may follow the other topics: a release time is set and no
     * record was written to the topic for that long.
     *
     * @param releaseNanos the topic's release time (0: never)
     * @param endsMovedNanos when the topic's end offsets last moved (null: not known yet)
     */
    static boolean released(long nowNanos, long releaseNanos, Long endsMovedNanos) {
        return releaseNanos > 0 && endsMovedNanos != null && nowNanos - endsMovedNanos >= releaseNanos;
    }

    /** The subtask the Kafka enumerator gives tp to (KafkaSourceEnumerator#getSplitOwner). */
    static int owner(TopicPartition tp, int readers) {
        int start = ((tp.topic().hashCode() * 31) & 0x7FFFFFFF) % readers;
        return (start + tp.partition()) % readers;
    }

    /** True when the topic has partitions and none of them is this subtask's: it will read nothing. */
    static boolean ownsNone(String topic, Collection<TopicPartition> partitions, int subtask, int readers) {
        boolean any = false;
        for (TopicPartition tp : partitions) {
            if (tp.topic().equals(topic)) {
                any = true;
                if (owner(tp, readers) == subtask) {
                    return false;
                }
            }
        }
        return any;
    }
}
