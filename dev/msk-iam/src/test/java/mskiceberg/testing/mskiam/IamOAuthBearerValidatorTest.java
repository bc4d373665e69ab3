package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.Callback;
import javax.security.auth.login.LoginException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.internals.OAuthBearerSaslServer;
import org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredLoginCallbackHandler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OAUTHBEARER validator, directly and inside Kafka's own OAuthBearerSaslServer. */
class IamOAuthBearerValidatorTest {
    @TempDir
    Path dir;
    private Map<String, String> options;

    @BeforeEach
    void writeCredentials() throws Exception {
        Path credentials = TestKeys.writeCredentials(dir);
        options = Map.of("credentials.file", credentials.toString(), "region", TestKeys.REGION);
    }

    private IamOAuthBearerValidator validator(Clock clock) {
        IamOAuthBearerValidator v = new IamOAuthBearerValidator(clock);
        v.configure(Map.of(), "OAUTHBEARER", TestKeys.jaas(OAuthBearerLoginModule.class.getName(), options));
        return v;
    }

    @Test
    void verifiedTokenCarriesThePrincipalAndTheSignatureLifetime() throws Exception {
        OAuthBearerValidatorCallback callback = new OAuthBearerValidatorCallback(PythonFixture.token());
        validator(PythonFixture.clock()).handle(new Callback[] {callback});
        OAuthBearerToken token = callback.token();
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, token.principalName());
        assertEquals(PythonFixture.expiryMs("token"), token.lifetimeMs());
        assertEquals(PythonFixture.SIGNED_AT.toEpochMilli(), token.startTimeMs());
        assertEquals(PythonFixture.token(), token.value());
        assertTrue(token.scope().isEmpty());
        assertNull(callback.errorStatus());
    }

    @Test
    void refusedTokenIsInvalidToken() throws Exception {
        OAuthBearerValidatorCallback callback = new OAuthBearerValidatorCallback(PythonFixture.token());
        validator(Clock.systemUTC()).handle(new Callback[] {callback}); // years after it expired
        assertNull(callback.token());
        assertEquals("invalid_token", callback.errorStatus());
        assertNull(callback.errorScope());
        assertNull(callback.errorOpenIDConfiguration());
    }

    private static byte[] clientFirstMessage(String token) {
        return ("n,,\u0001auth=Bearer " + token + "\u0001\u0001").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void kafkasOAuthBearerSaslServerAcceptsAJavaToken() throws Exception {
        OAuthBearerSaslServer server = new OAuthBearerSaslServer(validator(Clock.systemUTC()));
        byte[] reply = server.evaluateResponse(clientFirstMessage(JavaClient.oauthToken(TestKeys.SESSION)));
        assertEquals(0, reply.length);
        assertTrue(server.isComplete());
        assertEquals(TestKeys.SESSION_PRINCIPAL, server.getAuthorizationID());
    }

    @Test
    void kafkasOAuthBearerSaslServerRefusesAForgedToken() throws Exception {
        String url = Payloads.url(PythonFixture.token());
        String forged = Payloads.token(Payloads.withRawParam(url, "X-Amz-Signature", "00" + Payloads.rawParam(url,
                "X-Amz-Signature").substring(2)));
        OAuthBearerSaslServer server = new OAuthBearerSaslServer(validator(PythonFixture.clock()));
        String challenge = new String(server.evaluateResponse(clientFirstMessage(forged)), StandardCharsets.UTF_8);
        assertEquals("{\"status\":\"invalid_token\"}", challenge);
        assertThrows(SaslAuthenticationException.class,
                () -> server.evaluateResponse(new byte[] {1}));
    }

    @Test
    void brokerLoginWithOurOptionsNeedsTheNoTokenHandler() throws Exception {
        Map<String, String> jaasOptions = new HashMap<>(options);
        OAuthBearerLoginModule module = new OAuthBearerLoginModule();
        NoTokenLoginCallbackHandler noToken = new NoTokenLoginCallbackHandler();
        noToken.configure(Map.of(), "OAUTHBEARER", TestKeys.jaas(OAuthBearerLoginModule.class.getName(), jaasOptions));
        module.initialize(new Subject(), noToken, Map.of(), jaasOptions);
        assertTrue(module.login());
        assertTrue(module.commit());

        // Kafka's default login handler refuses these options, which would stop the broker.
        OAuthBearerUnsecuredLoginCallbackHandler unsecured = new OAuthBearerUnsecuredLoginCallbackHandler();
        unsecured.configure(Map.of(), "OAUTHBEARER", TestKeys.jaas(OAuthBearerLoginModule.class.getName(), jaasOptions));
        OAuthBearerLoginModule defaultModule = new OAuthBearerLoginModule();
        defaultModule.initialize(new Subject(), unsecured, Map.of(), jaasOptions);
        assertThrows(LoginException.class, defaultModule::login);
    }
}
