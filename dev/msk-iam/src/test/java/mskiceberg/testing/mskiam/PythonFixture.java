package mskiceberg.testing.mskiam;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Properties;

/** The committed tokens of aws-msk-iam-sasl-signer-python (see python-signer-tokens.properties). */
final class PythonFixture {
    static final Instant SIGNED_AT = Instant.parse("2025-01-15T12:00:00Z");
    private static final Properties TOKENS = new Properties();

    static {
        try (InputStream in = PythonFixture.class.getResourceAsStream("/python-signer-tokens.properties")) {
            TOKENS.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private PythonFixture() {
    }

    /** Signed with the long-term test key (no session token). */
    static String token() {
        return TOKENS.getProperty("token");
    }

    /** Signed with the session test key and its session token. */
    static String tokenWithSessionToken() {
        return TOKENS.getProperty("tokenWithSessionToken");
    }

    static long expiryMs(String name) {
        return Long.parseLong(TOKENS.getProperty(name + ".expiryMs"));
    }

    /** A clock a minute after the tokens were signed. */
    static Clock clock() {
        return Clock.fixed(SIGNED_AT.plusSeconds(60), ZoneOffset.UTC);
    }
}
