package mskiceberg.streaming.source;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import mskiceberg.streaming.format.RegistrySettings;

/**
 * What the idle-aware Kafka source needs beyond the Kafka connector's own options: the idle
 * timeout, this topic's allowed disorder, its optional release time, and every topic of the job
 * with its event-time field (the "peers": the probe reads them all, so one probe per JVM serves
 * every source, and a released topic can follow the others).
 */
public final class IdleSettings implements Serializable {

    private static final long serialVersionUID = 1L;

    /** A topic of the job and how to read the event time of its records. */
    public static final class Peer implements Serializable {
        private static final long serialVersionUID = 1L;
        public final String topic;
        public final String field;
        public final String type; // a Flink SQL type: BIGINT (epoch millis), TIMESTAMP(p), TIMESTAMP_LTZ(p)
        public final RegistrySettings registry; // an Avro topic's registry; null: JSON values

        public Peer(String topic, String field, String type) {
            this(topic, field, type, null);
        }

        public Peer(String topic, String field, String type, RegistrySettings registry) {
            this.topic = topic;
            this.field = field;
            this.type = type;
            this.registry = registry;
        }

        @Override
        public String toString() {
            return topic + "|" + field + "|" + type + (registry == null ? "" : "|avro");
        }
    }

    final String topic;
    final String groupId;
    final long idleTimeoutMs; // 0: a partition never stops holding the watermark
    final long outOfOrdernessMs;
    final long checkIntervalMs;
    final long releaseAfterMs; // 0: the topic's partitions never follow other topics
    final List<Peer> peers;
    final Map<String, String> kafkaProperties; // bootstrap servers, security: as the source's consumer

    public IdleSettings(String topic, String groupId, long idleTimeoutMs, long outOfOrdernessMs, long checkIntervalMs,
                        long releaseAfterMs, List<Peer> peers, Map<String, String> kafkaProperties) {
        this.topic = topic;
        this.groupId = groupId;
        this.idleTimeoutMs = idleTimeoutMs;
        this.outOfOrdernessMs = outOfOrdernessMs;
        this.checkIntervalMs = checkIntervalMs;
        this.releaseAfterMs = releaseAfterMs;
        this.peers = Collections.unmodifiableList(new ArrayList<>(peers));
        this.kafkaProperties = Collections.unmodifiableMap(new TreeMap<>(kafkaProperties));
    }

    /** "topic|field|TYPE;topic|field|TYPE": the form the Python renderer writes (JSON topics only). */
    public static List<Peer> parsePeers(String spec) {
        return parsePeers(spec, Map.of());
    }

    /**
     * "topic|field|TYPE[|avro:REGISTRY];...": an Avro topic names its registry's kind ('glue' or
     * 'confluent'); where the registries are is the job's (registryOptions: url, basic-auth.user-info,
     * region, endpoint), as the Avro sources themselves read them.
     */
    public static List<Peer> parsePeers(String spec, Map<String, String> registryOptions) {
        List<Peer> peers = new ArrayList<>();
        for (String entry : spec.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            String[] parts = entry.split("\\|", -1);
            boolean avro = parts.length == 4 && parts[3].startsWith("avro:");
            if ((parts.length != 3 && !avro) || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank()) {
                throw new IllegalArgumentException("event-time peer '" + entry
                        + "' is not topic|field|TYPE or topic|field|TYPE|avro:REGISTRY");
            }
            RegistrySettings registry = avro
                    ? new RegistrySettings(parts[3].substring("avro:".length()).trim(), registryOptions.get("url"),
                            registryOptions.get("basic-auth.user-info"), registryOptions.get("region"),
                            registryOptions.get("endpoint"))
                    : null;
            peers.add(new Peer(parts[0].trim(), parts[1].trim(), parts[2].trim(), registry));
        }
        return peers;
    }

    /** Probes with the same key read the same logs the same way: one per JVM serves them all. */
    String probeKey() {
        return kafkaProperties + "/" + peers;
    }
}
