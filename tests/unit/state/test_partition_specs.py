"""Partition transforms through render and state: the sink DDL (identity columns in PARTITIONED BY,
a transform spec left to the run phase), the plan's canonical partition_by, and the
schema-evolution comparison of specs with transforms. No JVM (the Java side: PartitionSpecsTest,
the job: tests/e2e/test_e2e_partition_transforms.py)."""

from __future__ import annotations

from common.load.config import CONFIG_DIR, load_project
from common.load.properties import CatalogSettings, KafkaSettings
from common.render.iceberg_sinks import render_sink_ddl
from common.render.job_plan import build_plan
from common.run.sink_evolution import targets
from common.state.sink_schema import Problem, TableSchema, compare

SCHEMA = [("user_id", "BIGINT"), ("event_time", "TIMESTAMP(3)"), ("event_date", "DATE")]
SPEC = ("day(event_time)", "bucket(4, user_id)")


def test_a_spec_of_columns_is_partitioned_by_the_ddl_as_before():
    ddl = render_sink_ddl("iceberg", "sink", "t", SCHEMA, ["event_date", "user_id"])
    assert "\nPARTITIONED BY (`event_date`, `user_id`)\nWITH (" in ddl


def test_a_spec_with_a_transform_creates_the_table_unpartitioned():
    ddl = render_sink_ddl("iceberg", "sink", "t", SCHEMA, ["event_date", "bucket(4, user_id)"])
    assert "PARTITIONED BY" not in ddl
    assert ddl == render_sink_ddl("iceberg", "sink", "t", SCHEMA)


def test_the_plan_carries_the_canonical_spec_to_schema_evolution(tmp_path):
    (tmp_path / "topics.yaml").write_text((CONFIG_DIR / "topics.yaml").read_text())
    (tmp_path / "transformations.yaml").write_text(
        (CONFIG_DIR / "transformations.yaml").read_text()
        + """
  - name: bids_partitioned
    source_topic: bid_events
    sink_table: bids_partitioned
    sink_schema:
      user_id: BIGINT
      event_time: TIMESTAMP(3)
    partition_by: ["Days(event_time)", "BUCKET(user_id, 4)"]
    sql: SELECT `user_id`, CAST(`event_time` AS TIMESTAMP(3)) AS `event_time` FROM {source}
"""
    )
    catalog = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")
    plan = build_plan(load_project(tmp_path), KafkaSettings("127.0.0.1:9092", "none", 1_048_576), catalog, True)
    pipeline = next(p for p in plan.pipelines if p.name == "bids_partitioned")
    assert pipeline.partition_by == SPEC
    assert "PARTITIONED BY" not in pipeline.sink_ddl
    assert next(t for t in targets(plan) if t.pipeline == "bids_partitioned").declared.partition_by == SPEC
    raw = next(p for p in plan.pipelines if p.name == "bid_events_raw")  # a shipped pipeline: unchanged
    assert raw.partition_by == ("event_date",) and "PARTITIONED BY (`event_date`)" in raw.sink_ddl


def table(partition_by=SPEC, empty=False, user_id="BIGINT") -> TableSchema:
    return TableSchema((("user_id", user_id), *SCHEMA[1:]), tuple(partition_by), (), empty)


def test_the_same_transform_spec_needs_nothing():
    evolution = compare(table(), table())
    assert evolution.unchanged and not evolution.respec


def test_another_spec_on_a_table_with_data_is_refused_naming_the_source_column():
    (problem,) = compare(table(partition_by=("event_date",)), table()).problems
    assert problem == Problem(
        "event_time",
        "partition_by (day(event_time), bucket(4, user_id)) differs from the table's (event_date): "
        "the files already written are laid out by the old spec",
        "partition_by (event_date) as the table has it, or write to a new sink_table",
    )
    (problem,) = compare(table(partition_by=("day(event_time)", "bucket(8, user_id)")), table()).problems
    assert problem.column == "user_id"
    assert compare(table(partition_by=("day(event_time)", "void(user_id)")), table()).problems[0].column == "user_id"


def test_an_empty_table_with_another_spec_is_given_the_declared_one():
    evolution = compare(table(partition_by=(), empty=True), table())
    assert evolution.problems == () and evolution.respec and not evolution.unchanged


def test_the_source_column_of_a_transform_keeps_its_type():
    (problem,) = compare(
        TableSchema((("user_id", "INT"), *SCHEMA[1:]), SPEC), TableSchema((("user_id", "BIGINT"), *SCHEMA[1:]), SPEC)
    ).problems
    assert problem.column == "user_id" and "a partition or primary-key column keeps its type" in problem.problem
