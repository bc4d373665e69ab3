package mskiceberg.testing.mskiam;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerExtensionsValidatorCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's OAUTHBEARER server callback handler
 * ({@code listener.name.<l>.oauthbearer.sasl.server.callback.handler.class}) for the tokens the
 * MSK IAM signers make (Python/Go/JS/.NET signers, aws-msk-iam-auth's
 * IAMOAuthBearerLoginCallbackHandler): a SigV4 presigned Connect URL, checked like an
 * AWS_MSK_IAM payload. OAUTHBEARER only lets the server answer "invalid_token", so the reason is
 * logged at WARN instead.
 */
public class IamOAuthBearerValidator implements AuthenticateCallbackHandler {
    private static final Logger LOG = LoggerFactory.getLogger(IamOAuthBearerValidator.class);
    private final Clock clock;
    private SignatureVerifier verifier;

    public IamOAuthBearerValidator() {
        this(Clock.systemUTC());
    }

    IamOAuthBearerValidator(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasEntries) {
        if (!OAuthBearerLoginModule.OAUTHBEARER_MECHANISM.equals(saslMechanism)) {
            throw new IllegalArgumentException("mechanism " + saslMechanism + " is not OAUTHBEARER");
        }
        verifier = ServerOptions.fromJaas(jaasEntries, saslMechanism, false).verifier(clock);
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        if (verifier == null) {
            throw new IllegalStateException("callback handler not configured");
        }
        for (Callback callback : callbacks) {
            if (callback instanceof OAuthBearerValidatorCallback validation) {
                validate(validation);
            } else if (!(callback instanceof OAuthBearerExtensionsValidatorCallback)) {
                // Extensions are left unvalidated: Kafka then drops them, as MSK ignores them.
                throw new UnsupportedCallbackException(callback);
            }
        }
    }

    private void validate(OAuthBearerValidatorCallback callback) {
        try {
            VerifiedIdentity id = verifier.verifyOAuthToken(callback.tokenValue());
            callback.token(new IamOAuthBearerToken(callback.tokenValue(), id.principal(),
                    id.expiresAt().toEpochMilli(), id.signedAt().toEpochMilli()));
        } catch (AuthenticationRefused e) {
            LOG.warn("OAUTHBEARER MSK IAM token refused: {}", e.getMessage());
            callback.error("invalid_token", null, null);
        }
    }

    @Override
    public void close() {
    }
}
