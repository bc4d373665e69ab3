package mskiceberg.streaming.sink;

import java.io.IOException;
import java.lang.reflect.Field;

import org.apache.flink.api.common.SupportsConcurrentExecutionAttempts;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.dag.Transformation;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.SupportsPostCommitTopology;
import org.apache.flink.streaming.api.connector.sink2.SupportsPreCommitTopology;
import org.apache.flink.streaming.api.connector.sink2.SupportsPreWriteTopology;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.transformations.SinkTransformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sink (Flink's SinkV2 with a committer and pre-/post-commit topologies, as Iceberg's
 * {@code IcebergSink}) whose writers close safely ({@link SafeCloseWriter}); everything else is the
 * wrapped sink's: the same operators, uids, serializers and state, so a job's savepoints stay
 * compatible either way.
 *
 * <p>Iceberg builds its sink and adds it to the stream itself ({@code IcebergSink.Builder.append}
 * calls {@code sinkTo}), so {@link #install} swaps the sink inside the transformation it returns,
 * before Flink translates it into operators.
 */
public final class SafeCloseSink<InputT, WriteResultT, CommT>
        implements Sink<InputT>, SupportsPreWriteTopology<InputT>, SupportsCommitter<CommT>,
        SupportsPreCommitTopology<WriteResultT, CommT>, SupportsPostCommitTopology<CommT>,
        SupportsConcurrentExecutionAttempts {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(SafeCloseSink.class);

    private final Sink<InputT> delegate;

    private SafeCloseSink(Sink<InputT> delegate) {
        this.delegate = delegate;
    }

    /** Whether {@code sink} has exactly the abilities this wrapper passes on (and no writer state). */
    static boolean wraps(Sink<?> sink) {
        return sink instanceof SupportsPreWriteTopology && sink instanceof SupportsCommitter
                && sink instanceof SupportsPreCommitTopology && sink instanceof SupportsPostCommitTopology
                && sink instanceof SupportsConcurrentExecutionAttempts && !(sink instanceof SupportsWriterState);
    }

    /**
     * Makes the sink of {@code dataStreamSink} close its writers safely; true when it does. A sink
     * of another shape is left as it is (logged): the job still runs, without the guard.
     */
    public static boolean install(DataStreamSink<?> dataStreamSink) {
        Transformation<?> transformation = dataStreamSink.getTransformation();
        if (!(transformation instanceof SinkTransformation)) {
            LOG.warn("Not a SinkV2 transformation ({}): its writers' close is left as it is", transformation);
            return false;
        }
        SinkTransformation<?, ?> sinkTransformation = (SinkTransformation<?, ?>) transformation;
        Sink<?> sink = sinkTransformation.getSink();
        if (sink instanceof SafeCloseSink) {
            return true;
        }
        if (!wraps(sink)) {
            LOG.warn("Sink {} has other abilities than Iceberg's: its writers' close is left as it is", sink);
            return false;
        }
        try {
            Field field = SinkTransformation.class.getDeclaredField("sink");
            field.setAccessible(true);
            field.set(sinkTransformation, wrapped(sink));
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("Could not wrap sink {}: its writers' close is left as it is", sink, e);
            return false;
        }
    }

    @SuppressWarnings("unchecked")
    private static SafeCloseSink<Object, Object, Object> wrapped(Sink<?> sink) {
        return new SafeCloseSink<>((Sink<Object>) sink);
    }

    Sink<InputT> delegate() {
        return delegate;
    }

    @Override
    @SuppressWarnings("unchecked")
    public SinkWriter<InputT> createWriter(WriterInitContext context) throws IOException {
        SinkWriter<InputT> writer = delegate.createWriter(context);
        if (!(writer instanceof CommittingSinkWriter)) {
            return writer;
        }
        return new SafeCloseWriter<>((CommittingSinkWriter<InputT, WriteResultT>) writer, writer.toString(),
                SafeCloseWriter.CLOSE_TIMEOUT);
    }

    @Override
    @SuppressWarnings("unchecked")
    public DataStream<InputT> addPreWriteTopology(DataStream<InputT> input) {
        return ((SupportsPreWriteTopology<InputT>) delegate).addPreWriteTopology(input);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Committer<CommT> createCommitter(CommitterInitContext context) throws IOException {
        return ((SupportsCommitter<CommT>) delegate).createCommitter(context);
    }

    @Override
    @SuppressWarnings("unchecked")
    public SimpleVersionedSerializer<CommT> getCommittableSerializer() {
        return ((SupportsCommitter<CommT>) delegate).getCommittableSerializer();
    }

    @Override
    @SuppressWarnings("unchecked")
    public DataStream<CommittableMessage<CommT>> addPreCommitTopology(
            DataStream<CommittableMessage<WriteResultT>> writeResults) {
        return ((SupportsPreCommitTopology<WriteResultT, CommT>) delegate).addPreCommitTopology(writeResults);
    }

    @Override
    @SuppressWarnings("unchecked")
    public SimpleVersionedSerializer<WriteResultT> getWriteResultSerializer() {
        return ((SupportsPreCommitTopology<WriteResultT, CommT>) delegate).getWriteResultSerializer();
    }

    @Override
    @SuppressWarnings("unchecked")
    public void addPostCommitTopology(DataStream<CommittableMessage<CommT>> committables) {
        ((SupportsPostCommitTopology<CommT>) delegate).addPostCommitTopology(committables);
    }

    @Override
    public String toString() {
        return "SafeCloseSink(" + delegate + ")";
    }
}
