package mskiceberg.streaming.source;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicSource;
import org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicTableFactory;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.ResolvedCatalogTable;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * {@code 'connector' = 'kafka-idle-aware'}: every option of Flink's {@code kafka} connector, plus
 * the {@code idle-aware.*} options of {@link IdleRule}. Flink's {@code scan.watermark.idle-timeout}
 * is refused here: its timer is the idleness this connector replaces.
 */
public final class IdleAwareKafkaTableFactory implements DynamicTableSourceFactory {

    public static final String IDENTIFIER = "kafka-idle-aware";
    static final String PREFIX = "idle-aware.";

    public static final ConfigOption<Duration> IDLE_TIMEOUT = ConfigOptions.key(PREFIX + "idle-timeout")
            .durationType().defaultValue(Duration.ofSeconds(30))
            .withDescription("nothing read for this long and nothing to read: the partition is idle (0: never)");
    public static final ConfigOption<Duration> OUT_OF_ORDERNESS = ConfigOptions.key(PREFIX + "out-of-orderness")
            .durationType().noDefaultValue()
            .withDescription("the watermark delay of this topic (its WATERMARK ... - INTERVAL)");
    public static final ConfigOption<Duration> CHECK_INTERVAL = ConfigOptions.key(PREFIX + "check-interval")
            .durationType().defaultValue(Duration.ofSeconds(1))
            .withDescription("how often the topics' end offsets and newest event times are read");
    public static final ConfigOption<Duration> RELEASE_AFTER = ConfigOptions.key(PREFIX + "release-after")
            .durationType().defaultValue(Duration.ZERO)
            .withDescription("nothing written to the topic for this long: its idle partitions follow the newest "
                    + "event time of all the job's topics (0: never; the default)");
    public static final ConfigOption<String> PEERS = ConfigOptions.key(PREFIX + "event-time-peers")
            .stringType().noDefaultValue()
            .withDescription("every topic of the job as topic|event-time field|type[|avro:REGISTRY], ';'-separated");
    /** Where the Avro peers' schema registries are: the registry-avro format's registry.* options. */
    static final String REGISTRY_PREFIX = PREFIX + "registry.";
    static final Set<String> REGISTRY_KEYS = Set.of("url", "basic-auth.user-info", "region", "endpoint");

    private static final String KAFKA_PROPERTIES = "properties.";
    private static final String FLINK_IDLE_TIMEOUT = "scan.watermark.idle-timeout";

    private final KafkaDynamicTableFactory kafka = new KafkaDynamicTableFactory();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = new HashSet<>(kafka.requiredOptions());
        options.add(OUT_OF_ORDERNESS);
        options.add(PEERS);
        return options;
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = new HashSet<>(kafka.optionalOptions());
        options.add(IDLE_TIMEOUT);
        options.add(CHECK_INTERVAL);
        options.add(RELEASE_AFTER);
        return options;
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        Map<String, String> all = context.getCatalogTable().getOptions();
        Map<String, String> kafkaOptions = new HashMap<>();
        Map<String, String> ours = new HashMap<>();
        for (Map.Entry<String, String> e : all.entrySet()) {
            (e.getKey().startsWith(PREFIX) ? ours : kafkaOptions).put(e.getKey(), e.getValue());
        }
        if (kafkaOptions.containsKey(FLINK_IDLE_TIMEOUT)) {
            throw new ValidationException(IDENTIFIER + ": '" + FLINK_IDLE_TIMEOUT + "' is not used by this connector; "
                    + "set '" + IDLE_TIMEOUT.key() + "'");
        }
        kafkaOptions.put(FactoryUtil.CONNECTOR.key(), "kafka");
        ResolvedCatalogTable table = context.getCatalogTable().copy(kafkaOptions);
        DynamicTableSource plain = kafka.createDynamicTableSource(new FactoryUtil.DefaultDynamicTableContext(
                context.getObjectIdentifier(), table, context.getEnrichmentOptions(), context.getConfiguration(),
                context.getClassLoader(), context.isTemporary()));
        return new IdleAwareKafkaTableSource((KafkaDynamicSource) plain, settings(kafkaOptions, ours));
    }

    static IdleSettings settings(Map<String, String> kafkaOptions, Map<String, String> ours) {
        Set<String> known = Set.of(IDLE_TIMEOUT.key(), OUT_OF_ORDERNESS.key(), CHECK_INTERVAL.key(), RELEASE_AFTER.key(),
                PEERS.key());
        Map<String, String> registry = new HashMap<>();
        for (String key : ours.keySet()) {
            String registryKey = key.startsWith(REGISTRY_PREFIX) ? key.substring(REGISTRY_PREFIX.length()) : null;
            if (registryKey != null && REGISTRY_KEYS.contains(registryKey)) {
                registry.put(registryKey, ours.get(key));
            } else if (!known.contains(key)) {
                throw new ValidationException(IDENTIFIER + ": unknown option '" + key + "'; valid: " + known
                        + " and " + REGISTRY_PREFIX + REGISTRY_KEYS);
            }
        }
        Configuration conf = Configuration.fromMap(without(ours, REGISTRY_PREFIX));
        for (ConfigOption<?> required : new ConfigOption<?>[] {OUT_OF_ORDERNESS, PEERS}) {
            if (!conf.contains(required)) {
                throw new ValidationException(IDENTIFIER + ": missing option '" + required.key() + "'");
            }
        }
        String topic = kafkaOptions.get("topic");
        if (topic == null || topic.contains(";")) {
            throw new ValidationException(IDENTIFIER + ": needs one 'topic'");
        }
        Map<String, String> properties = new HashMap<>();
        kafkaOptions.forEach((k, v) -> {
            if (k.startsWith(KAFKA_PROPERTIES)) {
                properties.put(k.substring(KAFKA_PROPERTIES.length()), v);
            }
        });
        IdleSettings settings;
        try {
            settings = new IdleSettings(topic, properties.get("group.id"), conf.get(IDLE_TIMEOUT).toMillis(),
                    conf.get(OUT_OF_ORDERNESS).toMillis(), conf.get(CHECK_INTERVAL).toMillis(),
                    conf.get(RELEASE_AFTER).toMillis(), IdleSettings.parsePeers(conf.get(PEERS), registry), properties);
        } catch (IllegalArgumentException e) {
            throw new ValidationException(IDENTIFIER + ": " + e.getMessage(), e);
        }
        if (settings.checkIntervalMs <= 0) {
            throw new ValidationException(IDENTIFIER + ": '" + CHECK_INTERVAL.key() + "' must be positive");
        }
        if (settings.releaseAfterMs > 0 && (settings.idleTimeoutMs <= 0 || settings.releaseAfterMs <= settings.idleTimeoutMs)) {
            throw new ValidationException(IDENTIFIER + ": '" + RELEASE_AFTER.key() + "' must be longer than '"
                    + IDLE_TIMEOUT.key() + "' (and the idle timeout not 0)");
        }
        if (settings.peers.stream().noneMatch(p -> p.topic.equals(topic))) {
            throw new ValidationException(IDENTIFIER + ": '" + PEERS.key() + "' must list the table's own topic " + topic);
        }
        return settings;
    }

    private static Map<String, String> without(Map<String, String> options, String prefix) {
        Map<String, String> kept = new HashMap<>();
        options.forEach((k, v) -> {
            if (!k.startsWith(prefix)) {
                kept.put(k, v);
            }
        });
        return kept;
    }
}
