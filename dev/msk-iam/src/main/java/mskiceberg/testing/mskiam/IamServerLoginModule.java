package mskiceberg.testing.mskiam;

import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.spi.LoginModule;

/**
 * No-op LoginModule for the listener's AWS_MSK_IAM JAAS entry. Kafka needs a JAAS entry per SASL
 * mechanism and logs the broker in with it; the broker itself has nothing to log in with here,
 * and the entry's options (credentials.file, region, hosts) are what the callback handler reads.
 */
public final class IamServerLoginModule implements LoginModule {
    @Override
    public void initialize(Subject subject, CallbackHandler callbackHandler, Map<String, ?> sharedState,
                           Map<String, ?> options) {
    }

    @Override
    public boolean login() {
        return true;
    }

    @Override
    public boolean commit() {
        return true;
    }

    @Override
    public boolean abort() {
        return true;
    }

    @Override
    public boolean logout() {
        return true;
    }
}
