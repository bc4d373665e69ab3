"""bid_events_late: the bid events the hourly aggregation dropped because they came too late."""

from __future__ import annotations

from transformations.base_transformer import EVENT_DATE_UTC, EVENT_TIME_UTC, BaseTransformer, SourceTables
from transformations.bid_events_aggregated import WINDOW_MS
from transformations.bid_events_raw import BID_FIELD_LIST, BID_FIELDS


class BidEventsLateTransformer(BaseTransformer):
    """One row per bid event that arrived when the watermark had already passed its hourly
    window (``watermark >= window_end - 1 ms``, Flink's own firing rule): exactly the events
    bid_events_aggregated drops. ``CURRENT_WATERMARK`` here sees the same records and
    watermarks in the same order as the window operator, since both read one source scan.
    Such events are still in bid_events_raw; this table makes the loss visible and countable.
    """

    def get_sink_schema(self) -> dict[str, str]:
        return {
            **BID_FIELDS,
            "event_time": "TIMESTAMP(3)",
            "window_end": "TIMESTAMP(3)",
            "watermark_at_arrival": "TIMESTAMP(3)",
            "event_date": "DATE",
        }

    def get_partition_by(self) -> list[str]:
        return ["event_date"]

    def get_select_sql(self, sources: SourceTables) -> str:
        window_end = f"TO_TIMESTAMP_LTZ(`timestamp_ms` - MOD(`timestamp_ms`, {WINDOW_MS}) + {WINDOW_MS}, 3)"
        return f"""
SELECT
{BID_FIELD_LIST},
  {EVENT_TIME_UTC} AS `event_time`,
  CAST({window_end} AS TIMESTAMP(3)) AS `window_end`,
  CAST(CURRENT_WATERMARK(`event_time`) AS TIMESTAMP(3)) AS `watermark_at_arrival`,
  {EVENT_DATE_UTC} AS `event_date`
FROM {sources.primary}
WHERE CURRENT_WATERMARK(`event_time`) >= {window_end} - INTERVAL '0.001' SECOND
"""
