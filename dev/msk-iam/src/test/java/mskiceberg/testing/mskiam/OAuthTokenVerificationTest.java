package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OAUTHBEARER tokens from aws-msk-iam-auth's IAMOAuthBearerLoginCallbackHandler (signed now) and
 * from aws-msk-iam-sasl-signer-python (the committed fixture, verified at its date).
 */
class OAuthTokenVerificationTest {
    private static final String MISMATCH = "signature does not match (wrong secret access key?)";

    @TempDir
    Path dir;
    private Path credentials;

    @BeforeEach
    void writeCredentials() throws Exception {
        credentials = TestKeys.writeCredentials(dir);
    }

    private VerifiedIdentity verify(Clock clock, String token) throws AuthenticationRefused {
        return TestKeys.verifier(credentials, clock).verifyOAuthToken(token);
    }

    private String refusal(Clock clock, String token) {
        return assertThrows(AuthenticationRefused.class, () -> verify(clock, token)).getMessage();
    }

    private String pythonRefusal(String url) {
        return refusal(PythonFixture.clock(), Payloads.token(url));
    }

    @Test
    void javaTokensVerify() throws Exception {
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL,
                verify(Clock.systemUTC(), JavaClient.oauthToken(TestKeys.LONG_TERM)).principal());
        VerifiedIdentity id = verify(Clock.systemUTC(), JavaClient.oauthToken(TestKeys.SESSION));
        assertEquals(TestKeys.SESSION_PRINCIPAL, id.principal());
        assertEquals(900, id.expiresAt().getEpochSecond() - id.signedAt().getEpochSecond());
    }

    @Test
    void pythonTokensVerifyAtTheirDate() throws Exception {
        VerifiedIdentity id = verify(PythonFixture.clock(), PythonFixture.token());
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, id.principal());
        assertEquals(PythonFixture.SIGNED_AT, id.signedAt());
        // The same expiry the Python signer reports to its caller.
        assertEquals(PythonFixture.expiryMs("token"), id.expiresAt().toEpochMilli());
        assertEquals(TestKeys.SESSION_PRINCIPAL,
                verify(PythonFixture.clock(), PythonFixture.tokenWithSessionToken()).principal());
    }

    @Test
    void pythonTokenExpiredLaterAndNotYetValidEarlier() {
        Instant now = PythonFixture.SIGNED_AT.plusSeconds(901);
        assertEquals("signature expired at 2025-01-15T12:15:00Z (signed 2025-01-15T12:00:00Z for 900 s; now "
                + "2025-01-15T12:15:01Z)", refusal(Clock.fixed(now, ZoneOffset.UTC), PythonFixture.token()));
        assertEquals("dated 2025-01-15T12:00:00Z in the future (clock skew > 5 min; now 2025-01-15T11:54:59Z)",
                refusal(Clock.fixed(PythonFixture.SIGNED_AT.minusSeconds(301), ZoneOffset.UTC), PythonFixture.token()));
    }

    @Test
    void paddedTokenIsAcceptedToo() throws Exception {
        String token = PythonFixture.token();
        String padded = token + "=".repeat((4 - token.length() % 4) % 4);
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, verify(PythonFixture.clock(), padded).principal());
    }

    @Test
    void userAgentIsNotSigned() throws Exception {
        String url = Payloads.withRawParam(Payloads.url(PythonFixture.token()), "User-Agent", "curl%2F8");
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, verify(PythonFixture.clock(), Payloads.token(url)).principal());
    }

    @Test
    void tamperedPythonTokensAreRefused() {
        String url = Payloads.url(PythonFixture.token());
        String sig = Payloads.rawParam(url, "X-Amz-Signature");
        assertEquals(MISMATCH, pythonRefusal(Payloads.withRawParam(url, "X-Amz-Signature",
                (sig.charAt(0) == '0' ? "1" : "0") + sig.substring(1))));
        assertEquals("region us-west-2 is not this cluster's region us-east-1", pythonRefusal(Payloads.withRawParam(
                url, "X-Amz-Credential", "LOCALTESTKEYID01%2F20250115%2Fus-west-2%2Fkafka-cluster%2Faws4_request")));
        assertEquals("unknown access key id LOCALTESTKEYID09", pythonRefusal(Payloads.withRawParam(
                url, "X-Amz-Credential", "LOCALTESTKEYID09%2F20250115%2Fus-east-1%2Fkafka-cluster%2Faws4_request")));
        assertEquals("action kafka-cluster:DescribeCluster is not kafka-cluster:Connect",
                pythonRefusal(Payloads.withRawParam(url, "Action", "kafka-cluster%3ADescribeCluster")));
        assertEquals("x-amz-expires 901 is not between 1 and 900 seconds",
                pythonRefusal(Payloads.withRawParam(url, "X-Amz-Expires", "901")));
        assertEquals(MISMATCH, pythonRefusal(Payloads.withRawParam(url, "X-Amz-Expires", "899")));
        assertEquals("signed headers host;x-amz-date are not exactly host",
                pythonRefusal(Payloads.withRawParam(url, "X-Amz-SignedHeaders", "host%3Bx-amz-date")));
        assertEquals("host kafka.us-west-2.amazonaws.com is not kafka.us-east-1.amazonaws.com",
                pythonRefusal(url.replace("kafka.us-east-1.amazonaws.com", "kafka.us-west-2.amazonaws.com")));
        assertEquals("token URL path /other is not /", pythonRefusal(url.replace(".com/?", ".com/other?")));
        assertEquals("token URL http://kafka.us-east-1.amazonaws.com is not https://<host> without port, user or"
                + " fragment", pythonRefusal(url.replace("https://", "http://")));
        assertEquals("OAUTHBEARER token has no X-Amz-Date",
                pythonRefusal(url.replace("X-Amz-Date=20250115T120000Z&", "")));
        assertEquals(MISMATCH, pythonRefusal(url + "&Extra=1"));
        assertEquals("token URL repeats the query parameter Action",
                pythonRefusal(url + "&Action=kafka-cluster%3AConnect"));
        assertEquals("token is not a URL: Malformed escape pair at index 59",
                pythonRefusal(Payloads.withRawParam(url, "Action", "kafka-cluster%3")));
    }

    @Test
    void tamperedSessionTokens() {
        String url = Payloads.url(PythonFixture.tokenWithSessionToken());
        assertEquals("session token does not match the one issued with access key LOCALTESTKEYID02",
                pythonRefusal(Payloads.withRawParam(url, "X-Amz-Security-Token", "forged")));
        String without = url.replace("X-Amz-Security-Token=" + Payloads.rawParam(url, "X-Amz-Security-Token") + "&", "");
        assertEquals("no session token presented, but access key LOCALTESTKEYID02 was issued with one",
                pythonRefusal(without));
    }

    @Test
    void tamperedJavaToken() throws Exception {
        String url = Payloads.url(JavaClient.oauthToken(TestKeys.LONG_TERM));
        String date = Payloads.rawParam(url, "X-Amz-Date");
        String otherDay = SigV4.AMZ_DATE.format(Payloads.signedAt(date).minusSeconds(86_400));
        assertEquals("credential scope date " + date.substring(0, 8) + " is not the day of x-amz-date " + otherDay,
                refusal(Clock.systemUTC(), Payloads.token(Payloads.withRawParam(url, "X-Amz-Date", otherDay))));
        TestKeys.writeCredentials(dir, "not-the-secret");
        assertEquals(MISMATCH, refusal(Clock.systemUTC(), Payloads.token(url)));
    }

    @Test
    void garbage() {
        assertTrue(refusal(Clock.systemUTC(), "not base64!").startsWith("token is not base64url"));
        assertEquals("token URL path /x is not /", refusal(Clock.systemUTC(), Payloads.token("https://h/x")));
    }
}
