package mskiceberg.testing.mskiam;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Turns what each MSK IAM client sends into a {@link SignedRequest}: the AWS_MSK_IAM JSON (raw,
 * lower-cased query names plus the host header) and the OAUTHBEARER token (a base64url presigned
 * URL with an unsigned User-Agent appended). Only parsing here; the checks live in
 * {@link SignatureVerifier}.
 */
final class SignedRequestParser {
    static final String PAYLOAD_VERSION = "2020_10_22";
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** JSON field of the AWS_MSK_IAM payload -> the query parameter it was signed as. */
    private static final Map<String, String> PAYLOAD_FIELDS = new LinkedHashMap<>();

    static {
        for (String name : SignedRequest.REQUIRED) {
            PAYLOAD_FIELDS.put(name.toLowerCase(Locale.ROOT), name);
        }
        PAYLOAD_FIELDS.put("x-amz-security-token", SignedRequest.SECURITY_TOKEN);
    }

    private SignedRequestParser() {
    }

    /** The JSON of SASL AWS_MSK_IAM (aws-msk-iam-auth's AWS4SignedPayloadGenerator). */
    static SignedRequest fromSaslPayload(byte[] payload) throws AuthenticationRefused {
        JsonNode root;
        try {
            root = JSON.readTree(payload);
        } catch (IOException e) {
            throw new AuthenticationRefused("payload is not a JSON object: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new AuthenticationRefused("payload is not a JSON object");
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!e.getValue().isTextual()) {
                throw new AuthenticationRefused("payload field " + e.getKey() + " is not a string");
            }
            fields.put(e.getKey(), e.getValue().textValue());
        }
        String version = fields.remove("version");
        if (!PAYLOAD_VERSION.equals(version)) {
            throw new AuthenticationRefused("payload version " + version + " is not " + PAYLOAD_VERSION);
        }
        String host = fields.remove("host");
        if (host == null) {
            throw new AuthenticationRefused("payload has no host");
        }
        String userAgent = fields.remove("user-agent");
        String signature = fields.remove("x-amz-signature");
        Map<String, String> signed = new LinkedHashMap<>();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            String name = PAYLOAD_FIELDS.get(f.getKey());
            if (name == null) {
                throw new AuthenticationRefused("payload has an unexpected field " + f.getKey());
            }
            signed.put(name, f.getValue());
        }
        return complete("AWS_MSK_IAM payload", host, signed, signature, userAgent);
    }

    /** The OAUTHBEARER token of the MSK signers: base64url (padding optional) of a presigned URL. */
    static SignedRequest fromOAuthToken(String token) throws AuthenticationRefused {
        String url;
        try {
            url = decodeUtf8(Base64.getUrlDecoder().decode(token));
        } catch (IllegalArgumentException e) {
            throw new AuthenticationRefused("token is not base64url: " + e.getMessage());
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new AuthenticationRefused("token is not a URL: " + e.getReason() + " at index " + e.getIndex());
        }
        if (!"https".equals(uri.getScheme()) || uri.getHost() == null || uri.getPort() != -1
                || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
            throw new AuthenticationRefused("token URL " + uri.getScheme() + "://" + uri.getRawAuthority()
                    + " is not https://<host> without port, user or fragment");
        }
        String path = uri.getRawPath();
        if (!path.isEmpty() && !path.equals("/")) {
            throw new AuthenticationRefused("token URL path " + path + " is not /");
        }
        Map<String, String> query = parseQuery(uri.getRawQuery());
        String signature = query.remove(SignedRequest.SIGNATURE);
        String userAgent = query.remove(SignedRequest.USER_AGENT);
        return complete("OAUTHBEARER token", uri.getHost(), query, signature, userAgent);
    }

    private static SignedRequest complete(String source, String host, Map<String, String> signed, String signature,
                                          String userAgent) throws AuthenticationRefused {
        for (String name : SignedRequest.REQUIRED) {
            if (signed.get(name) == null) {
                throw new AuthenticationRefused(source + " has no " + name);
            }
        }
        if (signature == null || signature.isEmpty()) {
            throw new AuthenticationRefused(source + " has no " + SignedRequest.SIGNATURE);
        }
        return new SignedRequest(source, host, signed, signature, userAgent);
    }

    private static Map<String, String> parseQuery(String rawQuery) throws AuthenticationRefused {
        Map<String, String> params = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&", -1)) {
            int eq = pair.indexOf('=');
            String name = percentDecode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : percentDecode(pair.substring(eq + 1));
            if (params.put(name, value) != null) {
                throw new AuthenticationRefused("token URL repeats the query parameter " + name);
            }
        }
        return params;
    }

    /** Strict %XX decoding; '+' stays '+' (both clients encode a literal plus as %2B). */
    static String percentDecode(String s) throws AuthenticationRefused {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
                int lo = i + 2 < s.length() ? Character.digit(s.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    throw new AuthenticationRefused("bad percent-encoding in " + s);
                }
                out.write(hi * 16 + lo);
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                throw new AuthenticationRefused("non-ASCII character in " + s + " (clients percent-encode it)");
            }
        }
        return decodeUtf8(out.toByteArray());
    }

    private static String decodeUtf8(byte[] bytes) throws AuthenticationRefused {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new AuthenticationRefused("not UTF-8 text");
        }
    }
}
