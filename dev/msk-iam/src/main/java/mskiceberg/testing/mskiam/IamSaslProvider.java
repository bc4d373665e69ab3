package mskiceberg.testing.mskiam;

import java.security.Provider;

/**
 * The JCA provider that makes the AWS_MSK_IAM SaslServerFactory visible to
 * {@code javax.security.sasl.Sasl}; installed on the broker by {@link IamSecurityProviderCreator}.
 */
public final class IamSaslProvider extends Provider {
    private static final long serialVersionUID = 1L;

    public IamSaslProvider() {
        super("LocalMskIam", "1.0", "SASL AWS_MSK_IAM server (local MSK IAM emulation)");
        put("SaslServerFactory." + IamSaslServer.MECHANISM, IamSaslServerFactory.class.getName());
    }
}
