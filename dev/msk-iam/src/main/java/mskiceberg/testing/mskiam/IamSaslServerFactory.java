package mskiceberg.testing.mskiam;

import java.util.Map;
import javax.security.auth.callback.CallbackHandler;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import javax.security.sasl.SaslServerFactory;

/** What {@code Sasl.createSaslServer("AWS_MSK_IAM", ...)} finds through {@link IamSaslProvider}. */
public final class IamSaslServerFactory implements SaslServerFactory {
    @Override
    public SaslServer createSaslServer(String mechanism, String protocol, String serverName, Map<String, ?> props,
                                       CallbackHandler cbh) throws SaslException {
        if (!IamSaslServer.MECHANISM.equals(mechanism)) {
            throw new SaslException("mechanism " + mechanism + " is not " + IamSaslServer.MECHANISM);
        }
        if (cbh == null) {
            throw new SaslException("AWS_MSK_IAM needs the listener's callback handler");
        }
        return new IamSaslServer(cbh);
    }

    @Override
    public String[] getMechanismNames(Map<String, ?> props) {
        return new String[] {IamSaslServer.MECHANISM};
    }
}
