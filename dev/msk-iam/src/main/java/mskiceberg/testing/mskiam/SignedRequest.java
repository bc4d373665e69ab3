package mskiceberg.testing.mskiam;

import java.util.Map;

/**
 * One SigV4-presigned "GET /?Action=kafka-cluster:Connect" as a client sent it, whichever the
 * transport (AWS_MSK_IAM JSON or OAUTHBEARER URL): the decoded query parameters that are part of
 * the signature, the signature itself, and the host it was signed for.
 *
 * @param source       what carried it, for messages ("AWS_MSK_IAM payload", "OAUTHBEARER token")
 * @param host         the value of the signed host header
 * @param signedQuery  decoded name -> value of every query parameter covered by the signature
 * @param signature    the hex X-Amz-Signature the client computed
 * @param userAgent    the client's (unsigned) user agent, or null
 */
record SignedRequest(String source, String host, Map<String, String> signedQuery, String signature, String userAgent) {
    static final String ACTION = "Action";
    static final String ALGORITHM = "X-Amz-Algorithm";
    static final String CREDENTIAL = "X-Amz-Credential";
    static final String DATE = "X-Amz-Date";
    static final String EXPIRES = "X-Amz-Expires";
    static final String SIGNED_HEADERS = "X-Amz-SignedHeaders";
    static final String SECURITY_TOKEN = "X-Amz-Security-Token";
    static final String SIGNATURE = "X-Amz-Signature";
    static final String USER_AGENT = "User-Agent";
    /** Every parameter a Connect request must sign (the session token is optional). */
    static final String[] REQUIRED = {ACTION, ALGORITHM, CREDENTIAL, DATE, EXPIRES, SIGNED_HEADERS};

    SignedRequest {
        signedQuery = Map.copyOf(signedQuery);
    }

    String param(String name) {
        return signedQuery.get(name);
    }

    /** Both clients sign the root path: the URL's "" and "/" canonicalize alike, the JSON has none. */
    String canonicalUri() {
        return "/";
    }
}
