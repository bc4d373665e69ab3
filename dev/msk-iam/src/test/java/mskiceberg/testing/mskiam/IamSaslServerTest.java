package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.Security;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.utils.SecurityUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.msk.auth.iam.internals.IAMSaslClient;

/** The AWS_MSK_IAM SaslServer, as Kafka creates it, against the real IAMSaslClient. */
class IamSaslServerTest {
    private static final String UUID_RE = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

    @TempDir
    Path dir;
    private Path credentials;
    private IamServerCallbackHandler handler;

    @BeforeAll
    static void installProviderAsKafkaDoes() {
        // What the broker does with security.providers at start-up.
        SecurityUtils.addConfiguredSecurityProviders(
                Map.of("security.providers", IamSecurityProviderCreator.class.getName()));
        assertNotNull(Security.getProvider("LocalMskIam"));
    }

    @BeforeEach
    void configureHandler() throws Exception {
        credentials = TestKeys.writeCredentials(dir);
        handler = new IamServerCallbackHandler();
        handler.configure(Map.of(), "AWS_MSK_IAM",
                TestKeys.jaas(IamServerLoginModule.class.getName(), TestKeys.jaasOptions(credentials)));
    }

    private SaslServer newServer() throws SaslException {
        // The call SaslServerAuthenticator makes.
        SaslServer server = Sasl.createSaslServer("AWS_MSK_IAM", "kafka", "localhost", new HashMap<>(), handler);
        assertInstanceOf(IamSaslServer.class, server);
        return server;
    }

    @Test
    void realClientAuthenticatesAndAcceptsTheResponse() throws Exception {
        SaslServer server = newServer();
        IAMSaslClient client = JavaClient.saslClient("localhost", TestKeys.SESSION);
        byte[] response = server.evaluateResponse(client.evaluateChallenge(new byte[0]));

        assertTrue(server.isComplete());
        assertEquals(TestKeys.SESSION_PRINCIPAL, server.getAuthorizationID());
        JsonNode json = new ObjectMapper().readTree(response);
        List<String> keys = new ArrayList<>();
        json.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("version", "request-id"), keys);
        assertEquals("2020_10_22", json.get("version").textValue());
        assertTrue(json.get("request-id").textValue().matches(UUID_RE), json.toString());

        assertNull(client.evaluateChallenge(response));
        assertTrue(client.isComplete());
        assertEquals(json.get("request-id").textValue(), client.getResponseRequestId());
        assertNull(server.getNegotiatedProperty("CREDENTIAL.LIFETIME.MS"));
    }

    @Test
    void refusalIsAnMskStyleAccessDeniedWithTheReason() throws Exception {
        TestKeys.writeCredentials(dir, "another-secret");
        SaslServer server = newServer();
        byte[] payload = JavaClient.saslPayload("localhost", TestKeys.LONG_TERM);
        SaslAuthenticationException e = assertThrows(SaslAuthenticationException.class,
                () -> server.evaluateResponse(payload));
        assertTrue(e.getMessage().matches("\\[" + UUID_RE
                + "\\]: Access denied: signature does not match \\(wrong secret access key\\?\\)"), e.getMessage());
        assertFalse(server.isComplete());
        assertThrows(IllegalStateException.class, server::getAuthorizationID);
    }

    @Test
    void refusalForAHostThatIsNotThisBroker() throws Exception {
        byte[] payload = JavaClient.saslPayload("b-1.other.kafka.us-east-1.amazonaws.com", TestKeys.LONG_TERM);
        String message = assertThrows(SaslAuthenticationException.class, () -> newServer().evaluateResponse(payload))
                .getMessage();
        assertTrue(message.endsWith("]: Access denied: host b-1.other.kafka.us-east-1.amazonaws.com is not this broker"
                + " (its hosts: localhost, broker-1.local.test)"), message);
    }

    @Test
    void theClientRejectsAnyOtherResponseShape() throws Exception {
        // Why the success response has exactly two keys and this version.
        IAMSaslClient extraKey = JavaClient.saslClient("localhost", TestKeys.LONG_TERM);
        extraKey.evaluateChallenge(new byte[0]);
        assertThrows(SaslException.class, () -> extraKey.evaluateChallenge(
                "{\"version\":\"2020_10_22\",\"request-id\":\"r\",\"principal\":\"p\"}".getBytes(StandardCharsets.UTF_8)));
        IAMSaslClient otherVersion = JavaClient.saslClient("localhost", TestKeys.LONG_TERM);
        otherVersion.evaluateChallenge(new byte[0]);
        assertThrows(SaslException.class, () -> otherVersion.evaluateChallenge(
                "{\"version\":\"2021_01_01\",\"request-id\":\"r\"}".getBytes(StandardCharsets.UTF_8)));
        IAMSaslClient ours = JavaClient.saslClient("localhost", TestKeys.LONG_TERM);
        ours.evaluateChallenge(new byte[0]);
        assertNull(ours.evaluateChallenge(IamSaslServer.successResponse("abc")));
        assertEquals("abc", ours.getResponseRequestId());
    }

    @Test
    void secondResponseAfterCompletionIsAnError() throws Exception {
        SaslServer server = newServer();
        server.evaluateResponse(JavaClient.saslPayload("localhost", TestKeys.LONG_TERM));
        assertThrows(IllegalStateException.class, () -> server.evaluateResponse(new byte[0]));
    }

    @Test
    void jaasOptionsAreRequired() {
        IamServerCallbackHandler h = new IamServerCallbackHandler();
        Map<String, String> noHosts = Map.of("credentials.file", credentials.toString(), "region", "us-east-1");
        assertEquals("JAAS option hosts (comma-separated broker host names) is missing for AWS_MSK_IAM",
                assertThrows(ConfigException.class, () -> h.configure(Map.of(), "AWS_MSK_IAM",
                        TestKeys.jaas(IamServerLoginModule.class.getName(), noHosts))).getMessage());
        Map<String, String> noRegion = Map.of("credentials.file", credentials.toString(), "hosts", "localhost");
        assertEquals("JAAS option region is missing for AWS_MSK_IAM",
                assertThrows(ConfigException.class, () -> h.configure(Map.of(), "AWS_MSK_IAM",
                        TestKeys.jaas(IamServerLoginModule.class.getName(), noRegion))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> h.configure(Map.of(), "PLAIN",
                TestKeys.jaas(IamServerLoginModule.class.getName(), TestKeys.jaasOptions(credentials))));
    }

    @Test
    void factoryAndLoginModule() throws Exception {
        IamSaslServerFactory factory = new IamSaslServerFactory();
        assertEquals(List.of("AWS_MSK_IAM"), List.of(factory.getMechanismNames(Map.of())));
        assertThrows(SaslException.class, () -> factory.createSaslServer("PLAIN", "kafka", "h", Map.of(), handler));
        IamServerLoginModule module = new IamServerLoginModule();
        module.initialize(new javax.security.auth.Subject(), null, Map.of(), Map.of());
        assertTrue(module.login() && module.commit() && module.logout());
    }
}
