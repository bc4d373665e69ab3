package mskiceberg.streaming.format;

import java.io.Serializable;

/** Which schema registry an Avro topic's writers use, and how to reach it (the registry-avro options). */
public final class RegistrySettings implements Serializable {

    private static final long serialVersionUID = 1L;

    public static final String CONFLUENT = "confluent";
    public static final String GLUE = "glue";

    final String registry; // CONFLUENT or GLUE
    final String url; // confluent: the registry's base URL
    final String userInfo; // confluent: "user:password" for HTTP basic auth, or null
    final String region; // glue: the AWS region, or null for the SDK's default chain
    final String endpoint; // glue: an endpoint other than AWS's (a local one), or null

    public RegistrySettings(String registry, String url, String userInfo, String region, String endpoint) {
        this.registry = registry;
        this.url = url;
        this.userInfo = userInfo;
        this.region = region;
        this.endpoint = endpoint;
    }

    WireFormat wireFormat() {
        return WireFormat.of(registry);
    }

    /** The registry's kind only: no URL, no credentials (settings end up in logs and probe keys). */
    @Override
    public String toString() {
        return registry;
    }

    SchemaRegistryClient client() {
        return GLUE.equals(registry) ? new SchemaRegistryClient.Glue(region, endpoint)
                : new SchemaRegistryClient.Confluent(url, userInfo);
    }
}
