"""bid_events_raw: every valid bid event, with its event time in UTC."""

from __future__ import annotations

from common.load.transformer import (
    EVENT_DATE_UTC,
    EVENT_TIME_UTC,
    INGESTION_TIME_UTC,
    BaseTransformer,
    SourceTables,
)
from common.sql import quote

# The bid fields both bid tables copy as they are (bid_events_late reuses them).
BID_FIELDS = {
    "event_name": "STRING",
    "user_id": "BIGINT",
    "city_id": "INT",
    "platform": "STRING",
    "session_id": "STRING",
    "bid_amount": "DOUBLE",
}
BID_FIELD_LIST = ",\n".join(f"  {quote(c)}" for c in BID_FIELDS)


class BidEventsRawTransformer(BaseTransformer):
    """One row per bid event read from the topic.

    ``event_time`` is ``timestamp_ms`` as a UTC timestamp (millisecond precision);
    ``event_date`` its UTC day, the partition; ``ingestion_time`` when Flink processed it.
    Late events (behind the watermark) are kept: this query has no window.
    """

    def get_sink_schema(self) -> dict[str, str]:
        return {
            **BID_FIELDS,
            "event_time": "TIMESTAMP(3)",
            "ingestion_time": "TIMESTAMP(3)",
            "event_date": "DATE",
        }

    def get_partition_by(self) -> list[str]:
        return ["event_date"]

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"""
SELECT
{BID_FIELD_LIST},
  {EVENT_TIME_UTC} AS `event_time`,
  {INGESTION_TIME_UTC} AS `ingestion_time`,
  {EVENT_DATE_UTC} AS `event_date`
FROM {sources.primary}
"""
