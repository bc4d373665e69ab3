"""End-of-run summary for bounded runs that ask for it (``--summary``): per topic, how many
records were good and how many went to the dead-letter table, and why.

Asked for, not the default: it is a second pass over the input (a bid backlog of 3M records:
about a fifth of the run's CPU, benchmarks/results.md of 2026-12-07).

It re-reads each topic in a Flink batch query through the same records table (same startup
mode, up to the latest offsets), so it counts exactly what the bounded run read as long as
nothing was produced meanwhile. Unbounded runs have the dead_letters table itself
(``SELECT topic, reason, COUNT(*) ... GROUP BY``) and Flink's per-operator record metrics.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from common.load.config import TopicConfig
from common.load.properties import KafkaSettings, RuntimeSettings
from common.load.source_columns import REASON
from common.render.kafka_sources import records_table, render_source_ddl
from common.sql import literal, quote

log = logging.getLogger(__name__)


@dataclass
class TopicCounts:
    good: int = 0
    dead: dict[str, int] = field(default_factory=dict)  # reason -> count

    @property
    def dead_total(self) -> int:
        return sum(self.dead.values())


def summary_query(topics: list[TopicConfig]) -> str:
    return "\nUNION ALL\n".join(
        f"SELECT {literal(t.topic_name)} AS `topic`, {quote(REASON)} AS `reason`, COUNT(*) AS `records` "
        f"FROM {records_table(t)} GROUP BY {quote(REASON)}"
        for t in topics
    )


def count_records(t_env, topics: list[TopicConfig], kafka: KafkaSettings) -> dict[str, TopicCounts]:
    """topic name -> counts, from a batch TableEnvironment."""
    for topic in topics:
        t_env.execute_sql(render_source_ddl(topic, kafka, bounded=True))
    counts: dict[str, TopicCounts] = defaultdict(TopicCounts)
    with t_env.execute_sql(summary_query(topics)).collect() as rows:
        for topic, reason, records in rows:
            if reason is None:
                counts[topic].good += records
            else:
                counts[topic].dead[reason] = records
    return {t.topic_name: counts[t.topic_name] for t in topics}


def log_summary(counts: dict[str, TopicCounts]) -> None:
    for topic, c in counts.items():
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(c.dead.items())) or "none"
        log.info("records of %s: %d good, %d dead letters (%s)", topic, c.good, c.dead_total, reasons)


def summarize(settings: RuntimeSettings, topics: list[TopicConfig]) -> dict[str, TopicCounts]:
    """Count and log, after a bounded run."""
    from common.run.flink_env import create_table_env

    counts = count_records(create_table_env(settings, "record-summary", batch=True), topics, settings.kafka)
    log_summary(counts)
    return counts
