package mskiceberg.streaming.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.DataTypeFactory;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.FunctionDefinition;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.table.functions.SpecializedFunction;
import org.apache.flink.table.functions.UserDefinedFunction;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.inference.ArgumentCount;
import org.apache.flink.table.types.inference.CallContext;
import org.apache.flink.table.types.inference.ConstantArgumentCount;
import org.apache.flink.table.types.inference.InputTypeStrategy;
import org.apache.flink.table.types.inference.Signature;
import org.apache.flink.table.types.inference.TypeInference;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.utils.DataTypeUtils;

/**
 * A pipeline's own metrics, counted on the rows its INSERT hands to the sink.
 *
 * <p>SQL: {@code pipeline_metrics('<pipeline>', <column>[, <event time>[, '<window>'[, <topic>, <partition>]]])} returns
 * {@code <column>} unchanged (same type). The job renders each INSERT with one sink column passed
 * through it (common/metrics.py), in the projection of the query's output: a projection is
 * evaluated once per row that leaves the query, after every filter, and a non-deterministic one
 * is never moved below an aggregation or constant-folded. (A filter would not do: the planner
 * pushes filters through window aggregations and merges them with other conditions, evaluated in
 * any order.) Registered per pipeline, under the {@code kinesisanalytics} group ({@link MetricNames}):
 *
 * <ul>
 *   <li>{@code pipeline=<name>}: {@code rowsOut} (counter: rows handed to the sink; for an updating
 *       query, every change row); with an event time, {@code newestEventTime} (gauge: the newest
 *       event time of those rows, epoch millis, -1 before the first) and {@code eventTimeLag}
 *       (gauge: now minus that, in ms, -1 before the first row);
 *   <li>{@code window=<name>}, when the fourth argument names one: {@code lateRecords} (counter),
 *       for a pipeline whose rows are the events a windowed pipeline left out as late; with a topic
 *       (STRING) and a partition (INT), also {@code window=<name>,topic=<topic>,partition=<p>}:
 *       {@code lateRecords} (counter, created at a partition's first late record), so lateness
 *       that comes from one partition only (a problem upstream) shows as such.
 * </ul>
 *
 * <p>The names must be string literals: the planner hands them to {@link #specialize}, so the
 * metrics exist (at 0 / -1) from the start, before any row.
 */
public final class PipelineMetrics extends ScalarFunction implements SpecializedFunction {

    private static final long serialVersionUID = 1L;
    public static final String SQL_NAME = "pipeline_metrics";
    static final long NONE = -1L;

    private final String pipeline; // null in the instance the catalog holds; set by specialize()
    private final String window;
    private final boolean eventTime;

    private transient MetricGroup root;
    private transient Counter rowsOut;
    private transient Counter lateRecords;
    private transient Map<String, Counter> lateByPartition; // "topic/partition" -> its lateRecords
    private transient volatile long newestEventTime;

    public PipelineMetrics() {
        this(null, null, false);
    }

    PipelineMetrics(String pipeline, String window, boolean eventTime) {
        this.pipeline = pipeline;
        this.window = window;
        this.eventTime = eventTime;
    }

    // --- planning ------------------------------------------------------------------------------

    @Override
    public TypeInference getTypeInference(DataTypeFactory typeFactory) {
        return TypeInference.newBuilder()
                .inputTypeStrategy(new Arguments())
                .outputTypeStrategy(call -> Optional.of(DataTypeUtils.toInternalDataType(
                        call.getArgumentDataTypes().get(1))))
                .build();
    }

    /** (STRING literal, any, [TIMESTAMP / TIMESTAMP_LTZ or NULL], [STRING literal]), every argument as Flink holds it internally. */
    private static final class Arguments implements InputTypeStrategy {

        @Override
        public ArgumentCount getArgumentCount() {
            return ConstantArgumentCount.between(2, 6);
        }

        @Override
        public Optional<List<DataType>> inferInputTypes(CallContext call, boolean throwOnFailure) {
            List<DataType> given = call.getArgumentDataTypes();
            if (!isLiteral(call, 0) || (given.size() > 3 && !isLiteral(call, 3))) {
                return call.fail(throwOnFailure, SQL_NAME + ": the pipeline and window names must be string literals");
            }
            if (given.size() == 5) {
                return call.fail(throwOnFailure, SQL_NAME + ": a topic (argument 5) needs a partition (argument 6)");
            }
            if (given.size() > 5 && (!isString(given.get(4)) || !isInt(given.get(5)))) {
                return call.fail(throwOnFailure, SQL_NAME + ": the topic (argument 5) must be a STRING and the "
                        + "partition (argument 6) an INT, not " + given.get(4) + " and " + given.get(5));
            }
            if (given.size() > 2 && !isTime(given.get(2))) {
                return call.fail(throwOnFailure, SQL_NAME + ": the event time (argument 3) must be a TIMESTAMP or "
                        + "TIMESTAMP_LTZ, not " + given.get(2));
            }
            List<DataType> types = new ArrayList<>();
            types.add(DataTypes.STRING().bridgedTo(StringData.class));
            types.add(DataTypeUtils.toInternalDataType(given.get(1)));
            if (given.size() > 2) {
                types.add(DataTypeUtils.toInternalDataType(given.get(2)));
            }
            if (given.size() > 3) {
                types.add(DataTypes.STRING().bridgedTo(StringData.class));
            }
            if (given.size() > 5) {
                types.add(DataTypes.STRING().bridgedTo(StringData.class));
                types.add(DataTypes.INT().bridgedTo(Integer.class));
            }
            return Optional.of(types);
        }

