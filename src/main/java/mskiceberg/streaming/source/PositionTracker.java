package mskiceberg.streaming.source;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where each partition of one reader stands: the offset after the last record it emitted, and
 * when. The Kafka reader keeps its positions to itself, so the record deserializer, which sees
 * every record on the reader's own thread just before it is emitted, writes them here.
 */
final class PositionTracker {

    /** One partition: the next offset to emit (-1 until known) and the time of the last emit. */
    static final class Track {
        volatile long position;
        volatile long lastEmitNanos;

        Track(long position, long nowNanos) {
            this.position = position;
            this.lastEmitNanos = nowNanos;
        }
    }

    private final Map<TopicPartition, Track> tracks = new ConcurrentHashMap<>();
    private TopicPartition lastPartition; // the reader's thread only: most records repeat it
    private Track lastTrack;

    /** A split was assigned: its starting offset (negative: a symbolic one, resolved later). */
    Track register(TopicPartition tp, long startingOffset, long nowNanos) {
        return tracks.compute(tp, (k, old) -> {
            long position = startingOffset >= 0 ? startingOffset : -1;
            if (old != null) {
                old.position = Math.max(old.position, position);
                old.lastEmitNanos = nowNanos;
                return old;
            }
            return new Track(position, nowNanos);
        });
    }

    Track get(TopicPartition tp) {
        return tracks.get(tp);
    }

    void emitted(String topic, int partition, long offset, long nowNanos) {
        Track track = lastTrack;
        if (track == null || lastPartition.partition() != partition || !lastPartition.topic().equals(topic)) {
            lastPartition = new TopicPartition(topic, partition);
            track = tracks.computeIfAbsent(lastPartition, k -> new Track(-1, nowNanos));
            lastTrack = track;
        }
        track.position = offset + 1;
        track.lastEmitNanos = nowNanos;
    }

    /** The Kafka source's record deserializer, with each record's position noted first. */
    static final class TrackingDeserializer<T> implements KafkaRecordDeserializationSchema<T> {
        private static final long serialVersionUID = 1L;
        private final KafkaRecordDeserializationSchema<T> delegate;
        private final transient PositionTracker tracker;

        TrackingDeserializer(KafkaRecordDeserializationSchema<T> delegate, PositionTracker tracker) {
            this.delegate = delegate;
            this.tracker = tracker;
        }

        @Override
        public void open(DeserializationSchema.InitializationContext context) throws Exception {
            delegate.open(context);
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<T> out) throws IOException {
            tracker.emitted(record.topic(), record.partition(), record.offset(), System.nanoTime());
            delegate.deserialize(record, out);
        }

        @Override
        public TypeInformation<T> getProducedType() {
            return delegate.getProducedType();
        }
    }
}
