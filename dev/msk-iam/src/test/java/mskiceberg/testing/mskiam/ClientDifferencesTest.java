package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Proves, on messages the real clients made, how each one builds its canonical request, and that
 * the plausible alternatives (UNSIGNED-PAYLOAD, session token outside the signature, ':' or '/'
 * unencoded, User-Agent signed) do not reproduce their signatures. README.md lists the results.
 */
class ClientDifferencesTest {

    /** The signature of a request under a given payload hash and canonical query. */
    private static String sign(SignedRequest r, String secret, String payloadHash, String canonicalQuery) {
        String[] scope = r.param(SignedRequest.CREDENTIAL).split("/");
        String canonical = SigV4.canonicalRequest("/", canonicalQuery, r.host(), payloadHash);
        return SigV4.signature(secret, scope[1], scope[2], scope[3], SigV4.stringToSign(r.param(SignedRequest.DATE),
                scope[1] + "/" + scope[2] + "/" + scope[3] + "/" + scope[4], canonical));
    }

    private static void assertCanonicalForm(SignedRequest r, String secret) {
        String query = SigV4.canonicalQuery(r.signedQuery());
        assertEquals(r.signature(), sign(r, secret, SigV4.EMPTY_BODY_SHA256, query),
                "SHA-256 of the empty body, every X-Amz-* but the signature in the query");
        assertNotEquals(r.signature(), sign(r, secret, SigV4.UNSIGNED_PAYLOAD, query), "UNSIGNED-PAYLOAD");
        Map<String, String> withoutToken = new LinkedHashMap<>(r.signedQuery());
        if (withoutToken.remove(SignedRequest.SECURITY_TOKEN) != null) {
            assertNotEquals(r.signature(), sign(r, secret, SigV4.EMPTY_BODY_SHA256,
                    SigV4.canonicalQuery(withoutToken)), "security token outside the signed query");
        }
        String colonAndSlashUnencoded = r.signedQuery().entrySet().stream()
                .map(e -> SigV4.uriEncode(e.getKey()) + "=" + SigV4.uriEncode(e.getValue()).replace("%3A", ":")
                        .replace("%2F", "/"))
                .sorted().collect(Collectors.joining("&"));
        assertNotEquals(r.signature(), sign(r, secret, SigV4.EMPTY_BODY_SHA256, colonAndSlashUnencoded),
                "':' and '/' left unencoded in the canonical query");
        if (r.userAgent() != null) {
            Map<String, String> withUserAgent = new LinkedHashMap<>(r.signedQuery());
            withUserAgent.put(SignedRequest.USER_AGENT, r.userAgent());
            assertNotEquals(r.signature(), sign(r, secret, SigV4.EMPTY_BODY_SHA256,
                    SigV4.canonicalQuery(withUserAgent)), "User-Agent signed");
        }
    }

    @Test
    void javaSaslPayloadCanonicalForm() throws Exception {
        SignedRequest r = SignedRequestParser.fromSaslPayload(JavaClient.saslPayload("localhost", TestKeys.SESSION));
        assertCanonicalForm(r, TestKeys.SESSION_SECRET);
        // The JSON carries raw values (the credential with '/', the action with ':') under
        // lower-cased names; the host is the signed Host header, the name the client dialled.
        assertEquals("localhost", r.host());
        assertEquals("kafka-cluster:Connect", r.param(SignedRequest.ACTION));
        assertEquals("900", r.param(SignedRequest.EXPIRES));
        assertTrue(r.userAgent().startsWith("aws-msk-iam-auth/2.3.2/aws-sdk-java/"), r.userAgent());
    }

    @Test
    void javaOAuthTokenCanonicalForm() throws Exception {
        String token = JavaClient.oauthToken(TestKeys.SESSION);
        assertCanonicalForm(SignedRequestParser.fromOAuthToken(token), TestKeys.SESSION_SECRET);
        String url = Payloads.url(token);
        // No "/" path, parameters in the SDK's own (unsorted) order, token second, User-Agent last.
        assertTrue(url.startsWith("https://kafka.us-east-1.amazonaws.com?Action=kafka-cluster%3AConnect"
                + "&X-Amz-Security-Token=local-test-session-token%2Fwith%2Bspecial%3Dchars&"), url);
        assertTrue(url.contains("&User-Agent=aws-msk-iam-auth%2F2.3.2%2Faws-sdk-java%2F"), url);
        assertTrue(url.indexOf("User-Agent=") > url.indexOf("X-Amz-Signature="), url);
        assertTrue(!token.contains("=") && !token.contains("+") && !token.contains("/"), "base64url, no padding");
    }

    @Test
    void pythonOAuthTokenCanonicalForm() throws Exception {
        assertCanonicalForm(SignedRequestParser.fromOAuthToken(PythonFixture.tokenWithSessionToken()),
                TestKeys.SESSION_SECRET);
        assertCanonicalForm(SignedRequestParser.fromOAuthToken(PythonFixture.token()), TestKeys.LONG_TERM_SECRET);
        String url = Payloads.url(PythonFixture.tokenWithSessionToken());
        // A "/" path, the query already in canonical (sorted) order, token before the signature.
        assertEquals("https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect"
                + "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=LOCALTESTKEYID02%2F20250115%2Fus-east-1%2Fkafka-cluster%2Faws4_request"
                + "&X-Amz-Date=20250115T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
                + "&X-Amz-Security-Token=local-test-session-token%2Fwith%2Bspecial%3Dchars"
                + "&X-Amz-Signature=" + Payloads.rawParam(url, "X-Amz-Signature")
                + "&User-Agent=aws-msk-iam-sasl-signer-python%2F1.0.2", url);
    }
}
