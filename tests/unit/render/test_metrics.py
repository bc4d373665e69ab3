"""The job's own metrics as rendered SQL (common/render/metrics.py): which column carries them, and
that an updating (upsert) SQL-only pipeline still plans with its key and no extra state."""

from __future__ import annotations

import shutil

import pytest

from common.load.config import CONFIG_DIR, load_project
from common.load.properties import CatalogSettings, KafkaSettings, load_settings
from common.load.transformer import BaseTransformer, SourceTables
from common.render import metrics
from common.render.job_plan import build_plan

LOCAL_KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:9092", auth="none", max_record_bytes=1_048_576)
LOCAL_CATALOG = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")


def test_event_time_column_rule():
    rule = metrics.event_time_column
    assert rule([("a", "STRING"), ("window_end", "TIMESTAMP(3)"), ("event_time", "TIMESTAMP(3)")]) == "event_time"
    assert rule([("window_start", "TIMESTAMP(3)"), ("window_end", "TIMESTAMP(3)")]) == "window_end"
    assert (
        rule([("d", "DATE"), ("session_start", "TIMESTAMP(3) NOT NULL"), ("x", "TIMESTAMP_LTZ(3)")]) == "session_start"
    )
    assert rule([("event_time", "BIGINT"), ("t", "TIMESTAMP(3) WITH LOCAL TIME ZONE")]) == "t"
    assert rule([("id", "STRING"), ("d", "DATE")]) is None
    assert rule([("a", "TIMESTAMP(3)"), ("b", "TIMESTAMP(6)")], declared="b") == "b"
    with pytest.raises(ValueError, match="names 'd', which is not a TIMESTAMP"):
        rule([("a", "TIMESTAMP(3)"), ("d", "DATE")], declared="d")


def test_every_shipped_pipeline_passes_one_column_through_the_metrics_call():
    plan = build_plan(load_project(), LOCAL_KAFKA, LOCAL_CATALOG, bounded=False)
    calls = {p.name: p.insert_sql.splitlines()[1] for p in plan.pipelines if p.name != "dead_letters"}
    # the carrier: the first fixed-width column outside the key (metrics.carrier_column)
    assert calls == {
        "bid_events_raw": "SELECT `event_name`, pipeline_metrics('bid_events_raw', `user_id`, `event_time`) AS "
        "`user_id`, `city_id`, `platform`, `session_id`, `bid_amount`, `event_time`, `ingestion_time`, `event_date`",
        "bid_events_aggregated": "SELECT `window_start`, `window_end`, pipeline_metrics('bid_events_aggregated', "
        "`city_id`, `window_end`) AS `city_id`, `platform`, `total_bids`, `unique_users`, `avg_bid_amount`, "
        "`max_bid_amount`, `min_bid_amount`, `window_date`",
        "bid_events_late": "SELECT `event_name`, pipeline_metrics('bid_events_late', `user_id`, `event_time`, "
        "'bid_events_aggregated', 'bid_events', `kafka_partition`) AS `user_id`, `city_id`, `platform`, "
        "`session_id`, `bid_amount`, `event_time`, `window_end`, `watermark_at_arrival`, `kafka_partition`, "
        "`event_date`",
        "user_events_processed": "SELECT `event_type`, pipeline_metrics('user_events_processed', `user_id`, "
        "`event_time`) AS `user_id`, `action`, `event_time`, `event_date`, `event_hour`, `metadata`, "
        "`ingestion_time`",
        "order_events_enriched": "SELECT `order_id`, pipeline_metrics('order_events_enriched', `user_id`, "
        "`order_time`) AS `user_id`, `product_id`, `quantity`, `price`, `total_amount`, `order_time`, "
        "`order_date`, `price_category`, `ingestion_time`",
        "session_analytics": "SELECT `session_id`, pipeline_metrics('session_analytics', `user_id`, `session_end`) "
        "AS `user_id`, `session_start`, `session_end`, `total_bids`, `total_events`, `platforms_used`, "
        "`cities_accessed`, `session_date`",
        "session_late": "SELECT `source_topic`, pipeline_metrics('session_late', `user_id`, `event_time`, "
        "'session_analytics', `source_topic`, `kafka_partition`) AS `user_id`, `event_time`, `session_deadline`, "
        "`watermark_at_arrival`, `kafka_partition`, `event_date`",
    }
    assert plan.ddl()[-1] == (
        "CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS pipeline_metrics AS "
        "'mskiceberg.streaming.metrics.PipelineMetrics' LANGUAGE JAVA"
    )


