"""The whole job's plan: one job, one scan per topic, and updating queries refused before submit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import ConfigError
from common.load.config import load_project
from common.load.properties import load_settings
from common.render.iceberg_sinks import render_sink_ddl
from common.render.job_plan import JobPlan, PipelinePlan, build_plan
from common.run.changelog_check import check_changelog, sink_input_modes

pytestmark = pytest.mark.jvm  # PyFlink planning, or the zip Maven built

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dry_run() -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(ROOT / "streaming_job.py"), "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def execution_plan(text: str) -> str:
    return text.split("== Optimized Execution Plan ==", 1)[1]


def test_dry_run_prints_every_ddl_and_insert(dry_run):
    for pipeline in load_project().pipelines:
        assert f"CREATE TABLE IF NOT EXISTS `iceberg`.`sink`.`{pipeline.sink_table}`" in dry_run.stdout
        assert f"-- pipeline {pipeline.name}\nINSERT INTO `iceberg`.`sink`.`{pipeline.sink_table}`" in dry_run.stdout


def test_each_topic_is_scanned_once_although_pipelines_share_it(dry_run):
    plan = execution_plan(dry_run.stdout)
    scans = re.findall(r"TableSourceScan\(table=\[\[default_catalog, default_database, (\w+),", plan)
    assert sorted(scans) == ["kafka_bid_events_records", "kafka_order_events_records", "kafka_user_events_records"]
    readers_of_bids = sum(1 for p in load_project().pipelines if "bid_events" in p.topics)
    assert readers_of_bids == 5
    # the other readers of the bid topic (four pipelines + dead letters) reuse the one scan
    bid_scan_id = re.search(r"kafka_bid_events_records,[^\n]*\(reuse_id=\[(\d+)\]\)", plan).group(1)
    assert plan.count(f"Reused(reference_id=[{bid_scan_id}])") >= readers_of_bids


def test_every_shipped_pipeline_is_insert_only(dry_run):
    modes = sink_input_modes(dry_run.stdout)
    assert len(modes) == len(load_project().pipelines) + 1  # + dead letters
    assert set(modes.values()) == {"I"}


def updating_plan(primary_key: tuple[str, ...]) -> JobPlan:
    """The real job's sources plus one pipeline whose GROUP BY result updates."""
    settings = load_settings()
    base = build_plan(load_project(), settings.kafka, settings.catalog, bounded=True)
    catalog = settings.catalog
    schema = [("user_id", "BIGINT NOT NULL"), ("bids", "BIGINT")]
    counts = PipelinePlan(
        name="bids_per_user",
        sink_table="bids_per_user",
        sink_path=f"{catalog.name}.{catalog.namespace}.bids_per_user",
        view_ddl=None,
        sink_ddl=render_sink_ddl(catalog.name, catalog.namespace, "bids_per_user", schema, (), primary_key),
        insert_sql=(
            f"INSERT INTO `{catalog.name}`.`{catalog.namespace}`.`bids_per_user` SELECT `user_id`, COUNT(*) "
            "FROM `default_catalog`.`default_database`.`kafka_bid_events` WHERE `user_id` IS NOT NULL "
            "GROUP BY `user_id`"
        ),
        primary_key=primary_key,
    )
    return JobPlan(base.catalog_ddl, base.source_ddl, (counts,))


def test_updating_query_into_an_append_table_is_refused_naming_the_pipeline(tmp_path, monkeypatch):
    from common.run import flink_env, runner

    monkeypatch.setenv("ICEBERG_WAREHOUSE", str(tmp_path))
    settings = load_settings()
    t_env = flink_env.create_table_env(settings, "plan-check")
    with pytest.raises(ConfigError) as err:
        runner.explain(t_env, updating_plan(primary_key=()))
    assert "bids_per_user (produces [I,UB,UA] into bids_per_user)" in str(err.value)
    assert "an updating query cannot write to an append-only table" in str(err.value)
    # the same query into an upsert table (primary key) passes
    t_env = flink_env.create_table_env(settings, "plan-check-upsert")
    plan = updating_plan(primary_key=("user_id",))
    assert "changelogMode=[I,UB,UA]" in runner.explain(t_env, plan)


def test_sink_input_modes_parses_the_physical_plan():
    text = (
        "== Optimized Physical Plan ==\n"
        "Sink(table=[c.n.a], fields=[x], changelogMode=[NONE])\n+- Calc(select=[x], changelogMode=[I])\n\n"
        "Sink(table=[c.n.b], fields=[x], changelogMode=[NONE])\n+- GroupAggregate(x, changelogMode=[I,UB,UA])\n\n"
        "== Optimized Execution Plan ==\n"
    )
    assert sink_input_modes(text) == {"c.n.a": "I", "c.n.b": "I,UB,UA"}
    plan = JobPlan(
        (), (), (PipelinePlan("pa", "a", "c.n.a", None, "", "", ()), PipelinePlan("pb", "b", "c.n.b", None, "", "", ()))
    )
    with pytest.raises(ConfigError, match=r"pb \(produces \[I,UB,UA\] into b\)"):
        check_changelog(plan, sink_input_modes(text))


def test_a_loaded_plan_takes_its_iceberg_sinks_from_the_plan_not_a_catalog_lookup():
    """Iceberg's catalog names a primary key anew on every lookup, and loading a plan refuses a
    table whose looked-up schema differs: the Iceberg sinks are renamed out of the catalog's reach
    (their catalog comes from src-catalog); other tables and the plan itself are left as they were."""
    from common.run.compiled_plan import PORTABLE_CONNECTOR, sinks_from_the_plan

    def sink(identifier: str, connector: str) -> dict:
        table = {"identifier": identifier, "resolvedTable": {"options": {"connector": connector}}}
        return {"id": 2, "dynamicTableSink": {"table": table}}

    plan = {
        "nodes": [
            {"id": 1, "scanTableSource": {"table": {"identifier": "`default_catalog`.`default_database`.`k`"}}},
            sink("`iceberg`.`sink`.`bids_per_user`", PORTABLE_CONNECTOR),
            sink("`default_catalog`.`default_database`.`blackhole_x`", "blackhole"),
        ]
    }
    loaded = sinks_from_the_plan(plan)
    identifiers = [
        n.get("dynamicTableSink", n.get("scanTableSource", {})).get("table", {}).get("identifier")
        for n in loaded["nodes"]
    ]
    assert identifiers == [
        "`default_catalog`.`default_database`.`k`",
        "`iceberg__from_plan`.`sink`.`bids_per_user`",
        "`default_catalog`.`default_database`.`blackhole_x`",
    ]
    assert plan["nodes"][1]["dynamicTableSink"]["table"]["identifier"] == "`iceberg`.`sink`.`bids_per_user`"
