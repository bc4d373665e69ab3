"""Render phase: config + runtime settings -> every SQL statement of the job, as text.

Pure apart from importing the transformer modules: the same input gives the same SQL, and
tests read it without a JVM. Each pipeline's transformer comes from the load phase (a class
from transformations/ or a SqlTransformer for a SQL-only pipeline): both render the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from common.load.config import (
    TRANSFORMATIONS_FILE,
    Origin,
    PipelineConfig,
    ProjectConfig,
    TopicConfig,
    build_transformer,
)
from common.load.partitioning import canonical
from common.load.properties import CatalogSettings, KafkaSettings
from common.load.sql_pipeline import SqlText, SqlTransformer
from common.load.transformer import SourceTables
from common.render import metrics
from common.render.catalog_manager import render_catalog_ddl
from common.render.dead_letters import (
    DEAD_LETTER_PIPELINE,
    DEAD_LETTER_TABLE,
    render_dead_letter_ddl,
    render_dead_letter_insert,
)
from common.render.dead_letters import PARTITION_BY as DEAD_LETTER_PARTITION_BY
from common.render.dead_letters import SCHEMA as DEAD_LETTER_SCHEMA
from common.render.iceberg_sinks import render_sink_ddl, sink_ref
from common.render.kafka_sources import (
    SOURCE_CATALOG,
    SOURCE_DATABASE,
    render_good_records_view,
    render_source_ddl,
    source_ref,
)
from common.sql import qualified


@dataclass(frozen=True)
class Query:
    """One SQL text of a pipeline as the planner gets it, and where it was written (for errors)."""

    kind: str  # "SELECT" or "view"
    sql: str
    written: SqlText | None = None  # SQL-only pipelines: the YAML / .sql file and line


@dataclass(frozen=True)
class PipelinePlan:
    name: str
    sink_table: str
    sink_path: str  # catalog.namespace.table, as the planner prints it
    view_ddl: str | None
    sink_ddl: str
    insert_sql: str
    primary_key: tuple[str, ...]
    sink_schema: tuple[tuple[str, str], ...] = ()  # as declared: the plan check compares the query with it
    queries: tuple[Query, ...] = ()  # the view (if any), then the SELECT
    origin: Origin | None = None  # the pipeline's entry in transformations.yaml
    # as declared, canonical text (common/load/partitioning.py): schema evolution compares it with the table's
    partition_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobPlan:
    catalog_ddl: tuple[str, ...]
    source_ddl: tuple[str, ...]
    pipelines: tuple[PipelinePlan, ...]
    function_ddl: tuple[str, ...] = ()  # functions the INSERTs call (common/render/metrics.py)

    def ddl(self) -> list[str]:
        """Every DDL statement, in the order it must run."""
        views = [p.view_ddl for p in self.pipelines if p.view_ddl]
        return [*self.catalog_ddl, *self.source_ddl, *views, *(p.sink_ddl for p in self.pipelines), *self.function_ddl]


def _render(pipeline: PipelineConfig, what: str, method: Callable[[], Any]) -> Any:
    """A transformer's answer; its exception becomes an error naming the pipeline, before Flink starts."""
    try:
        return method()
    except Exception as exc:
        origin = pipeline.origin or Origin(TRANSFORMATIONS_FILE, pipeline.name)
        raise origin.error(f"{what} failed: {type(exc).__name__}: {exc}") from None


