package mskiceberg.testing.mskiam;

import javax.security.auth.callback.Callback;

/**
 * Carries an AWS_MSK_IAM client payload from the SaslServer to the listener's callback handler
 * (the one Kafka configures with the JAAS options) and the verdict back, the same split Kafka's
 * own mechanisms use between SaslServer and AuthenticateCallbackHandler.
 */
public final class IamAuthenticationCallback implements Callback {
    private final byte[] payload;
    private VerifiedIdentity identity;
    private String refusal;

    public IamAuthenticationCallback(byte[] payload) {
        this.payload = payload.clone();
    }

    public byte[] payload() {
        return payload.clone();
    }

    void accept(VerifiedIdentity verified) {
        this.identity = verified;
        this.refusal = null;
    }

    void refuse(String reason) {
        this.identity = null;
        this.refusal = reason;
    }

    /** The verified identity, or null when refused or not handled. */
    VerifiedIdentity identity() {
        return identity;
    }

    /** Why it was refused, or null. */
    String refusal() {
        return refusal;
    }
}
