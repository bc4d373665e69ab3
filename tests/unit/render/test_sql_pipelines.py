"""SQL-only pipelines: declared in YAML alone, rendered exactly like a transformer class."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from common.errors import ConfigError
from common.load.config import CONFIG_DIR, build_transformer, load_project
from common.load.properties import CatalogSettings, KafkaSettings
from common.load.sql_pipeline import SqlTransformer, fill
from common.render.job_plan import PipelinePlan, build_plan

LOCAL_KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:9092", auth="none", max_record_bytes=1_048_576)
LOCAL_CATALOG = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")

# The YAML twins of two class pipelines, written the way the docs tell people to.
ORDER_EVENTS_ENRICHED = """\
  - name: order_events_enriched
    source_topic: order_events
    sink_table: order_events_enriched
    description: Orders with derived fields, as SQL only
    sink_schema:
      order_id: STRING
      user_id: BIGINT
      product_id: STRING
      quantity: INT
      price: DOUBLE
      total_amount: DOUBLE
      order_time: TIMESTAMP(3)
      order_date: DATE
      price_category: STRING
      ingestion_time: TIMESTAMP(3)
    partition_by: [order_date]
    sql: |
      SELECT
        `order_id`,
        `user_id`,
        `product_id`,
        `quantity`,
        `price`,
        `quantity` * `price` AS `total_amount`,
        CAST(`event_time` AS TIMESTAMP(3)) AS `order_time`,
        CAST(CAST(`event_time` AS TIMESTAMP(3)) AS DATE) AS `order_date`,
        CASE
          WHEN `price` < 100 THEN 'LOW'
          WHEN `price` < 500 THEN 'MEDIUM'
          WHEN `price` >= 500 THEN 'HIGH'
        END AS `price_category`,
        CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS `ingestion_time`
      FROM {source}
"""

SESSION_ANALYTICS = """\
  - name: session_analytics
    source_topic: bid_events
    additional_sources: [kafka_user_events]
    sink_table: session_analytics
    sink_schema:
      session_id: STRING
      user_id: BIGINT
      session_start: TIMESTAMP(3)
      session_end: TIMESTAMP(3)
      total_bids: BIGINT
      total_events: BIGINT
      platforms_used: STRING
      cities_accessed: STRING
      session_date: DATE
    partition_by: [session_date]
    view_sql: |
      SELECT `user_id`, CAST(`event_time` AS DATE) AS `session_day`, `event_time`, `timestamp_ms` AS `ts_ms`,
             TRUE AS `is_bid`, `platform`, `city_id`
      FROM {sources.bid_events}
      WHERE `user_id` IS NOT NULL AND (CURRENT_WATERMARK(`event_time`) IS NULL OR CURRENT_WATERMARK(`event_time`) < `event_time` + INTERVAL '0 00:30:00.000' DAY TO SECOND(3) - INTERVAL '0.001' SECOND)
      UNION ALL
      SELECT `user_id`, CAST(`event_time` AS DATE) AS `session_day`, `event_time`, `timestamp_ms` AS `ts_ms`,
             FALSE AS `is_bid`, CAST(NULL AS STRING) AS `platform`, CAST(NULL AS INT) AS `city_id`
      FROM {sources.user_events}
      WHERE `user_id` IS NOT NULL AND (CURRENT_WATERMARK(`event_time`) IS NULL OR CURRENT_WATERMARK(`event_time`) < `event_time` + INTERVAL '0 00:30:00.000' DAY TO SECOND(3) - INTERVAL '0.001' SECOND)
    sql_file: sql/session_analytics.sql
"""

SESSION_SQL = """\
SELECT
  CONCAT(CAST(`user_id` AS STRING), '-', CAST(MIN(`ts_ms`) AS STRING)) AS `session_id`,
  `user_id`,
  CAST(TO_TIMESTAMP_LTZ(MIN(`ts_ms`), 3) AS TIMESTAMP(3)) AS `session_start`,
  CAST(TO_TIMESTAMP_LTZ(MAX(`ts_ms`), 3) AS TIMESTAMP(3)) AS `session_end`,
  COUNT(*) FILTER (WHERE `is_bid`) AS `total_bids`,
  COUNT(*) FILTER (WHERE NOT `is_bid`) AS `total_events`,
  COALESCE(ARRAY_JOIN(ARRAY_SORT(ARRAY_DISTINCT(
    ARRAY_AGG(`platform`) FILTER (WHERE `is_bid` AND `platform` IS NOT NULL))), ','), '') AS `platforms_used`,
  COALESCE(ARRAY_JOIN(CAST(ARRAY_SORT(ARRAY_DISTINCT(
    ARRAY_AGG(`city_id`) FILTER (WHERE `is_bid` AND `city_id` IS NOT NULL))) AS ARRAY<STRING>), ','), '') AS `cities_accessed`,
  CAST(TO_TIMESTAMP_LTZ(MIN(`ts_ms`), 3) AS DATE) AS `session_date`
FROM TABLE(SESSION(TABLE {view} PARTITION BY (`user_id`, `session_day`), DESCRIPTOR(`event_time`),
                   INTERVAL '0 00:30:00.000' DAY TO SECOND(3)))
