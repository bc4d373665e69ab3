package mskiceberg.streaming.source;

import org.apache.flink.table.api.ValidationException;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IdleAwareKafkaTableFactoryTest {

    private static Map<String, String> kafka() {
        Map<String, String> options = new HashMap<>();
        options.put("topic", "bids");
        options.put("properties.bootstrap.servers", "127.0.0.1:9092");
        options.put("properties.group.id", "g");
        return options;
    }

    private static Map<String, String> ours() {
        Map<String, String> options = new HashMap<>();
        options.put("idle-aware.idle-timeout", "5 s");
        options.put("idle-aware.out-of-orderness", "5000 ms");
        options.put("idle-aware.event-time-peers", "bids|timestamp_ms|BIGINT;users|at|TIMESTAMP_LTZ(3)");
        return options;
    }

    @Test
    void settingsFromTheOptions() {
        IdleSettings s = IdleAwareKafkaTableFactory.settings(kafka(), ours());
        assertEquals("bids", s.topic);
        assertEquals("g", s.groupId);
        assertEquals(5_000, s.idleTimeoutMs);
        assertEquals(5_000, s.outOfOrdernessMs);
        assertEquals(1_000, s.checkIntervalMs);
        assertEquals(0, s.releaseAfterMs); // off unless asked for
        assertEquals(List.of("bids|timestamp_ms|BIGINT", "users|at|TIMESTAMP_LTZ(3)"), s.peers.stream().map(Object::toString).collect(java.util.stream.Collectors.toList()));
        assertEquals("127.0.0.1:9092", s.kafkaProperties.get("bootstrap.servers"));
    }

    @Test
    void badOptionsNameTheOption() {
        Map<String, String> unknown = ours();
        unknown.put("idle-aware.timeout", "5 s");
        assertTrue(assertThrows(ValidationException.class, () -> IdleAwareKafkaTableFactory.settings(kafka(), unknown))
                .getMessage().contains("unknown option 'idle-aware.timeout'"));
        Map<String, String> missing = ours();
        missing.remove("idle-aware.out-of-orderness");
        assertTrue(assertThrows(ValidationException.class, () -> IdleAwareKafkaTableFactory.settings(kafka(), missing))
                .getMessage().contains("missing option 'idle-aware.out-of-orderness'"));
        Map<String, String> notOwn = ours();
        notOwn.put("idle-aware.event-time-peers", "users|at|BIGINT");
        assertTrue(assertThrows(ValidationException.class, () -> IdleAwareKafkaTableFactory.settings(kafka(), notOwn))
                .getMessage().contains("own topic bids"));
        Map<String, String> malformed = ours();
        malformed.put("idle-aware.event-time-peers", "bids|timestamp_ms");
        assertTrue(assertThrows(ValidationException.class, () -> IdleAwareKafkaTableFactory.settings(kafka(), malformed))
                .getMessage().contains("is not topic|field|TYPE"));
        Map<String, String> shortRelease = ours();
        shortRelease.put("idle-aware.release-after", "5 s");
        assertTrue(assertThrows(ValidationException.class, () -> IdleAwareKafkaTableFactory.settings(kafka(), shortRelease))
                .getMessage().contains("'idle-aware.release-after' must be longer than 'idle-aware.idle-timeout'"));
    }

    @Test
    void aReleaseTimeLongerThanTheIdleTimeoutIsTaken() {
        Map<String, String> options = ours();
        options.put("idle-aware.release-after", "10 min");
        assertEquals(600_000, IdleAwareKafkaTableFactory.settings(kafka(), options).releaseAfterMs);
    }

    @Test
    void anAvroPeerReadsItsEventTimesThroughTheJobsRegistry() {
        Map<String, String> options = ours();
        options.put("idle-aware.event-time-peers", "bids|timestamp_ms|BIGINT|avro:confluent;users|at|TIMESTAMP_LTZ(3)");
        options.put("idle-aware.registry.url", "http://registry:8081");
        options.put("idle-aware.registry.basic-auth.user-info", "u:p");
        IdleSettings s = IdleAwareKafkaTableFactory.settings(kafka(), options);
        assertEquals("bids|timestamp_ms|BIGINT|avro", s.peers.get(0).toString()); // the probe key: no secret in it
        assertEquals("confluent", s.peers.get(0).registry.toString());
        assertEquals(null, s.peers.get(1).registry);
        new EventTimeReader(s.peers.get(0)); // an Avro reader of one field: plans without asking the registry
        Map<String, String> unknown = ours();
        unknown.put("idle-aware.registry.password", "x");
        assertTrue(assertThrows(ValidationException.class, () -> IdleAwareKafkaTableFactory.settings(kafka(), unknown))
                .getMessage().contains("unknown option 'idle-aware.registry.password'"));
    }
}
