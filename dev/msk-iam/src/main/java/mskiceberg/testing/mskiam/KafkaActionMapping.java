package mskiceberg.testing.mskiam;

import static org.apache.kafka.common.acl.AclOperation.ALTER;
import static org.apache.kafka.common.acl.AclOperation.ALTER_CONFIGS;
import static org.apache.kafka.common.acl.AclOperation.CREATE;
import static org.apache.kafka.common.acl.AclOperation.DELETE;
import static org.apache.kafka.common.acl.AclOperation.DESCRIBE;
import static org.apache.kafka.common.acl.AclOperation.DESCRIBE_CONFIGS;
import static org.apache.kafka.common.acl.AclOperation.IDEMPOTENT_WRITE;
import static org.apache.kafka.common.acl.AclOperation.READ;
import static org.apache.kafka.common.acl.AclOperation.WRITE;
import static org.apache.kafka.common.resource.ResourceType.CLUSTER;
import static org.apache.kafka.common.resource.ResourceType.GROUP;
import static org.apache.kafka.common.resource.ResourceType.TOPIC;
import static org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;

/**
 * MSK's mapping of Kafka (resource type, operation) to kafka-cluster:* actions and the "Required
 * actions" column of its action table (MSK developer guide, "Semantics of IAM authorization
 * policy actions and resources"), in one place so a reader can check it row by row.
 */
final class KafkaActionMapping {
    static final String PREFIX = "kafka-cluster:";
    static final String CONNECT = PREFIX + "Connect";

    private static final Map<ResourceType, Map<AclOperation, String>> ACTIONS = new HashMap<>();
    /** Required actions on the same resource (Connect, required by all, is checked on the cluster). */
    private static final Map<String, List<String>> REQUIRED = new HashMap<>();

    static {
        row(TOPIC, READ, "ReadData");
        row(TOPIC, WRITE, "WriteData");
        row(TOPIC, DESCRIBE, "DescribeTopic");
        row(TOPIC, CREATE, "CreateTopic");
        row(TOPIC, DELETE, "DeleteTopic");
        row(TOPIC, ALTER, "AlterTopic");
        row(TOPIC, DESCRIBE_CONFIGS, "DescribeTopicDynamicConfiguration");
        row(TOPIC, ALTER_CONFIGS, "AlterTopicDynamicConfiguration");
        row(GROUP, READ, "AlterGroup");
        row(GROUP, DESCRIBE, "DescribeGroup");
        row(GROUP, DELETE, "DeleteGroup");
        row(CLUSTER, IDEMPOTENT_WRITE, "WriteDataIdempotently");
        row(CLUSTER, DESCRIBE, "DescribeCluster");
        row(CLUSTER, ALTER, "AlterCluster");
        row(CLUSTER, CREATE, "CreateTopic");
        row(CLUSTER, DESCRIBE_CONFIGS, "DescribeClusterDynamicConfiguration");
        row(CLUSTER, ALTER_CONFIGS, "AlterClusterDynamicConfiguration");
        row(TRANSACTIONAL_ID, DESCRIBE, "DescribeTransactionalId");
        row(TRANSACTIONAL_ID, WRITE, "AlterTransactionalId");

        // The guide's "Required actions" that name the same kind of resource. Those naming another
        // kind (ReadData -> AlterGroup, WriteDataIdempotently -> WriteData,
        // AlterTransactionalId -> WriteData) have no resource to check at that request; Kafka
        // checks the group / topic of the request separately, which enforces them in practice.
        required("AlterCluster", "DescribeCluster");
        required("AlterClusterDynamicConfiguration", "DescribeClusterDynamicConfiguration");
        required("AlterTopic", "DescribeTopic");
        required("DeleteTopic", "DescribeTopic");
        required("AlterTopicDynamicConfiguration", "DescribeTopicDynamicConfiguration");
        required("ReadData", "DescribeTopic");
        required("WriteData", "DescribeTopic");
        required("AlterGroup", "DescribeGroup");
        required("DeleteGroup", "DescribeGroup");
        required("AlterTransactionalId", "DescribeTransactionalId");
    }

    private KafkaActionMapping() {
    }

    /** The kafka-cluster:* action for a Kafka operation on a resource type, or null when MSK names none. */
    static String action(ResourceType type, AclOperation operation) {
        return ACTIONS.getOrDefault(type, Map.of()).get(operation);
    }

    /**
     * Every action a request needs on its own resource, in the order they are checked: the
     * mapped action, then its required actions (Connect excluded).
     */
    static List<String> actionsOnResource(String action) {
        List<String> all = new ArrayList<>();
        all.add(action);
        all.addAll(REQUIRED.getOrDefault(action, List.of()));
        return all;
    }

    private static void row(ResourceType type, AclOperation operation, String action) {
        ACTIONS.computeIfAbsent(type, t -> new HashMap<>()).put(operation, PREFIX + action);
    }

    private static void required(String action, String... requiredActions) {
        REQUIRED.put(PREFIX + action, java.util.Arrays.stream(requiredActions).map(a -> PREFIX + a).toList());
    }
}
