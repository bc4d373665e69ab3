package mskiceberg.streaming.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.SupportsConcurrentExecutionAttempts;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.SupportsPostCommitTopology;
import org.apache.flink.streaming.api.connector.sink2.SupportsPreCommitTopology;
import org.apache.flink.streaming.api.connector.sink2.SupportsPreWriteTopology;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.SinkTransformation;
import org.junit.jupiter.api.Test;

/**
 * The safe close (a writer's close never throws and never blocks for long; nothing else changes)
 * and its installation into a sink transformation of Iceberg's shape. The failover it prevents
 * from killing the TaskManager runs end to end in tests/e2e/test_e2e_storage_faults.py.
 */
class SafeCloseSinkTest {

    /** A committing writer that records what reaches it; its close does what the test says. */
    static final class Writer implements CommittingSinkWriter<Integer, String> {
        final List<String> calls = new ArrayList<>();
        final Runnable onClose;

        Writer(Runnable onClose) {
            this.onClose = onClose;
        }

        @Override
        public void write(Integer element, Context context) {
            calls.add("write " + element);
        }

        @Override
        public void flush(boolean endOfInput) {
            calls.add("flush " + endOfInput);
        }

        @Override
        public Collection<String> prepareCommit() {
            calls.add("prepareCommit");
            return List.of("files");
        }

        @Override
        public void close() {
            onClose.run();
        }
    }

    /** The abilities of Iceberg's IcebergSink. */
    static class IcebergShapedSink implements Sink<Integer>, SupportsPreWriteTopology<Integer>,
            SupportsCommitter<String>, SupportsPreCommitTopology<String, String>, SupportsPostCommitTopology<String>,
            SupportsConcurrentExecutionAttempts {
        @Override
        public SinkWriter<Integer> createWriter(WriterInitContext context) {
            return new Writer(() -> { });
        }

        @Override
        public DataStream<Integer> addPreWriteTopology(DataStream<Integer> input) {
            return input;
        }

        @Override
        public Committer<String> createCommitter(CommitterInitContext context) {
            throw new UnsupportedOperationException();
        }

        @Override
        public SimpleVersionedSerializer<String> getCommittableSerializer() {
            return null;
        }

        @Override
        public DataStream<CommittableMessage<String>> addPreCommitTopology(
                DataStream<CommittableMessage<String>> writeResults) {
            return writeResults;
        }

        @Override
        public SimpleVersionedSerializer<String> getWriteResultSerializer() {
            return null;
        }

        @Override
        public void addPostCommitTopology(DataStream<CommittableMessage<String>> committables) {
        }
    }

    static class PlainSink implements Sink<Integer> {
        @Override
        public SinkWriter<Integer> createWriter(WriterInitContext context) {
            return new Writer(() -> { });
        }
    }

    @Test
    void everythingButTheCloseIsTheWrappedWriters() throws Exception {
        Writer inner = new Writer(() -> { });
        SafeCloseWriter<Integer, String> writer = new SafeCloseWriter<>(inner, "t", Duration.ofSeconds(5));
        writer.write(7, null);
        writer.flush(true);
        assertEquals(List.of("files"), writer.prepareCommit());
        writer.close();
        assertEquals(List.of("write 7", "flush true", "prepareCommit"), inner.calls);
    }

    @Test
    void aCloseThatThrowsDoesNotFailTheCaller() {
        Writer inner = new Writer(() -> {
            throw new IllegalStateException(new IOException("Unable to execute HTTP request: Connection refused"));
        });
        new SafeCloseWriter<>(inner, "t", Duration.ofSeconds(5)).close();  // no exception
    }

    @Test
    void aCloseThatHangsIsAbandonedAfterTheTimeoutAndInterrupted() throws Exception {
        CountDownLatch interrupted = new CountDownLatch(1);
        Writer inner = new Writer(() -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        });
        long started = System.nanoTime();
        new SafeCloseWriter<>(inner, "t", Duration.ofMillis(300)).close();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertTrue(tookMs < 5_000, "close took " + tookMs + " ms");
        assertTrue(interrupted.await(5, TimeUnit.SECONDS), "the abandoned close was not interrupted");
    }

    @Test
    void installWrapsASinkOfIcebergsShapeInsideItsTransformation() {
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(new Configuration());
        IcebergShapedSink iceberg = new IcebergShapedSink();
        DataStreamSink<Integer> sink = env.fromData(1, 2, 3).sinkTo(iceberg).uid("table");

        assertTrue(SafeCloseSink.install(sink));
        Sink<?> installed = ((SinkTransformation<?, ?>) sink.getTransformation()).getSink();
        assertTrue(installed instanceof SafeCloseSink);
        assertSame(iceberg, ((SafeCloseSink<?, ?, ?>) installed).delegate());
        assertTrue(SafeCloseSink.install(sink), "a second install changes nothing");
        assertSame(installed, ((SinkTransformation<?, ?>) sink.getTransformation()).getSink());
        assertEquals("table", sink.getTransformation().getUid());
    }

    @Test
    void aSinkOfAnotherShapeIsLeftAsItIs() {
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(new Configuration());
        PlainSink plain = new PlainSink();
        DataStreamSink<Integer> sink = env.fromData(1, 2, 3).sinkTo(plain);

        assertFalse(SafeCloseSink.install(sink));
        assertSame(plain, ((SinkTransformation<?, ?>) sink.getTransformation()).getSink());
    }
}
