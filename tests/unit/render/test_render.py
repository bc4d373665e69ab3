"""Render phase: the exact DDL and INSERT text the job runs, read without a JVM."""

import dataclasses

import pytest
import yaml

from common.errors import ConfigError
from common.load.config import CONFIG_DIR, RegistryConfig, build_transformer, load_project
from common.load.properties import CatalogSettings, KafkaSettings, RegistrySettings
from common.render.catalog_manager import render_catalog_ddl
from common.render.iceberg_sinks import render_sink_ddl
from common.render.job_plan import build_plan
from common.render.kafka_sources import render_good_records_view, render_source_ddl

LOCAL_KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:9092", auth="none", max_record_bytes=1_048_576)
LOCAL_CATALOG = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")


def bid_topic():
    return load_project().topics["bid_events"]


def test_source_ddl_for_bid_events():
    ddl = render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=False)
    head, options = ddl.split("\n) WITH (\n")
    assert head.splitlines() == [
        "CREATE TABLE `default_catalog`.`default_database`.`kafka_bid_events_records` (",
        "  `kafka_key` BYTES,",
        "  `event_name` STRING,",
        "  `user_id` BIGINT,",
        "  `city_id` INT,",
        "  `platform` STRING,",
        "  `session_id` STRING,",
        "  `timestamp_ms` BIGINT,",
        "  `bid_amount` DOUBLE,",
        "  `event_time` TIMESTAMP_LTZ(3),",
        "  `dead_letter_reason` STRING,",
        "  `raw_value` BYTES,",
        "  `raw_text` STRING,",
        "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,",
        "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL,",
        "  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,",
        "  `kafka_headers` MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,",
        "  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '0 00:00:05.000' DAY TO SECOND(3)",
    ]
    assert (
        options
        == """\
  'connector' = 'kafka-idle-aware',
  'topic' = 'bid-events',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'properties.group.id' = 'flink-bid-consumer',
  'scan.startup.mode' = 'earliest-offset',
  'idle-aware.idle-timeout' = '30000 ms',
  'idle-aware.out-of-orderness' = '5000 ms',
  'idle-aware.event-time-peers' = 'bid-events|timestamp_ms|BIGINT',
  'key.format' = 'raw',
  'key.fields' = 'kafka_key',
  'value.fields-include' = 'EXCEPT_KEY',
  'value.format' = 'strict-json',
  'value.strict-json.event-time.field' = 'timestamp_ms',
  'value.strict-json.event-time.valid-from' = '2000-01-01T00:00:00Z',
  'value.strict-json.event-time.valid-until' = '2100-01-01T00:00:00Z',
  'value.strict-json.max-bytes' = '1048576',
  'value.strict-json.topic' = 'bid-events'
)"""
    )


def test_not_null_fields_are_required_by_the_decoder_not_the_column():
    topic = dataclasses.replace(
        bid_topic(), schema=(("user_id", "BIGINT NOT NULL"), ("city_id", "INT NOT NULL"), ("timestamp_ms", "BIGINT"))
    )
    ddl = render_source_ddl(topic, LOCAL_KAFKA, False)
    assert "  `user_id` BIGINT,\n" in ddl
    assert "'value.strict-json.required-fields' = 'user_id;city_id'" in ddl


def test_event_time_range_from_topics_yaml():
    event_time = dataclasses.replace(
        bid_topic().event_time, valid_from="2020-01-01T00:00:00Z", valid_until="2030-06-01T12:00:00.500Z"
    )
    ddl = render_source_ddl(dataclasses.replace(bid_topic(), event_time=event_time), LOCAL_KAFKA, True)
    assert "'value.strict-json.event-time.valid-from' = '2020-01-01T00:00:00Z'" in ddl
    assert "'value.strict-json.event-time.valid-until' = '2030-06-01T12:00:00.500Z'" in ddl
    assert "'scan.bounded.mode' = 'latest-offset'" in ddl


def test_pipelines_read_the_good_records_view():
    assert render_good_records_view(bid_topic()) == (
        "CREATE TEMPORARY VIEW `default_catalog`.`default_database`.`kafka_bid_events` AS\n"
        "SELECT `event_name`, `user_id`, `city_id`, `platform`, `session_id`, `timestamp_ms`, `bid_amount`, `event_time`, "
        "`kafka_partition`\n"
        "FROM `default_catalog`.`default_database`.`kafka_bid_events_records`\n"
        "WHERE `dead_letter_reason` IS NULL"
    )


