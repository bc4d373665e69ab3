package mskiceberg.streaming.source;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

        public Peer(String topic, String field, String type) {
            this.topic = topic;
            this.field = field;
            this.type = type;
        }

        @Override
        public String toString() {
            return topic + "|" + field + "|" + type;
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

    /** "topic|field|TYPE;topic|field|TYPE": the form the Python renderer writes. */
    public static List<Peer> parsePeers(String spec) {
        List<Peer> peers = new ArrayList<>();
        for (String entry : spec.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            String[] parts = entry.split("\\|", -1);
            if (parts.length != 3 || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank()) {
                throw new IllegalArgumentException("event-time peer '" + entry + "' is not topic|field|TYPE");
            }
            peers.add(new Peer(parts[0].trim(), parts[1].trim(), parts[2].trim()));
        }
        return peers;
    }

    /** Probes with the same key read the same logs the same way: one per JVM serves them all. */
    String probeKey() {
        return kafkaProperties + "/" + peers;
    }
}
