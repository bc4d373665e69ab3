"""Render the dead-letter pipeline: every unusable record of every topic, with why.

One table per job (``dead_letters`` in the sink namespace), so a user has one place to look;
``topic`` says where a record came from, ``kafka_partition`` / ``kafka_offset`` find it on
the topic, ``raw_value`` keeps its first RAW_VALUE_KEPT characters (``raw_chars`` is the full
length), ``reason`` is the first check it failed (see common/kafka_sources.py).
"""

from __future__ import annotations

from typing import Sequence

from common.config import TopicConfig
from common.iceberg_sinks import render_sink_ddl, sink_ref
from common.kafka_sources import records_table
from common.source_columns import RAW_VALUE, REASON
from common.sql import literal, quote

DEAD_LETTER_PIPELINE = "dead_letters"
DEAD_LETTER_TABLE = "dead_letters"
RAW_VALUE_KEPT = 4096

SCHEMA = [
    ("topic", "STRING"),
    ("kafka_partition", "INT"),
    ("kafka_offset", "BIGINT"),
    ("kafka_timestamp", "TIMESTAMP(3)"),
    ("reason", "STRING"),
    ("raw_value", "STRING"),
    ("raw_chars", "INT"),
    ("ingestion_time", "TIMESTAMP(3)"),
    ("dead_letter_date", "DATE"),
]
PARTITION_BY = ["dead_letter_date"]


def render_dead_letter_ddl(catalog: str, namespace: str) -> str:
    return render_sink_ddl(catalog, namespace, DEAD_LETTER_TABLE, SCHEMA, PARTITION_BY)


def _select(topic: TopicConfig) -> str:
    raw = quote(RAW_VALUE)
    return f"""SELECT
  {literal(topic.topic_name)} AS `topic`,
  `kafka_partition`,
  `kafka_offset`,
  CAST(`kafka_timestamp` AS TIMESTAMP(3)) AS `kafka_timestamp`,
  {quote(REASON)} AS `reason`,
  SUBSTRING({raw}, 1, {RAW_VALUE_KEPT}) AS `raw_value`,
  CHAR_LENGTH({raw}) AS `raw_chars`,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS `ingestion_time`,
  CAST(`kafka_timestamp` AS DATE) AS `dead_letter_date`
FROM {records_table(topic)}
WHERE {quote(REASON)} IS NOT NULL"""


def render_dead_letter_insert(catalog: str, namespace: str, topics: Sequence[TopicConfig]) -> str:
    """INSERT of the bad records of every topic in use (UNION ALL: one sink)."""
    columns = ", ".join(quote(c) for c, _ in SCHEMA)
    union = "\nUNION ALL\n".join(_select(t) for t in topics)
    return f"INSERT INTO {sink_ref(catalog, namespace, DEAD_LETTER_TABLE)} ({columns})\n{union}"
