"""Sink schema evolution, the run phase: read each existing sink through the job's Flink catalog,
refuse what cannot evolve (nothing changed then), else ALTER it to its declaration.

The rules (what evolves, what is left alone, what is refused) and the pure comparison are in
common/state/sink_schema.py; this module only reads the catalog and runs the statements.

Partition specs go through Iceberg's API (the jar's PartitionSpecs, on the Iceberg catalog behind
the job's Flink catalog): Flink's catalog reports a table partitioned by a transform
(``day(event_time)``) as unpartitioned, and Flink DDL cannot declare one. So an existing table's
spec is read there, and after the sink DDL a table the DDL created unpartitioned for a transform
spec (or an empty table with another spec) is given its declared spec there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

from common.errors import ConfigError, Origin
from common.load.config import TRANSFORMATIONS_FILE
from common.load.partitioning import has_transform
from common.render.dead_letters import DEAD_LETTER_PIPELINE
from common.run.py4j_errors import java_message, root_cause
from common.sql import qualified
from common.state.sink_schema import Evolution, TableSchema, compare

log = logging.getLogger(__name__)

ICEBERG_FLINK_CATALOG = "org.apache.iceberg.flink.FlinkCatalog"


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


def _partition_specs():
    """The jar's PartitionSpecs class (src/main/java/mskiceberg/streaming/catalog)."""
    from pyflink.java_gateway import get_gateway

    return get_gateway().jvm.mskiceberg.streaming.catalog.PartitionSpecs


def iceberg_table(t_env, catalog: str, namespace: str, table: str):
    """The Iceberg table (a Java object) behind the job's Flink catalog; None if there is no such
    table or the catalog is not Iceberg's."""
    flink_catalog = t_env.get_catalog(catalog)
    if flink_catalog is None:
        return None
    j_catalog = flink_catalog._j_catalog
    if j_catalog.getClass().getName() != ICEBERG_FLINK_CATALOG:
        return None
    return _partition_specs().load(j_catalog.catalog(), namespace, table)


def existing_schema(t_env, catalog: str, namespace: str, table: str) -> TableSchema | None:
    """The table's schema as Flink's catalog reports it (Iceberg types in Flink terms), its
    partition spec as Iceberg has it (transforms included), or None."""
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
    iceberg = iceberg_table(t_env, catalog, namespace, table)
    if iceberg is not None:
        specs = _partition_specs()
        partitions = tuple(str(f) for f in specs.fields(iceberg))
        return TableSchema(columns, partitions, primary_key, empty=not specs.hasData(iceberg))
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


def set_partition_specs(t_env, plan, report: Report) -> None:
    """After the sink DDL: give each table its declared partition spec where the DDL could not (a
    new table whose spec has a transform) or did not (an empty table with another spec). Idempotent:
    a run that died between the DDL and here is finished by the next one."""
    from pyflink.java_gateway import get_gateway

    for target in targets(plan):
        evolution = report.evolutions.get(target.pipeline)
        new = target.pipeline in report.new_tables
        if not ((new and has_transform(target.declared.partition_by)) or (evolution and evolution.respec)):
            continue
        table = iceberg_table(t_env, target.catalog, target.namespace, target.table)
        if table is None:
            log.warning(
                "sink %s of pipeline %s: not an Iceberg table, partition spec not set", target.path, target.pipeline
            )
            continue
        declared = get_gateway().jvm.java.util.ArrayList()
        for text in target.declared.partition_by:
            declared.add(text)
        try:
            changed = _partition_specs().ensure(table, declared)
        except Exception as exc:
            raise (target.origin or Origin(TRANSFORMATIONS_FILE, f"pipeline {target.pipeline}")).error(
                f"setting the partition spec of sink table {target.path} failed: {java_message(exc)}{root_cause(exc)}"
            ) from None
        if changed:
            log.info(
                "sink %s of pipeline %s: partitioned by %s",
                target.path,
                target.pipeline,
                ", ".join(target.declared.partition_by) or "nothing",
            )


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
