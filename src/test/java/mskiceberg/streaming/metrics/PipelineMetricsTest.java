package mskiceberg.streaming.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.expressions.Expression;
import org.apache.flink.table.functions.BuiltInFunctionDefinition;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.FunctionDefinition;
import org.apache.flink.table.functions.SpecializedFunction;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.CallContext;
import org.junit.jupiter.api.Test;

class PipelineMetricsTest {

    private static final String P = "kinesisanalytics.pipeline.bids.";
    private static final StringData NAME = StringData.fromString("bids");

    /** The function as the planner leaves it: specialized to the call's literals, then opened. */
    private static PipelineMetrics opened(RecordingMetricGroup group, Object... literals) {
        PipelineMetrics function = (PipelineMetrics) new PipelineMetrics().specialize(context(literals));
        function.open(new FunctionContext(null) {
            @Override
            public MetricGroup getMetricGroup() {
                return group;
            }
        });
        return function;
    }

    private static TimestampData at(long millis) {
        return TimestampData.fromEpochMillis(millis);
    }

    @Test
    void metricsExistBeforeTheFirstRow() {
        RecordingMetricGroup group = new RecordingMetricGroup();
        opened(group, "bids", "column", TimestampData.fromEpochMillis(0));
        assertEquals(Set.of(P + "rowsOut", P + "newestEventTime", P + "eventTimeLag"), group.metrics().keySet());
        assertEquals(0L, group.count(P + "rowsOut"));
        assertEquals(-1L, group.value(P + "newestEventTime"));
        assertEquals(-1L, group.value(P + "eventTimeLag"));
    }

    @Test
    void passesTheColumnThroughCountsRowsAndKeepsTheNewestEventTime() {
        RecordingMetricGroup group = new RecordingMetricGroup();
        PipelineMetrics f = opened(group, "bids", "column", at(0));
        Object value = StringData.fromString("v");
        assertSame(value, f.eval(NAME, value, at(2_000)));
        assertSame(value, f.eval(NAME, value, at(5_000)));
        f.eval(NAME, value, at(3_000)); // older: the newest stays
        assertNull(f.eval(NAME, null, null)); // a row without event time (or a NULL column) still counts
        assertEquals(4L, group.count(P + "rowsOut"));
        assertEquals(5_000L, group.value(P + "newestEventTime"));
        long before = System.currentTimeMillis() - 5_000;
        long lag = (Long) group.value(P + "eventTimeLag");
        assertTrue(lag >= before && lag <= System.currentTimeMillis() - 5_000, () -> "lag " + lag);
    }

    @Test
    void aLatePipelineCountsTheWindowsLateRecords() {
        RecordingMetricGroup group = new RecordingMetricGroup();
        PipelineMetrics f = opened(group, "bids_late", "column", at(0), "hourly");
        f.eval(NAME, 1L, at(1), StringData.fromString("hourly"));
        f.eval(NAME, 2L, at(2), StringData.fromString("hourly"));
        assertEquals(2L, group.count("kinesisanalytics.window.hourly.lateRecords"));
        assertEquals(2L, group.count("kinesisanalytics.pipeline.bids_late.rowsOut"));
        assertEquals(2L, group.value("kinesisanalytics.pipeline.bids_late.newestEventTime"));
    }

    @Test
    void aLatePipelineThatKeepsThePartitionCountsTheWindowsLateRecordsPerTopicAndPartition() {
        RecordingMetricGroup group = new RecordingMetricGroup();
        PipelineMetrics f = opened(group, "session_late", "column", at(0), "sessions");
        StringData window = StringData.fromString("sessions");
        f.eval(NAME, 1L, at(1), window, StringData.fromString("bid_events"), 1);
        f.eval(NAME, 2L, at(2), window, StringData.fromString("bid_events"), 1);
        f.eval(NAME, 3L, at(3), window, StringData.fromString("user_events"), 1);
        f.eval(NAME, 4L, at(4), window, StringData.fromString("bid_events"), 0);
        String w = "kinesisanalytics.window.sessions.";
        assertEquals(4L, group.count(w + "lateRecords"));
        assertEquals(2L, group.count(w + "topic.bid_events.partition.1.lateRecords"));
        assertEquals(1L, group.count(w + "topic.bid_events.partition.0.lateRecords"));
        assertEquals(1L, group.count(w + "topic.user_events.partition.1.lateRecords"));
        assertEquals(4L, group.count("kinesisanalytics.pipeline.session_late.rowsOut"));
    }

