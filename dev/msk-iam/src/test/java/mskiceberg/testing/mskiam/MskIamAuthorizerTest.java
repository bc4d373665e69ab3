package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.stream.Stream;
import org.apache.kafka.common.ClusterResource;
import org.apache.kafka.common.Endpoint;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.server.authorizer.Action;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.authorizer.AuthorizationResult;
import org.apache.kafka.server.authorizer.AuthorizerServerInfo;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The authorizer as Kafka calls it: each mapping row, Connect, required actions, listeners, reloads. */
class MskIamAuthorizerTest {
    static final String CLUSTER = "arn:aws:kafka:us-east-1:" + TestKeys.ACCOUNT + ":cluster/local/abcd-1234";
    static final String BASE = "arn:aws:kafka:us-east-1:" + TestKeys.ACCOUNT + ":";
    static final String ROLE = "arn:aws:iam::" + TestKeys.ACCOUNT + ":role/local-job";

    private static final Instant START = Instant.now();

    @TempDir
    Path dir;
    private Path policyFile;
    private int writes;
    private MskIamAuthorizer authorizer;

    record Context(String listenerName, KafkaPrincipal principal) implements AuthorizableRequestContext {
        @Override
        public SecurityProtocol securityProtocol() {
            return SecurityProtocol.SASL_SSL;
        }

        @Override
        public InetAddress clientAddress() {
            return InetAddress.getLoopbackAddress();
        }

        @Override
        public int requestType() {
            return 0;
        }

        @Override
        public int requestVersion() {
            return 0;
        }

        @Override
        public String clientId() {
            return "test";
        }

        @Override
        public int correlationId() {
            return 1;
        }
    }

    static Context iam(String listener) {
        return new Context(listener, new KafkaPrincipal(KafkaPrincipal.USER_TYPE, ROLE));
    }

    static final Context IAM = iam("SASL_SSL");

    static Action action(ResourceType type, String name, AclOperation op) {
        return new Action(op, new ResourcePattern(type, name, PatternType.LITERAL), 1, true, true);
    }

    static String allow(String sid, List<String> actions, String resource) {
        return "{\"Sid\": \"" + sid + "\", \"Effect\": \"Allow\", \"Action\": [" + actions.stream()
                .map(a -> "\"kafka-cluster:" + a + "\"").reduce((a, b) -> a + ", " + b).orElse("")
                + "], \"Resource\": \"" + resource + "\"}";
    }

    static final String CONNECT = allow("Connect", List.of("Connect"), CLUSTER);

    void writePolicy(String... statements) throws Exception {
        Files.writeString(policyFile, "{\"Version\": \"2012-10-17\", \"Statement\": [" + String.join(", ", statements)
                + "]}");
        // A new mtime even within the file system's timestamp granularity.
        Files.setLastModifiedTime(policyFile, FileTime.from(START.plusSeconds(++writes)));
    }

    @BeforeEach
    void configure() throws Exception {
        policyFile = dir.resolve("policy.json");
        writePolicy(CONNECT);
        authorizer = new MskIamAuthorizer();
        authorizer.configure(Map.of("msk.iam.policy.file", policyFile.toString(), "msk.iam.cluster.arn", CLUSTER,
                "msk.iam.unauthenticated.listeners", "PLAINTEXT, controller"));
    }

    private String denial(Context context, Action action) {
        MskIamAuthorizer.Denial d = authorizer.check(context, action);
        return d == null ? null : d.line();
    }

    static String arn(ResourceType type, String name) {
        return switch (type) {
            case CLUSTER -> CLUSTER;
            case TOPIC -> BASE + "topic/local/abcd-1234/" + name;
            case GROUP -> BASE + "group/local/abcd-1234/" + name;
            case TRANSACTIONAL_ID -> BASE + "transactional-id/local/abcd-1234/" + name;
            default -> throw new IllegalArgumentException();
        };
    }

