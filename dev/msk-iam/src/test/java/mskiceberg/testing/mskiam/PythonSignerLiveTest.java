package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fresh tokens from the Python signer installed in the project's .venv (skipped where there is
 * none), so a signer upgrade that changes the token shows up here, not only in the fixture.
 */
class PythonSignerLiveTest {
    @TempDir
    Path dir;

    @Test
    void freshPythonTokensVerifyNow() throws Exception {
        Path python = Path.of("../../../.venv/bin/python").toAbsolutePath().normalize();
        assumeTrue(Files.isExecutable(python), "no project .venv at " + python);
        Process process = new ProcessBuilder(python.toString(), "src/test/resources/make_python_tokens.py")
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(true, process.waitFor(60, TimeUnit.SECONDS));
        assumeTrue(!output.contains("ModuleNotFoundError"), "aws-msk-iam-sasl-signer-python not installed");
        assertEquals(0, process.exitValue(), output);
        Properties tokens = new Properties();
        tokens.load(new StringReader(output));

        SignatureVerifier verifier = TestKeys.verifier(TestKeys.writeCredentials(dir), Clock.systemUTC());
        assertEquals(TestKeys.LONG_TERM_PRINCIPAL, verifier.verifyOAuthToken(tokens.getProperty("token")).principal());
        assertEquals(TestKeys.SESSION_PRINCIPAL,
                verifier.verifyOAuthToken(tokens.getProperty("tokenWithSessionToken")).principal());
    }
}
