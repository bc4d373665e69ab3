package mskiceberg.testing.mskiam;

import java.util.BitSet;
import java.util.function.IntPredicate;

/**
 * IAM's wildcards: '*' any run of characters (also none, also across ':' and '/'), '?' exactly one,
 * everything else literal. Matching walks the pattern as a small NFA, so patterns like "*a*b*" stay
 * linear, and so it can also answer the two questions a resource-type check asks about "every ARN
 * that starts with this prefix".
 */
final class Wildcard {
    private Wildcard() {
    }

    static boolean matches(String pattern, String text, boolean ignoreCase) {
        BitSet states = run(pattern, text, ignoreCase);
        return states.get(pattern.length());
    }

    /**
     * True when the pattern matches some prefix + name, for a non-empty name of characters that
     * {@code nameChar} accepts (a topic name cannot hold ':' or '/', so "...:group/*" reaches no topic).
     */
    static boolean mayMatchSomethingStartingWith(String pattern, String prefix, IntPredicate nameChar) {
        BitSet states = run(pattern, prefix, false);
        for (int i = states.nextSetBit(0); i >= 0; i = states.nextSetBit(i + 1)) {
            String rest = pattern.substring(Math.min(i, pattern.length()));
            if (!rest.isEmpty() && rest.chars().allMatch(c -> c == '*' || c == '?' || nameChar.test(c))) {
                return true;
            }
        }
        return false;
    }

    /** True when every string starting with {@code prefix} matches (the rest of the pattern is all '*'). */
    static boolean matchesEverythingStartingWith(String pattern, String prefix) {
        BitSet states = run(pattern, prefix, false);
        for (int i = states.nextSetBit(0); i >= 0; i = states.nextSetBit(i + 1)) {
            if (i < pattern.length() && pattern.substring(i).chars().allMatch(c -> c == '*')) {
                return true;
            }
        }
        return false;
    }

    private static BitSet run(String pattern, String text, boolean ignoreCase) {
        int n = pattern.length();
        BitSet states = closure(pattern, single(0));
        for (int t = 0; t < text.length() && !states.isEmpty(); t++) {
            char c = text.charAt(t);
            BitSet next = new BitSet(n + 1);
            for (int i = states.nextSetBit(0); i >= 0 && i < n; i = states.nextSetBit(i + 1)) {
                char p = pattern.charAt(i);
                if (p == '*') {
                    next.set(i);
                } else if (p == '?' || p == c
                        || (ignoreCase && Character.toLowerCase(p) == Character.toLowerCase(c))) {
                    next.set(i + 1);
                }
            }
            states = closure(pattern, next);
        }
        return states;
    }

    private static BitSet closure(String pattern, BitSet states) {
        for (int i = 0; i < pattern.length(); i++) {
            if (states.get(i) && pattern.charAt(i) == '*') {
                states.set(i + 1);
            }
        }
        return states;
    }

    private static BitSet single(int i) {
        BitSet b = new BitSet();
        b.set(i);
        return b;
    }
}
