"""Render phase: config + runtime settings -> every SQL statement of the job, as text.

Pure apart from importing the transformer modules: the same input gives the same SQL, and
tests read it without a JVM.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass

from common.catalog_manager import render_catalog_ddl
from common.config import TRANSFORMATIONS_FILE, PipelineConfig, ProjectConfig, TopicConfig
from common.errors import ConfigError
from common.iceberg_sinks import render_sink_ddl, sink_ref
from common.dead_letters import (DEAD_LETTER_PIPELINE, DEAD_LETTER_TABLE, render_dead_letter_ddl,
                                 render_dead_letter_insert)
from common.kafka_sources import SOURCE_CATALOG, SOURCE_DATABASE, render_good_records_view, render_source_ddl, source_ref
from common.properties import CatalogSettings, KafkaSettings
from common.sql import qualified
from transformations.base_transformer import BaseTransformer, SourceTables

TRANSFORMATIONS_PACKAGE = "transformations"


@dataclass(frozen=True)
class PipelinePlan:
    name: str
    sink_table: str
    sink_path: str  # catalog.namespace.table, as the planner prints it
    view_ddl: str | None
    sink_ddl: str
    insert_sql: str
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class JobPlan:
    catalog_ddl: tuple[str, ...]
    source_ddl: tuple[str, ...]
    pipelines: tuple[PipelinePlan, ...]

    def ddl(self) -> list[str]:
        """Every DDL statement, in the order it must run."""
        views = [p.view_ddl for p in self.pipelines if p.view_ddl]
        return [*self.catalog_ddl, *self.source_ddl, *views, *(p.sink_ddl for p in self.pipelines)]


def load_transformer(pipeline: PipelineConfig) -> BaseTransformer:
    """Import transformations.<name> and instantiate the configured class."""
    module_name = f"{TRANSFORMATIONS_PACKAGE}.{pipeline.name}"
    key = f"{pipeline.name}.transformer_class"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(TRANSFORMATIONS_FILE, key, f"cannot import module {module_name}: {exc}",
                          f"a module transformations/{pipeline.name}.py") from None
    cls = getattr(module, pipeline.transformer_class, None)
    if cls is None:
        found = [n for n, v in vars(module).items()
                 if inspect.isclass(v) and issubclass(v, BaseTransformer) and v is not BaseTransformer]
        raise ConfigError(TRANSFORMATIONS_FILE, key,
                          f"module {module_name} has no class {pipeline.transformer_class}",
                          ", ".join(found) or "a BaseTransformer subclass")
    if not (inspect.isclass(cls) and issubclass(cls, BaseTransformer)):
        raise ConfigError(TRANSFORMATIONS_FILE, key, f"{pipeline.transformer_class} is not a BaseTransformer subclass")
    return cls(pipeline.options)


def build_plan(project: ProjectConfig, kafka: KafkaSettings, catalog: CatalogSettings, bounded: bool) -> JobPlan:
    """Sources for the topics in use, one sink and one INSERT per enabled pipeline."""
    topics = project.topics_in_use()
    refs = {t.key: source_ref(t) for t in topics}
    pipelines = []
    for p in project.pipelines:
        transformer = load_transformer(p)
        sink = sink_ref(catalog.name, catalog.namespace, p.sink_table)
        sources = SourceTables(primary_topic=p.source_topic, by_topic={k: refs[k] for k in p.topics},
                               view=qualified(SOURCE_CATALOG, SOURCE_DATABASE, f"{p.name}_input"))
        view_sql = transformer.get_view_sql(sources)
        primary_key = tuple(transformer.get_primary_key())
        pipelines.append(PipelinePlan(
            name=p.name,
            sink_table=p.sink_table,
            sink_path=f"{catalog.name}.{catalog.namespace}.{p.sink_table}",
            view_ddl=f"CREATE TEMPORARY VIEW {sources.view} AS\n{view_sql.strip()}" if view_sql else None,
            sink_ddl=render_sink_ddl(catalog.name, catalog.namespace, p.sink_table,
                                     list(transformer.get_sink_schema().items()),
                                     transformer.get_partition_by(), primary_key),
            insert_sql=transformer.get_transformation_sql(sources, sink),
            primary_key=primary_key,
        ))
    pipelines.append(dead_letter_pipeline(catalog, topics))
    return JobPlan(
        catalog_ddl=tuple(render_catalog_ddl(catalog)),
        source_ddl=tuple(ddl for t in topics
                         for ddl in (render_source_ddl(t, kafka, bounded), render_good_records_view(t))),
        pipelines=tuple(pipelines),
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
    )
