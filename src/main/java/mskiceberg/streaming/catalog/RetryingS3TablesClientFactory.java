package mskiceberg.streaming.catalog;

import java.util.Map;

import org.apache.iceberg.util.PropertyUtil;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.SdkAdvancedClientOption;
import software.amazon.awssdk.services.s3tables.S3TablesClient;
import software.amazon.s3tables.iceberg.S3TablesAwsClientFactories;
import software.amazon.s3tables.iceberg.S3TablesProperties;

/**
 * The S3 Tables catalog's client (catalog option {@code s3tables.client-factory-impl}), made as the
 * catalog's own default factory makes it, but retrying as long as Iceberg's S3 client does: the
 * AWS SDK's standard strategy (exponential backoff with full jitter from 100 ms, at most 20 s
 * apart) with the retries of catalog option {@value #NUM_RETRIES} instead of 2, and no retry
 * circuit breaker (which stops retrying once many calls have failed: an outage).
 *
 * <p>Why: a commit (GetTableMetadataLocation, UpdateTableMetadataLocation) that fails after the
 * SDK's three attempts fails the committing task, so the job fails over; the data files it commits
 * are written through S3FileIO, whose retries ({@code s3.retry.num-retries}) the job raises alike
 * (common/render/catalog_manager.py). A commit whose answer was lost is safe to retry: the catalog
 * checks whether the table already points at its new metadata before failing (docs/deploy.md,
 * "Storage outages").
 */
public class RetryingS3TablesClientFactory extends S3TablesAwsClientFactories.DefaultS3TablesAwsClientFactory {

    private static final long serialVersionUID = 1L;

    /** Catalog option: how often a failed S3 Tables call is retried (default: the SDK's 2). */
    public static final String NUM_RETRIES = "s3tables.retry.num-retries";

    private int retries = 2;

    @Override
    public void initialize(Map<String, String> properties) {
        super.initialize(properties);
        retries = PropertyUtil.propertyAsInt(properties, NUM_RETRIES, retries);
    }

    int retries() {
        return retries;
    }

    @Override
    public S3TablesClient s3tables() {
        return S3TablesClient.builder()
                .applyMutation(awsClientProperties::applyClientRegionConfiguration)
                .applyMutation(httpClientProperties::applyHttpClientConfigurations)
                .applyMutation(s3TablesProperties::applyS3TableEndpointConfigurations)
                .applyMutation(awsClientProperties::applyClientCredentialConfigurations)
                .overrideConfiguration(c -> c
                        .putAdvancedOption(SdkAdvancedClientOption.USER_AGENT_PREFIX,
                                S3TablesProperties.S3_TABLES_ICEBERG_CATALOG)
                        .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                                .maxAttempts(retries + 1)
                                .circuitBreakerEnabled(false)
                                .build()))
                .build();
    }
}
