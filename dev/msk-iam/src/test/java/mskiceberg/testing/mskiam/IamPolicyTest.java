package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.IntPredicate;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

/** Parsing IAM policy documents and IAM's evaluation rules. */
class IamPolicyTest {
    static final String TOPIC = "arn:aws:kafka:us-east-1:" + TestKeys.ACCOUNT + ":topic/local/abcd-1234/";
    static final String GROUP_PREFIX = "arn:aws:kafka:us-east-1:" + TestKeys.ACCOUNT + ":group/local/abcd-1234/";
    static final String P = "arn:aws:iam::" + TestKeys.ACCOUNT + ":role/local-job";

    private static IamPolicy parse(String json) {
        return IamPolicy.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String parseError(String json) {
        return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
    }

    private static Decision decide(String json, String action, String arn) {
        return PolicyEvaluator.evaluate(parse(json).statementsFor(P), action, arn);
    }

    private static String doc(String... statements) {
        return "{\"Version\": \"2012-10-17\", \"Statement\": [" + String.join(",", statements) + "]}";
    }

    @Test
    void allowMatchesActionAndResource() {
        String policy = doc("{\"Sid\": \"Read\", \"Effect\": \"Allow\", \"Action\": \"kafka-cluster:ReadData\","
                + " \"Resource\": \"" + TOPIC + "orders\"}");
        assertEquals(new Decision(true, "Allow in statement Read"), decide(policy, "kafka-cluster:ReadData",
                TOPIC + "orders"));
        assertEquals(Decision.implicitDeny(), decide(policy, "kafka-cluster:WriteData", TOPIC + "orders"));
        assertEquals(Decision.implicitDeny(), decide(policy, "kafka-cluster:ReadData", TOPIC + "payments"));
    }

    @Test
    void explicitDenyWinsWhereverItIs() {
        String policy = doc(
                "{\"Effect\": \"Allow\", \"Action\": \"kafka-cluster:*\", \"Resource\": \"*\"}",
                "{\"Sid\": \"NoPayments\", \"Effect\": \"Deny\", \"Action\": [\"kafka-cluster:ReadData\"],"
                        + " \"Resource\": [\"" + TOPIC + "payments\"]}");
        assertEquals(Decision.deniedBy(new PolicyStatement("NoPayments", false, List.of(), false, List.of(), false)),
                decide(policy, "kafka-cluster:ReadData", TOPIC + "payments"));
        assertEquals("explicit Deny in statement NoPayments",
                decide(policy, "kafka-cluster:ReadData", TOPIC + "payments").reason());
        assertEquals(new Decision(true, "Allow in statement #1"),
                decide(policy, "kafka-cluster:ReadData", TOPIC + "orders"));
    }

    @Test
    void wildcardsStarAndQuestionMark() {
        String policy = doc("{\"Effect\": \"Allow\", \"Action\": \"kafka-cluster:*Topic*\","
                + " \"Resource\": \"" + TOPIC + "orders-?\"}");
        assertTrue(decide(policy, "kafka-cluster:DescribeTopic", TOPIC + "orders-1").allowed());
        assertTrue(decide(policy, "kafka-cluster:AlterTopicDynamicConfiguration", TOPIC + "orders-2").allowed());
        assertFalse(decide(policy, "kafka-cluster:DescribeTopic", TOPIC + "orders-10").allowed());
        assertFalse(decide(policy, "kafka-cluster:DescribeTopic", TOPIC + "orders-").allowed());
        assertFalse(decide(policy, "kafka-cluster:ReadData", TOPIC + "orders-1").allowed());
        String anyCluster = doc("{\"Effect\": \"Allow\", \"Action\": \"kafka-cluster:ReadData\","
                + " \"Resource\": \"arn:aws:kafka:*:" + TestKeys.ACCOUNT + ":topic/*/*/orders\"}");
        assertTrue(decide(anyCluster, "kafka-cluster:ReadData", TOPIC + "orders").allowed());
        assertFalse(decide(anyCluster, "kafka-cluster:ReadData", TOPIC + "orders2").allowed());
    }

    @Test
    void actionsAreCaseInsensitiveArnsAreNot() {
        String policy = doc("{\"Effect\": \"Allow\", \"Action\": \"KAFKA-CLUSTER:readdata\","
                + " \"Resource\": \"" + TOPIC + "Orders\"}");
        assertTrue(decide(policy, "kafka-cluster:ReadData", TOPIC + "Orders").allowed());
        assertFalse(decide(policy, "kafka-cluster:ReadData", TOPIC + "orders").allowed());
    }

    @Test
    void notActionAndNotResource() {
        String policy = doc(
                "{\"Effect\": \"Allow\", \"NotAction\": [\"kafka-cluster:Delete*\"], \"Resource\": \"" + TOPIC + "*\"}",
                "{\"Sid\": \"OnlyOrders\", \"Effect\": \"Deny\", \"Action\": \"kafka-cluster:WriteData\","
                        + " \"NotResource\": \"" + TOPIC + "orders\"}");
        assertTrue(decide(policy, "kafka-cluster:ReadData", TOPIC + "x").allowed());
        assertEquals(Decision.implicitDeny(), decide(policy, "kafka-cluster:DeleteTopic", TOPIC + "x"));
        assertTrue(decide(policy, "kafka-cluster:WriteData", TOPIC + "orders").allowed());
        assertEquals("explicit Deny in statement OnlyOrders",
                decide(policy, "kafka-cluster:WriteData", TOPIC + "payments").reason());
    }

    @Test
    void singleStatementObjectAndOtherServicesAreFine() {
        String policy = "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": [\"s3:GetObject\","
                + " \"kafka-cluster:Connect\"], \"Resource\": [\"arn:aws:s3:::${CodeBucket}/*\", \"*\"]}}";
        assertTrue(decide(policy, "kafka-cluster:Connect", "arn:aws:kafka:us-east-1:1:cluster/a/b").allowed());
        assertFalse(decide(policy, "kafka-cluster:ReadData", TOPIC + "x").allowed());
    }

    @Test
    void perPrincipalDocuments() {
        IamPolicy policy = parse("{\"" + P + "\": " + doc("{\"Effect\": \"Allow\", \"Action\": \"kafka-cluster:*\","
                + " \"Resource\": \"*\"}") + ", \"arn:aws:iam::" + TestKeys.ACCOUNT + ":role/other\": " + doc() + "}");
        assertTrue(PolicyEvaluator.evaluate(policy.statementsFor(P), "kafka-cluster:Connect", "x").allowed());
        assertFalse(PolicyEvaluator.evaluate(policy.statementsFor("arn:aws:iam::" + TestKeys.ACCOUNT + ":role/other"),
                "kafka-cluster:Connect", "x").allowed());
        assertFalse(PolicyEvaluator.evaluate(policy.statementsFor("arn:aws:iam::" + TestKeys.ACCOUNT + ":role/unknown"),
                "kafka-cluster:Connect", "x").allowed());
    }

    @Test
    void conditionIsRefusedNamingTheStatement() {
        assertEquals("policy: statement ReadTopics has a Condition, which this local MSK authorizer does not"
                + " evaluate; remove it (or the statement) rather than have it enforced without its condition",
                parseError(doc("{\"Effect\": \"Allow\", \"Action\": \"kafka-cluster:Connect\", \"Resource\": \"*\"}",
                        "{\"Sid\": \"ReadTopics\", \"Effect\": \"Allow\", \"Action\": \"kafka-cluster:ReadData\","
                                + " \"Resource\": \"*\", \"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"true\"}}}")));
        assertTrue(parseError(doc("{\"Effect\": \"Deny\", \"Action\": \"a\", \"Resource\": \"*\", \"Condition\": {}}"))
                .startsWith("policy: statement #1 has a Condition"));
    }

    @Test
    void malformedStatementsAreRefused() {
        assertEquals("policy: statement #1: Effect allow is not Allow or Deny",
                parseError(doc("{\"Effect\": \"allow\", \"Action\": \"a\", \"Resource\": \"*\"}")));
        assertEquals("policy: statement S must have exactly one of Action and NotAction",
                parseError(doc("{\"Sid\": \"S\", \"Effect\": \"Allow\", \"Action\": \"a\", \"NotAction\": \"b\","
                        + " \"Resource\": \"*\"}")));
        assertEquals("policy: statement #1 must have exactly one of Resource and NotResource",
                parseError(doc("{\"Effect\": \"Allow\", \"Action\": \"a\"}")));
        assertEquals("policy: statement #1: unknown key Actions",
                parseError(doc("{\"Effect\": \"Allow\", \"Actions\": \"a\", \"Action\": \"a\", \"Resource\": \"*\"}")));
        assertEquals("policy: statement #1 names a Principal; this file holds identity policies: put the document"
                + " under the principal's ARN instead",
                parseError(doc("{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"a\", \"Resource\": \"*\"}")));
        assertEquals("policy: statement #1: [] is not a string or a non-empty list of strings",
                parseError(doc("{\"Effect\": \"Allow\", \"Action\": [], \"Resource\": \"*\"}")));
        assertEquals("top-level key Statements is neither Statement nor a principal ARN mapped to a policy document",
                parseError("{\"Statements\": []}"));
        assertTrue(parseError("{\"Statement\": [").startsWith("not JSON"));
    }

    @Test
    void wildcardPrefixQuestions() {
        IntPredicate topicChar = ClusterArn.nameChar(ResourceType.TOPIC);
        IntPredicate anyChar = ClusterArn.nameChar(ResourceType.GROUP);
        assertTrue(Wildcard.mayMatchSomethingStartingWith("*", TOPIC, topicChar));
        assertTrue(Wildcard.mayMatchSomethingStartingWith(TOPIC + "orders", TOPIC, topicChar));
        assertTrue(Wildcard.mayMatchSomethingStartingWith("arn:aws:kafka:*:*:topic/*", TOPIC, topicChar));
        assertFalse(Wildcard.mayMatchSomethingStartingWith(TOPIC, TOPIC, topicChar), "empty topic name");
        // '*' spans ':' and '/', but no topic name holds them...
        assertFalse(Wildcard.mayMatchSomethingStartingWith("arn:aws:kafka:*:*:group/*", TOPIC, topicChar));
        // ...while a group id may.
        assertTrue(Wildcard.mayMatchSomethingStartingWith("arn:aws:kafka:*:*:topic/*", GROUP_PREFIX, anyChar));
        assertTrue(Wildcard.matchesEverythingStartingWith("*", TOPIC));
        assertTrue(Wildcard.matchesEverythingStartingWith(TOPIC + "*", TOPIC));
        assertTrue(Wildcard.matchesEverythingStartingWith("arn:aws:kafka:us-east-1:*", TOPIC));
        assertFalse(Wildcard.matchesEverythingStartingWith(TOPIC + "o*", TOPIC));
        assertFalse(Wildcard.matchesEverythingStartingWith(TOPIC, TOPIC));
    }
}