    /** Every row of the mapping: Kafka resource type, operation, action, its same-resource required actions. */
    static Stream<Arguments> mapping() {
        return Stream.of(
                Arguments.of(ResourceType.TOPIC, AclOperation.READ, "ReadData", List.of("DescribeTopic")),
                Arguments.of(ResourceType.TOPIC, AclOperation.WRITE, "WriteData", List.of("DescribeTopic")),
                Arguments.of(ResourceType.TOPIC, AclOperation.DESCRIBE, "DescribeTopic", List.of()),
                Arguments.of(ResourceType.TOPIC, AclOperation.CREATE, "CreateTopic", List.of()),
                Arguments.of(ResourceType.TOPIC, AclOperation.DELETE, "DeleteTopic", List.of("DescribeTopic")),
                Arguments.of(ResourceType.TOPIC, AclOperation.ALTER, "AlterTopic", List.of("DescribeTopic")),
                Arguments.of(ResourceType.TOPIC, AclOperation.DESCRIBE_CONFIGS, "DescribeTopicDynamicConfiguration",
                        List.of()),
                Arguments.of(ResourceType.TOPIC, AclOperation.ALTER_CONFIGS, "AlterTopicDynamicConfiguration",
                        List.of("DescribeTopicDynamicConfiguration")),
                Arguments.of(ResourceType.GROUP, AclOperation.READ, "AlterGroup", List.of("DescribeGroup")),
                Arguments.of(ResourceType.GROUP, AclOperation.DESCRIBE, "DescribeGroup", List.of()),
                Arguments.of(ResourceType.GROUP, AclOperation.DELETE, "DeleteGroup", List.of("DescribeGroup")),
                Arguments.of(ResourceType.CLUSTER, AclOperation.IDEMPOTENT_WRITE, "WriteDataIdempotently", List.of()),
                Arguments.of(ResourceType.CLUSTER, AclOperation.DESCRIBE, "DescribeCluster", List.of()),
                Arguments.of(ResourceType.CLUSTER, AclOperation.ALTER, "AlterCluster", List.of("DescribeCluster")),
                Arguments.of(ResourceType.CLUSTER, AclOperation.CREATE, "CreateTopic", List.of()),
                Arguments.of(ResourceType.CLUSTER, AclOperation.DESCRIBE_CONFIGS, "DescribeClusterDynamicConfiguration",
                        List.of()),
                Arguments.of(ResourceType.CLUSTER, AclOperation.ALTER_CONFIGS, "AlterClusterDynamicConfiguration",
                        List.of("DescribeClusterDynamicConfiguration")),
                Arguments.of(ResourceType.TRANSACTIONAL_ID, AclOperation.DESCRIBE, "DescribeTransactionalId", List.of()),
                Arguments.of(ResourceType.TRANSACTIONAL_ID, AclOperation.WRITE, "AlterTransactionalId",
                        List.of("DescribeTransactionalId")));
    }

    @ParameterizedTest(name = "{0} {1} -> {2} + {3}")
    @MethodSource("mapping")
    void eachMappingRow(ResourceType type, AclOperation op, String mapped, List<String> required) throws Exception {
        String name = type == ResourceType.CLUSTER ? "kafka-cluster" : "orders";
        String resource = arn(type, name);
        Action request = action(type, name, op);
        List<String> all = new ArrayList<>(required);
        all.add(mapped);

        writePolicy(CONNECT, allow("Needed", all, resource));
        assertNull(denial(IAM, request));
        assertEquals(List.of(AuthorizationResult.ALLOWED), authorizer.authorize(IAM, List.of(request)));

        writePolicy(CONNECT, allow("RequiredOnly", required.isEmpty() ? List.of("Connect") : required, resource));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:" + mapped + " resource=" + resource
                + " (no Allow statement)", denial(IAM, request));
        assertEquals(List.of(AuthorizationResult.DENIED), authorizer.authorize(IAM, List.of(request)));