def build_plan(
    project: ProjectConfig,
    kafka: KafkaSettings,
    catalog: CatalogSettings,
    bounded: bool,
    source_overrides: dict[str, dict[str, str]] | None = None,
    dead_letters: bool = True,
) -> JobPlan:
    """Sources for the topics in use, one sink and one INSERT per enabled pipeline.

    ``source_overrides``: topic key -> connector options that replace the rendered ones (a
    backfill's offsets and group); ``dead_letters=False`` leaves out the dead-letter pipeline.
    """
    topics = project.topics_in_use()
    refs = {t.key: source_ref(t) for t in topics}
    pipelines = [render_pipeline(p, catalog, refs) for p in project.pipelines]
    if dead_letters:
        pipelines.append(dead_letter_pipeline(catalog, topics))
    overrides = source_overrides or {}
    return JobPlan(
        catalog_ddl=tuple(render_catalog_ddl(catalog)),
        source_ddl=tuple(
            ddl
            for t in topics
            for ddl in (
                render_source_ddl(t, kafka, bounded, overrides.get(t.key), peers=topics),
                render_good_records_view(t),
            )
        ),
        pipelines=tuple(pipelines),
        function_ddl=(metrics.function_ddl(),),
    )


def render_pipeline(p: PipelineConfig, catalog: CatalogSettings, refs: dict[str, str]) -> PipelinePlan:
    """The view, sink DDL and INSERT of one pipeline (refs: topic key -> source table)."""
    transformer = build_transformer(p)
    if p.sink_table == DEAD_LETTER_TABLE:
        raise (p.origin or Origin(TRANSFORMATIONS_FILE, p.name)).error(
            f"sink_table '{DEAD_LETTER_TABLE}' is the job's own dead-letter table: choose another name"
        )
    name = type(transformer).__name__
    sink = sink_ref(catalog.name, catalog.namespace, p.sink_table)
    sources = SourceTables(
        primary_topic=p.source_topic,
        by_topic={k: refs[k] for k in p.topics},
        view=qualified(SOURCE_CATALOG, SOURCE_DATABASE, f"{p.name}_input"),
    )
    view_sql = _render(p, f"{name}.get_view_sql()", lambda: transformer.get_view_sql(sources))
    select_sql = _render(p, f"{name}.get_select_sql()", lambda: transformer.get_select_sql(sources))
    insert_sql = _render(
        p,
        f"{name}.get_transformation_sql()",  # with the pipeline's metrics
        lambda: metrics.metered_insert(transformer, sources, sink, p.name),
    )
    schema = tuple(transformer.get_sink_schema().items())  # checked by the load phase
    primary_key = tuple(transformer.get_primary_key())
    partition_by = canonical(transformer.get_partition_by())  # checked by the load phase
    written = transformer.definition if isinstance(transformer, SqlTransformer) else None
    written_view = written.view if written else None
    written_select = written.select if written else None
    queries = (Query("view", view_sql.strip(), written_view),) if view_sql else ()
    return PipelinePlan(
        name=p.name,
        sink_table=p.sink_table,
        sink_path=f"{catalog.name}.{catalog.namespace}.{p.sink_table}",
        view_ddl=f"CREATE TEMPORARY VIEW {sources.view} AS\n{view_sql.strip()}" if view_sql else None,
        sink_ddl=render_sink_ddl(
            catalog.name, catalog.namespace, p.sink_table, list(schema), partition_by, primary_key
        ),
        insert_sql=insert_sql,
        primary_key=primary_key,
        sink_schema=schema,
        partition_by=partition_by,
        queries=(*queries, Query("SELECT", select_sql.strip(), written_select)),
        origin=p.origin,
    )


def dead_letter_pipeline(catalog: CatalogSettings, topics: list[TopicConfig]) -> PipelinePlan:
    """The job's own pipeline: unusable records of every topic in use -> dead_letters."""
    return PipelinePlan(
        name=DEAD_LETTER_PIPELINE,
        sink_table=DEAD_LETTER_TABLE,
        sink_path=f"{catalog.name}.{catalog.namespace}.{DEAD_LETTER_TABLE}",
        view_ddl=None,
        sink_ddl=render_dead_letter_ddl(catalog.name, catalog.namespace),
        insert_sql=render_dead_letter_insert(catalog.name, catalog.namespace, topics),
        primary_key=(),
        sink_schema=tuple(DEAD_LETTER_SCHEMA),  # no queries: the plan check skips it; schema evolution uses it
        partition_by=tuple(DEAD_LETTER_PARTITION_BY),
    )
