package mskiceberg.testing.mskiam;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The IAM policy the authorizer enforces, from {@code msk.iam.policy.file}: either one IAM policy
 * document ({"Version": ..., "Statement": [...]}) that applies to every authenticated principal,
 * as when all clients assume the same role, or an object of principal ARN -> policy document for
 * several roles. A statement with a Condition (or a Principal) is refused at load time, naming the
 * statement, rather than enforced without it.
 */
final class IamPolicy {
    private static final Set<String> STATEMENT_KEYS =
            Set.of("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource");

    private final List<PolicyStatement> forEveryone;
    private final Map<String, List<PolicyStatement>> byPrincipal;

    private IamPolicy(List<PolicyStatement> forEveryone, Map<String, List<PolicyStatement>> byPrincipal) {
        this.forEveryone = forEveryone;
        this.byPrincipal = byPrincipal;
    }

    /** The statements that apply to a principal (none for a principal the file does not name). */
    List<PolicyStatement> statementsFor(String principal) {
        return forEveryone != null ? forEveryone : byPrincipal.getOrDefault(principal, List.of());
    }

    static IamPolicy parse(byte[] content) {
        JsonNode root = JsonObjects.parse(content, "");
        if (root.has("Statement")) {
            return new IamPolicy(document(root, "policy"), null);
        }
        Map<String, List<PolicyStatement>> byPrincipal = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!e.getKey().startsWith("arn:") || !e.getValue().isObject()) {
                throw new IllegalArgumentException("top-level key " + e.getKey()
                        + " is neither Statement nor a principal ARN mapped to a policy document");
            }
            byPrincipal.put(e.getKey(), document(e.getValue(), "policy of " + e.getKey()));
        }
        return new IamPolicy(null, Map.copyOf(byPrincipal));
    }

    private static List<PolicyStatement> document(JsonNode doc, String where) {
        doc.fieldNames().forEachRemaining(k -> {
            if (!k.equals("Version") && !k.equals("Statement") && !k.equals("Id")) {
                throw new IllegalArgumentException(where + ": unknown key " + k);
            }
        });
        JsonNode version = doc.get("Version");
        if (version != null && !"2012-10-17".equals(version.asText()) && !"2008-10-17".equals(version.asText())) {
            throw new IllegalArgumentException(where + ": Version " + version + " is not 2012-10-17");
        }
        JsonNode statements = doc.get("Statement");
        List<JsonNode> list = new ArrayList<>();
        if (statements != null && statements.isArray()) {
            statements.forEach(list::add);
        } else if (statements != null && statements.isObject()) {
            list.add(statements);
        } else {
            throw new IllegalArgumentException(where + ": Statement is not an object or a list of objects");
        }
        List<PolicyStatement> parsed = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            parsed.add(statement(list.get(i), where, i + 1));
        }
        return List.copyOf(parsed);
    }

    private static PolicyStatement statement(JsonNode s, String where, int position) {
        if (!s.isObject()) {
            throw new IllegalArgumentException(where + ": statement #" + position + " is not an object");
        }
        JsonNode sid = s.get("Sid");
        String label = sid != null && sid.isTextual() && !sid.textValue().isEmpty() ? sid.textValue() : "#" + position;
        String named = where + ": statement " + label;
        if (s.has("Condition")) {
            throw new IllegalArgumentException(named + " has a Condition, which this local MSK authorizer does not"
                    + " evaluate; remove it (or the statement) rather than have it enforced without its condition");
        }
        if (s.has("Principal") || s.has("NotPrincipal")) {
            throw new IllegalArgumentException(named + " names a Principal; this file holds identity policies:"
                    + " put the document under the principal's ARN instead");
        }
        s.fieldNames().forEachRemaining(k -> {
            if (!STATEMENT_KEYS.contains(k)) {
                throw new IllegalArgumentException(named + ": unknown key " + k);
            }
        });
        String effect = s.path("Effect").asText(null);
        if (!"Allow".equals(effect) && !"Deny".equals(effect)) {
            throw new IllegalArgumentException(named + ": Effect " + effect + " is not Allow or Deny");
        }
        boolean notAction = exactlyOne(s, "Action", "NotAction", named);
        boolean notResource = exactlyOne(s, "Resource", "NotResource", named);
        return new PolicyStatement(label, "Allow".equals(effect),
                strings(s.get(notAction ? "NotAction" : "Action"), named),
                notAction,
                strings(s.get(notResource ? "NotResource" : "Resource"), named),
                notResource);
    }

    /** True when the Not- form is the one present. */
    private static boolean exactlyOne(JsonNode s, String key, String notKey, String named) {
        if (s.has(key) == s.has(notKey)) {
            throw new IllegalArgumentException(named + " must have exactly one of " + key + " and " + notKey);
        }
        return s.has(notKey);
    }

    private static List<String> strings(JsonNode v, String named) {
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.textValue());
        } else if (v.isArray() && !v.isEmpty()) {
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw new IllegalArgumentException(named + ": " + e + " is not a string");
                }
                out.add(e.textValue());
            }
        } else {
            throw new IllegalArgumentException(named + ": " + v + " is not a string or a non-empty list of strings");
        }
        return out;
    }
}
