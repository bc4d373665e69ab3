package mskiceberg.testing.mskiam;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/** Small edits of real client messages, for the tampering tests. */
final class Payloads {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Payloads() {
    }

    static String field(byte[] payload, String name) {
        try {
            return JSON.readTree(payload).path(name).asText(null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The payload with one field set (value null: removed). */
    static byte[] with(byte[] payload, String name, String value) {
        try {
            ObjectNode node = (ObjectNode) JSON.readTree(payload);
            if (value == null) {
                node.remove(name);
            } else {
                node.put(name, value);
            }
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Instant signedAt(String amzDate) {
        return Instant.from(SigV4.AMZ_DATE.parse(amzDate));
    }

    static String url(String token) {
        return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    }

    static String token(String url) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(url.getBytes(StandardCharsets.UTF_8));
    }

    /** The value of one query parameter of a presigned URL, still percent-encoded. */
    static String rawParam(String url, String name) {
        for (String pair : url.substring(url.indexOf('?') + 1).split("&")) {
            if (pair.startsWith(name + "=")) {
                return pair.substring(name.length() + 1);
            }
        }
        return null;
    }

    /** The URL with one raw (already encoded) query value replaced. */
    static String withRawParam(String url, String name, String rawValue) {
        String old = rawParam(url, name);
        if (old == null) {
            throw new IllegalArgumentException(name + " not in " + url);
        }
        return url.replace(name + "=" + old, name + "=" + rawValue);
    }
}
