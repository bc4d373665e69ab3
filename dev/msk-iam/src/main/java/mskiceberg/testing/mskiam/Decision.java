package mskiceberg.testing.mskiam;

/**
 * The outcome of evaluating one action on one resource, with the words the DENIED log line
 * needs: "no Allow statement" or "explicit Deny in statement &lt;Sid&gt;".
 */
record Decision(boolean allowed, String reason) {
    static Decision allowedBy(PolicyStatement s) {
        return new Decision(true, "Allow in statement " + s.label());
    }

    static Decision deniedBy(PolicyStatement s) {
        return new Decision(false, "explicit Deny in statement " + s.label());
    }

    static Decision implicitDeny() {
        return new Decision(false, "no Allow statement");
    }
}
