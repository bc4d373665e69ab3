package mskiceberg.testing.mskiam;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Objects;

/**
 * A file parsed once and parsed again whenever its modification time or size changes, so a test
 * can rotate credentials or change the policy while the broker keeps running. A file that cannot
 * be read or parsed fails every {@link #get()} until it is fixed: never the last good content,
 * which would make the broker quietly enforce a policy nobody can see any more.
 */
final class ReloadingFile<T> {
    /** Parses the file's bytes; throws with a message naming what is wrong. */
    interface Parser<T> {
        T parse(byte[] content) throws IllegalArgumentException;
    }

    private final Path path;
    private final Parser<T> parser;
    private FileTime loadedTime;
    private long loadedSize = -1;
    private T value;
    private String error;

    ReloadingFile(Path path, Parser<T> parser) {
        this.path = Objects.requireNonNull(path);
        this.parser = Objects.requireNonNull(parser);
    }

    Path path() {
        return path;
    }

    /** The current content; IllegalStateException naming the file and the problem otherwise. */
    synchronized T get() {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new IllegalStateException(path + " cannot be read: " + e);
        }
        if (!attrs.lastModifiedTime().equals(loadedTime) || attrs.size() != loadedSize) {
            loadedTime = attrs.lastModifiedTime();
            loadedSize = attrs.size();
            try {
                value = parser.parse(Files.readAllBytes(path));
                error = null;
            } catch (IOException | IllegalArgumentException e) {
                value = null;
                error = path + " cannot be loaded: " + e.getMessage();
            }
        }
        if (error != null) {
            throw new IllegalStateException(error);
        }
        return value;
    }
}
