"""The statement set as Flink's compiled plan: compiled, renumbered against the previous
deployment's state map (common/state/stable_ids.py), and executed from the JSON.

Why a compiled plan at all: operator ids that survive a redeploy are ids in the plan's JSON, so
the job submits the renumbered plan rather than the statement set itself.
"""

from __future__ import annotations

import json
from typing import Any

from common.render.job_plan import JobPlan
from common.state.stable_ids import PlanDiff, StateMap, assign_ids


def sinks_of(plan: JobPlan) -> dict[str, str]:
    """sink table path -> pipeline name."""
    return {p.sink_path: p.name for p in plan.pipelines}


def schemas_of(plan: JobPlan) -> dict[str, list[list[str]]]:
    return {p.name: [list(c) for c in p.sink_schema] for p in plan.pipelines if p.sink_schema}


ICEBERG_CONNECTOR, PORTABLE_CONNECTOR = "iceberg", "iceberg-portable-sink"


def compile_plan(stmt_set) -> dict[str, Any]:
    """The statement set's compiled plan (Flink's JSON), with the ids Flink gave it.

    Flink executes a compiled plan's sinks from the table options the plan holds, not through
    the catalog: Iceberg's connector would rebuild the catalog through Flink's Hadoop utilities
    and fail without Hadoop on Flink's class path. Each Iceberg sink is therefore pointed at the
    jar's ``iceberg-portable-sink`` connector (PortableIcebergTableFactory), which rebuilds the same
    catalog the way the job's ``CREATE CATALOG`` does.
    """
    compiled = json.loads(stmt_set._j_statement_set.compilePlan().asJsonString())
    for node in compiled["nodes"]:
        options = node.get("dynamicTableSink", {}).get("table", {}).get("resolvedTable", {}).get("options", {})
        if options.get("connector") == ICEBERG_CONNECTOR:
            options["connector"] = PORTABLE_CONNECTOR
    return compiled


def stable_plan(stmt_set, plan: JobPlan, previous: StateMap | None) -> tuple[dict[str, Any], StateMap, PlanDiff]:
    return assign_ids(compile_plan(stmt_set), sinks_of(plan), previous, schemas_of(plan))


PLAN_ONLY_SUFFIX = "__from_plan"


def sinks_from_the_plan(plan_json: dict[str, Any]) -> dict[str, Any]:
    """The plan with each Iceberg sink's catalog renamed (``iceberg`` -> ``iceberg__from_plan``),
    so that loading it takes the sink's table from the plan alone.

    Loading a plan looks every table up in its catalog again and refuses one whose schema differs
    from the plan's, primary key name included; Iceberg's Flink catalog names a primary key anew
    (a random UUID) on every lookup, so every upsert table would be refused. The sink is made from
    the plan's options either way (the portable connector above, which reads the catalog from
    ``src-catalog`` and the database and table from the identifier), so no lookup is lost."""
    renamed = json.loads(json.dumps(plan_json))
    for node in renamed["nodes"]:
        table = node.get("dynamicTableSink", {}).get("table", {})
        if table.get("resolvedTable", {}).get("options", {}).get("connector") == PORTABLE_CONNECTOR:
            catalog, rest = table["identifier"].split("`.`", 1)
            table["identifier"] = f"{catalog}{PLAN_ONLY_SUFFIX}`.`{rest}"
    return renamed


def execute_plan(t_env, plan_json: dict[str, Any]):
    """Execute a (renumbered) compiled plan; returns PyFlink's TableResult."""
    from pyflink.java_gateway import get_gateway
    from pyflink.table.table_result import TableResult

    loaded = json.dumps(sinks_from_the_plan(plan_json))
    reference = get_gateway().jvm.org.apache.flink.table.api.PlanReference.fromJsonString(loaded)
    return TableResult(t_env._j_tenv.loadPlan(reference).execute())
