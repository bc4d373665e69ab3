package mskiceberg.streaming.metrics;

import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

/**
 * A metric group that keeps what is registered in it, by path ("kinesisanalytics.topic.t.goodRecords":
 * the same path the Flink REST API shows after the operator's name), so tests read the values.
 */
public final class RecordingMetricGroup extends UnregisteredMetricsGroup {

    private final String prefix;
    private final Map<String, Metric> metrics;

    public RecordingMetricGroup() {
        this("", new TreeMap<>());
    }

    private RecordingMetricGroup(String prefix, Map<String, Metric> metrics) {
        this.prefix = prefix;
        this.metrics = metrics;
    }

    @Override
    public MetricGroup addGroup(String name) {
        return new RecordingMetricGroup(prefix + name + ".", metrics);
    }

    @Override
    public MetricGroup addGroup(String key, String value) {
        return new RecordingMetricGroup(prefix + key + "." + value + ".", metrics);
    }

    @Override
    public Counter counter(String name) {
        return counter(name, new org.apache.flink.metrics.SimpleCounter());
    }

    @Override
    public <C extends Counter> C counter(String name, C counter) {
        put(name, counter);
        return counter;
    }

    @Override
    public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
        put(name, gauge);
        return gauge;
    }

    private void put(String name, Metric metric) {
        if (metrics.putIfAbsent(prefix + name, metric) != null) {
            throw new IllegalStateException("registered twice: " + prefix + name);
        }
    }

    /** Every registered path. */
    public Map<String, Metric> metrics() {
        return metrics;
    }

    public long count(String path) {
        Metric metric = metrics.get(path);
        if (!(metric instanceof Counter)) {
            throw new AssertionError("no counter " + path + " among " + metrics.keySet());
        }
        return ((Counter) metric).getCount();
    }

    public Object value(String path) {
        Metric metric = metrics.get(path);
        if (!(metric instanceof Gauge)) {
            throw new AssertionError("no gauge " + path + " among " + metrics.keySet());
        }
        return ((Gauge<?>) metric).getValue();
    }
}
