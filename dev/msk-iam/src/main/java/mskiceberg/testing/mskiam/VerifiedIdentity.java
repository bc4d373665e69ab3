package mskiceberg.testing.mskiam;

import java.time.Instant;

/**
 * Who a verified signature belongs to, and for how long it is good: the principal becomes the
 * Kafka principal name; the expiry bounds an OAUTHBEARER session.
 */
record VerifiedIdentity(String accessKeyId, String principal, Instant signedAt, Instant expiresAt) {
}
