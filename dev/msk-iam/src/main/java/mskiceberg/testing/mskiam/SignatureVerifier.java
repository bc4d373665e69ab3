package mskiceberg.testing.mskiam;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Objects;

/**
 * Checks an MSK IAM Connect signature the way MSK does: recompute the SigV4 signature from the
 * stored secret of the access key and compare it in constant time, after checking every signed
 * field that MSK pins (algorithm, scope, action, host, signed headers, validity window, session
 * token). Pure apart from the credentials file; the clock is injected so tests can freeze time.
 */
public final class SignatureVerifier {
    static final String CONNECT = "kafka-cluster:Connect";
    static final long MAX_EXPIRES_SECONDS = 900;
    static final Duration MAX_CLOCK_SKEW = Duration.ofMinutes(5);

    private final CredentialsStore credentials;
    private final String region;
    private final List<String> brokerHosts;
    private final Clock clock;

    SignatureVerifier(CredentialsStore credentials, String region, List<String> brokerHosts, Clock clock) {
        this.credentials = Objects.requireNonNull(credentials);
        this.region = Objects.requireNonNull(region);
        this.brokerHosts = List.copyOf(brokerHosts);
        this.clock = Objects.requireNonNull(clock);
    }

    /** The host every OAUTHBEARER token of this region is signed for, whatever broker it goes to. */
    String oauthHost() {
        return "kafka." + region + ".amazonaws.com";
    }

    /** An AWS_MSK_IAM payload, signed for the host name the client dialled (one of the broker's). */
    VerifiedIdentity verifySaslPayload(byte[] payload) throws AuthenticationRefused {
        SignedRequest request = SignedRequestParser.fromSaslPayload(payload);
        if (brokerHosts.stream().noneMatch(h -> h.equalsIgnoreCase(request.host()))) {
            throw new AuthenticationRefused("host " + request.host() + " is not this broker (its hosts: "
                    + String.join(", ", brokerHosts) + ")");
        }
        return verify(request);
    }

    /** An OAUTHBEARER token, signed for kafka.&lt;region&gt;.amazonaws.com. */
    VerifiedIdentity verifyOAuthToken(String token) throws AuthenticationRefused {
        SignedRequest request = SignedRequestParser.fromOAuthToken(token);
        if (!oauthHost().equals(request.host())) {
            throw new AuthenticationRefused("host " + request.host() + " is not " + oauthHost());
        }
        return verify(request);
    }

    private VerifiedIdentity verify(SignedRequest r) throws AuthenticationRefused {
        String algorithm = r.param(SignedRequest.ALGORITHM);
        if (!SigV4.ALGORITHM.equals(algorithm)) {
            throw new AuthenticationRefused("algorithm " + algorithm + " is not " + SigV4.ALGORITHM);
        }
        String credential = r.param(SignedRequest.CREDENTIAL);
        String[] scope = credential.split("/", -1);
        if (scope.length != 5 || scope[0].isEmpty()) {
            throw new AuthenticationRefused("credential " + credential
                    + " is not <access key id>/<yyyyMMdd>/<region>/kafka-cluster/aws4_request");
        }
        String keyId = scope[0];
        String amzDate = r.param(SignedRequest.DATE);
        Instant signedAt;
        try {
            signedAt = Instant.from(SigV4.AMZ_DATE.parse(amzDate));
        } catch (DateTimeParseException e) {
            throw new AuthenticationRefused("x-amz-date " + amzDate + " is not yyyyMMdd'T'HHmmss'Z'");
        }
        if (!scope[1].equals(amzDate.substring(0, 8))) {
            throw new AuthenticationRefused("credential scope date " + scope[1] + " is not the day of x-amz-date "
                    + amzDate);
        }
        if (!scope[2].equals(region)) {
            throw new AuthenticationRefused("region " + scope[2] + " is not this cluster's region " + region);
        }
        if (!scope[3].equals(SigV4.SERVICE)) {
            throw new AuthenticationRefused("service " + scope[3] + " is not " + SigV4.SERVICE);
        }
        if (!scope[4].equals(SigV4.TERMINATOR)) {
            throw new AuthenticationRefused("credential scope ends in " + scope[4] + ", not " + SigV4.TERMINATOR);
        }
        String action = r.param(SignedRequest.ACTION);
        if (!CONNECT.equals(action)) {
            throw new AuthenticationRefused("action " + action + " is not " + CONNECT);
        }
        String signedHeaders = r.param(SignedRequest.SIGNED_HEADERS);
        if (!"host".equals(signedHeaders)) {
            throw new AuthenticationRefused("signed headers " + signedHeaders + " are not exactly host");
        }
        long expires;
        try {
            expires = Long.parseLong(r.param(SignedRequest.EXPIRES));
        } catch (NumberFormatException e) {
            expires = -1;
        }
        if (expires < 1 || expires > MAX_EXPIRES_SECONDS) {
            throw new AuthenticationRefused("x-amz-expires " + r.param(SignedRequest.EXPIRES)
                    + " is not between 1 and " + MAX_EXPIRES_SECONDS + " seconds");
        }
        Instant now = clock.instant();
        Instant expiresAt = signedAt.plusSeconds(expires);
        if (now.isAfter(expiresAt)) {
            throw new AuthenticationRefused("signature expired at " + expiresAt + " (signed " + signedAt + " for "
                    + expires + " s; now " + now + ")");
        }
        if (signedAt.isAfter(now.plus(MAX_CLOCK_SKEW))) {
            throw new AuthenticationRefused("dated " + signedAt + " in the future (clock skew > "
                    + MAX_CLOCK_SKEW.toMinutes() + " min; now " + now + ")");
        }
        StoredCredential stored = credentials.find(keyId);
        if (stored == null) {
            throw new AuthenticationRefused("unknown access key id " + keyId);
        }
        checkSessionToken(stored, r.param(SignedRequest.SECURITY_TOKEN));
        String canonicalRequest = SigV4.canonicalRequest(r.canonicalUri(), SigV4.canonicalQuery(r.signedQuery()),
                r.host(), SigV4.EMPTY_BODY_SHA256);
        String scopeText = scope[1] + "/" + scope[2] + "/" + scope[3] + "/" + scope[4];
        String expected = SigV4.signature(stored.secretAccessKey(), scope[1], scope[2], scope[3],
                SigV4.stringToSign(amzDate, scopeText, canonicalRequest));
        if (!SigV4.constantTimeEquals(expected, r.signature())) {
            throw new AuthenticationRefused("signature does not match (wrong secret access key?)");
        }
        return new VerifiedIdentity(keyId, stored.principal(), signedAt, expiresAt);
    }

    private static void checkSessionToken(StoredCredential stored, String presented) throws AuthenticationRefused {
        if (stored.sessionToken() == null) {
            if (presented != null) {
                throw new AuthenticationRefused("a session token was presented, but access key "
                        + stored.accessKeyId() + " is a long-term key without one");
            }
        } else if (presented == null) {
            throw new AuthenticationRefused("no session token presented, but access key " + stored.accessKeyId()
                    + " was issued with one");
        } else if (!SigV4.constantTimeEquals(stored.sessionToken(), presented)) {
            throw new AuthenticationRefused("session token does not match the one issued with access key "
                    + stored.accessKeyId());
        }
    }
}
