"""user_events_processed: every user event with its UTC event time, day and hour."""

from __future__ import annotations

from common.load.transformer import (
    EVENT_DATE_UTC,
    EVENT_TIME_UTC,
    INGESTION_TIME_UTC,
    BaseTransformer,
    SourceTables,
)


class UserEventsProcessedTransformer(BaseTransformer):
    """One row per user event: ``event_time`` (UTC, from ``timestamp_ms``), ``event_date``
    (its UTC day, the partition), ``event_hour`` (0-23, UTC) and ``ingestion_time``."""

    def get_sink_schema(self) -> dict[str, str]:
        return {
            "event_type": "STRING",
            "user_id": "BIGINT",
            "action": "STRING",
            "event_time": "TIMESTAMP(3)",
            "event_date": "DATE",
            "event_hour": "INT",
            "metadata": "STRING",
            "ingestion_time": "TIMESTAMP(3)",
        }

    def get_partition_by(self) -> list[str]:
        return ["event_date"]

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"""
SELECT
  `event_type`,
  `user_id`,
  `action`,
  {EVENT_TIME_UTC} AS `event_time`,
  {EVENT_DATE_UTC} AS `event_date`,
  CAST(HOUR({EVENT_TIME_UTC}) AS INT) AS `event_hour`,
  `metadata`,
  {INGESTION_TIME_UTC} AS `ingestion_time`
FROM {sources.primary}
"""
