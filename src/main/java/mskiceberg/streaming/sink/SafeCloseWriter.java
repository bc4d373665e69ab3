package mskiceberg.streaming.sink;

import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A committing sink writer whose {@link #close()} never throws and returns within
 * {@link #CLOSE_TIMEOUT}; everything else is the wrapped writer's.
 *
 * <p>Why: when a task fails or is cancelled, Flink closes its operators in the task's clean-up
 * ({@code StreamTask.cleanUp} closes every operator, a sink writer's {@code close} included), and
 * an exception there escapes {@code Task.doRun}'s failure handler: "FATAL - exception in exception
 * handler of task", which ends the TaskManager (a local run's only one: no restart can get a slot
 * again). A cancelled task that does not end within {@code task.cancellation.timeout} (180 s) is a
 * fatal TaskManager error too. Iceberg's writer uploads the data files it has open when it is
 * closed ({@code IcebergSinkWriter.close} → {@code S3OutputStream.close} → the upload), so with
 * the object store unreachable the failover it caused killed the TaskManager (issue 28).
 *
 * <p>Why nothing is lost by not letting the close fail: the files a writer has open when it is
 * closed are never committed. Only {@link #prepareCommit()} hands files to the committer, and every
 * clean end (end of input, a drain, a stop with a savepoint) calls it before the close, which then
 * has nothing open. On a failure the job restarts from its last checkpoint and writes those rows
 * again. A close that fails or takes too long leaves at most an unreferenced file (an orphan, as
 * any failed attempt leaves).
 */
final class SafeCloseWriter<InputT, CommT> implements CommittingSinkWriter<InputT, CommT> {

    /** How long a close may take before it is abandoned (well below task.cancellation.timeout). */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(SafeCloseWriter.class);

    private final CommittingSinkWriter<InputT, CommT> delegate;
    private final String name;
    private final Duration closeTimeout;

    SafeCloseWriter(CommittingSinkWriter<InputT, CommT> delegate, String name, Duration closeTimeout) {
        this.delegate = delegate;
        this.name = name;
        this.closeTimeout = closeTimeout;
    }

    @Override
    public void write(InputT element, Context context) throws IOException, InterruptedException {
        delegate.write(element, context);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        delegate.flush(endOfInput);
    }

    @Override
    public void writeWatermark(Watermark watermark) throws IOException, InterruptedException {
        delegate.writeWatermark(watermark);
    }

    @Override
    public Collection<CommT> prepareCommit() throws IOException, InterruptedException {
        return delegate.prepareCommit();
    }

    /** Closes the wrapped writer in a thread of its own, waiting at most the close timeout. */
    @Override
    public void close() {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread closer = new Thread(() -> {
            try {
                delegate.close();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "close " + name);
        closer.setDaemon(true);
        closer.setContextClassLoader(Thread.currentThread().getContextClassLoader());
        closer.start();
        try {
            closer.join(closeTimeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (closer.isAlive()) {
            closer.interrupt();  // the AWS SDK gives up a call when its thread is interrupted
            LOG.warn("Closing the writer of {} took longer than {} s: left to finish by itself. The files it had "
                    + "open are not committed; the job writes their rows again from its last checkpoint.",
                    name, closeTimeout.toSeconds());
        } else if (failure.get() != null) {
            LOG.warn("Closing the writer of {} failed: the files it had open are not committed; the job writes "
                    + "their rows again from its last checkpoint.", name, failure.get());
        }
    }

    @Override
    public String toString() {
        return "SafeCloseWriter(" + delegate + ")";
    }
}
