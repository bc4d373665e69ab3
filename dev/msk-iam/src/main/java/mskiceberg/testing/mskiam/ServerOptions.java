package mskiceberg.testing.mskiam;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.config.ConfigException;

/**
 * The JAAS options of a listener's AWS_MSK_IAM or OAUTHBEARER entry: where the credentials file
 * is, the cluster's region and the broker's host names. Read from JAAS because that is the one
 * per-listener, per-mechanism place Kafka hands to a server callback handler.
 */
record ServerOptions(Path credentialsFile, String region, List<String> hosts) {
    static final String CREDENTIALS_FILE = "credentials.file";
    static final String REGION = "region";
    static final String HOSTS = "hosts";

    /**
     * @param hostsRequired true for AWS_MSK_IAM, whose payloads are signed for a broker host name;
     *                      OAUTHBEARER tokens are signed for kafka.&lt;region&gt;.amazonaws.com
     */
    static ServerOptions fromJaas(List<AppConfigurationEntry> entries, String mechanism, boolean hostsRequired) {
        if (entries == null || entries.size() != 1) {
            throw new ConfigException("expected exactly one JAAS entry for " + mechanism + ", got "
                    + (entries == null ? 0 : entries.size()));
        }
        Map<String, ?> options = entries.get(0).getOptions();
        Path file = Path.of(option(options, CREDENTIALS_FILE, mechanism));
        String region = option(options, REGION, mechanism);
        List<String> hosts = List.of();
        Object rawHosts = options.get(HOSTS);
        if (rawHosts != null) {
            hosts = Arrays.stream(rawHosts.toString().split(",")).map(String::trim).filter(h -> !h.isEmpty()).toList();
        }
        if (hostsRequired && hosts.isEmpty()) {
            throw new ConfigException("JAAS option " + HOSTS + " (comma-separated broker host names) is missing for "
                    + mechanism);
        }
        return new ServerOptions(file, region, hosts);
    }

    SignatureVerifier verifier(Clock clock) {
        return new SignatureVerifier(new CredentialsStore(credentialsFile), region, hosts, clock);
    }

    private static String option(Map<String, ?> options, String name, String mechanism) {
        Object v = options.get(name);
        if (v == null || v.toString().isBlank()) {
            throw new ConfigException("JAAS option " + name + " is missing for " + mechanism);
        }
        return v.toString().trim();
    }
}
