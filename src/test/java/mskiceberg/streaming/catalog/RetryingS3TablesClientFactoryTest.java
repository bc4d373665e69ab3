package mskiceberg.streaming.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.s3tables.S3TablesClient;
import software.amazon.s3tables.iceberg.S3TablesAwsClientFactories;
import software.amazon.s3tables.iceberg.S3TablesAwsClientFactory;

/** The S3 Tables catalog loads the factory from its option, and the client retries as configured. */
class RetryingS3TablesClientFactoryTest {

    private static final Map<String, String> OPTIONS = Map.of(
            "s3tables.client-factory-impl", RetryingS3TablesClientFactory.class.getName(),
            "s3tables.retry.num-retries", "12", "client.region", "us-east-1",
            "s3tables.endpoint", "http://127.0.0.1:1");

    @Test
    void theCatalogsClientRetriesAsConfigured() {
        S3TablesAwsClientFactory factory = S3TablesAwsClientFactories.from(OPTIONS);
        assertEquals(RetryingS3TablesClientFactory.class, factory.getClass());
        try (S3TablesClient client = factory.s3tables()) {
            RetryStrategy retries = client.serviceClientConfiguration().overrideConfiguration().retryStrategy()
                    .orElseThrow();
            assertEquals(13, retries.maxAttempts());
        }
    }

    @Test
    void withoutTheOptionItRetriesAsTheSdkDoes() {
        RetryingS3TablesClientFactory factory = new RetryingS3TablesClientFactory();
        factory.initialize(Map.of("client.region", "us-east-1"));
        assertEquals(2, factory.retries());
    }
}
