package mskiceberg.streaming.state;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplitSerializer;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * One element of the Kafka source's state reads back as its split: topic, partition and the
 * next offset. (Reading a whole savepoint needs Flink's runtime: tests/e2e/test_e2e_switch.py does,
 * and checks the offsets against the records produced before the switch.)
 */
class SwitchOffsetsTest {

    @Test
    void aStateElementIsTheSplitWithItsNextOffset() throws Exception {
        KafkaPartitionSplit split = new KafkaPartitionSplit(new TopicPartition("bid-events", 3), 1234L);
        byte[] state = SimpleVersionedSerialization.writeVersionAndSerialize(new KafkaPartitionSplitSerializer(), split);
        KafkaPartitionSplit read = SwitchOffsets.split(state);
        assertEquals("bid-events", read.getTopic());
        assertEquals(3, read.getPartition());
        assertEquals(1234L, read.getStartingOffset());
    }

    @Test
    void aSplitThatReadNothingKeepsKafkasMarker() throws Exception {
        KafkaPartitionSplit split = new KafkaPartitionSplit(new TopicPartition("t", 0), KafkaPartitionSplit.EARLIEST_OFFSET);
        byte[] state = SimpleVersionedSerialization.writeVersionAndSerialize(new KafkaPartitionSplitSerializer(), split);
        assertEquals(-2L, SwitchOffsets.split(state).getStartingOffset());
    }
}
