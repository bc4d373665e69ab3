package mskiceberg.streaming.sink;

import java.util.Map;
import java.util.Optional;

import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.ProviderContext;
import org.apache.flink.table.connector.sink.DataStreamSinkProvider;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.abilities.SupportsOverwrite;
import org.apache.flink.table.connector.sink.abilities.SupportsPartitioning;
import org.apache.flink.table.data.RowData;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Iceberg's table sink ({@code IcebergTableSink}: partitioning and overwrite abilities), unchanged
 * except that the SinkV2 sink it adds to the stream closes its writers safely
 * ({@link SafeCloseSink}). Created by the job's sink connector
 * (mskiceberg.streaming.catalog.PortableIcebergTableFactory), which every run's compiled plan uses.
 */
public final class SafeCloseTableSink implements DynamicTableSink, SupportsPartitioning, SupportsOverwrite {

    private static final Logger LOG = LoggerFactory.getLogger(SafeCloseTableSink.class);

    private final DynamicTableSink delegate;

    private SafeCloseTableSink(DynamicTableSink delegate) {
        this.delegate = delegate;
    }

    /** {@code sink} wrapped, when it has Iceberg's abilities (and only those are passed on). */
    public static DynamicTableSink wrap(DynamicTableSink sink) {
        if (sink instanceof SupportsPartitioning && sink instanceof SupportsOverwrite) {
            return new SafeCloseTableSink(sink);
        }
        LOG.warn("Table sink {} has other abilities than Iceberg's: its writers' close is left as it is",
                sink.asSummaryString());
        return sink;
    }

    @Override
    public ChangelogMode getChangelogMode(ChangelogMode requestedMode) {
        return delegate.getChangelogMode(requestedMode);
    }

    @Override
    public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
        SinkRuntimeProvider provider = delegate.getSinkRuntimeProvider(context);
        if (!(provider instanceof DataStreamSinkProvider)) {
            return provider;
        }
        DataStreamSinkProvider streams = (DataStreamSinkProvider) provider;
        return new DataStreamSinkProvider() {
            @Override
            public DataStreamSink<?> consumeDataStream(ProviderContext providerContext, DataStream<RowData> input) {
                DataStreamSink<?> sink = streams.consumeDataStream(providerContext, input);
                SafeCloseSink.install(sink);
                return sink;
            }

            @Override
            public Optional<Integer> getParallelism() {
                return streams.getParallelism();
            }
        };
    }

    @Override
    public DynamicTableSink copy() {
        return new SafeCloseTableSink(delegate.copy());
    }

    @Override
    public String asSummaryString() {
        return delegate.asSummaryString();
    }

    @Override
    public void applyStaticPartition(Map<String, String> partition) {
        ((SupportsPartitioning) delegate).applyStaticPartition(partition);
    }

    @Override
    public boolean requiresPartitionGrouping(boolean supportsGrouping) {
        return ((SupportsPartitioning) delegate).requiresPartitionGrouping(supportsGrouping);
    }

    @Override
    public void applyOverwrite(boolean overwrite) {
        ((SupportsOverwrite) delegate).applyOverwrite(overwrite);
    }
}
