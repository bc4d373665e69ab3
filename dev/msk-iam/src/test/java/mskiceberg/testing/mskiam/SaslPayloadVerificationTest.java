package mskiceberg.testing.mskiam;

import static mskiceberg.testing.mskiam.TestKeys.BROKER_HOST;
import static mskiceberg.testing.mskiam.TestKeys.LONG_TERM;
import static mskiceberg.testing.mskiam.TestKeys.SESSION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;

/** AWS_MSK_IAM payloads made by the real aws-msk-iam-auth client, verified and tampered with. */
class SaslPayloadVerificationTest {
    private static final String MISMATCH = "signature does not match (wrong secret access key?)";

    @TempDir
    Path dir;
    private Path credentials;

    @BeforeEach
    void writeCredentials() throws Exception {
        credentials = TestKeys.writeCredentials(dir);
    }

    private VerifiedIdentity verifyNow(byte[] payload) throws AuthenticationRefused {
        return TestKeys.verifier(credentials, Clock.systemUTC()).verifySaslPayload(payload);
    }

    private String refusalNow(byte[] payload) {
        return refusal(Clock.systemUTC(), payload);
    }

    private String refusal(Clock clock, byte[] payload) {
        return assertThrows(AuthenticationRefused.class,
                () -> TestKeys.verifier(credentials, clock).verifySaslPayload(payload)).getMessage();
    }

