package mskiceberg.testing.mskiam;

/**
 * What the local "IAM" knows of one access key: the secret to recompute signatures with, the
 * session token it was issued with (null for long-term keys), and the principal ARN it stands for.
 */
record StoredCredential(String accessKeyId, String secretAccessKey, String sessionToken, String principal) {
}
