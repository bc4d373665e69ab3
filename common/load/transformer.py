"""The contract of a pipeline: a sink schema, its partitioning and key, and one query.

A transformer is declarative. It never creates tables or runs SQL: the orchestrator renders
the sink DDL from ``get_sink_schema`` / ``get_partition_by`` / ``get_primary_key`` and adds
``get_transformation_sql`` to the job's one statement set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping

from common.sql import quote


@dataclass(frozen=True)
class SourceTables:
    """Fully qualified names a query may read: source tables by topic key, and its own view."""

    primary_topic: str
    by_topic: Mapping[str, str]
    view: str  # the name get_view_sql's view is created under (unique to the pipeline)

    @property
    def primary(self) -> str:
        return self.by_topic[self.primary_topic]

    def __getitem__(self, topic_key: str) -> str:
        return self.by_topic[topic_key]


class BaseTransformer(ABC):
    """Subclass per pipeline; the class name goes in transformations.yaml.

    ``options`` is the pipeline's ``options:`` mapping from transformations.yaml.
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})

    @abstractmethod
    def get_sink_schema(self) -> dict[str, str]:
        """Sink columns -> Flink SQL types, in table order; the query yields them in this order."""

    @abstractmethod
    def get_select_sql(self, sources: SourceTables) -> str:
        """The SELECT that produces the sink's rows from the source tables."""

    def get_view_sql(self, sources: SourceTables) -> str | None:
        """Optional SELECT for a temporary view named ``sources.view`` (window TVFs need a
        named table: a sub-query inside TABLE(...) does not parse)."""
        return None

    def get_partition_by(self) -> list[str]:
        """Sink columns to partition by (a DATE column derived from event time)."""
        return []

    def get_primary_key(self) -> list[str]:
        """Non-empty for a query whose rows update: the sink becomes an upsert table."""
        return []

    def get_event_time_column(self) -> str | None:
        """The sink column whose newest value is the table's freshness metric (newestEventTime);
        None: the rule of common/render/metrics.freshness_column (event_time, window_end, session_end...)."""
        return None

    def get_late_records_of(self) -> str | None:
        """For a pipeline whose rows are the events a windowed pipeline left out as late: that
        pipeline's name, the `window` label of the lateRecords metric (common/render/metrics.py)."""
        return None

    def get_transformation_sql(self, sources: SourceTables, sink_table: str) -> str:
        """INSERT INTO the sink, naming its columns so a misordered SELECT cannot slip in."""
        columns = ", ".join(quote(c) for c in self.get_sink_schema())
        return f"INSERT INTO {sink_table} ({columns})\n{self.get_select_sql(sources).strip()}"


# SQL fragments several pipelines share. The session time zone is UTC, so casting the
# TIMESTAMP_LTZ event time to TIMESTAMP / DATE gives UTC wall-clock values. The date is cast
# from EVENT_TIME_UTC, not from the TIMESTAMP_LTZ: the plan computes the shared cast once per
# row, and TIMESTAMP -> DATE is arithmetic where TIMESTAMP_LTZ -> DATE looks the zone up again.
EVENT_TIME_UTC = "CAST(`event_time` AS TIMESTAMP(3))"
EVENT_DATE_UTC = f"CAST({EVENT_TIME_UTC} AS DATE)"
INGESTION_TIME_UTC = "CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3))"
