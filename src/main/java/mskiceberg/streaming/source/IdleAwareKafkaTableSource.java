package mskiceberg.streaming.source;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.SourceTransformation;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicSource;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.ProviderContext;
import org.apache.flink.table.connector.source.DataStreamScanProvider;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.abilities.SupportsReadingMetadata;
import org.apache.flink.table.connector.source.abilities.SupportsWatermarkPushDown;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.DataType;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Kafka connector's table source, planned exactly as it is (metadata, watermark push-down,
 * options), whose unbounded stream is read by an {@link IdleAwareSource} and whose bounded one
 * by an {@link EndOfInputSource}.
 */
final class IdleAwareKafkaTableSource implements ScanTableSource, SupportsReadingMetadata, SupportsWatermarkPushDown {

    private final KafkaDynamicSource delegate;
    private final IdleSettings settings;

    IdleAwareKafkaTableSource(KafkaDynamicSource delegate, IdleSettings settings) {
        this.delegate = delegate;
        this.settings = settings;
    }

    @Override
    public ChangelogMode getChangelogMode() {
        return delegate.getChangelogMode();
    }

    @Override
    public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
        DataStreamScanProvider kafka = (DataStreamScanProvider) delegate.getScanRuntimeProvider(context);
        // A bounded run ends every split at its end offset: nothing waits on idleness, but its
        // final checkpoint should not wait for the next interval (EndOfInputSource).
        boolean bounded = kafka.isBounded();
        return new DataStreamScanProvider() {
            @Override
            public DataStream<RowData> produceDataStream(ProviderContext providerContext,
                                                         StreamExecutionEnvironment env) {
                DataStream<RowData> stream = kafka.produceDataStream(providerContext, env);
                @SuppressWarnings("unchecked")
                SourceTransformation<RowData, ?, ?> plain = (SourceTransformation<RowData, ?, ?>) stream.getTransformation();
                @SuppressWarnings("unchecked")
                KafkaSource<RowData> source = (KafkaSource<RowData>) plain.getSource();
                WatermarkStrategy<RowData> watermarks = plain.getWatermarkStrategy();
                Source<RowData, ?, ?> wrapped = bounded
                        ? new EndOfInputSource<>(source, plain.getOutputType())
                        : new IdleAwareSource(source, settings, plain.getOutputType());
                DataStreamSource<RowData> own = env.fromSource(wrapped, watermarks, plain.getName(), plain.getOutputType());
                if (plain.getUid() != null) {
                    own.uid(plain.getUid());
                }
                return own;
            }

            @Override
            public boolean isBounded() {
                return bounded;
            }

            @Override
            public Optional<Integer> getParallelism() {
                return kafka.getParallelism();
            }
        };
    }

    @Override
    public Map<String, DataType> listReadableMetadata() {
        return delegate.listReadableMetadata();
    }

    @Override
    public void applyReadableMetadata(List<String> metadataKeys, DataType producedDataType) {
        delegate.applyReadableMetadata(metadataKeys, producedDataType);
    }

    @Override
    public boolean supportsMetadataProjection() {
        return delegate.supportsMetadataProjection();
    }

    @Override
    public void applyWatermark(WatermarkStrategy<RowData> watermarkStrategy) {
        delegate.applyWatermark(watermarkStrategy);
    }

    @Override
    public DynamicTableSource copy() {
        return new IdleAwareKafkaTableSource((KafkaDynamicSource) delegate.copy(), settings);
    }

    @Override
    public String asSummaryString() {
        return "Kafka (idle-aware)";
    }
}
