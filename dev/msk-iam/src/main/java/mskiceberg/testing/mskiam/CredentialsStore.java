package mskiceberg.testing.mskiam;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The access keys the broker accepts, from a JSON file
 * {@code {"<accessKeyId>": {"secretAccessKey": "...", "sessionToken": "...", "principal": "arn:aws:iam::..."}}}
 * ({@code sessionToken} optional). Re-read when the file changes, so secrets rotate without a
 * broker restart.
 */
final class CredentialsStore {
    private static final List<String> FIELDS = List.of("secretAccessKey", "sessionToken", "principal");

    private final ReloadingFile<Map<String, StoredCredential>> file;

    CredentialsStore(Path path) {
        this.file = new ReloadingFile<>(path, CredentialsStore::parse);
    }

    Path path() {
        return file.path();
    }

    /** The credential of an access key, or null when the file has none for it. */
    StoredCredential find(String accessKeyId) throws AuthenticationRefused {
        try {
            return file.get().get(accessKeyId);
        } catch (IllegalStateException e) {
            throw new AuthenticationRefused("credentials file " + e.getMessage());
        }
    }

    static Map<String, StoredCredential> parse(byte[] content) {
        JsonNode root = JsonObjects.parse(content, " of access key id -> credential");
        Map<String, StoredCredential> keys = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            String keyId = e.getKey();
            JsonNode c = e.getValue();
            if (!c.isObject()) {
                throw new IllegalArgumentException("access key " + keyId + ": not a JSON object");
            }
            c.fieldNames().forEachRemaining(f -> {
                if (!FIELDS.contains(f)) {
                    throw new IllegalArgumentException("access key " + keyId + ": unknown field " + f
                            + " (expected " + String.join(", ", FIELDS) + ")");
                }
            });
            String secret = text(c, keyId, "secretAccessKey", true);
            String token = text(c, keyId, "sessionToken", false);
            String principal = text(c, keyId, "principal", true);
            if (!principal.startsWith("arn:")) {
                throw new IllegalArgumentException("access key " + keyId + ": principal " + principal + " is not an ARN");
            }
            keys.put(keyId, new StoredCredential(keyId, secret, token, principal));
        }
        return Map.copyOf(keys);
    }

    private static String text(JsonNode c, String keyId, String field, boolean required) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw new IllegalArgumentException("access key " + keyId + ": " + field + " is missing");
            }
            return null;
        }
        if (!v.isTextual() || v.textValue().isEmpty()) {
            throw new IllegalArgumentException("access key " + keyId + ": " + field + " is not a non-empty string");
        }
        return v.textValue();
    }
}
