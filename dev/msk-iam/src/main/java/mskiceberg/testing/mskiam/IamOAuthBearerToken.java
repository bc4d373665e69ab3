package mskiceberg.testing.mskiam;

import java.util.Set;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;

/**
 * A verified MSK IAM OAUTHBEARER token: Kafka's principal becomes the IAM principal ARN and the
 * session may last until the presigned URL expires (Kafka uses lifetimeMs for re-authentication).
 */
record IamOAuthBearerToken(String value, String principalName, long lifetimeMs, Long startTimeMs)
        implements OAuthBearerToken {
    @Override
    public Set<String> scope() {
        return Set.of();
    }
}
