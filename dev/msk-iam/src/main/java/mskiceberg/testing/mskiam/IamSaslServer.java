package mskiceberg.testing.mskiam;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of SASL AWS_MSK_IAM, one round trip as MSK runs it: the client's first message
 * is the signed JSON; on success the server answers {"version":"2020_10_22","request-id":...}
 * (the only two keys aws-msk-iam-auth's IAMSaslClient accepts) and the authorization id is the
 * principal ARN; on failure it throws SaslAuthenticationException, whose message Kafka sends to
 * the client: "[request-id]: Access denied: reason".
 */
public final class IamSaslServer implements SaslServer {
    public static final String MECHANISM = "AWS_MSK_IAM";
    private static final Logger LOG = LoggerFactory.getLogger(IamSaslServer.class);

    private final CallbackHandler callbackHandler;
    private String authorizationId;
    private boolean complete;

    IamSaslServer(CallbackHandler callbackHandler) {
        this.callbackHandler = callbackHandler;
    }

    @Override
    public String getMechanismName() {
        return MECHANISM;
    }

    @Override
    public byte[] evaluateResponse(byte[] response) throws SaslException {
        if (complete) {
            throw new IllegalStateException("AWS_MSK_IAM authentication already complete");
        }
        String requestId = UUID.randomUUID().toString();
        IamAuthenticationCallback callback = new IamAuthenticationCallback(response);
        try {
            callbackHandler.handle(new Callback[] {callback});
        } catch (IOException | UnsupportedCallbackException e) {
            throw new SaslException("AWS_MSK_IAM callback handler failed: " + e, e);
        }
        VerifiedIdentity identity = callback.identity();
        if (identity == null) {
            String reason = callback.refusal() == null ? "callback handler gave no verdict" : callback.refusal();
            String message = failureMessage(requestId, reason);
            LOG.warn("AWS_MSK_IAM authentication refused: {}", message);
            throw new SaslAuthenticationException(message);
        }
        authorizationId = identity.principal();
        complete = true;
        LOG.debug("AWS_MSK_IAM [{}]: access key {} authenticated as {}", requestId, identity.accessKeyId(),
                authorizationId);
        return successResponse(requestId);
    }

    static String failureMessage(String requestId, String reason) {
        return "[" + requestId + "]: Access denied: " + reason;
    }

    static byte[] successResponse(String requestId) {
        // Exactly these two keys: the client's Jackson mapping fails on any other property.
        return ("{\"version\":\"" + SignedRequestParser.PAYLOAD_VERSION + "\",\"request-id\":\"" + requestId + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean isComplete() {
        return complete;
    }

    @Override
    public String getAuthorizationID() {
        if (!complete) {
            throw new IllegalStateException("AWS_MSK_IAM authentication not complete");
        }
        return authorizationId;
    }

    @Override
    public byte[] unwrap(byte[] incoming, int offset, int len) {
        throw new IllegalStateException("AWS_MSK_IAM negotiates no security layer");
    }

    @Override
    public byte[] wrap(byte[] outgoing, int offset, int len) {
        throw new IllegalStateException("AWS_MSK_IAM negotiates no security layer");
    }

    @Override
    public Object getNegotiatedProperty(String propName) {
        if (!complete) {
            throw new IllegalStateException("AWS_MSK_IAM authentication not complete");
        }
        return null;
    }

    @Override
    public void dispose() {
    }
}
