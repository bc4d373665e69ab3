package mskiceberg.streaming.source;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.KafkaSourceEnumState;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.connector.kafka.source.split.KafkaPartitionSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.table.data.RowData;
import org.apache.flink.util.InstantiationUtil;

import java.lang.reflect.Field;

/**
 * Flink's {@link KafkaSource} with {@link IdleAwareReader}s: the same enumerator, splits and
 * state (a savepoint of either restores into the other), a different idleness.
 */
public final class IdleAwareSource
        implements Source<RowData, KafkaPartitionSplit, KafkaSourceEnumState>, ResultTypeQueryable<RowData> {

    private static final long serialVersionUID = 1L;

    private final KafkaSource<RowData> kafka;
    private final IdleSettings settings;
    private final TypeInformation<RowData> producedType;

    public IdleAwareSource(KafkaSource<RowData> kafka, IdleSettings settings, TypeInformation<RowData> producedType) {
        this.kafka = kafka;
        this.settings = settings;
        this.producedType = producedType;
    }

    @Override
    public Boundedness getBoundedness() {
        return kafka.getBoundedness();
    }

    @Override
    public SourceReader<RowData, KafkaPartitionSplit> createReader(SourceReaderContext context) throws Exception {
        // A copy of this subtask's own, whose record deserializer also notes each record's position.
        KafkaSource<RowData> own = InstantiationUtil.clone(kafka, context.getUserCodeClassLoader().asClassLoader());
        PositionTracker tracker = new PositionTracker();
        Field field = KafkaSource.class.getDeclaredField("deserializationSchema");
        field.setAccessible(true);
        @SuppressWarnings("unchecked")
        KafkaRecordDeserializationSchema<RowData> original = (KafkaRecordDeserializationSchema<RowData>) field.get(own);
        field.set(own, new PositionTracker.TrackingDeserializer<>(original, tracker));
        return new IdleAwareReader(own.createReader(context), settings, tracker, context.getIndexOfSubtask(),
                context.currentParallelism(), context.metricGroup());
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> createEnumerator(
            SplitEnumeratorContext<KafkaPartitionSplit> context) throws Exception {
        return kafka.createEnumerator(context);
    }

    @Override
    public SplitEnumerator<KafkaPartitionSplit, KafkaSourceEnumState> restoreEnumerator(
            SplitEnumeratorContext<KafkaPartitionSplit> context, KafkaSourceEnumState state) throws Exception {
        return kafka.restoreEnumerator(context, state);
    }

    @Override
    public SimpleVersionedSerializer<KafkaPartitionSplit> getSplitSerializer() {
        return kafka.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<KafkaSourceEnumState> getEnumeratorCheckpointSerializer() {
        return kafka.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return producedType;
    }
}
