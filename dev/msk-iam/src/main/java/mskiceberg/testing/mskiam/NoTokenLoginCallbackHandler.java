package mskiceberg.testing.mskiam;

import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;

/**
 * Login callback handler for the broker's own OAUTHBEARER login
 * ({@code listener.name.<l>.oauthbearer.sasl.login.callback.handler.class}): hands out no token.
 * Kafka's default (the unsecured-JWT handler) refuses a JAAS entry whose options are ours
 * (credentials.file, region...) and would stop the broker; the broker never needs an OAUTHBEARER
 * token of its own because its inter-broker traffic does not use this listener.
 */
public class NoTokenLoginCallbackHandler implements AuthenticateCallbackHandler {
    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasEntries) {
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        for (Callback callback : callbacks) {
            if (!(callback instanceof OAuthBearerTokenCallback)) {
                throw new UnsupportedCallbackException(callback);
            }
            // No token: OAuthBearerLoginModule logs in "without a token" and carries on.
        }
    }

    @Override
    public void close() {
    }
}
