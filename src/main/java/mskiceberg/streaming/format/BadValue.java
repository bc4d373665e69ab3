package mskiceberg.streaming.format;

/**
 * A value that breaks a conversion rule; its message is the dead-letter reason, "field PATH: PROBLEM".
 * The path is written as Flink SQL reaches the value ({@code device.os}, {@code items[3].price}
 * with positions from 1, {@code attrs['k']}), so a user can query what the reason names. A nested
 * converter knows only its own step of the path: each level above adds its own on the way out.
 * No stack trace: it is data, not a bug.
 */
final class BadValue extends Exception {

    private static final long serialVersionUID = 1L;

    private final String path;
    private final String problem;

    BadValue(String path, String problem) {
        super("field " + path + ": " + problem, null, false, false);
        this.path = path;
        this.problem = problem;
    }

    /** The same problem one level up: {@code parent} is the path of the value that holds this one. */
    BadValue under(String parent) {
        return new BadValue(join(parent, path), problem);
    }

    /** parent + child path: a ROW field joins with a dot, a position or a map key ({@code [..]}) without. */
    static String join(String parent, String child) {
        if (parent.isEmpty()) {
            return child;
        }
        if (child.isEmpty()) {
            return parent;
        }
        return child.charAt(0) == '[' ? parent + child : parent + "." + child;
    }
}
