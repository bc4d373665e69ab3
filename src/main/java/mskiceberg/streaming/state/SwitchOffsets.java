package mskiceberg.streaming.state;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplitSerializer;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

/**
 * The offsets a snapshot's Kafka source resumes from: where a pipeline added at a restore
 * starts reading, and so where its backfill must stop.
 *
 * <p>Flink's Kafka source keeps its splits (topic partition + next offset) as operator state
 * {@code SourceReaderState} of the source operator; the consumer group's committed offsets are
 * only a copy, committed asynchronously after a checkpoint, and a job stopped right after a
 * checkpoint can leave none. This reads the snapshot itself with Flink's State Processor API.
 */
public final class SwitchOffsets {

    /** The source operator's list state, as {@code SourceOperator} names it. */
    static final String READER_STATE = "SourceReaderState";

    private SwitchOffsets() {}

    /**
     * topic -> partition -> next offset of the source operator {@code sourceUid} in the snapshot
     * (a savepoint or retained checkpoint folder). {@code jar}: this jar's URI, which the local
     * reading job needs on its class path. A split that had not read a record yet keeps Kafka's
     * marker (negative: earliest -2, latest -1, committed -3).
     */
    public static Map<String, Map<Integer, Long>> read(String snapshot, String sourceUid, String jar)
            throws Exception {
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.JARS, java.util.List.of(jar));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        SavepointReader reader = SavepointReader.read(env, snapshot, new HashMapStateBackend());
        Map<String, Map<Integer, Long>> offsets = new TreeMap<>();
        try (CloseableIterator<byte[]> states = reader
                .readListState(OperatorIdentifier.forUid(sourceUid), READER_STATE,
                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                .executeAndCollect("read switch offsets")) {
            while (states.hasNext()) {
                KafkaPartitionSplit split = split(states.next());
                offsets.computeIfAbsent(split.getTopic(), t -> new TreeMap<>())
                        .put(split.getPartition(), split.getStartingOffset());
            }
        }
        return offsets;
    }

    /** The same, as JSON text (for the Python job, through py4j). */
    public static String readAsJson(String snapshot, String sourceUid, String jar) throws Exception {
        return new ObjectMapper().writeValueAsString(read(snapshot, sourceUid, jar));
    }

    /** One element of the source's state: a split, serialized with its serializer's version. */
    static KafkaPartitionSplit split(byte[] state) throws IOException {
        return SimpleVersionedSerialization.readVersionAndDeSerialize(new KafkaPartitionSplitSerializer(), state);
    }
}