GROUP BY `window_start`, `window_end`, `user_id`, `session_day`
"""


def sql_config(tmp_path: Path, *pipelines: str, sql_files: dict[str, str] | None = None) -> Path:
    """The shipped topics with the given pipeline entries (YAML text)."""
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(CONFIG_DIR / "topics.yaml", config / "topics.yaml")
    (config / "transformations.yaml").write_text("transformations:\n" + "".join(pipelines))
    for name, text in (sql_files or {}).items():
        (config / name).parent.mkdir(parents=True, exist_ok=True)
        (config / name).write_text(text)
    return config


def rendered(config_dir: Path | None, name: str) -> PipelinePlan:
    project = load_project(config_dir) if config_dir else load_project()
    plan = build_plan(project, LOCAL_KAFKA, LOCAL_CATALOG, bounded=False)
    return next(p for p in plan.pipelines if p.name == name)


def test_sql_only_twin_of_a_class_renders_identical_ddl_and_insert(tmp_path):
    yaml_route = rendered(sql_config(tmp_path, ORDER_EVENTS_ENRICHED), "order_events_enriched")
    class_route = rendered(None, "order_events_enriched")
    assert yaml_route.sink_ddl == class_route.sink_ddl
    assert yaml_route.insert_sql == class_route.insert_sql
    assert yaml_route.view_ddl is class_route.view_ddl is None
    assert yaml_route.primary_key == class_route.primary_key == ()


def test_sql_file_view_and_several_sources_render_like_the_class(tmp_path):
    config = sql_config(tmp_path, SESSION_ANALYTICS, sql_files={"sql/session_analytics.sql": SESSION_SQL})
    yaml_route, class_route = rendered(config, "session_analytics"), rendered(None, "session_analytics")
    assert (yaml_route.view_ddl, yaml_route.sink_ddl, yaml_route.insert_sql) == (
        class_route.view_ddl,
        class_route.sink_ddl,
        class_route.insert_sql,
    )


def test_sql_only_pipeline_is_a_sql_transformer_with_its_definition(tmp_path):
    pipeline = load_project(sql_config(tmp_path, ORDER_EVENTS_ENRICHED)).pipelines[0]
    assert pipeline.transformer_class is None
    assert pipeline.sql is not None
    transformer = build_transformer(pipeline)
    assert isinstance(transformer, SqlTransformer) and transformer.definition == pipeline.sql
    select = pipeline.sql.select
    assert select.file == str(tmp_path / "config" / "transformations.yaml")
    lines = (tmp_path / "config" / "transformations.yaml").read_text().splitlines()
    assert select.first_line == lines.index("    sql: |") + 2  # the line after `sql: |`: planner errors map there
    assert select.text.splitlines()[0] == "SELECT"


def test_both_routes_in_one_job(tmp_path):
    shipped = (CONFIG_DIR / "transformations.yaml").read_text()
    extra = ORDER_EVENTS_ENRICHED.replace("name: order_events_enriched", "name: orders_sql").replace(
        "sink_table: order_events_enriched", "sink_table: orders_sql"
    )
    config = sql_config(tmp_path, shipped.split("transformations:\n", 1)[1], extra)
    names = [p.name for p in load_project(config).pipelines]
    assert names[-2:] == ["session_late", "orders_sql"]


def test_placeholders_replace_only_themselves():
    values = {"source": "`c`.`d`.`t`"}
    assert fill("SELECT '{\"a\": 1}', '{x' FROM {source}", values) == "SELECT '{\"a\": 1}', '{x' FROM `c`.`d`.`t`"


def test_placeholder_error_in_a_sql_file_points_into_that_file(tmp_path):
    config = sql_config(
        tmp_path, SESSION_ANALYTICS, sql_files={"sql/session_analytics.sql": SESSION_SQL.replace("{view}", "{veiw}")}
    )
    with pytest.raises(ConfigError) as err:
        load_project(config)
    line = SESSION_SQL.splitlines().index(next(x for x in SESSION_SQL.splitlines() if "{view}" in x)) + 1
    assert str(err.value).startswith(
        f"{config}/sql/session_analytics.sql:{line}: transformations[0] "
        "(session_analytics).sql_file: unknown placeholder {veiw}; did you mean 'view'?"
    )


def test_view_sql_cannot_read_its_own_view(tmp_path):
    entry = textwrap.dedent("""\
          - name: loop
            source_topic: bid_events
            sink_table: loop
            sink_schema: {user_id: BIGINT}
            view_sql: SELECT `user_id` FROM {view}
            sql: SELECT `user_id` FROM {view}
        """)
    with pytest.raises(ConfigError) as err:
        load_project(sql_config(tmp_path, textwrap.indent(entry, "  ")))
    assert (
        "transformations.yaml:6: transformations[0] (loop).view_sql: unknown placeholder {view} ({view} is the "
        "view of view_sql: only sql can read it) (valid: {source}, {sources.bid_events})" in str(err.value)
    )


@pytest.mark.jvm
def test_sql_twin_passes_the_plan_check(tmp_path, caplog):
    import streaming_job

    config = sql_config(
        tmp_path, ORDER_EVENTS_ENRICHED, SESSION_ANALYTICS, sql_files={"sql/session_analytics.sql": SESSION_SQL}
    )
    assert streaming_job.main(["--validate", "--config-dir", str(config)]) == 0, caplog.text
