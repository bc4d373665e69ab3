package mskiceberg.streaming.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ExecutionException;

import javax.net.ssl.SSLHandshakeException;

import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

class AccessProblemTest {

    private static final String BOOT = "b-1.example:9098";

    @Test
    void aRefusedReadNamesReadDataAndTheTopicArn() {
        String line = AccessProblem.describe(new TopicAuthorizationException(Set.of("bids")),
                AccessProblem.Step.READ, "bids", "g", BOOT);
        assertEquals("not authorized: the role needs kafka-cluster:ReadData on topic 'bids' (arn:<partition>:kafka:"
                + "<region>:<account>:topic/<cluster-name>/<cluster-uuid>/bids), to read its records; deploy.py "
                + "iam-policy prints a policy that grants it", line);
    }

    @Test
    void aRefusedDescribeNamesDescribeTopic() {
        String line = AccessProblem.describe(new TopicAuthorizationException(Set.of("bids")),
                AccessProblem.Step.DESCRIBE_TOPIC, "bids", null, BOOT);
        assertTrue(line.contains("kafka-cluster:DescribeTopic on topic 'bids'"), line);
    }

    @Test
    void aRefusedOffsetFetchNamesDescribeGroupAndTheGroup() {
        String line = AccessProblem.describe(new GroupAuthorizationException("no"), AccessProblem.Step.OFFSETS,
                "bids", "bids-group", BOOT);
        assertTrue(line.contains("kafka-cluster:DescribeGroup on group 'bids-group'"), line);
        assertTrue(line.contains(":group/<cluster-name>/<cluster-uuid>/bids-group)"), line);
    }

    @Test
    void authenticationAndTlsFailuresAreConnectionLevelAndSaySo() {
        SaslAuthenticationException sasl = new SaslAuthenticationException("[x]: Access denied");
        assertTrue(AccessProblem.isConnectionLevel(sasl));
        assertTrue(AccessProblem.describe(sasl, AccessProblem.Step.CONNECT, "t", null, BOOT)
                .startsWith("authentication failed at b-1.example:9098: [x]: Access denied"));
        SslAuthenticationException tls = new SslAuthenticationException("SSL handshake failed",
                new SSLHandshakeException("PKIX path building failed"));
        String line = AccessProblem.describe(tls, AccessProblem.Step.CONNECT, "t", null, BOOT);
        assertTrue(line.startsWith("TLS handshake with b-1.example:9098 failed: PKIX path building failed"), line);
        assertTrue(line.contains("kafka.property.ssl.truststore.location"), line);
        assertFalse(AccessProblem.isConnectionLevel(new TopicAuthorizationException(Set.of("t"))));
    }

    @Test
    void theRootCauseIsFoundThroughExecutionExceptions() {
        TopicAuthorizationException cause = new TopicAuthorizationException(Set.of("t"));
        assertEquals(cause, KafkaAccessCheck.rootOf(new ExecutionException(cause)));
    }
}
