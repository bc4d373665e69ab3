package mskiceberg.streaming.metrics;

import org.apache.flink.metrics.MetricGroup;

/**
 * Names of the job's own metrics, in one place (docs/reference/metrics.md lists them).
 *
 * <p>Every metric sits under the group {@link #SERVICE_GROUP}: Amazon Managed Service for Apache
 * Flink publishes to CloudWatch only the metrics registered under a group of that name, and turns
 * the key/value groups below it (topic, reason, pipeline, window) into CloudWatch dimensions.
 * Locally the same metrics show in the Flink web UI and REST API as
 * {@code <operator>.kinesisanalytics.<key>.<value>.<metric>}.
 */
public final class MetricNames {

    private MetricNames() {}

    public static final String SERVICE_GROUP = "kinesisanalytics";

    // the strict-json decoder, per topic
    public static final String TOPIC = "topic";
    public static final String REASON = "reason";
    public static final String GOOD_RECORDS = "goodRecords";
    public static final String DEAD_RECORDS = "deadRecords";
    // ... and, for a CDC format (strict-debezium-json), the tombstones it skips
    public static final String TOMBSTONE_RECORDS = "tombstoneRecords";

    // the idle-aware Kafka source, per topic and subtask: what holds the topic's watermark
    public static final String PARTITIONS = "partitions";
    public static final String IDLE_PARTITIONS = "idlePartitions";
    public static final String QUIET_MS = "quietMs";
    public static final String RELEASED = "released";

    // PipelineMetrics, per pipeline
    public static final String PIPELINE = "pipeline";
    public static final String ROWS_OUT = "rowsOut";
    public static final String NEWEST_EVENT_TIME = "newestEventTime";
    public static final String EVENT_TIME_LAG = "eventTimeLag";

    // PipelineMetrics, per windowed pipeline, counted by its late pipeline
    public static final String WINDOW = "window";
    public static final String LATE_RECORDS = "lateRecords";
    // ... and per topic (TOPIC) and partition of the late records, when the late table keeps them
    public static final String PARTITION = "partition";

    /** The group a metric of {@code key = value} is registered in, under the service's group. */
    public static MetricGroup group(MetricGroup root, String key, String value) {
        return root.addGroup(SERVICE_GROUP).addGroup(key, value);
    }
}
