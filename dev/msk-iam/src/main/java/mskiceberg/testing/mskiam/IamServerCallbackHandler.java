package mskiceberg.testing.mskiam;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;

/**
 * The broker's AWS_MSK_IAM server callback handler
 * ({@code listener.name.<l>.aws_msk_iam.sasl.server.callback.handler.class}): verifies the
 * payloads {@link IamSaslServer} passes in {@link IamAuthenticationCallback}s against the JAAS
 * options credentials.file, region and hosts.
 */
public class IamServerCallbackHandler implements AuthenticateCallbackHandler {
    private final Clock clock;
    private SignatureVerifier verifier;

    public IamServerCallbackHandler() {
        this(Clock.systemUTC());
    }

    IamServerCallbackHandler(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void configure(Map<String, ?> configs, String saslMechanism, List<AppConfigurationEntry> jaasEntries) {
        if (!IamSaslServer.MECHANISM.equals(saslMechanism)) {
            throw new IllegalArgumentException("mechanism " + saslMechanism + " is not " + IamSaslServer.MECHANISM);
        }
        verifier = ServerOptions.fromJaas(jaasEntries, saslMechanism, true).verifier(clock);
    }

    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        if (verifier == null) {
            throw new IllegalStateException("callback handler not configured");
        }
        for (Callback callback : callbacks) {
            if (!(callback instanceof IamAuthenticationCallback iam)) {
                throw new UnsupportedCallbackException(callback);
            }
            try {
                iam.accept(verifier.verifySaslPayload(iam.payload()));
            } catch (AuthenticationRefused e) {
                iam.refuse(e.getMessage());
            }
        }
    }

    @Override
    public void close() {
    }
}
