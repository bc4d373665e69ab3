package mskiceberg.testing.mskiam;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * One statement of an IAM identity policy, reduced to what MSK evaluates: Effect, Action or
 * NotAction, Resource or NotResource (conditions are refused when the policy is loaded).
 *
 * @param label       the Sid, or "#n" (1-based position) for a statement without one
 * @param allow       Effect Allow (true) or Deny (false)
 * @param actions     the Action or NotAction patterns
 * @param notAction   true when {@code actions} came from NotAction
 * @param resources   the Resource or NotResource patterns
 * @param notResource true when {@code resources} came from NotResource
 */
record PolicyStatement(String label, boolean allow, List<String> actions, boolean notAction, List<String> resources,
                       boolean notResource) {
    PolicyStatement {
        actions = List.copyOf(actions);
        resources = List.copyOf(resources);
    }

    /** Action names are case-insensitive in IAM. */
    boolean coversAction(String action) {
        boolean listed = actions.stream().anyMatch(p -> Wildcard.matches(p, action, true));
        return listed != notAction;
    }

    /** ARNs are case-sensitive. */
    boolean coversResource(String arn) {
        boolean listed = resources.stream().anyMatch(p -> Wildcard.matches(p, arn, false));
        return listed != notResource;
    }

    /** Could apply to some ARN starting with the prefix (an Allow of "some topic"). */
    boolean mayCoverSomeResourceStartingWith(String prefix, IntPredicate nameChar) {
        if (notResource) {
            return resources.stream().noneMatch(p -> Wildcard.matchesEverythingStartingWith(p, prefix));
        }
        return resources.stream().anyMatch(p -> Wildcard.mayMatchSomethingStartingWith(p, prefix, nameChar));
    }

    /** Applies to every ARN starting with the prefix (a Deny of "all topics"). */
    boolean coversEveryResourceStartingWith(String prefix, IntPredicate nameChar) {
        if (notResource) {
            return resources.stream().noneMatch(p -> Wildcard.mayMatchSomethingStartingWith(p, prefix, nameChar));
        }
        return resources.stream().anyMatch(p -> Wildcard.matchesEverythingStartingWith(p, prefix));
    }
}
