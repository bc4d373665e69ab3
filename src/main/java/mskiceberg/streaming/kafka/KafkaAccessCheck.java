package mskiceberg.streaming.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * What the job's sources will do first, done once in the driver before the job is submitted,
 * with the same Kafka client classes and properties (so the same login module, callback handler,
 * truststore): reach the brokers (TLS, SASL), describe every topic, read at its end, fetch its
 * group's committed offsets, and ask whether the group may commit.
 *
 * <p>Why: a source that cannot authenticate or is not authorized fails only on the cluster,
 * where the restart strategy retries it again and again and the cause sits in a TaskManager
 * log. Checked here, the run stops before it starts, with one line naming the cause, and for a
 * missing permission the IAM action and the resource (MSK IAM's mapping of Kafka operations).
 */
public final class KafkaAccessCheck {

    private KafkaAccessCheck() {}

    /**
     * Checks every topic (with its consumer group); returns "" when all is well, else one line
     * per problem found, the first problem first. Never throws for a broker's answer.
     */
    public static String check(Map<String, String> clientProperties, Map<String, String> groupByTopic,
                               long timeoutMs) {
        Properties props = new Properties();
        props.putAll(clientProperties);
        props.put("request.timeout.ms", String.valueOf(timeoutMs));
        props.put("default.api.timeout.ms", String.valueOf(timeoutMs));
        String bootstrap = clientProperties.getOrDefault("bootstrap.servers", "?");
        List<String> problems = new ArrayList<>();
        Map<String, TopicDescription> topics;
        try (Admin admin = Admin.create(props)) {
            topics = describeTopics(admin, groupByTopic.keySet(), bootstrap, problems);
            if (topics == null) {
                return String.join("\n", problems);
            }
            checkGroups(admin, groupByTopic, bootstrap, problems);
        }
        for (Map.Entry<String, TopicDescription> topic : topics.entrySet()) {
            checkRead(props, topic.getValue(), groupByTopic.get(topic.getKey()), bootstrap, problems);
        }
        return String.join("\n", problems);
    }

    /** The topics that exist and may be described; null when the brokers could not be used at all. */
    private static Map<String, TopicDescription> describeTopics(Admin admin, Collection<String> names,
                                                                 String bootstrap, List<String> problems) {
        Map<String, TopicDescription> found = new LinkedHashMap<>();
        var futures = admin.describeTopics(names).topicNameValues();
        for (String name : names) {
            try {
                found.put(name, futures.get(name).get());
            } catch (ExecutionException | InterruptedException e) {
                Throwable cause = rootOf(e);
                if (AccessProblem.isConnectionLevel(cause)) {
                    problems.add(AccessProblem.describe(cause, AccessProblem.Step.CONNECT, name, null, bootstrap));
                    return null;
                }
                problems.add(AccessProblem.describe(cause, AccessProblem.Step.DESCRIBE_TOPIC, name, null, bootstrap));
            }
        }
        return found;
    }

    private static void checkGroups(Admin admin, Map<String, String> groupByTopic, String bootstrap,
                                    List<String> problems) {
        Set<String> groups = Set.copyOf(groupByTopic.values());
        var futures = admin.describeConsumerGroups(groups,
                new DescribeConsumerGroupsOptions().includeAuthorizedOperations(true)).describedGroups();
        for (String group : groups) {
            try {
                ConsumerGroupDescription description = futures.get(group).get();
                Set<AclOperation> allowed = description.authorizedOperations();
                // null: the broker does not say (not every broker computes it); the commit then shows
                if (allowed != null && !allowed.contains(AclOperation.READ) && !allowed.contains(AclOperation.ALL)) {
                    problems.add(AccessProblem.missing("kafka-cluster:AlterGroup", "group", group,
                            "commit the sources' offsets at every checkpoint"));
                }
            } catch (ExecutionException | InterruptedException e) {
                Throwable cause = rootOf(e);
                if (cause instanceof GroupIdNotFoundException) {
                    continue;  // a group's first run: nothing committed yet, no rights to read off it
                }
                problems.add(AccessProblem.describe(cause, AccessProblem.Step.DESCRIBE_GROUP, null, group, bootstrap));
            }
        }
    }

    private static void checkRead(Properties base, TopicDescription topic, String group, String bootstrap,
                                  List<String> problems) {
        Properties props = new Properties();
        props.putAll(base);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        List<TopicPartition> partitions = new ArrayList<>();
        topic.partitions().forEach(p -> partitions.add(new TopicPartition(topic.name(), p.partition())));
        AccessProblem.Step step = AccessProblem.Step.OFFSETS;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            consumer.assign(partitions);
            consumer.committed(new java.util.HashSet<>(partitions));
            step = AccessProblem.Step.READ;
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);  // the end offsets (ListOffsets)
            consumer.poll(Duration.ofMillis(500));  // a fetch at the end: authorized or not, no records
        } catch (RuntimeException e) {
            problems.add(AccessProblem.describe(rootOf(e), step, topic.name(), group, bootstrap));
        }
    }

    static Throwable rootOf(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t.getClass() == RuntimeException.class) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
