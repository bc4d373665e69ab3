package mskiceberg.testing.mskiam;

import java.lang.reflect.Field;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.sasl.SaslException;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler;
import software.amazon.msk.auth.iam.internals.AWS4SignedPayloadGenerator;
import software.amazon.msk.auth.iam.internals.AWSCredentialsCallback;
import software.amazon.msk.auth.iam.internals.IAMSaslClient;

/**
 * What the real aws-msk-iam-auth 2.3.2 client sends, made by its own classes: IAMSaslClient for
 * AWS_MSK_IAM and IAMOAuthBearerLoginCallbackHandler for OAUTHBEARER.
 */
final class JavaClient {
    static {
        // A host name without a region in it ("localhost") makes the client take the region from
        // the default region chain, whose first link is this system property.
        System.setProperty("aws.region", TestKeys.REGION);
    }

    private JavaClient() {
    }

    /** A fresh IAMSaslClient for a broker host, signing with the given credentials. */
    static IAMSaslClient saslClient(String host, AwsCredentials credentials) {
        return new IAMSaslClient("AWS_MSK_IAM", callbacks -> {
            for (Callback c : callbacks) {
                ((AWSCredentialsCallback) c).setAwsCredentials(credentials);
            }
        }, host, new AWS4SignedPayloadGenerator());
    }

    /** The client's first (and only) SASL message. */
    static byte[] saslPayload(String host, AwsCredentials credentials) throws SaslException {
        return saslClient(host, credentials).evaluateChallenge(new byte[0]);
    }

    /** The OAUTHBEARER token value the Java library hands to Kafka. */
    static String oauthToken(AwsCredentials credentials) throws Exception {
        IAMOAuthBearerLoginCallbackHandler handler = new IAMOAuthBearerLoginCallbackHandler();
        handler.configure(Map.of(), OAuthBearerLoginModule.OAUTHBEARER_MECHANISM,
                TestKeys.jaas(OAuthBearerLoginModule.class.getName(), Map.of()));
        // Its default chain reads env/system properties; pin the credentials instead so no
        // AWS_* variable of the machine running the tests can change what is signed.
        Field provider = IAMOAuthBearerLoginCallbackHandler.class.getDeclaredField("credentialsProvider");
        provider.setAccessible(true);
        provider.set(handler, StaticCredentialsProvider.create(credentials));
        OAuthBearerTokenCallback callback = new OAuthBearerTokenCallback();
        handler.handle(new Callback[] {callback});
        return callback.token().value();
    }
}
