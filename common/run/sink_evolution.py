"""Sink schema evolution, the run phase: read each existing sink through the job's Flink catalog,
refuse what cannot evolve (nothing changed then), else ALTER it to its declaration.

The rules (what evolves, what is left alone, what is refused) and the pure comparison are in
common/state/sink_schema.py; this module only reads the catalog and runs the statements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

from common.errors import ConfigError, Origin
from common.load.config import TRANSFORMATIONS_FILE
from common.render.dead_letters import DEAD_LETTER_PIPELINE
from common.run.py4j_errors import java_message, root_cause
from common.sql import qualified
from common.state.sink_schema import Evolution, TableSchema, compare

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkTarget:
    """One pipeline's sink as the job declares it."""

    pipeline: str
    catalog: str
    namespace: str
    table: str
    declared: TableSchema
    origin: Origin | None = None
    keep_incompatible: bool = False  # the job's own table: see compare()

    @property
    def path(self) -> str:
        return f"{self.catalog}.{self.namespace}.{self.table}"


@dataclass
class Report:
    """What evolve_sinks found, per sink (for logs and a future --dry-run report)."""

    evolutions: dict[str, Evolution] = field(default_factory=dict)  # pipeline -> evolution of an existing table
    new_tables: list[str] = field(default_factory=list)  # pipelines whose table does not exist yet


def targets(plan) -> list[SinkTarget]:
    """The sinks of a JobPlan (common/render/job_plan.py) that declare their schema."""
    result = []
    for p in plan.pipelines:
        if not p.sink_schema:
            continue
        catalog, namespace, table = p.sink_path.rsplit(".", 2)
        result.append(
            SinkTarget(
                p.name,
                catalog,
                namespace,
                table,
                TableSchema(tuple(p.sink_schema), tuple(p.partition_by), tuple(p.primary_key)),
                p.origin,
                keep_incompatible=p.name == DEAD_LETTER_PIPELINE,
            )
        )
    return result


def existing_schema(t_env, catalog: str, namespace: str, table: str) -> TableSchema | None:
    """The table's schema as Flink's catalog reports it (Iceberg types in Flink terms), or None."""
    from pyflink.java_gateway import get_gateway

    flink_catalog = t_env.get_catalog(catalog)
    if flink_catalog is None:
        return None
    j_catalog = flink_catalog._j_catalog
    path = get_gateway().jvm.org.apache.flink.table.catalog.ObjectPath(namespace, table)
    if not j_catalog.tableExists(path):
        return None
    j_table = j_catalog.getTable(path)
    schema = j_table.getUnresolvedSchema()
    columns = tuple((str(c.getName()), str(c.getDataType())) for c in schema.getColumns())
    key = schema.getPrimaryKey()
    primary_key = tuple(str(c) for c in key.get().getColumnNames()) if key.isPresent() else ()
    partitions = tuple(str(c) for c in j_table.getPartitionKeys()) if hasattr(j_table, "getPartitionKeys") else ()
    return TableSchema(columns, partitions, primary_key)


def error_for(target: SinkTarget, evolution: Evolution) -> ConfigError:
    """One error naming the pipeline, its table, each column at fault and what would be valid."""
    origin = target.origin or Origin(TRANSFORMATIONS_FILE, f"pipeline {target.pipeline}")
    problems = "; ".join(p.problem for p in evolution.problems)
    valid = "; ".join(p.valid for p in evolution.problems)
    return origin.error(f"sink table {target.path} exists with another schema: {problems}", valid)


def plan_evolution(t_env, sinks: Sequence[SinkTarget]) -> Report:
    """Compare every existing sink with its declaration; raise ConfigError (first pipeline at fault,
    the others logged) before anything is changed if any difference cannot be evolved."""
    report = Report()
    errors = []
    for target in sinks:
        existing = existing_schema(t_env, target.catalog, target.namespace, target.table)
        if existing is None:
            report.new_tables.append(target.pipeline)
            continue
        evolution = compare(existing, target.declared, target.keep_incompatible)
        report.evolutions[target.pipeline] = evolution
        if evolution.problems:
            errors.append(error_for(target, evolution))
    for extra in errors[1:]:
        log.error("bad configuration: %s", extra)
    if errors:
        raise errors[0]
    return report


def apply(t_env, target: SinkTarget, evolution: Evolution) -> None:
    """Run the ALTER statements of one table through the job's catalog; log each change."""
    for statement in evolution.statements(qualified(target.catalog, target.namespace, target.table)):
        log.debug("executing DDL: %s", statement)
        try:
            t_env.execute_sql(statement).wait()
        except Exception as exc:
            raise (target.origin or Origin(TRANSFORMATIONS_FILE, f"pipeline {target.pipeline}")).error(
                f"evolving sink table {target.path} failed at `{statement}`: {java_message(exc)}{root_cause(exc)}"
            ) from None
    for change in evolution.changes:
        log.info("sink %s of pipeline %s: %s", target.path, target.pipeline, change.describe())


def evolve_sinks(t_env, plan) -> Report:
    """Hook for the run phase, once the catalog exists and before any sink DDL: refuse what
    cannot evolve (nothing changed then), else evolve every existing sink to its declaration."""
    sinks = targets(plan)
    report = plan_evolution(t_env, sinks)
    for target in sinks:
        evolution = report.evolutions.get(target.pipeline)
        if evolution is None:
            continue
        apply(t_env, target, evolution)
        if evolution.unwritten:
            log.info(
                "sink %s of pipeline %s: column(s) %s no longer written: kept, NULL in new rows",
                target.path,
                target.pipeline,
                ", ".join(evolution.unwritten),
            )
    return report
