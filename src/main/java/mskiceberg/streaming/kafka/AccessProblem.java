package mskiceberg.streaming.kafka;

import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * One line per failure of {@link KafkaAccessCheck}: what failed, why, and what to change.
 * Permissions are named as MSK IAM's actions on MSK's resources (the AWS documentation's mapping
 * of Kafka operations to kafka-cluster:* actions), since that is what the user's role must grant.
 */
final class AccessProblem {

    /** What the check was doing when the broker said no. */
    enum Step { CONNECT, DESCRIBE_TOPIC, DESCRIBE_GROUP, OFFSETS, READ }

    private AccessProblem() {}

    /** Failures that no topic or group changes: the brokers cannot be used at all. */
    static boolean isConnectionLevel(Throwable cause) {
        return cause instanceof SaslAuthenticationException || cause instanceof SslAuthenticationException
                || cause instanceof TimeoutException;
    }

    static String missing(String action, String kind, String name, String why) {
        return String.format("not authorized: the role needs %s on %s '%s' (arn:<partition>:kafka:<region>:"
                + "<account>:%s/<cluster-name>/<cluster-uuid>/%s), to %s; deploy.py iam-policy prints a "
                + "policy that grants it", action, kind, name, kind, name, why);
    }

    static String describe(Throwable cause, Step step, String topic, String group, String bootstrap) {
        if (cause instanceof SaslAuthenticationException) {
            return "authentication failed at " + bootstrap + ": " + cause.getMessage()
                    + " (the AWS credentials the job signs with: access key, secret, session token, region, clock)";
        }
        if (cause instanceof SslAuthenticationException) {
            Throwable root = cause;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            return "TLS handshake with " + bootstrap + " failed: " + root.getMessage()
                    + "; if the brokers' certificate comes from a private CA, set kafka.property.ssl.truststore.location"
                    + " (and kafka.property.ssl.truststore.type PEM or JKS) to it";
        }
        if (cause instanceof TimeoutException) {
            return "no answer from " + bootstrap + ": " + cause.getMessage()
                    + " (network path, security group, port, or a listener that speaks another protocol)";
        }
        if (cause instanceof UnknownTopicOrPartitionException) {
            return "topic '" + topic + "' does not exist on " + bootstrap;
        }
        if (cause instanceof TopicAuthorizationException) {
            return step == Step.READ
                    ? missing("kafka-cluster:ReadData", "topic", topic, "read its records")
                    : missing("kafka-cluster:DescribeTopic", "topic", topic, "find its partitions and offsets");
        }
        if (cause instanceof GroupAuthorizationException) {
            return missing("kafka-cluster:DescribeGroup", "group", group, "read its committed offsets");
        }
        String what = topic != null ? "topic '" + topic + "'" : "group '" + group + "'";
        return step.name().toLowerCase().replace('_', ' ') + " of " + what + " failed: "
                + cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}
