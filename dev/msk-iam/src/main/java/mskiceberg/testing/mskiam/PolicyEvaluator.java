package mskiceberg.testing.mskiam;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * IAM's evaluation for one principal's statements: an explicit Deny wins, then an Allow, else the
 * implicit deny.
 */
final class PolicyEvaluator {
    private PolicyEvaluator() {
    }

    static Decision evaluate(List<PolicyStatement> statements, String action, String arn) {
        PolicyStatement allow = null;
        for (PolicyStatement s : statements) {
            if (s.coversAction(action) && s.coversResource(arn)) {
                if (!s.allow()) {
                    return Decision.deniedBy(s);
                }
                if (allow == null) {
                    allow = s;
                }
            }
        }
        return allow != null ? Decision.allowedBy(allow) : Decision.implicitDeny();
    }

    /**
     * Whether the action is allowed on at least one ARN starting with the prefix, as Kafka's
     * authorizeByResourceType asks ("may this principal write to some topic?"). A Deny counts
     * only when it covers every such ARN; Allows and Denies on overlapping parts are not
     * intersected, so this can answer ALLOWED where only denied topics were allowed.
     */
    static Decision evaluateAny(List<PolicyStatement> statements, String action, String prefix,
                                IntPredicate nameChar) {
        PolicyStatement allow = null;
        for (PolicyStatement s : statements) {
            if (!s.coversAction(action)) {
                continue;
            }
            if (!s.allow() && s.coversEveryResourceStartingWith(prefix, nameChar)) {
                return Decision.deniedBy(s);
            }
            if (s.allow() && allow == null && s.mayCoverSomeResourceStartingWith(prefix, nameChar)) {
                allow = s;
            }
        }
        return allow != null ? Decision.allowedBy(allow) : Decision.implicitDeny();
    }
}
