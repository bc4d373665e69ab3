package mskiceberg.testing.mskiam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The credentials file format. */
class CredentialsStoreTest {
    private static String error(String json) {
        return assertThrows(IllegalArgumentException.class,
                () -> CredentialsStore.parse(json.getBytes(StandardCharsets.UTF_8))).getMessage();
    }

    @Test
    void parsesKeysWithAndWithoutSessionTokens() {
        Map<String, StoredCredential> keys = CredentialsStore.parse(
                TestKeys.credentialsJson(TestKeys.LONG_TERM_SECRET).getBytes(StandardCharsets.UTF_8));
        assertEquals(new StoredCredential(TestKeys.LONG_TERM_KEY, TestKeys.LONG_TERM_SECRET, null,
                TestKeys.LONG_TERM_PRINCIPAL), keys.get(TestKeys.LONG_TERM_KEY));
        assertEquals(TestKeys.SESSION_TOKEN, keys.get(TestKeys.SESSION_KEY).sessionToken());
    }

    @Test
    void refusesWhatItWouldOtherwiseMisread() {
        assertEquals("access key K: unknown field sessiontoken (expected secretAccessKey, sessionToken, principal)",
                error("{\"K\": {\"secretAccessKey\": \"s\", \"principal\": \"arn:aws:iam::1:role/r\","
                        + " \"sessiontoken\": \"t\"}}"));
        assertEquals("access key K: principal role/r is not an ARN",
                error("{\"K\": {\"secretAccessKey\": \"s\", \"principal\": \"role/r\"}}"));
        assertEquals("access key K: secretAccessKey is not a non-empty string",
                error("{\"K\": {\"secretAccessKey\": \"\", \"principal\": \"arn:aws:iam::1:role/r\"}}"));
        assertEquals("not a JSON object of access key id -> credential", error("[]"));
    }

    @Test
    void unknownKeyIsNull(@TempDir Path dir) throws Exception {
        assertNull(new CredentialsStore(TestKeys.writeCredentials(dir)).find("NOPE"));
    }
}