        @Override
        public List<Signature> getExpectedSignatures(FunctionDefinition definition) {
            return List.of(Signature.of(Signature.Argument.of("pipeline", "STRING"), Signature.Argument.of("column", "ANY"),
                    Signature.Argument.of("event_time", "TIMESTAMP"), Signature.Argument.of("window", "STRING")));
        }
    }

    private static boolean isLiteral(CallContext call, int pos) {
        return call.isArgumentLiteral(pos) && !call.isArgumentNull(pos)
                && call.getArgumentDataTypes().get(pos).getLogicalType().getTypeRoot().getFamilies()
                        .contains(org.apache.flink.table.types.logical.LogicalTypeFamily.CHARACTER_STRING);
    }

    private static boolean isString(DataType type) {
        return type.getLogicalType().getTypeRoot().getFamilies()
                .contains(org.apache.flink.table.types.logical.LogicalTypeFamily.CHARACTER_STRING);
    }

    private static boolean isInt(DataType type) {
        return type.getLogicalType().getTypeRoot() == LogicalTypeRoot.INTEGER;
    }

    private static boolean isTime(DataType type) {
        LogicalTypeRoot root = type.getLogicalType().getTypeRoot();
        return root == LogicalTypeRoot.TIMESTAMP_WITHOUT_TIME_ZONE || root == LogicalTypeRoot.TIMESTAMP_WITH_LOCAL_TIME_ZONE
                || root == LogicalTypeRoot.NULL;
    }

    @Override
    public UserDefinedFunction specialize(SpecializedContext context) {
        CallContext call = context.getCallContext();
        int count = call.getArgumentDataTypes().size();
        String name = call.getArgumentValue(0, String.class).orElseThrow(
                () -> new ValidationException(SQL_NAME + ": the pipeline name must be a string literal"));
        String windowName = count > 3 ? call.getArgumentValue(3, String.class).orElseThrow(
                () -> new ValidationException(SQL_NAME + ": the window name must be a string literal")) : null;
        return new PipelineMetrics(name, windowName, count > 2 && !call.isArgumentNull(2));
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }

    // --- runtime -------------------------------------------------------------------------------

    @Override
    public void open(FunctionContext context) {
        root = context.getMetricGroup();
        rowsOut = null;
        lateRecords = null;
        lateByPartition = new HashMap<>();
        newestEventTime = NONE;
        if (pipeline != null) {
            register(pipeline, window, eventTime);
        }
    }

    private void register(String pipelineName, String windowName, boolean withEventTime) {
        MetricGroup group = MetricNames.group(root, MetricNames.PIPELINE, pipelineName);
        rowsOut = group.counter(MetricNames.ROWS_OUT);
        if (withEventTime) {
            group.gauge(MetricNames.NEWEST_EVENT_TIME, (Gauge<Long>) () -> newestEventTime);
            group.gauge(MetricNames.EVENT_TIME_LAG, (Gauge<Long>) this::eventTimeLag);
        }
        if (windowName != null) {
            lateRecords = MetricNames.group(root, MetricNames.WINDOW, windowName).counter(MetricNames.LATE_RECORDS);
        }
    }

    long eventTimeLag() {
        long newest = newestEventTime;
        return newest == NONE ? NONE : System.currentTimeMillis() - newest;
    }

    /** Rows out only (a table without an event-time column). */
    public Object eval(Object pipelineName, Object column) {
        count(pipelineName, null, null, false);
        return column;
    }

    public Object eval(Object pipelineName, Object column, Object eventTime) {
        count(pipelineName, eventTime, null, true);
        return column;
    }

    /** A late pipeline: its rows are also the late records of window {@code windowName}. */
    public Object eval(Object pipelineName, Object column, Object eventTime, Object windowName) {
        count(pipelineName, eventTime, windowName, true);
        return column;
    }

    /** A late pipeline that keeps where its rows came from: also counted per topic and partition. */
    public Object eval(Object pipelineName, Object column, Object eventTime, Object windowName, Object topic,
                       Object partition) {
        count(pipelineName, eventTime, windowName, true);
        if (topic != null && partition != null) {
            String key = topic + "/" + partition;
            Counter counter = lateByPartition.get(key);
            if (counter == null) {
                counter = MetricNames.group(root, MetricNames.WINDOW, windowName.toString())
                        .addGroup(MetricNames.TOPIC, topic.toString())
                        .addGroup(MetricNames.PARTITION, partition.toString())
                        .counter(MetricNames.LATE_RECORDS);
                lateByPartition.put(key, counter);
            }
            counter.inc();
        }
        return column;
    }

    private void count(Object pipelineName, Object time, Object windowName, boolean withEventTime) {
        if (rowsOut == null) { // not specialized: register on the first row, from its arguments
            register(pipelineName.toString(), windowName == null ? null : windowName.toString(), withEventTime);
        }
        rowsOut.inc();
        if (lateRecords != null) {
            lateRecords.inc();
        }
        if (time != null) {
            long millis = ((TimestampData) time).getMillisecond();
            if (millis > newestEventTime) {
                newestEventTime = millis;
            }
        }
    }
}