    @Test
    void longTermKeyPayloadVerifies() throws Exception {
        VerifiedIdentity id = verifyNow(JavaClient.saslPayload(BROKER_HOST, LONG_TERM));
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, id.principal());
        assertEquals(TestKeys.LONG_TERM_KEY, id.accessKeyId());
        assertEquals(Duration.ofSeconds(900), Duration.between(id.signedAt(), id.expiresAt()));
    }

    @Test
    void sessionCredentialsPayloadVerifies() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, SESSION);
        assertEquals(TestKeys.SESSION_TOKEN, Payloads.field(payload, "x-amz-security-token"));
        assertEquals(TestKeys.SESSION_PRINCIPAL, verifyNow(payload).principal());
    }

    @Test
    void payloadForAnyConfiguredHostVerifies() throws Exception {
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL,
                verifyNow(JavaClient.saslPayload(TestKeys.OTHER_BROKER_HOST, LONG_TERM)).principal());
    }

    @Test
    void userAgentIsNotSigned() throws Exception {
        byte[] payload = Payloads.with(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), "user-agent", "something/else");
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, verifyNow(payload).principal());
    }

    static Stream<Arguments> tamperedFields() {
        return Stream.of(
                Arguments.of("host", "evil.example.com",
                        "host evil.example.com is not this broker (its hosts: localhost, broker-1.local.test)"),
                Arguments.of("action", "kafka-cluster:ReadData",
                        "action kafka-cluster:ReadData is not kafka-cluster:Connect"),
                Arguments.of("x-amz-algorithm", "AWS4-HMAC-SHA512",
                        "algorithm AWS4-HMAC-SHA512 is not AWS4-HMAC-SHA256"),
                Arguments.of("x-amz-signedheaders", "host;x-amz-date",
                        "signed headers host;x-amz-date are not exactly host"),
                Arguments.of("x-amz-expires", "3600", "x-amz-expires 3600 is not between 1 and 900 seconds"),
                Arguments.of("x-amz-expires", "0", "x-amz-expires 0 is not between 1 and 900 seconds"),
                Arguments.of("x-amz-expires", "600", MISMATCH),
                Arguments.of("version", "2019_01_01", "payload version 2019_01_01 is not 2020_10_22"),
                Arguments.of("x-amz-date", null, "AWS_MSK_IAM payload has no X-Amz-Date"),
                Arguments.of("x-amz-signature", null, "AWS_MSK_IAM payload has no X-Amz-Signature"),
                Arguments.of("x-amz-foo", "bar", "payload has an unexpected field x-amz-foo"),
                Arguments.of("x-amz-security-token", "a-token",
                        "a session token was presented, but access key LOCALTESTKEYID01 is a long-term key without one"));
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("tamperedFields")
    void tamperedFieldIsRefusedWithItsReason(String field, String value, String reason) throws Exception {
        assertEquals(reason, refusalNow(Payloads.with(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), field, value)));
    }

    @Test
    void tamperedSignatureIsRefused() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        String sig = Payloads.field(payload, "x-amz-signature");
        String flipped = (sig.charAt(0) == '0' ? "1" : "0") + sig.substring(1);
        assertEquals(MISMATCH, refusalNow(Payloads.with(payload, "x-amz-signature", flipped)));
    }

    /** Replaces one part of the credential scope <key>/<date>/<region>/<service>/aws4_request. */
    private static byte[] withScopePart(byte[] payload, int part, String value) {
        String[] scope = Payloads.field(payload, "x-amz-credential").split("/");
        scope[part] = value;
        return Payloads.with(payload, "x-amz-credential", String.join("/", scope));
    }

    @Test
    void credentialKeyIdTamperedIsUnknown() throws Exception {
        assertEquals("unknown access key id NOSUCHKEYID",
                refusalNow(withScopePart(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), 0, "NOSUCHKEYID")));
    }

    @Test
    void otherKnownKeyIdTamperedDoesNotMatch() throws Exception {
        // Same secret would be needed; the signature of key 01 does not verify as key 02.
        byte[] payload = Payloads.with(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), "x-amz-security-token",
                TestKeys.SESSION_TOKEN);
        assertEquals(MISMATCH, refusalNow(withScopePart(payload, 0, TestKeys.SESSION_KEY)));
    }

    @Test
    void credentialRegionTamperedIsNotThisCluster() throws Exception {
        assertEquals("region us-west-2 is not this cluster's region us-east-1",
                refusalNow(withScopePart(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), 2, "us-west-2")));
    }

    @Test
    void credentialServiceTamperedIsNotKafkaCluster() throws Exception {
        assertEquals("service kafka is not kafka-cluster",
                refusalNow(withScopePart(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), 3, "kafka")));
    }

    @Test
    void credentialTerminatorTampered() throws Exception {
        assertEquals("credential scope ends in aws5_request, not aws4_request",
                refusalNow(withScopePart(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), 4, "aws5_request")));
    }

    @Test
    void credentialWithoutScope() throws Exception {
        assertEquals("credential LOCALTESTKEYID01 is not <access key id>/<yyyyMMdd>/<region>/kafka-cluster/aws4_request",
                refusalNow(Payloads.with(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), "x-amz-credential",
                        TestKeys.LONG_TERM_KEY)));
    }

    @Test
    void dateOfAnotherDayThanTheScopeIsRefused() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        String scopeDay = Payloads.field(payload, "x-amz-credential").split("/")[1];
        String otherDay = SigV4.AMZ_DATE.format(Payloads.signedAt(Payloads.field(payload, "x-amz-date"))
                .minus(Duration.ofDays(1)));
        assertEquals("credential scope date " + scopeDay + " is not the day of x-amz-date " + otherDay,
                refusalNow(Payloads.with(payload, "x-amz-date", otherDay)));
    }

    @Test
    void dateMovedWithinTheDayBreaksTheSignature() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        Instant at = Payloads.signedAt(Payloads.field(payload, "x-amz-date"));
        Instant moved = at.atZone(ZoneOffset.UTC).getHour() == 0 ? at.plusSeconds(1) : at.minusSeconds(1);
        assertEquals(MISMATCH, refusalNow(Payloads.with(payload, "x-amz-date", SigV4.AMZ_DATE.format(moved))));
    }

    @Test
    void malformedDate() throws Exception {
        assertEquals("x-amz-date 2025-01-15T12:00:00Z is not yyyyMMdd'T'HHmmss'Z'",
                refusalNow(Payloads.with(JavaClient.saslPayload(BROKER_HOST, LONG_TERM), "x-amz-date",
                        "2025-01-15T12:00:00Z")));
    }

    @Test
    void sessionTokenTamperedOrMissing() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, SESSION);
        assertEquals("session token does not match the one issued with access key LOCALTESTKEYID02",
                refusalNow(Payloads.with(payload, "x-amz-security-token", TestKeys.SESSION_TOKEN + "x")));
        assertEquals("no session token presented, but access key LOCALTESTKEYID02 was issued with one",
                refusalNow(Payloads.with(payload, "x-amz-security-token", null)));
    }

    @Test
    void wrongSecretAccessKey() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        TestKeys.writeCredentials(dir, "some-other-secret");
        assertEquals(MISMATCH, refusalNow(payload));
    }

    @Test
    void expiredOneSecondAfterExpiresAndNotBefore() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        Instant signed = Payloads.signedAt(Payloads.field(payload, "x-amz-date"));
        Instant now = signed.plusSeconds(901);
        assertEquals("signature expired at " + signed.plusSeconds(900) + " (signed " + signed
                        + " for 900 s; now " + now + ")",
                refusal(Clock.fixed(now, ZoneOffset.UTC), payload));
        TestKeys.verifier(credentials, Clock.fixed(signed.plusSeconds(900), ZoneOffset.UTC)).verifySaslPayload(payload);
    }

    @Test
    void datedInTheFutureBeyondFiveMinutesAndNotWithin() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        Instant signed = Payloads.signedAt(Payloads.field(payload, "x-amz-date"));
        Instant now = signed.minus(Duration.ofMinutes(5)).minusSeconds(1);
        assertEquals("dated " + signed + " in the future (clock skew > 5 min; now " + now + ")",
                refusal(Clock.fixed(now, ZoneOffset.UTC), payload));
        TestKeys.verifier(credentials, Clock.fixed(signed.minus(Duration.ofMinutes(5)), ZoneOffset.UTC))
                .verifySaslPayload(payload);
    }

    @Test
    void notJson() {
        assertEquals("payload is not a JSON object",
                refusalNow("[1,2]".getBytes(StandardCharsets.UTF_8)));
        assertEquals("payload field host is not a string",
                refusalNow("{\"version\":\"2020_10_22\",\"host\":1}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void rotatedSecretTakesEffectWithoutRestart() throws Exception {
        SignatureVerifier verifier = TestKeys.verifier(credentials, Clock.systemUTC());
        byte[] before = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        verifier.verifySaslPayload(before);
        TestKeys.writeCredentials(dir, "rotated-secret-0001");
        Files.setLastModifiedTime(credentials, FileTime.from(Instant.now().plusSeconds(5)));
        assertEquals(MISMATCH, assertThrows(AuthenticationRefused.class, () -> verifier.verifySaslPayload(before))
                .getMessage());
        byte[] after = JavaClient.saslPayload(BROKER_HOST,
                AwsBasicCredentials.create(TestKeys.LONG_TERM_KEY,
                        "rotated-secret-0001"));
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, verifier.verifySaslPayload(after).principal());
    }

    @Test
    void brokenCredentialsFileRefusesWithItsProblem() throws Exception {
        byte[] payload = JavaClient.saslPayload(BROKER_HOST, LONG_TERM);
        Files.writeString(credentials, "{\"" + TestKeys.LONG_TERM_KEY + "\": {\"secretAccessKey\": \"x\"}}");
        assertEquals("credentials file " + credentials + " cannot be loaded: access key LOCALTESTKEYID01: principal"
                + " is missing", refusalNow(payload));
    }
}