KEY_TEXT = (
    "CASE WHEN CAST(CAST(`kafka_key` AS STRING) AS BYTES) = `kafka_key` THEN CAST(`kafka_key` AS STRING) END "
    "AS `kafka_key_text`"
)


def test_the_view_has_exactly_the_kafka_metadata_the_topic_asks_for():
    every = dataclasses.replace(bid_topic(), metadata=("key", "offset", "timestamp", "headers"))
    assert render_good_records_view(every).splitlines()[1] == (
        "SELECT `event_name`, `user_id`, `city_id`, `platform`, `session_id`, `timestamp_ms`, `bid_amount`, "
        f"`event_time`, `kafka_partition`, `kafka_key`, {KEY_TEXT}, `kafka_offset`, `kafka_timestamp`, `kafka_headers`"
    )
    plain = render_good_records_view(bid_topic()).splitlines()[1]
    for metadata, added in (
        ("key", f", `kafka_key`, {KEY_TEXT}"),
        ("offset", ", `kafka_offset`"),
        ("timestamp", ", `kafka_timestamp`"),
        ("headers", ", `kafka_headers`"),
    ):
        view = render_good_records_view(dataclasses.replace(bid_topic(), metadata=(metadata,)))
        assert view.splitlines()[1] == plain + added


def test_metadata_changes_the_view_only_and_a_topic_without_it_renders_as_before():
    every = dataclasses.replace(bid_topic(), metadata=("key", "offset", "timestamp", "headers"))
    assert bid_topic().metadata == ()
    assert render_source_ddl(every, LOCAL_KAFKA, bounded=False) == render_source_ddl(bid_topic(), LOCAL_KAFKA, False)
    project = load_project()
    with_metadata = dataclasses.replace(project, topics={**project.topics, "bid_events": every})
    before = build_plan(project, LOCAL_KAFKA, LOCAL_CATALOG, bounded=False)
    after = build_plan(with_metadata, LOCAL_KAFKA, LOCAL_CATALOG, bounded=False)
    assert [d for d in after.ddl() if d not in before.ddl()] == [render_good_records_view(every)]
    assert [p.insert_sql for p in after.pipelines] == [p.insert_sql for p in before.pipelines]


def test_bounded_stops_at_latest_offsets():
    assert "'scan.bounded.mode' = 'latest-offset'" in render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=True)
    assert "scan.bounded.mode" not in render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=False)


def test_msk_iam_uses_sasl_ssl_and_the_iam_login_module():
    ddl = render_source_ddl(bid_topic(), dataclasses.replace(LOCAL_KAFKA, auth="iam"), bounded=False)
    for line in (
        "'properties.security.protocol' = 'SASL_SSL'",
        "'properties.sasl.mechanism' = 'AWS_MSK_IAM'",
        "'properties.sasl.jaas.config' = 'software.amazon.msk.auth.iam.IAMLoginModule required;'",
        "'properties.sasl.client.callback.handler.class' = 'software.amazon.msk.auth.iam.IAMClientCallbackHandler'",
    ):
        assert line in ddl
    assert "SASL" not in render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=False)


def test_sink_ddl_partitioned_by_day_column():
    ddl = render_sink_ddl("iceberg", "sink", "t", [("user", "BIGINT"), ("event_date", "DATE")], ["event_date"])
    assert (
        ddl
        == """\
CREATE TABLE IF NOT EXISTS `iceberg`.`sink`.`t` (
  `user` BIGINT,
  `event_date` DATE
)
PARTITIONED BY (`event_date`)
WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet',
  'write.parquet.compression-codec' = 'zstd',
  'write.target-file-size-bytes' = '134217728',
  'write.distribution-mode' = 'none',
  'write.metadata.delete-after-commit.enabled' = 'true',
  'write.metadata.previous-versions-max' = '50',
  'history.expire.max-snapshot-age-ms' = '86400000',
  'history.expire.min-snapshots-to-keep' = '10',
  'commit.retry.num-retries' = '10'
)"""
    )