class _Keyed(BaseTransformer):
    """A table whose first columns are its key, with no TIMESTAMP column; ends in a -- comment."""

    def get_sink_schema(self) -> dict[str, str]:
        return {"k": "BIGINT NOT NULL", "n": "BIGINT"}

    def get_primary_key(self) -> list[str]:
        return ["k"]

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"SELECT `k`, COUNT(*) AS `n` FROM {sources.primary} GROUP BY `k` -- per key"


def test_the_key_stays_a_plain_column_and_a_trailing_comment_cannot_swallow_the_parenthesis():
    sources = SourceTables("t", {"t": "`src`"}, "`v`")
    assert metrics.metered_insert(_Keyed(), sources, "`sink`", "p") == (
        "INSERT INTO `sink` (`k`, `n`)\n"
        "SELECT `k`, pipeline_metrics('p', `n`) AS `n`\n"
        "FROM (\nSELECT `k`, COUNT(*) AS `n` FROM `src` GROUP BY `k` -- per key\n)"
    )


UPSERT_PIPELINE = """\
  - name: bids_per_user
    source_topic: bid_events
    sink_table: bids_per_user
    sink_schema:
      user_id: BIGINT NOT NULL
      bids: BIGINT
      last_bid: TIMESTAMP(3)
    primary_key: [user_id]
    sql: |
      SELECT `user_id`, COUNT(*) AS `bids`, MAX(CAST(`event_time` AS TIMESTAMP(3))) AS `last_bid`
      FROM {source}
      WHERE `user_id` IS NOT NULL
      GROUP BY `user_id`
"""


@pytest.mark.jvm
def test_an_updating_sql_only_pipeline_plans_with_its_metrics_and_no_materializer(tmp_path, monkeypatch):
    from common.run import flink_env, runner

    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(CONFIG_DIR / "topics.yaml", config / "topics.yaml")
    (config / "transformations.yaml").write_text("transformations:\n" + UPSERT_PIPELINE)
    monkeypatch.setenv("ICEBERG_WAREHOUSE", str(tmp_path / "warehouse"))
    settings = load_settings()
    plan = build_plan(load_project(config), settings.kafka, settings.catalog, bounded=True)
    explained = runner.explain(flink_env.create_table_env(settings, "metrics-upsert"), plan)  # the changelog check
    physical = explained.split("== Optimized Physical Plan ==")[1].split("== Optimized Execution Plan ==")[0]
    sink = physical[physical.index("Sink(table=[iceberg.sink.bids_per_user]") :]
    assert "pipeline_metrics(_UTF-16LE'bids_per_user', bids, last_bid)" in sink
    assert "changelogMode=[I,UB,UA]" in sink.splitlines()[1]  # the updates reach the upsert table
    # the key is still the query's upsert key: no SinkUpsertMaterializer (state per key) before the sink
    # (passing `user_id` through the call instead makes it upsertMaterialize=[true]: tried)
    assert "upsertMaterialize=[true]" not in explained


def test_the_carrier_is_the_first_fixed_width_column_outside_the_key():
    # Flink copies a STRING it passes to the function (per row); a number passes as it is
    schema = [("name", "STRING"), ("user_id", "BIGINT NOT NULL"), ("amount", "DOUBLE"), ("day", "DATE")]
    assert metrics.carrier_column(schema, []) == "user_id"
    assert metrics.carrier_column(schema, ["user_id"]) == "amount"
    assert metrics.carrier_column([("a", "STRING"), ("b", "TIMESTAMP(3)"), ("c", "DECIMAL(10, 2)")], []) == "a"
    assert metrics.carrier_column([("k", "STRING NOT NULL"), ("v", "STRING")], ["k"]) == "v"
    assert metrics.carrier_column([("k", "BIGINT NOT NULL")], ["k"]) == "k"
