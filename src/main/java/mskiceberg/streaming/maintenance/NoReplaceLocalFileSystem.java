package mskiceberg.streaming.maintenance;

import java.io.File;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Hadoop's local file system, except that renaming onto a table version file
 * ({@code metadata/vN.metadata.json}) never replaces an existing one.
 *
 * <p>Iceberg's Hadoop catalog commits version N by renaming a temporary file to
 * {@code vN.metadata.json} after checking that it does not exist yet. On a local disk,
 * {@code rename(2)} replaces its target, so two processes that pass the check at the same moment
 * would both "succeed" and the second would silently discard the first one's commit (the check is
 * not atomic with the rename; Iceberg's lock manager only covers one JVM). Here the version file
 * is created with {@code link(2)}, which fails if the name exists: the loser gets {@code false},
 * which Iceberg turns into a retryable {@code CommitFailedException} (refresh, re-apply, commit
 * again). The maintenance command uses this file system for every commit it makes, so it can never
 * discard a commit of the running job.
 */
public class NoReplaceLocalFileSystem extends LocalFileSystem {

    /** Hadoop configuration key that selects this class for {@code file:} URIs. */
    public static final String IMPL_KEY = "fs.file.impl";

    private static final Pattern VERSION_FILE = Pattern.compile("v\\d+(\\.gz)?\\.metadata\\.json");

    @Override
    public boolean rename(Path src, Path dst) throws IOException {
        if (!VERSION_FILE.matcher(dst.getName()).matches()) {
            return super.rename(src, dst);
        }
        File from = pathToFile(src);
        File to = pathToFile(dst);
        try {
            Files.createLink(to.toPath(), from.toPath());
        } catch (FileAlreadyExistsException exists) {
            return false;
        }
        Files.delete(from.toPath());
        File fromChecksum = pathToFile(getChecksumFile(src));
        if (fromChecksum.exists()) {
            Files.move(fromChecksum.toPath(), pathToFile(getChecksumFile(dst)).toPath(),
                    StandardCopyOption.REPLACE_EXISTING);
        }
        return true;
    }
}
