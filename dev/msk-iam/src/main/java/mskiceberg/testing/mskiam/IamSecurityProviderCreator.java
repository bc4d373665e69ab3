package mskiceberg.testing.mskiam;

import java.security.Provider;
import org.apache.kafka.common.security.auth.SecurityProviderCreator;

/**
 * For the broker config {@code security.providers}: Kafka inserts the returned provider into the
 * JVM at start-up, before any listener creates a SaslServer.
 */
public final class IamSecurityProviderCreator implements SecurityProviderCreator {
    private static final Provider PROVIDER = new IamSaslProvider();

    @Override
    public Provider getProvider() {
        return PROVIDER;
    }
}
