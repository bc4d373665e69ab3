package mskiceberg.testing.mskiam;

import java.util.function.IntPredicate;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The MSK cluster ARN (arn:&lt;partition&gt;:kafka:&lt;region&gt;:&lt;account&gt;:cluster/&lt;name&gt;/&lt;uuid&gt;) and
 * the ARNs MSK derives from it for topics, groups and transactional ids, the resources IAM
 * policies name.
 */
record ClusterArn(String partition, String region, String account, String name, String uuid) {

    static ClusterArn parse(String arn) {
        String[] p = arn == null ? new String[0] : arn.split(":", -1);
        String[] r = p.length == 6 ? p[5].split("/", -1) : new String[0];
        if (p.length != 6 || !"arn".equals(p[0]) || !"kafka".equals(p[2]) || p[1].isEmpty() || p[3].isEmpty()
                || p[4].isEmpty() || r.length != 3 || !"cluster".equals(r[0]) || r[1].isEmpty() || r[2].isEmpty()) {
            throw new ConfigException("msk.iam.cluster.arn " + arn
                    + " is not arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>");
        }
        return new ClusterArn(p[1], p[3], p[4], r[1], r[2]);
    }

    String cluster() {
        return base() + "cluster/" + name + "/" + uuid;
    }

    /** Everything before the Kafka resource name for a resource type; the cluster ARN for CLUSTER. */
    String prefix(ResourceType type) {
        return switch (type) {
            case CLUSTER -> cluster();
            case TOPIC -> base() + "topic/" + name + "/" + uuid + "/";
            case GROUP -> base() + "group/" + name + "/" + uuid + "/";
            case TRANSACTIONAL_ID -> base() + "transactional-id/" + name + "/" + uuid + "/";
            default -> throw new IllegalArgumentException("MSK names no ARN for resource type " + type);
        };
    }

    /** The ARN of one Kafka resource (the cluster's name, "kafka-cluster", is not part of its ARN). */
    String of(ResourceType type, String resourceName) {
        return type == ResourceType.CLUSTER ? cluster() : prefix(type) + resourceName;
    }

    /** The characters a Kafka name of the type may hold: topics [a-zA-Z0-9._-], groups and ids anything. */
    static IntPredicate nameChar(ResourceType type) {
        if (type == ResourceType.TOPIC) {
            return c -> (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
        }
        return c -> true;
    }

    private String base() {
        return "arn:" + partition + ":kafka:" + region + ":" + account + ":";
    }
}