        for (String missing : required) {
            List<String> without = new ArrayList<>(all);
            without.remove(missing);
            writePolicy(CONNECT, allow("Partial", without, resource));
            assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:" + missing + " resource=" + resource
                    + " (no Allow statement)", denial(IAM, request));
        }

        // Every action also needs Connect on the cluster.
        writePolicy(allow("NoConnect", all, resource));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:Connect resource=" + CLUSTER
                + " (no Allow statement)", denial(IAM, request));
    }

    @Test
    void missingConnectDeniesEverythingEvenUnderAWildcard() throws Exception {
        writePolicy(allow("Topics", List.of("*"), BASE + "topic/local/abcd-1234/*"));
        for (AclOperation op : List.of(AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE)) {
            assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:Connect resource=" + CLUSTER
                    + " (no Allow statement)", denial(IAM, action(ResourceType.TOPIC, "orders", op)));
        }
        writePolicy(allow("All", List.of("*"), "*"));
        assertNull(denial(IAM, action(ResourceType.TOPIC, "orders", AclOperation.READ)));
    }

    @Test
    void requiredActionRuleReadDataNeedsDescribeTopic() throws Exception {
        writePolicy(CONNECT, allow("ReadOnly", List.of("ReadData"), arn(ResourceType.TOPIC, "orders")));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:DescribeTopic resource="
                + arn(ResourceType.TOPIC, "orders") + " (no Allow statement)",
                denial(IAM, action(ResourceType.TOPIC, "orders", AclOperation.READ)));
    }

    @Test
    void explicitDenyIsNamedInTheLine() throws Exception {
        writePolicy(CONNECT, allow("All", List.of("*"), "*"),
                "{\"Sid\": \"NoPayments\", \"Effect\": \"Deny\", \"Action\": \"kafka-cluster:ReadData\", \"Resource\": \""
                        + arn(ResourceType.TOPIC, "payments") + "\"}");
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:ReadData resource="
                + arn(ResourceType.TOPIC, "payments") + " (explicit Deny in statement NoPayments)",
                denial(IAM, action(ResourceType.TOPIC, "payments", AclOperation.READ)));
        assertNull(denial(IAM, action(ResourceType.TOPIC, "orders", AclOperation.READ)));
    }

    @Test
    void operationWithoutAnMskActionIsDenied() {
        assertEquals("DENIED principal=" + ROLE + " action=none resource=CLUSTER:kafka-cluster (no kafka-cluster action"
                + " for Kafka operation CLUSTER_ACTION on CLUSTER)",
                denial(IAM, action(ResourceType.CLUSTER, "kafka-cluster", AclOperation.CLUSTER_ACTION)));
    }

    @Test
    void unauthenticatedListenersSkipEvaluationButNotForwardedIamRequests() throws Exception {
        writePolicy();
        Context anonymous = new Context("PLAINTEXT", KafkaPrincipal.ANONYMOUS);
        Context controller = new Context("CONTROLLER", KafkaPrincipal.ANONYMOUS);
        Action create = action(ResourceType.TOPIC, "orders", AclOperation.CREATE);
        assertNull(denial(anonymous, create));
        assertNull(denial(controller, action(ResourceType.CLUSTER, "kafka-cluster", AclOperation.CLUSTER_ACTION)));
        assertEquals(AuthorizationResult.ALLOWED,
                authorizer.authorizeByResourceType(anonymous, AclOperation.WRITE, ResourceType.TOPIC));
        // CreateTopics of an IAM client, forwarded by the broker to the controller listener.
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:Connect resource=" + CLUSTER
                + " (no Allow statement)", denial(iam("CONTROLLER"), create));
        assertTrue(denial(IAM, create).startsWith("DENIED"));
    }

    @Test
    void someTopicWritableAllowsIdempotentProducers() throws Exception {
        writePolicy(CONNECT, allow("Write", List.of("WriteData", "DescribeTopic"), arn(ResourceType.TOPIC, "orders")));
        assertNull(authorizer.checkByResourceType(IAM, AclOperation.WRITE, ResourceType.TOPIC));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:WriteDataIdempotently resource=" + CLUSTER
                + " (no Allow statement)",
                denial(IAM, action(ResourceType.CLUSTER, "kafka-cluster", AclOperation.IDEMPOTENT_WRITE)));

        writePolicy(CONNECT, allow("ReadOnly", List.of("ReadData", "DescribeTopic"), BASE + "topic/local/abcd-1234/*"));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:WriteData resource=" + BASE
                + "topic/local/abcd-1234/* (no Allow statement for any TOPIC)",
                authorizer.checkByResourceType(IAM, AclOperation.WRITE, ResourceType.TOPIC).line());
        assertEquals(AuthorizationResult.DENIED,
                authorizer.authorizeByResourceType(IAM, AclOperation.WRITE, ResourceType.TOPIC));

        writePolicy(CONNECT, allow("All", List.of("*"), "*"), "{\"Sid\": \"NoWrites\", \"Effect\": \"Deny\","
                + " \"Action\": \"kafka-cluster:WriteData\", \"Resource\": \"" + BASE + "topic/local/abcd-1234/*\"}");
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:WriteData resource=" + BASE
                + "topic/local/abcd-1234/* (explicit Deny in statement NoWrites for any TOPIC)",
                authorizer.checkByResourceType(IAM, AclOperation.WRITE, ResourceType.TOPIC).line());

        writePolicy(allow("NoConnect", List.of("WriteData", "DescribeTopic"), "*"));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:Connect resource=" + CLUSTER
                + " (no Allow statement)",
                authorizer.checkByResourceType(IAM, AclOperation.WRITE, ResourceType.TOPIC).line());
    }

    @Test
    void policyChangesApplyWithoutRestartAndABrokenOneDeniesAll() throws Exception {
        Action read = action(ResourceType.TOPIC, "orders", AclOperation.READ);
        assertTrue(denial(IAM, read).startsWith("DENIED"));
        writePolicy(CONNECT, allow("Read", List.of("ReadData", "DescribeTopic"), arn(ResourceType.TOPIC, "orders")));
        assertNull(denial(IAM, read));
        Files.writeString(policyFile, "{\"Statement\": [{\"Sid\": \"C\", \"Effect\": \"Allow\", \"Action\": \"*\","
                + " \"Resource\": \"*\", \"Condition\": {}}]}");
        Files.setLastModifiedTime(policyFile, FileTime.from(Instant.now().plusSeconds(3600)));
        assertEquals("DENIED principal=" + ROLE + " action=kafka-cluster:ReadData resource="
                + arn(ResourceType.TOPIC, "orders") + " (policy file " + policyFile + " cannot be loaded: policy:"
                + " statement C has a Condition, which this local MSK authorizer does not evaluate; remove it (or the"
                + " statement) rather than have it enforced without its condition)", denial(IAM, read));
    }

    @Test
    void configureRefusesABadPolicyOrClusterArn() throws Exception {
        Files.writeString(policyFile, "{\"Statement\": [{\"Sid\": \"Cond\", \"Effect\": \"Allow\", \"Action\": \"*\","
                + " \"Resource\": \"*\", \"Condition\": {}}]}");
        ConfigException e = assertThrows(ConfigException.class, () -> new MskIamAuthorizer().configure(Map.of(
                "msk.iam.policy.file", policyFile.toString(), "msk.iam.cluster.arn", CLUSTER)));
        assertTrue(e.getMessage().contains("statement Cond has a Condition"), e.getMessage());
        assertThrows(ConfigException.class, () -> new MskIamAuthorizer().configure(Map.of(
                "msk.iam.policy.file", policyFile.toString(), "msk.iam.cluster.arn", "arn:aws:kafka:us-east-1:1:topic/a/b")));
        assertThrows(ConfigException.class, () -> new MskIamAuthorizer().configure(Map.of(
                "msk.iam.cluster.arn", CLUSTER)));
    }

    @Test
    void startCompletesEveryEndpointAndAclsAreNotTheWay() throws Exception {
        Endpoint sasl = new Endpoint("SASL_SSL", SecurityProtocol.SASL_SSL, "localhost", 9098);
        Endpoint plain = new Endpoint("PLAINTEXT", SecurityProtocol.PLAINTEXT, "localhost", 9092);
        AuthorizerServerInfo info = new AuthorizerServerInfo() {
            @Override
            public ClusterResource clusterResource() {
                return new ClusterResource("c");
            }

            @Override
            public int brokerId() {
                return 1;
            }

            @Override
            public Collection<Endpoint> endpoints() {
                return List.of(sasl, plain);
            }

            @Override
            public Endpoint interBrokerEndpoint() {
                return plain;
            }

            @Override
            public Collection<String> earlyStartListeners() {
                return List.of();
            }
        };
        Map<Endpoint, ? extends CompletionStage<Void>> started = authorizer.start(info);
        assertEquals(2, started.size());
        for (CompletionStage<Void> f : started.values()) {
            assertTrue(f.toCompletableFuture().isDone());
            assertNull(f.toCompletableFuture().get());
        }
        AclBinding binding = new AclBinding(new ResourcePattern(ResourceType.TOPIC, "orders", PatternType.LITERAL),
                new AccessControlEntry("User:x", "*", AclOperation.READ, AclPermissionType.ALLOW));
        assertInstanceOf(InvalidRequestException.class, authorizer.createAcls(IAM, List.of(binding)).get(0)
                .toCompletableFuture().get().exception().orElseThrow());
        assertInstanceOf(InvalidRequestException.class, authorizer.deleteAcls(IAM, List.of(AclBindingFilter.ANY))
                .get(0).toCompletableFuture().get().exception().orElseThrow());
        assertFalse(authorizer.acls(AclBindingFilter.ANY).iterator().hasNext());
    }

    @Test
    void authorizeAnswersEachActionInOrder() throws Exception {
        writePolicy(CONNECT, allow("Describe", List.of("DescribeCluster"), CLUSTER));
        assertEquals(List.of(AuthorizationResult.ALLOWED, AuthorizationResult.DENIED), authorizer.authorize(IAM,
                List.of(action(ResourceType.CLUSTER, "kafka-cluster", AclOperation.DESCRIBE),
                        action(ResourceType.TOPIC, "orders", AclOperation.READ))));
    }
}
