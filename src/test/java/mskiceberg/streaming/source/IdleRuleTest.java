package mskiceberg.streaming.source;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdleRuleTest {

    private static final long T = TimeUnit.SECONDS.toNanos(30);
    private static final long NOW = TimeUnit.SECONDS.toNanos(1_000);
    private static final OptionalLong NEWEST = OptionalLong.of(1_700_000_000_000L);

    private static OptionalLong idle(long lastEmit, long position, Long end, OptionalLong newest) {
        return IdleRule.idleWatermark(NOW, T, lastEmit, position, end, newest, 5_000);
    }

    @Test
    void caughtUpAndQuietForTheTimeoutHoldsTheNewestEventTimeMinusTheDisorder() {
        assertEquals(OptionalLong.of(NEWEST.getAsLong() - 5_000 - 1), idle(NOW - T, 42, 42L, NEWEST));
    }

    @Test
    void unreadDataHoldsTheWatermarkHoweverLongItWasQuiet() {
        // the broker has offset 42 and the reader stands at 41: an outage, a slow fetch, back-pressure
        assertFalse(idle(NOW - 10 * T, 41, 42L, NEWEST).isPresent());
    }

    @Test
    void aPartitionThatReadSomethingWithinTheTimeoutIsNotIdle() {
        assertFalse(idle(NOW - T + 1, 42, 42L, NEWEST).isPresent());
    }

    @Test
    void withoutAnAnswerFromTheBrokerOrAKnownPositionNothingIsIdle() {
        assertFalse(idle(NOW - T, 42, null, NEWEST).isPresent());
        assertFalse(idle(NOW - T, -1, 0L, NEWEST).isPresent());
        assertFalse(idle(NOW - T, 42, 42L, OptionalLong.empty()).isPresent());
    }

    @Test
    void aZeroTimeoutNeverMakesAPartitionIdle() {
        assertFalse(IdleRule.idleWatermark(NOW, 0, 0, 42, 42L, NEWEST, 5_000).isPresent());
    }

    @Test
    void aTopicIsReleasedOnlyWhenOptedInAndNothingWasWrittenToItForTheReleaseTime() {
        long release = TimeUnit.MINUTES.toNanos(10);
        assertFalse(IdleRule.released(NOW, 0, NOW - 100 * release)); // off by default: never
        assertFalse(IdleRule.released(NOW, release, null)); // the probe has not seen the topic yet
        assertFalse(IdleRule.released(NOW, release, NOW - release + 1));
        assertTrue(IdleRule.released(NOW, release, NOW - release));
    }

    @Test
    void ownerIsTheKafkaEnumeratorsAssignment() {
        // KafkaSourceEnumerator#getSplitOwner: start index from the topic's hash, then round robin
        TopicPartition p0 = new TopicPartition("bid-events", 0);
        int start = (("bid-events".hashCode() * 31) & 0x7FFFFFFF) % 3;
        assertEquals(start, IdleRule.owner(p0, 3));
        assertEquals((start + 1) % 3, IdleRule.owner(new TopicPartition("bid-events", 1), 3));
    }

    @Test
    void aReaderOwnsNoneOnlyWhenTheTopicIsKnownAndNoPartitionMapsToIt() {
        TopicPartition only = new TopicPartition("t", 0);
        int owner = IdleRule.owner(only, 2);
        assertTrue(IdleRule.ownsNone("t", List.of(only, new TopicPartition("other", 0)), 1 - owner, 2));
        assertFalse(IdleRule.ownsNone("t", List.of(only), owner, 2));
        assertFalse(IdleRule.ownsNone("t", List.of(new TopicPartition("other", 0)), 0, 2)); // not known yet
    }
}
