package mskiceberg.testing.mskiam;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** The one way the broker's files are read: strict JSON (a duplicated key is an error), an object at the top. */
final class JsonObjects {

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private JsonObjects() {}

    /** The top-level object of {@code content}; IllegalArgumentException saying what is wrong otherwise. */
    static JsonNode parse(byte[] content, String expected) {
        JsonNode root;
        try {
            root = JSON.readTree(content);
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("not a JSON object" + expected);
        }
        return root;
    }
}
