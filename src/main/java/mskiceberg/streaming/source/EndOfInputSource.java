package mskiceberg.streaming.source;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A bounded source that tells Flink when all of its input has been read, so a bounded run takes
 * its final checkpoint (the one that commits the last Iceberg files) at once, not at the next
 * checkpoint interval: on average half an interval sooner, a whole one at worst.
 *
 * <p>How: the enumerator reports "processing backlog" from its start until every reader has
 * sent {@link ReaderFinished}; a bounded run sets {@code execution.checkpointing.interval} short
 * and {@code interval-during-backlog} to the configured interval (common/run/flink_env.py), and
 * Flink's checkpoint coordinator reschedules its next checkpoint as soon as no source reports
 * backlog. Splits, state and serializers are the wrapped source's own: a savepoint of either
 * restores into the other.
 */
public final class EndOfInputSource<T, SplitT extends SourceSplit, EnumT>
        implements Source<T, SplitT, EnumT>, ResultTypeQueryable<T> {

    private static final long serialVersionUID = 1L;

    private final Source<T, SplitT, EnumT> delegate;
    private final TypeInformation<T> producedType;

    public EndOfInputSource(Source<T, SplitT, EnumT> delegate, TypeInformation<T> producedType) {
        this.delegate = delegate;
        this.producedType = producedType;
    }

    /** A reader's message to its enumerator: it has emitted all of its input. */
    static final class ReaderFinished implements SourceEvent {
        private static final long serialVersionUID = 1L;
    }

    @Override
    public Boundedness getBoundedness() {
        return delegate.getBoundedness();
    }

    @Override
    public SourceReader<T, SplitT> createReader(SourceReaderContext context) throws Exception {
        return new Reader<>(delegate.createReader(context), context);
    }

    @Override
    public SplitEnumerator<SplitT, EnumT> createEnumerator(SplitEnumeratorContext<SplitT> context) throws Exception {
        return new Enumerator<>(delegate.createEnumerator(context), context);
    }

    @Override
    public SplitEnumerator<SplitT, EnumT> restoreEnumerator(SplitEnumeratorContext<SplitT> context, EnumT state)
            throws Exception {
        return new Enumerator<>(delegate.restoreEnumerator(context, state), context);
    }

    @Override
    public SimpleVersionedSerializer<SplitT> getSplitSerializer() {
        return delegate.getSplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<EnumT> getEnumeratorCheckpointSerializer() {
        return delegate.getEnumeratorCheckpointSerializer();
    }

    @Override
    public TypeInformation<T> getProducedType() {
        return producedType;
    }

    /** The wrapped enumerator; backlog until every current reader has finished. */
    static final class Enumerator<SplitT extends SourceSplit, EnumT> implements SplitEnumerator<SplitT, EnumT> {
        private final SplitEnumerator<SplitT, EnumT> delegate;
        private final SplitEnumeratorContext<SplitT> context;
        private final Set<Integer> finished = new HashSet<>();
        private boolean backlog;

        Enumerator(SplitEnumerator<SplitT, EnumT> delegate, SplitEnumeratorContext<SplitT> context) {
            this.delegate = delegate;
            this.context = context;
        }

        @Override
        public void start() {
            report(true);
            delegate.start();
        }

        @Override
        public void handleSourceEvent(int subtaskId, SourceEvent event) {
            if (!(event instanceof ReaderFinished)) {
                delegate.handleSourceEvent(subtaskId, event);
                return;
            }
            finished.add(subtaskId);
            if (finished.size() >= context.currentParallelism()) {
                report(false);
            }
        }

        @Override
        public void addReader(int subtaskId) {
            // a reader (re)registers, after a failover too: it reads again until it says otherwise
            if (finished.remove(subtaskId)) {
                report(true);
            }
            delegate.addReader(subtaskId);
        }

        private void report(boolean processingBacklog) {
            if (processingBacklog != backlog) {
                backlog = processingBacklog;
                context.setIsProcessingBacklog(processingBacklog);
            }
        }

        boolean backlog() {
            return backlog;
        }

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
            delegate.handleSplitRequest(subtaskId, requesterHostname);
        }

        @Override
        public void addSplitsBack(List<SplitT> splits, int subtaskId) {
            delegate.addSplitsBack(splits, subtaskId);
        }

        @Override
        public EnumT snapshotState(long checkpointId) throws Exception {
            return delegate.snapshotState(checkpointId);
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) throws Exception {
            delegate.notifyCheckpointComplete(checkpointId);
        }

        @Override
        public void close() throws IOException {
            delegate.close();
        }
    }

    /** The wrapped reader; says {@link ReaderFinished} once, when it first reaches the end of its input. */
    static final class Reader<T, SplitT extends SourceSplit> extends ForwardingSourceReader<T, SplitT> {
        private final SourceReaderContext context;
        private boolean said;

        Reader(SourceReader<T, SplitT> delegate, SourceReaderContext context) {
            super(delegate);
            this.context = context;
        }

        @Override
        public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
            InputStatus status = delegate.pollNext(output);
            if (status == InputStatus.END_OF_INPUT && !said) {
                said = true;
                context.sendSourceEventToCoordinator(new ReaderFinished());
            }
            return status;
        }
    }
}