    @Test
    void withoutEventTimeOnlyRowsOut() {
        RecordingMetricGroup group = new RecordingMetricGroup();
        PipelineMetrics f = opened(group, "bids", "column");
        f.eval(NAME, 1);
        assertEquals(Set.of(P + "rowsOut"), group.metrics().keySet());
        assertEquals(1L, group.count(P + "rowsOut"));
        RecordingMetricGroup nullTime = new RecordingMetricGroup(); // CAST(NULL AS TIMESTAMP(3)): no gauges either
        opened(nullTime, "bids", "column", null, "hourly");
        assertEquals(Set.of(P + "rowsOut", "kinesisanalytics.window.hourly.lateRecords"), nullTime.metrics().keySet());
    }

    @Test
    void notSpecializedItRegistersOnTheFirstRow() {
        RecordingMetricGroup group = new RecordingMetricGroup();
        PipelineMetrics f = new PipelineMetrics();
        f.open(new FunctionContext(null) {
            @Override
            public MetricGroup getMetricGroup() {
                return group;
            }
        });
        assertTrue(group.metrics().isEmpty());
        f.eval(NAME, 1, at(7));
        assertEquals(1L, group.count(P + "rowsOut"));
        assertEquals(7L, group.value(P + "newestEventTime"));
    }

    @Test
    void namesMustBeLiterals() {
        ValidationException error = assertThrows(ValidationException.class,
                () -> new PipelineMetrics().specialize(context(new NotLiteral(), "column")));
        assertTrue(error.getMessage().contains("the pipeline name must be a string literal"), error.getMessage());
        assertThrows(ValidationException.class,
                () -> new PipelineMetrics().specialize(context("bids", "column", at(0), new NotLiteral())));
    }

    @Test
    void neverFoldedByThePlanner() {
        assertFalse(new PipelineMetrics().isDeterministic());
    }

    // --- the planner's side of specialize(), for the literals given --------------------------------

    private static final class NotLiteral {}

    private static SpecializedFunction.SpecializedContext context(Object... arguments) {
        CallContext call = new CallContext() {
            @Override
            public DataTypeFactory getDataTypeFactory() {
                throw new UnsupportedOperationException();
            }

            @Override
            public FunctionDefinition getFunctionDefinition() {
                return new PipelineMetrics();
            }

            @Override
            public boolean isArgumentLiteral(int pos) {
                return !(arguments[pos] instanceof NotLiteral);
            }

            @Override
            public boolean isArgumentNull(int pos) {
                return arguments[pos] == null;
            }

            @Override
            public <T> Optional<T> getArgumentValue(int pos, Class<T> clazz) {
                return Optional.ofNullable(arguments[pos]).filter(clazz::isInstance).map(clazz::cast);
            }

            @Override
            public String getName() {
                return PipelineMetrics.SQL_NAME;
            }

            @Override
            public List<DataType> getArgumentDataTypes() {
                return Arrays.stream(arguments)
                        .map(a -> a == null ? DataTypes.NULL() : a instanceof TimestampData ? DataTypes.TIMESTAMP(3)
                                : DataTypes.STRING())
                        .collect(java.util.stream.Collectors.toList());
            }

            @Override
            public Optional<DataType> getOutputDataType() {
                return Optional.of(DataTypes.BOOLEAN().notNull());
            }

            @Override
            public boolean isGroupedAggregation() {
                return false;
            }
        };
        return new SpecializedFunction.SpecializedContext() {
            @Override
            public CallContext getCallContext() {
                return call;
            }

            @Override
            public ReadableConfig getConfiguration() {
                return new Configuration();
            }

            @Override
            public ClassLoader getBuiltInClassLoader() {
                return PipelineMetricsTest.class.getClassLoader();
            }

            @Override
            public SpecializedFunction.ExpressionEvaluator createEvaluator(
                    Expression expression, DataType outputDataType, DataTypes.Field... args) {
                throw new UnsupportedOperationException();
            }

            @Override
            public SpecializedFunction.ExpressionEvaluator createEvaluator(
                    String sqlExpression, DataType outputDataType, DataTypes.Field... args) {
                throw new UnsupportedOperationException();
            }

            @Override
            public SpecializedFunction.ExpressionEvaluator createEvaluator(
                    BuiltInFunctionDefinition function, DataType outputDataType, DataType... args) {
                throw new UnsupportedOperationException();
            }
        };
    }
}
