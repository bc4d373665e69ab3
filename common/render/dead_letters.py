"""Render the dead-letter pipeline: every unusable record of every topic, kept whole, with why.

One table per job (``dead_letters`` in the sink namespace), so a user has one place to look.
A row is the Kafka record itself (exact value bytes, key, headers) with where it was
(``topic``, ``kafka_partition``, ``kafka_offset``, ``kafka_timestamp``) and the first rule it
broke (``reason``, from the strict-json decoder): enough to find it, fix the producer and
replay it (scripts/replay_dead_letters.py).
"""

from __future__ import annotations

from typing import Sequence

from common.load.config import TopicConfig
from common.load.source_columns import KAFKA_KEY, RAW_TEXT, RAW_VALUE, REASON
from common.render.iceberg_sinks import render_sink_ddl, sink_ref
from common.render.kafka_sources import records_table
from common.sql import literal, quote

DEAD_LETTER_PIPELINE = "dead_letters"
DEAD_LETTER_TABLE = "dead_letters"

SCHEMA = [
    ("topic", "STRING"),
    ("kafka_partition", "INT"),
    ("kafka_offset", "BIGINT"),
    ("kafka_timestamp", "TIMESTAMP(3)"),
    ("reason", "STRING"),
    ("raw_value", "BYTES"),  # the whole value, exact bytes (NULL for a tombstone)
    ("raw_text", "STRING"),  # the value as text where it is UTF-8
    ("kafka_key", "BYTES"),
    ("kafka_headers", "MAP<STRING, BYTES>"),
    ("ingestion_time", "TIMESTAMP(3)"),
    ("dead_letter_date", "DATE"),
]
PARTITION_BY = ["dead_letter_date"]


def render_dead_letter_ddl(catalog: str, namespace: str) -> str:
    return render_sink_ddl(catalog, namespace, DEAD_LETTER_TABLE, SCHEMA, PARTITION_BY)


def _select(topic: TopicConfig) -> str:
    return f"""SELECT
  {literal(topic.topic_name)} AS `topic`,
  `kafka_partition`,
  `kafka_offset`,
  CAST(`kafka_timestamp` AS TIMESTAMP(3)) AS `kafka_timestamp`,
  {quote(REASON)} AS `reason`,
  {quote(RAW_VALUE)} AS `raw_value`,
  {quote(RAW_TEXT)} AS `raw_text`,
  {quote(KAFKA_KEY)} AS `kafka_key`,
  `kafka_headers`,
  CAST(CURRENT_TIMESTAMP AS TIMESTAMP(3)) AS `ingestion_time`,
  CAST(`kafka_timestamp` AS DATE) AS `dead_letter_date`
FROM {records_table(topic)}
WHERE {quote(REASON)} IS NOT NULL"""


def render_dead_letter_insert(catalog: str, namespace: str, topics: Sequence[TopicConfig]) -> str:
    """INSERT of the bad records of every topic in use (UNION ALL: one sink)."""
    columns = ", ".join(quote(c) for c, _ in SCHEMA)
    union = "\nUNION ALL\n".join(_select(t) for t in topics)
    return f"INSERT INTO {sink_ref(catalog, namespace, DEAD_LETTER_TABLE)} ({columns})\n{union}"
