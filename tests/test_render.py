"""Render phase: the exact DDL and INSERT text the job runs, read without a JVM."""

import dataclasses

import pytest

from common.catalog_manager import render_catalog_ddl
from common.config import load_project
from common.errors import ConfigError
from common.iceberg_sinks import render_sink_ddl
from common.job_plan import build_plan, load_transformer
from common.kafka_sources import reason_expression, render_good_records_view, render_source_ddl
from common.properties import CatalogSettings, KafkaSettings

LOCAL_KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:9092", auth="none", max_record_chars=100_000)
LOCAL_CATALOG = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")


def bid_topic():
    return load_project().topics["bid_events"]


def test_source_ddl_for_bid_events():
    ddl = render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=False)
    head, options = ddl.split("\n) WITH (\n")
    assert head.splitlines()[:14] == [
        "CREATE TABLE `default_catalog`.`default_database`.`kafka_bid_events_records` (",
        "  `raw_value` STRING,",
        "  `kafka_partition` INT METADATA FROM 'partition' VIRTUAL,",
        "  `kafka_offset` BIGINT METADATA FROM 'offset' VIRTUAL,",
        "  `kafka_timestamp` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,",
        "  `event_name` AS JSON_VALUE(`raw_value`, '$.event_name'),",
        "  `user_id` AS TRY_CAST(JSON_VALUE(`raw_value`, '$.user_id') AS BIGINT),",
        "  `city_id` AS TRY_CAST(JSON_VALUE(`raw_value`, '$.city_id') AS INT),",
        "  `platform` AS JSON_VALUE(`raw_value`, '$.platform'),",
        "  `session_id` AS JSON_VALUE(`raw_value`, '$.session_id'),",
        "  `timestamp_ms` AS TRY_CAST(JSON_VALUE(`raw_value`, '$.timestamp_ms') AS BIGINT),",
        "  `bid_amount` AS TRY_CAST(JSON_VALUE(`raw_value`, '$.bid_amount') AS DOUBLE),",
        "  `event_time` AS TO_TIMESTAMP_LTZ(TRY_CAST(JSON_VALUE(`raw_value`, '$.timestamp_ms') AS BIGINT), 3),",
        "  `dead_letter_reason` AS CASE",
    ]
    assert head.endswith("  END,\n  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '0 00:00:05.000' DAY TO SECOND(3)")
    assert options == """\
  'connector' = 'kafka',
  'topic' = 'bid-events',
  'properties.bootstrap.servers' = '127.0.0.1:9092',
  'properties.group.id' = 'flink-bid-consumer',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'raw',
  'raw.charset' = 'UTF-8'
)"""


def test_dead_letter_reasons_in_order_of_checks():
    reason = reason_expression(bid_topic(), 1000).splitlines()
    assert reason[1:5] == [
        "    WHEN `raw_value` IS NULL THEN 'no value'",
        "    WHEN CHAR_LENGTH(`raw_value`) > 1000 THEN 'too large: more than 1000 characters'",
        "    WHEN NOT (`raw_value` IS JSON OBJECT) THEN 'not a JSON object'",
        "    WHEN JSON_VALUE(`raw_value`, '$.timestamp_ms') IS NULL THEN 'missing required field timestamp_ms'",
    ]
    assert ("    WHEN JSON_VALUE(`raw_value`, '$.user_id') IS NOT NULL AND "
            "TRY_CAST(JSON_VALUE(`raw_value`, '$.user_id') AS BIGINT) IS NULL THEN 'field user_id is not BIGINT'") in reason
    assert not any("is not STRING" in line for line in reason)  # any JSON scalar is a valid STRING


def test_not_null_fields_are_required():
    topic = dataclasses.replace(bid_topic(), schema=(("user_id", "BIGINT NOT NULL"), ("timestamp_ms", "BIGINT")))
    assert "WHEN JSON_VALUE(`raw_value`, '$.user_id') IS NULL THEN 'missing required field user_id'" in \
        reason_expression(topic, 10)
    assert "`user_id` AS TRY_CAST(JSON_VALUE(`raw_value`, '$.user_id') AS BIGINT)" in render_source_ddl(topic, LOCAL_KAFKA, False)


def test_pipelines_read_the_good_records_view():
    assert render_good_records_view(bid_topic()) == (
        "CREATE TEMPORARY VIEW `default_catalog`.`default_database`.`kafka_bid_events` AS\n"
        "SELECT `event_name`, `user_id`, `city_id`, `platform`, `session_id`, `timestamp_ms`, `bid_amount`, `event_time`\n"
        "FROM `default_catalog`.`default_database`.`kafka_bid_events_records`\n"
        "WHERE `dead_letter_reason` IS NULL")


def test_bounded_stops_at_latest_offsets():
    assert "'scan.bounded.mode' = 'latest-offset'" in render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=True)
    assert "scan.bounded.mode" not in render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=False)


def test_msk_iam_uses_sasl_ssl_and_the_iam_login_module():
    ddl = render_source_ddl(bid_topic(), dataclasses.replace(LOCAL_KAFKA, auth="iam"), bounded=False)
    for line in ("'properties.security.protocol' = 'SASL_SSL'",
                 "'properties.sasl.mechanism' = 'AWS_MSK_IAM'",
                 "'properties.sasl.jaas.config' = 'software.amazon.msk.auth.iam.IAMLoginModule required;'",
                 "'properties.sasl.client.callback.handler.class' = "
                 "'software.amazon.msk.auth.iam.IAMClientCallbackHandler'"):
        assert line in ddl
    assert "SASL" not in render_source_ddl(bid_topic(), LOCAL_KAFKA, bounded=False)


def test_sink_ddl_partitioned_by_day_column():
    ddl = render_sink_ddl("iceberg", "sink", "t", [("user", "BIGINT"), ("event_date", "DATE")], ["event_date"])
    assert ddl == """\
CREATE TABLE IF NOT EXISTS `iceberg`.`sink`.`t` (
  `user` BIGINT,
  `event_date` DATE
)
PARTITIONED BY (`event_date`)
WITH (
  'format-version' = '2',
  'write.format.default' = 'parquet',
  'write.parquet.compression-codec' = 'zstd'
)"""


def test_sink_with_primary_key_is_an_upsert_table():
    ddl = render_sink_ddl("iceberg", "sink", "t", [("k", "STRING NOT NULL"), ("d", "DATE NOT NULL")], ["d"], ["k", "d"])
    assert "  PRIMARY KEY (`k`, `d`) NOT ENFORCED\n)" in ddl
    assert "'write.upsert.enabled' = 'true'" in ddl


def test_catalogs():
    assert render_catalog_ddl(LOCAL_CATALOG) == [
        "CREATE CATALOG `iceberg` WITH (\n  'type' = 'iceberg',\n  'catalog-type' = 'hadoop',\n"
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
        load_transformer(pipeline)


def test_missing_transformer_module():
    pipeline = dataclasses.replace(load_project().pipelines[0], name="no_such_pipeline")
    with pytest.raises(ConfigError, match="cannot import module transformations.no_such_pipeline"):
        load_transformer(pipeline)
