package mskiceberg.testing.mskiam;

/**
 * A client's signed request was refused. The message names the one cause (expired, wrong region,
 * signature mismatch...), because a test or a user reading "Access denied" alone cannot tell which
 * of a dozen checks failed.
 */
public final class AuthenticationRefused extends Exception {
    private static final long serialVersionUID = 1L;

    public AuthenticationRefused(String reason) {
        super(reason);
    }
}
