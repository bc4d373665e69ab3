"""The plan diff and stable operator ids (common/state/stable_ids.py, common/state/state_restore.py), and the
changelog check failing closed.

Unit tests run on small hand-made compiled plans; one test compiles the real job twice (before
and after a YAML edit) through ``--dry-run`` and reads the diff it prints.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common.errors import ConfigError
from common.render.dead_letters import DEAD_LETTER_PIPELINE
from common.render.job_plan import JobPlan, PipelinePlan
from common.run.changelog_check import check_changelog, compiled_sink_modes, sink_input_modes
from common.state.stable_ids import StateMap, assign_ids, sink_changes
from common.state.state_restore import restore_settings
from tests.support.harness import ROOT, edited_config


def scan(node_id: int, table: str, projection: list[str]) -> dict:
    return {
        "id": node_id,
        "type": "stream-exec-table-source-scan_1",
        "scanTableSource": {
            "table": {"identifier": f"`default_catalog`.`default_database`.`{table}`"},
            "abilities": [{"type": "ProjectPushDown", "fields": projection}],
        },
    }


def calc(node_id: int, select: str) -> dict:
    return {"id": node_id, "type": "stream-exec-calc_1", "projection": select, "description": f"Calc({select})"}


def window(node_id: int, size: str) -> dict:
    return {"id": node_id, "type": "stream-exec-window-aggregate_1", "windowing": size}


def sink(node_id: int, table: str) -> dict:
    return {
        "id": node_id,
        "type": "stream-exec-sink_1",
        "dynamicTableSink": {"table": {"identifier": f"`ice`.`ns`.`{table}`"}},
        "configuration": {"anything": node_id},
    }


def edges(*pairs: tuple[int, int]) -> list[dict]:
    return [{"source": s, "target": t, "shuffle": {"type": "FORWARD"}, "shuffleMode": "PIPELINED"} for s, t in pairs]


def plan_of(*pipelines: tuple[str, list[dict]]) -> tuple[dict, dict[str, str]]:
    """One source 'bids' shared by pipelines given as (name, [calc-like nodes..., sink]); ids in order."""
    nodes, links, sinks, next_id = [scan(1, "bids", [p for p, _ in pipelines])], [], {}, 2
    for name, chain in pipelines:
        previous = 1
        for node in chain:
            node = {**node, "id": next_id}
            nodes.append(node)
            links += edges((previous, next_id))
            previous, next_id = next_id, next_id + 1
        sinks[f"ice.ns.{name}"] = name
    return {"flinkVersion": "2.2", "nodes": nodes, "edges": links}, sinks


RAW = ("raw", [calc(0, "a, b"), sink(0, "raw")])
HOURLY = ("hourly", [calc(0, "a"), window(0, "1 h"), sink(0, "hourly")])
SESSIONS = ("sessions", [calc(0, "b"), window(0, "session 30 min"), sink(0, "sessions")])


def first_deployment(*pipelines):
    plan, sinks = plan_of(*pipelines)
    return assign_ids(plan, sinks, None)[1]


def ids_by_pipeline(plan: dict, state_map: StateMap) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for entry in state_map.nodes:
        for p in entry.pipelines:
            out.setdefault(p, []).append(entry.id)
    return {p: sorted(ids) for p, ids in out.items()}


def test_a_first_deployment_keeps_the_compiled_ids():
    plan, sinks = plan_of(RAW, HOURLY)
    renumbered, state_map, diff = assign_ids(plan, sinks, None)
    assert renumbered == plan and diff.first_deploy
    assert [n.id for n in state_map.nodes] == [1, 2, 3, 4, 5, 6]


def test_removing_a_pipeline_in_front_keeps_the_ids_and_state_of_those_after_it():
    before = first_deployment(RAW, HOURLY, SESSIONS)
    plan, sinks = plan_of(HOURLY, SESSIONS)  # compiled ids shift: hourly's window was 5, is now 3
    renumbered, after, diff = assign_ids(plan, sinks, before)
    old, new = ids_by_pipeline({}, before), ids_by_pipeline(renumbered, after)
    assert new["hourly"] == old["hourly"] and new["sessions"] == old["sessions"]
    assert {e["target"] for e in renumbered["edges"]} <= {n["id"] for n in renumbered["nodes"]}
    assert [(c.name, c.status) for c in diff.pipelines] == [
        ("hourly", "kept"),
        ("sessions", "kept"),
        ("raw", "removed"),
    ]
    assert diff.unclaimed == ("sink#3(ice.ns.raw)",) and diff.state_lost == ()


def test_a_changed_window_loses_its_state_and_must_be_named():
    before = first_deployment(RAW, HOURLY)
    plan, sinks = plan_of(
        RAW,
        ("hourly", [calc(0, "a"), window(0, "2 h"), sink(0, "hourly")]),
        ("big", [calc(0, "a > 50"), sink(0, "big")]),
    )
    renumbered, after, diff = assign_ids(plan, sinks, before)
    status = {c.name: c for c in diff.pipelines}
    assert status["raw"].status == "kept" and status["big"].status == "new"
    assert status["hourly"].status == "changed" and status["hourly"].dropped == ("window-aggregate#5",)
    assert diff.state_lost == ("hourly",)
    # the new window and the new pipeline get ids no earlier node had: they cannot claim old state
    old_ids = {n.id for n in before.nodes}
    fresh = {n.id for n in after.nodes if n.signature not in {m.signature for m in before.nodes}}
    assert fresh and not fresh & old_ids
    # the sink keeps its id (its state belongs to the table), the source too (offsets)
    assert {n.id for n in after.nodes if n.kind in ("stream-exec-sink", "stream-exec-table-source-scan")} >= {1, 3, 6}
    with pytest.raises(ConfigError, match="--allow-state-loss hourly"):
        restore_settings(diff, restoring=True, allowed=())
    assert restore_settings(diff, restoring=True, allowed=("hourly",)) is True  # unclaimed window state
    assert restore_settings(diff, restoring=False, allowed=()) is False


def test_a_source_reading_other_columns_keeps_its_offsets():
    before = first_deployment(RAW)
    plan, sinks = plan_of(RAW, ("big", [calc(0, "a > 50"), sink(0, "big")]))  # the projection changes
    _, after, diff = assign_ids(plan, sinks, before)
    assert [c.status for c in diff.pipelines] == ["kept", "new"] and diff.unclaimed == ()


def test_the_state_map_round_trips_and_refuses_an_unknown_format():
    state_map = first_deployment(RAW, HOURLY)
    assert StateMap.from_json(state_map.to_json()) == state_map
    with pytest.raises(ValueError, match="format"):
        StateMap.from_json(json.dumps({"format": 99, "nodes": []}))


def test_sink_changes_follow_the_evolution_rules():
    before = StateMap((), {"a": [["x", "INT"]], "b": [["x", "INT"]], "c": [["x", "BIGINT"]], "w": [["x", "INT"]]})
    after = StateMap(
        (),
        {
            "a": [["x", "INT"]],
            "b": [["x", "INT"], ["z", "STRING"]],
            "c": [["x", "INT"]],
            "w": [["x", "BIGINT"]],
            "new": [["x", "INT"]],
        },
    )
    lines = sink_changes(before, after)
    assert lines[:2] == ["sink of a: unchanged", "sink of b: added column `z` STRING (rows already there read NULL)"]
    assert lines[2].startswith("sink of c: incompatible (") and "`x`" in lines[2]
    assert lines[3] == "sink of w: widened `x` from INT to BIGINT" and len(lines) == 4


def pipeline(name: str, key: tuple[str, ...] = ()) -> PipelinePlan:
    return PipelinePlan(
        name=name, sink_table=name, sink_path=f"c.n.{name}", view_ddl=None, sink_ddl="", insert_sql="", primary_key=key
    )


def test_the_changelog_check_fails_closed_on_a_sink_it_cannot_find_or_read():
    plan = JobPlan((), (), (pipeline("a"), pipeline("b")))
    reused = (
        "== Optimized Physical Plan ==\nSink(table=[c.n.a], fields=[x], changelogMode=[NONE])\n"
        "+- Calc(select=[x], changelogMode=[I])\n\nSink(table=[c.n.b], fields=[x])\n+- Reused(reference_id=[1])\n"
        "\n== Optimized Execution Plan ==\n"
    )
    with pytest.raises(ConfigError, match="b: the changelog check found no sink"):
        check_changelog(plan, sink_input_modes(reused))


def test_the_dead_letter_pipeline_may_receive_a_changelog_and_no_other_append_table_may():
    """A CDC topic's source is a changelog, so the planner calls the dead letters' input
    updating too; the decoder emits every dead letter as an insert, and an append table takes them."""
    modes = {"c.n.dead_letters": "I,UB,UA,D", "c.n.customers": "I,UB,UA,D", "c.n.a": "I"}
    dead_letters = pipeline("dead_letters")
    assert dead_letters.name == DEAD_LETTER_PIPELINE and not dead_letters.primary_key
    check_changelog(JobPlan((), (), (pipeline("a"), pipeline("customers", key=("id",)), dead_letters)), modes)
    with pytest.raises(ConfigError) as err:
        check_changelog(JobPlan((), (), (pipeline("a"), pipeline("customers"), dead_letters)), modes)
    assert str(err.value) == (
        "transformations: customers (produces [I,UB,UA,D] into customers): an updating query cannot write to "
        "an append-only table (valid: make the query final (a window aggregation) or give the transformer a "
        "primary key (get_primary_key) so its table is an upsert table)"
    )
    # the exemption is the job's own pipeline's, by name: not any table called so elsewhere
    with pytest.raises(ConfigError, match=r"dead_letters_copy \(produces \[I,UB,UA,D\] into dead_letters_copy\)"):
        check_changelog(JobPlan((), (), (pipeline("dead_letters_copy"),)), {"c.n.dead_letters_copy": "I,UB,UA,D"})


@pytest.mark.jvm
def test_the_run_reads_changelog_modes_from_its_compiled_plan():
    compiled = {
        "nodes": [
            {
                "id": 1,
                "type": "stream-exec-sink_1",
                "dynamicTableSink": {"table": {"identifier": "`c`.`n`.`a`"}},
                "inputChangelogMode": ["INSERT"],
            },
            {
                "id": 2,
                "type": "stream-exec-sink_2",
                "dynamicTableSink": {"table": {"identifier": "`c`.`n`.`b`"}},
                "inputChangelogMode": ["INSERT", "UPDATE_BEFORE", "UPDATE_AFTER"],
            },
        ],
        "edges": [],
    }
    assert compiled_sink_modes(compiled) == {"c.n.a": "I", "c.n.b": "I,UB,UA"}
    with pytest.raises(ConfigError, match=r"b \(produces \[I,UB,UA\] into b\)"):
        check_changelog(JobPlan((), (), (pipeline("a"), pipeline("b"))), compiled_sink_modes(compiled))
    check_changelog(JobPlan((), (), (pipeline("a"), pipeline("b", key=("x",)))), compiled_sink_modes(compiled))
    with pytest.raises(ConfigError, match="c: the changelog check found no sink"):
        check_changelog(JobPlan((), (), (pipeline("a"), pipeline("c"))), compiled_sink_modes(compiled))


@pytest.mark.jvm
def test_dry_run_prints_the_diff_against_the_previous_deployment(tmp_path):
    """The real job compiled twice: the shipped YAML, then an edit that adds, changes and removes."""
    state_map = tmp_path / "state-ids.json"
    first = subprocess.run(
        [sys.executable, "streaming_job.py", "--dry-run", "--write-state-map", str(state_map)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr[-3000:]
    config = edited_config(tmp_path)
    second = subprocess.run(
        [sys.executable, "streaming_job.py", "--dry-run", "--config-dir", str(config), "--state-map", str(state_map)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    diff = [line[5:].split() for line in second.stdout.splitlines() if line.startswith("--   ")]
    status = {words[0]: " ".join(words[1:]) for words in diff if not words[0] == "sink"}
    assert status["bid_events_raw"] == "kept with its state"
    assert status["bid_events_aggregated"] == "kept with its state"
    assert status["session_analytics"].startswith("changed (state dropped: window-aggregate#")
    assert status["order_events_enriched"].startswith("removed (state dropped: sink#")
    assert "-- restoring needs --allow-state-loss session_analytics" in second.stdout
