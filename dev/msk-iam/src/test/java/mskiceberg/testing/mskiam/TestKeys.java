package mskiceberg.testing.mskiam;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import javax.security.auth.login.AppConfigurationEntry;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

/** Fixed test credentials (not AWS-shaped on purpose) and the broker-side files that know them. */
final class TestKeys {

    /** The account of every ARN in these tests: AWS's documentation placeholder, no real account. */
    static final String ACCOUNT = "1234" + "5678" + "9012";
    static final String REGION = "us-east-1";
    static final String BROKER_HOST = "localhost";
    static final String OTHER_BROKER_HOST = "broker-1.local.test";

    static final String LONG_TERM_KEY = "LOCALTESTKEYID01";
    static final String LONG_TERM_SECRET = "local-test-secret-0001";
    static final String LONG_TERM_PRINCIPAL = "arn:aws:iam::" + ACCOUNT + ":role/local-job";

    static final String SESSION_KEY = "LOCALTESTKEYID02";
    static final String SESSION_SECRET = "local-test-secret-0002";
    /** '/', '+' and '=' exercise the query encoding of the token. */
    static final String SESSION_TOKEN = "local-test-session-token/with+special=chars";
    static final String SESSION_PRINCIPAL = "arn:aws:iam::" + ACCOUNT + ":role/local-producer";

    static final AwsCredentials LONG_TERM = AwsBasicCredentials.create(LONG_TERM_KEY, LONG_TERM_SECRET);
    static final AwsCredentials SESSION = AwsSessionCredentials.create(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN);

    private TestKeys() {
    }

    static String credentialsJson(String longTermSecret) {
        return "{\n"
                + "  \"" + LONG_TERM_KEY + "\": {\"secretAccessKey\": \"" + longTermSecret + "\", \"principal\": \""
                + LONG_TERM_PRINCIPAL + "\"},\n"
                + "  \"" + SESSION_KEY + "\": {\"secretAccessKey\": \"" + SESSION_SECRET + "\", \"sessionToken\": \""
                + SESSION_TOKEN + "\", \"principal\": \"" + SESSION_PRINCIPAL + "\"}\n"
                + "}\n";
    }

    static Path writeCredentials(Path dir) throws IOException {
        return writeCredentials(dir, LONG_TERM_SECRET);
    }

    static Path writeCredentials(Path dir, String longTermSecret) throws IOException {
        Path file = dir.resolve("credentials.json");
        Files.writeString(file, credentialsJson(longTermSecret), StandardCharsets.UTF_8);
        return file;
    }

    static SignatureVerifier verifier(Path credentialsFile, Clock clock) {
        return new SignatureVerifier(new CredentialsStore(credentialsFile), REGION, List.of(BROKER_HOST,
                OTHER_BROKER_HOST), clock);
    }

    static List<AppConfigurationEntry> jaas(String loginModule, Map<String, String> options) {
        return List.of(new AppConfigurationEntry(loginModule, AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
                options));
    }

    static Map<String, String> jaasOptions(Path credentialsFile) {
        return Map.of("credentials.file", credentialsFile.toString(), "region", REGION,
                "hosts", BROKER_HOST + ", " + OTHER_BROKER_HOST);
    }
}