def test_sink_with_primary_key_is_an_upsert_table():
    ddl = render_sink_ddl("iceberg", "sink", "t", [("k", "STRING NOT NULL"), ("d", "DATE NOT NULL")], ["d"], ["k", "d"])
    assert "  PRIMARY KEY (`k`, `d`) NOT ENFORCED\n)" in ddl
    assert "'write.upsert.enabled' = 'true'" in ddl
    # `none` still keys an upsert table's rows by its primary key (Iceberg's FlinkSink)
    assert "'write.distribution-mode' = 'none'" in ddl


def test_catalogs():
    assert render_catalog_ddl(LOCAL_CATALOG) == [
        "CREATE CATALOG `iceberg` WITH (\n  'type' = 'iceberg-portable',\n  'catalog-type' = 'hadoop',\n"
        "  'warehouse' = 'file:///tmp/wh'\n)",
        "CREATE DATABASE IF NOT EXISTS `iceberg`.`sink`",
    ]
    arn = f"arn:aws:s3tables:eu-west-1:{'0' * 12}:bucket/b"  # a made-up account
    s3 = render_catalog_ddl(CatalogSettings("s3tables", "s3_tables", arn, "prod"))[0]
    assert "'catalog-impl' = 'software.amazon.s3tables.iceberg.S3TablesCatalog'" in s3
    assert f"'warehouse' = '{arn}'" in s3


def test_plan_has_one_source_per_topic_in_use_and_one_insert_per_pipeline():
    plan = build_plan(load_project(), LOCAL_KAFKA, LOCAL_CATALOG, bounded=True)
    used = {t for p in load_project().pipelines for t in p.topics}
    assert len(plan.source_ddl) == 2 * len(used)  # records table + good-records view per topic
    assert [p.name for p in plan.pipelines] == [p.name for p in load_project().pipelines] + ["dead_letters"]
    raw = next(p for p in plan.pipelines if p.name == "bid_events_raw")
    assert raw.insert_sql.startswith("INSERT INTO `iceberg`.`sink`.`bid_events_raw` (`event_name`, `user_id`")
    assert "FROM `default_catalog`.`default_database`.`kafka_bid_events`" in raw.insert_sql
    assert plan.ddl()[:2] == render_catalog_ddl(LOCAL_CATALOG)


def test_unknown_transformer_class_names_what_exists():
    pipeline = dataclasses.replace(load_project().pipelines[0], transformer_class="BidEventsRawTransformr")
    with pytest.raises(ConfigError, match="has no class BidEventsRawTransformr.*valid: BidEventsRawTransformer"):
        build_transformer(pipeline)


def test_missing_transformer_module():
    pipeline = dataclasses.replace(load_project().pipelines[0], name="no_such_pipeline")
    with pytest.raises(ConfigError, match="cannot import module transformations.no_such_pipeline"):
        build_transformer(pipeline)


def test_idle_timeout_from_topics_yaml_and_zero_turns_it_off():
    quick = dataclasses.replace(bid_topic().event_time, idle_timeout_ms=2_000)
    ddl = render_source_ddl(dataclasses.replace(bid_topic(), event_time=quick), LOCAL_KAFKA, False)
    assert "'idle-aware.idle-timeout' = '2000 ms'" in ddl
    assert "scan.watermark.idle-timeout" not in ddl  # Flink's timer idleness is what the connector replaces
    never = dataclasses.replace(bid_topic().event_time, idle_timeout_ms=0)
    assert "'idle-aware.idle-timeout' = '0 ms'" in render_source_ddl(
        dataclasses.replace(bid_topic(), event_time=never), LOCAL_KAFKA, False
    )


def test_release_after_is_rendered_only_when_set():
    assert "release-after" not in render_source_ddl(bid_topic(), LOCAL_KAFKA, False)
    released = dataclasses.replace(bid_topic().event_time, release_after_ms=900_000)
    assert "'idle-aware.release-after' = '900000 ms'" in render_source_ddl(
        dataclasses.replace(bid_topic(), event_time=released), LOCAL_KAFKA, False
    )


