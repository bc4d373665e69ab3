package mskiceberg.streaming.source;

import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.metrics.groups.SplitEnumeratorMetricGroup;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class EndOfInputSourceTest {

    /** What the enumerator told Flink, in order, and what reached the wrapped enumerator. */
    private static final class Context implements SplitEnumeratorContext<SourceSplit> {
        final List<Boolean> backlog = new ArrayList<>();
        final int parallelism;

        Context(int parallelism) {
            this.parallelism = parallelism;
        }

        @Override
        public void setIsProcessingBacklog(boolean isProcessingBacklog) {
            backlog.add(isProcessingBacklog);
        }

        @Override
        public int currentParallelism() {
            return parallelism;
        }

        @Override
        public SplitEnumeratorMetricGroup metricGroup() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void sendEventToSourceReader(int subtaskId, SourceEvent event) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Map<Integer, ReaderInfo> registeredReaders() {
            return Collections.emptyMap();
        }

        @Override
        public void assignSplits(SplitsAssignment<SourceSplit> newSplitAssignments) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void signalNoMoreSplits(int subtask) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <T> void callAsync(Callable<T> callable, BiConsumer<T, Throwable> handler, long initialDelay,
                                  long period) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void runInCoordinatorThread(Runnable runnable) {
            throw new UnsupportedOperationException();
        }
    }

    private static final class Wrapped implements SplitEnumerator<SourceSplit, Void> {
        final List<String> calls = new ArrayList<>();

        @Override
        public void start() {
            calls.add("start");
        }

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {
            calls.add("request " + subtaskId);
        }

        @Override
        public void addSplitsBack(List<SourceSplit> splits, int subtaskId) {
            calls.add("back " + subtaskId);
        }

        @Override
        public void addReader(int subtaskId) {
            calls.add("reader " + subtaskId);
        }

        @Override
        public void handleSourceEvent(int subtaskId, SourceEvent sourceEvent) {
            calls.add("event " + subtaskId);
        }

        @Override
        public Void snapshotState(long checkpointId) {
            return null;
        }

        @Override
        public void close() {
        }
    }

    private static final SourceEvent OTHER = new SourceEvent() { };

    @Test
    void backlogFromTheStartUntilEveryReaderHasFinished() {
        Context context = new Context(3);
        Wrapped wrapped = new Wrapped();
        EndOfInputSource.Enumerator<SourceSplit, Void> enumerator = new EndOfInputSource.Enumerator<>(wrapped, context);
        enumerator.start();
        for (int subtask = 0; subtask < 3; subtask++) {
            enumerator.addReader(subtask);
        }
        enumerator.handleSourceEvent(0, new EndOfInputSource.ReaderFinished());
        enumerator.handleSourceEvent(2, new EndOfInputSource.ReaderFinished());
        enumerator.handleSourceEvent(2, new EndOfInputSource.ReaderFinished()); // said twice: still two readers
        assertEquals(List.of(true), context.backlog);
        enumerator.handleSourceEvent(1, new EndOfInputSource.ReaderFinished());
        assertEquals(List.of(true, false), context.backlog);
        // the wrapped enumerator saw everything but the end-of-input messages
        assertEquals(List.of("start", "reader 0", "reader 1", "reader 2"), wrapped.calls);
    }

    @Test
    void aReaderThatRegistersAgainAfterAFailoverReadsAgain() {
        Context context = new Context(2);
        EndOfInputSource.Enumerator<SourceSplit, Void> enumerator =
                new EndOfInputSource.Enumerator<>(new Wrapped(), context);
        enumerator.start();
        enumerator.handleSourceEvent(0, new EndOfInputSource.ReaderFinished());
        enumerator.handleSourceEvent(1, new EndOfInputSource.ReaderFinished());
        enumerator.addReader(1); // restarted: it re-reads from the last checkpoint
        assertEquals(List.of(true, false, true), context.backlog);
        enumerator.addReader(5); // a reader that never finished changes nothing
        enumerator.handleSourceEvent(1, new EndOfInputSource.ReaderFinished());
        assertEquals(List.of(true, false, true, false), context.backlog);
    }

    @Test
    void otherSourceEventsReachTheWrappedEnumerator() {
        Wrapped wrapped = new Wrapped();
        EndOfInputSource.Enumerator<SourceSplit, Void> enumerator =
                new EndOfInputSource.Enumerator<>(wrapped, new Context(1));
        enumerator.handleSourceEvent(0, OTHER);
        enumerator.handleSplitRequest(0, "host");
        enumerator.addSplitsBack(List.of(), 0);
        assertEquals(List.of("event 0", "request 0", "back 0"), wrapped.calls);
    }

    @Test
    void aReaderSaysItFinishedOnceWhenItsInputEnds() throws Exception {
        Deque<InputStatus> statuses = new ArrayDeque<>(List.of(
                InputStatus.MORE_AVAILABLE, InputStatus.NOTHING_AVAILABLE, InputStatus.END_OF_INPUT,
                InputStatus.END_OF_INPUT));
        List<SourceEvent> sent = new ArrayList<>();
        SourceReader<String, SourceSplit> wrapped = new SourceReader<>() {
            @Override
            public void start() {
            }

            @Override
            public InputStatus pollNext(ReaderOutput<String> output) {
                return statuses.removeFirst();
            }

            @Override
            public List<SourceSplit> snapshotState(long checkpointId) {
                return List.of();
            }

            @Override
            public CompletableFuture<Void> isAvailable() {
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void addSplits(List<SourceSplit> splits) {
            }

            @Override
            public void notifyNoMoreSplits() {
            }

            @Override
            public void close() {
            }
        };
        // the reader context's one call the wrapper makes; any other fails the test
        SourceReaderContext context = (SourceReaderContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {SourceReaderContext.class}, (proxy, method, args) -> {
                    if (method.getName().equals("sendSourceEventToCoordinator")) {
                        sent.add((SourceEvent) args[0]);
                        return null;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        EndOfInputSource.Reader<String, SourceSplit> reader = new EndOfInputSource.Reader<>(wrapped, context);
        List<InputStatus> seen = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            seen.add(reader.pollNext(null));
        }
        assertEquals(List.of(InputStatus.MORE_AVAILABLE, InputStatus.NOTHING_AVAILABLE, InputStatus.END_OF_INPUT,
                InputStatus.END_OF_INPUT), seen);
        assertEquals(1, sent.size());
        assertInstanceOf(EndOfInputSource.ReaderFinished.class, sent.get(0));
    }
}
