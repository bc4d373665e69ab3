package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.spi.LoginModule;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.SecurityProviderCreator;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.apache.kafka.server.authorizer.Authorizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.msk.auth.iam.internals.IAMSaslClient;

/**
 * The server.properties lines of README.md (broker-example.properties) taken as the broker takes
 * them: JAAS strings through Kafka's JaasContext, classes by name, the entries into the handlers.
 */
class BrokerConfigExampleTest {
    @TempDir
    Path dir;

    private Properties example() throws Exception {
        try (InputStream in = getClass().getResourceAsStream("/broker-example.properties")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("@DIR@", dir.toString());
            Properties p = new Properties();
            p.load(new StringReader(text));
            return p;
        }
    }

    /** What SaslChannelBuilder does: the listener's configs, prefix stripped, into JaasContext. */
    private static List<AppConfigurationEntry> jaas(Properties p, String mechanism) {
        String key = mechanism.toLowerCase() + ".sasl.jaas.config";
        Map<String, Object> listenerConfigs = Map.of(key, new Password(p.getProperty("listener.name.sasl_ssl." + key)));
        return JaasContext.loadServerContext(new ListenerName("SASL_SSL"), mechanism, listenerConfigs)
                .configurationEntries();
    }

    private static <T> T instance(Properties p, String key, Class<T> type) throws Exception {
        return type.cast(Class.forName(p.getProperty(key)).getDeclaredConstructor().newInstance());
    }

    @Test
    void theExampleLinesWork() throws Exception {
        Properties p = example();
        TestKeys.writeCredentials(dir);
        Files.writeString(dir.resolve("policy.json"), "{\"Version\": \"2012-10-17\", \"Statement\": []}");
        assertEquals("AWS_MSK_IAM,OAUTHBEARER", p.getProperty("listener.name.sasl_ssl.sasl.enabled.mechanisms"));
        assertInstanceOf(IamSaslProvider.class,
                instance(p, "security.providers", SecurityProviderCreator.class).getProvider());

        List<AppConfigurationEntry> iamEntries = jaas(p, "AWS_MSK_IAM");
        assertEquals(IamServerLoginModule.class.getName(), iamEntries.get(0).getLoginModuleName());
        assertEquals("localhost,127.0.0.1", iamEntries.get(0).getOptions().get("hosts"));
        LoginModule login = (LoginModule) Class.forName(iamEntries.get(0).getLoginModuleName())
                .getDeclaredConstructor().newInstance();
        login.initialize(new Subject(), null, new HashMap<>(), iamEntries.get(0).getOptions());
        assertTrue(login.login());
        AuthenticateCallbackHandler iam = instance(p,
                "listener.name.sasl_ssl.aws_msk_iam.sasl.server.callback.handler.class", AuthenticateCallbackHandler.class);
        iam.configure(Map.of(), "AWS_MSK_IAM", iamEntries);
        IamSaslServer server = new IamSaslServer(iam);
        IAMSaslClient client = JavaClient.saslClient("127.0.0.1", TestKeys.LONG_TERM);
        server.evaluateResponse(client.evaluateChallenge(new byte[0]));
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, server.getAuthorizationID());

        List<AppConfigurationEntry> oauthEntries = jaas(p, "OAUTHBEARER");
        AuthenticateCallbackHandler oauth = instance(p,
                "listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class", AuthenticateCallbackHandler.class);
        oauth.configure(Map.of(), "OAUTHBEARER", oauthEntries);
        OAuthBearerValidatorCallback callback = new OAuthBearerValidatorCallback(JavaClient.oauthToken(TestKeys.SESSION));
        oauth.handle(new Callback[] {callback});
        assertEquals(TestKeys.SESSION_PRINCIPAL, callback.token().principalName());
        AuthenticateCallbackHandler noToken = instance(p,
                "listener.name.sasl_ssl.oauthbearer.sasl.login.callback.handler.class", AuthenticateCallbackHandler.class);
        assertInstanceOf(NoTokenLoginCallbackHandler.class, noToken);

        Authorizer authorizer = instance(p, "authorizer.class.name", Authorizer.class);
        Map<String, Object> originals = new HashMap<>();
        p.forEach((k, v) -> originals.put(k.toString(), v));
        authorizer.configure(originals); // Kafka hands the authorizer all the broker's original configs
        MskIamAuthorizer msk = (MskIamAuthorizer) authorizer;
        assertNull(msk.check(new MskIamAuthorizerTest.Context("CONTROLLER",
                KafkaPrincipal.ANONYMOUS), MskIamAuthorizerTest.action(
                ResourceType.CLUSTER, "kafka-cluster",
                AclOperation.CLUSTER_ACTION)));
        assertEquals("DENIED principal=" + TestKeys.LONG_TERM_PRINCIPAL + " action=kafka-cluster:Connect resource="
                + "arn:aws:kafka:us-east-1:" + TestKeys.ACCOUNT + ":cluster/local/11111111-2222-3333-4444-555555555555-1"
                + " (no Allow statement)", msk.check(new MskIamAuthorizerTest.Context("SASL_SSL",
                new KafkaPrincipal("User", TestKeys.LONG_TERM_PRINCIPAL)),
                MskIamAuthorizerTest.action(ResourceType.TOPIC, "orders",
                        AclOperation.READ)).line());
    }
}