def test_every_source_knows_every_topic_of_the_job_for_idle_partitions():
    project = load_project()
    topics = project.topics_in_use()
    peers = "bid-events|timestamp_ms|BIGINT;user-events|timestamp_ms|BIGINT;order-events|timestamp_ms|BIGINT"
    for topic in topics:
        assert f"'idle-aware.event-time-peers' = '{peers}'" in render_source_ddl(
            topic, LOCAL_KAFKA, False, peers=topics
        )


# --- Avro topics (a schema registry) and CDC topics (Debezium change events) ---------------------

REGISTRIES = RegistrySettings(
    confluent_url="https://registry.example:8081",
    confluent_user_info="writer:pa55",
    glue_region="eu-west-1",
    glue_endpoint="http://127.0.0.1:5000",
)
WITH_REGISTRIES = dataclasses.replace(LOCAL_KAFKA, registry=REGISTRIES)


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    """The shipped config plus the pipeline guide's Avro and CDC examples, loaded
    (docs/adding_a_pipeline.md, "Avro topics and CDC topics")."""
    from tests.e2e.test_adding_pipeline import examples

    config_dir = tmp_path_factory.mktemp("config")
    topics = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text())
    topics["kafka_topics"].update(yaml.safe_load(examples()["avro topics.yaml"]))
    topics["kafka_topics"].update(yaml.safe_load(examples()["cdc topics.yaml"]))
    pipes = yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text())
    pipes["transformations"] += yaml.safe_load(examples()["cdc transformations.yaml"])
    (config_dir / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    (config_dir / "transformations.yaml").write_text(yaml.safe_dump(pipes, sort_keys=False))
    return load_project(config_dir)


def confluent(topic):
    return dataclasses.replace(topic, registry=RegistryConfig("confluent", "default-registry", "bids-avro-value"))


AVRO_COLUMNS = [
    "CREATE TABLE `default_catalog`.`default_database`.`kafka_bids_avro_records` (",
    "  `kafka_key` BYTES,",
    "  `bid_id` STRING,",
    "  `user_id` BIGINT,",
    "  `amount` DOUBLE,",
    "  `coupon` STRING,",
    "  `ts` BIGINT,",
    "  `event_time` TIMESTAMP_LTZ(3),",
    "  `dead_letter_reason` STRING,",
    "  `raw_value` BYTES,",
    "  `raw_text` STRING,",
    "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,",
    "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL,",
    "  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,",
    "  `kafka_headers` MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,",
    "  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '0 00:00:05.000' DAY TO SECOND(3)",
]


def avro_options(peer_lines: str, registry_lines: str) -> str:
    """The WITH clause of the guide's Avro topic: the registry's location goes to the format
    and, for reading the topic's event times as an idle-aware peer, to the connector."""
    return (
        """\
  'connector' = 'kafka-idle-aware',
  'topic' = 'bids-avro',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'properties.group.id' = 'flink-bids-avro-consumer',
  'scan.startup.mode' = 'earliest-offset',
  'idle-aware.idle-timeout' = '30000 ms',
  'idle-aware.out-of-orderness' = '5000 ms',
"""
        + peer_lines
        + """\
  'key.format' = 'raw',
  'key.fields' = 'kafka_key',
  'value.fields-include' = 'EXCEPT_KEY',
  'value.format' = 'registry-avro',
  'value.registry-avro.event-time.field' = 'ts',
  'value.registry-avro.event-time.valid-from' = '2000-01-01T00:00:00Z',
  'value.registry-avro.event-time.valid-until' = '2100-01-01T00:00:00Z',
  'value.registry-avro.max-bytes' = '1048576',
  'value.registry-avro.topic' = 'bids-avro',
  'value.registry-avro.required-fields' = 'bid_id;user_id;ts',
"""
        + registry_lines
        + "\n)"
    )


def test_source_ddl_of_an_avro_topic_through_glue(guide):
    """The Glue registry's region and endpoint, none of the Confluent registry's settings."""
    head, options = render_source_ddl(guide.topics["bids_avro"], WITH_REGISTRIES, bounded=False).split("\n) WITH (\n")
    assert head.splitlines() == AVRO_COLUMNS
    assert options == avro_options(
        "  'idle-aware.event-time-peers' = 'bids-avro|ts|BIGINT|avro:glue',\n"
        "  'idle-aware.registry.region' = 'eu-west-1',\n"
        "  'idle-aware.registry.endpoint' = 'http://127.0.0.1:5000',\n",
        "  'value.registry-avro.registry' = 'glue',\n"
        "  'value.registry-avro.registry.region' = 'eu-west-1',\n"
        "  'value.registry-avro.registry.endpoint' = 'http://127.0.0.1:5000'",
    )
    # without a region or endpoint: the AWS SDK's own region chain, AWS's endpoint
    assert render_source_ddl(guide.topics["bids_avro"], LOCAL_KAFKA, False).split("\n) WITH (\n")[1] == avro_options(
        "  'idle-aware.event-time-peers' = 'bids-avro|ts|BIGINT|avro:glue',\n",
        "  'value.registry-avro.registry' = 'glue'",
    )


def test_source_ddl_of_an_avro_topic_through_a_confluent_registry(guide):
    """The registry's URL and basic auth, none of Glue's settings."""
    head, options = render_source_ddl(confluent(guide.topics["bids_avro"]), WITH_REGISTRIES, False).split(
        "\n) WITH (\n"
    )
    assert head.splitlines() == AVRO_COLUMNS
    assert options == avro_options(
        "  'idle-aware.event-time-peers' = 'bids-avro|ts|BIGINT|avro:confluent',\n"
        "  'idle-aware.registry.url' = 'https://registry.example:8081',\n"
        "  'idle-aware.registry.basic-auth.user-info' = 'writer:pa55',\n",
        "  'value.registry-avro.registry' = 'confluent',\n"
        "  'value.registry-avro.registry.url' = 'https://registry.example:8081',\n"
        "  'value.registry-avro.registry.basic-auth.user-info' = 'writer:pa55'",
    )
    no_auth = dataclasses.replace(LOCAL_KAFKA, registry=RegistrySettings(confluent_url="http://localhost:8081"))
    assert render_source_ddl(confluent(guide.topics["bids_avro"]), no_auth, False).split("\n) WITH (\n")[
        1
    ] == avro_options(
        "  'idle-aware.event-time-peers' = 'bids-avro|ts|BIGINT|avro:confluent',\n"
        "  'idle-aware.registry.url' = 'http://localhost:8081',\n",
        "  'value.registry-avro.registry' = 'confluent',\n"
        "  'value.registry-avro.registry.url' = 'http://localhost:8081'",
    )


def test_a_confluent_avro_topic_without_a_registry_url_is_refused(guide):
    only_glue = dataclasses.replace(LOCAL_KAFKA, registry=RegistrySettings(glue_region="eu-west-1"))
    with pytest.raises(ConfigError) as err:
        render_source_ddl(confluent(guide.topics["bids_avro"]), only_glue, False)
    assert str(err.value) == (
        "application properties: registry.confluent.url: topic bids_avro reads Avro through a "
        "Confluent-compatible registry, and no URL is set (valid: the registry's base URL, "
        "e.g. https://registry.example:8081 (or $SCHEMA_REGISTRY_URL))"
    )


def test_source_ddl_of_a_cdc_topic(guide):
    """Keyed by the topic's primary key (the planner then upserts without a materializing
    operator); the decoder takes the key columns and the event time is the envelope's ts_ms."""
    head, options = render_source_ddl(guide.topics["customers_cdc"], LOCAL_KAFKA, bounded=False).split("\n) WITH (\n")
    assert head.splitlines() == [
        "CREATE TABLE `default_catalog`.`default_database`.`kafka_customers_cdc_records` (",
        "  `kafka_key` BYTES,",
        "  `id` BIGINT,",
        "  `name` STRING,",
        "  `email` STRING,",
        "  `tier` INT,",
        "  `event_time` TIMESTAMP_LTZ(3),",
        "  `dead_letter_reason` STRING,",
        "  `raw_value` BYTES,",
        "  `raw_text` STRING,",
        "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,",
        "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL,",
        "  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,",
        "  `kafka_headers` MAP<STRING, BYTES> METADATA FROM 'headers' VIRTUAL,",
        "  PRIMARY KEY (`id`) NOT ENFORCED,",
        "  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '0 00:00:05.000' DAY TO SECOND(3)",
    ]
    assert (
        options
        == """\
  'connector' = 'kafka-idle-aware',
  'topic' = 'shop.public.customers',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'properties.group.id' = 'flink-customers-cdc',
  'scan.startup.mode' = 'earliest-offset',
  'idle-aware.idle-timeout' = '30000 ms',
  'idle-aware.out-of-orderness' = '5000 ms',
  'idle-aware.event-time-peers' = 'shop.public.customers|ts_ms|BIGINT',
  'key.format' = 'raw',
  'key.fields' = 'kafka_key',
  'value.fields-include' = 'EXCEPT_KEY',
  'value.format' = 'strict-debezium-json',
  'value.strict-debezium-json.key-fields' = 'id',
  'value.strict-debezium-json.event-time.valid-from' = '2000-01-01T00:00:00Z',
  'value.strict-debezium-json.event-time.valid-until' = '2100-01-01T00:00:00Z',
  'value.strict-debezium-json.max-bytes' = '1048576',
  'value.strict-debezium-json.topic' = 'shop.public.customers',
  'value.strict-debezium-json.required-fields' = 'id;name'
)"""
    )
    assert "event-time.field" not in options and "registry" not in options
    # a composite key keeps its order, in the DDL and for the decoder
    composite = dataclasses.replace(guide.topics["customers_cdc"], primary_key=("tier", "id"))
    ddl = render_source_ddl(composite, LOCAL_KAFKA, False)
    assert "  PRIMARY KEY (`tier`, `id`) NOT ENFORCED,\n" in ddl
    assert "'value.strict-debezium-json.key-fields' = 'tier;id'" in ddl
    # the registry settings are an Avro topic's only
    assert render_source_ddl(guide.topics["customers_cdc"], WITH_REGISTRIES, False) == "\n) WITH (\n".join(
        (head, options)
    )
    assert "PRIMARY KEY" not in render_source_ddl(guide.topics["bids_avro"], LOCAL_KAFKA, False)


def test_a_cdc_topic_is_an_idle_aware_peer_by_its_envelopes_ts_ms(guide):
    topics = [guide.topics["bid_events"], guide.topics["customers_cdc"]]
    peers = "bid-events|timestamp_ms|BIGINT;shop.public.customers|ts_ms|BIGINT"
    for topic in topics:
        assert f"'idle-aware.event-time-peers' = '{peers}'" in render_source_ddl(
            topic, LOCAL_KAFKA, False, peers=topics
        )


def test_source_ddl_of_a_debezium_avro_topic(guide):
    """The CDC decoder over Avro envelopes: keyed like a debezium-json topic, the registry options
    like an avro topic's, and its event times read through the registry for idleness too."""
    topic = dataclasses.replace(
        guide.topics["customers_cdc"],
        format="debezium-avro",
        registry=RegistryConfig("confluent", "default-registry", "shop.public.customers-value"),
    )
    kafka = dataclasses.replace(LOCAL_KAFKA, registry=RegistrySettings(confluent_url="http://localhost:8081"))
    ddl = render_source_ddl(topic, kafka, bounded=False)
    assert "  PRIMARY KEY (`id`) NOT ENFORCED,\n" in ddl
    options = ddl.split("\n) WITH (\n")[1]
    assert [line.strip() for line in options.splitlines() if "value." in line or "event-time-peers" in line] == [
        "'idle-aware.event-time-peers' = 'shop.public.customers|ts_ms|BIGINT|avro:confluent',",
        "'value.fields-include' = 'EXCEPT_KEY',",
        "'value.format' = 'registry-debezium-avro',",
        "'value.registry-debezium-avro.key-fields' = 'id',",
        "'value.registry-debezium-avro.event-time.valid-from' = '2000-01-01T00:00:00Z',",
        "'value.registry-debezium-avro.event-time.valid-until' = '2100-01-01T00:00:00Z',",
        "'value.registry-debezium-avro.max-bytes' = '1048576',",
        "'value.registry-debezium-avro.topic' = 'shop.public.customers',",
        "'value.registry-debezium-avro.required-fields' = 'id;name',",
        "'value.registry-debezium-avro.registry' = 'confluent',",
        "'value.registry-debezium-avro.registry.url' = 'http://localhost:8081'",
    ]
