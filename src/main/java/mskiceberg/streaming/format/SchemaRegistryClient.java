package mskiceberg.streaming.format;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.glue.GlueClient;
import software.amazon.awssdk.services.glue.GlueClientBuilder;
import software.amazon.awssdk.services.glue.model.EntityNotFoundException;
import software.amazon.awssdk.services.glue.model.GetSchemaVersionResponse;

/**
 * Where a writer's schema is looked up: a Confluent-compatible registry's REST API or AWS Glue
 * Schema Registry. A schema the registry does not have is an answer (null: the record is a dead
 * letter); a registry that cannot answer is an IOException (an outage or wrong credentials: the
 * job fails and restarts from its checkpoint, no record is judged on it).
 */
interface SchemaRegistryClient extends AutoCloseable {

    /** A writer schema as the registry stores it: its text and its data format ("AVRO", ...). */
    final class Found {
        final String text;
        final String dataFormat;

        Found(String text, String dataFormat) {
            this.text = text;
            this.dataFormat = dataFormat;
        }
    }

    /** The schema under the wire format's key, or null when the registry has none. */
    Found schema(String key) throws IOException;

    @Override
    void close();

    /** Confluent's REST API v1: {@code GET /schemas/ids/{id}}, HTTP basic auth when user-info is given. */
    final class Confluent implements SchemaRegistryClient {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final String url;
        private final String authorization; // null: no credentials
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

        Confluent(String url, String userInfo) {
            this.url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            this.authorization = userInfo == null || userInfo.isEmpty()
                    ? null
                    : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public Found schema(String key) throws IOException {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + "/schemas/ids/" + key))
                    .timeout(Duration.ofSeconds(30))
                    .header("Accept", "application/vnd.schemaregistry.v1+json, application/json");
            if (authorization != null) {
                request.header("Authorization", authorization);
            }
            HttpResponse<String> response;
            try {
                response = http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while asking the schema registry " + url, e);
            }
            if (response.statusCode() == 404) {
                return null; // 40403: no schema with this id
            }
            if (response.statusCode() != 200) {
                throw new IOException("the schema registry " + url + " answered HTTP " + response.statusCode()
                        + " for schema id " + key + ": " + response.body());
            }
            JsonNode body = JSON.readTree(response.body());
            String type = body.path("schemaType").asText("AVRO"); // absent means Avro
            return new Found(body.path("schema").asText(), type);
        }

        @Override
        public void close() {
            // java.net.http.HttpClient releases its resources when unreachable
        }

        @Override
        public String toString() {
            return url;
        }
    }

    /** AWS Glue Schema Registry: {@code GetSchemaVersion} by the schema version id. */
    final class Glue implements SchemaRegistryClient {
        private final GlueClient glue;
        private final String where;

        Glue(String region, String endpoint) {
            GlueClientBuilder builder = GlueClient.builder();
            if (region != null && !region.isEmpty()) {
                builder.region(Region.of(region));
            }
            if (endpoint != null && !endpoint.isEmpty()) {
                builder.endpointOverride(URI.create(endpoint));
            }
            glue = builder.build();
            where = "AWS Glue Schema Registry" + (endpoint == null || endpoint.isEmpty() ? "" : " at " + endpoint);
        }

        @Override
        public Found schema(String key) throws IOException {
            try {
                GetSchemaVersionResponse version = glue.getSchemaVersion(r -> r.schemaVersionId(key));
                return new Found(version.schemaDefinition(), version.dataFormatAsString());
            } catch (EntityNotFoundException e) {
                return null;
            } catch (SdkException e) {
                throw new IOException(where + " did not answer for schema version " + key + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            glue.close();
        }

        @Override
        public String toString() {
            return where;
        }
    }
}
