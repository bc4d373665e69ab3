package mskiceberg.streaming.format;

/** A field value that breaks a conversion rule; its message is the dead-letter reason. No stack trace: it is data, not a bug. */
final class BadValue extends Exception {

    private static final long serialVersionUID = 1L;

    BadValue(String reason) {
        super(reason, null, false, false);
    }
}
