"""bid_events_late: the bid events the hourly aggregation dropped because they came too late."""

from __future__ import annotations

from common.load.lateness import is_late, watermark_at_arrival
from common.load.transformer import EVENT_DATE_UTC, EVENT_TIME_UTC, BaseTransformer, SourceTables
from transformations.bid_events_aggregated import WINDOW_END
from transformations.bid_events_raw import BID_FIELD_LIST, BID_FIELDS


class BidEventsLateTransformer(BaseTransformer):
    """One row per bid event that arrived when the watermark (of its source subtask) had
    already reached its hourly window's end (``watermark >= window_end - 1 ms``, Flink's
    firing rule): exactly the events bid_events_aggregated keeps out of its windows, at any
    parallelism (the same condition, negated, on the same scan: common/load/lateness.py).
    Such events are still in bid_events_raw; this table makes the loss visible and countable,
    with the Kafka partition each came from (lateness in one partition only points upstream).
    """

    def get_sink_schema(self) -> dict[str, str]:
        return {
            **BID_FIELDS,
            "event_time": "TIMESTAMP(3)",
            "window_end": "TIMESTAMP(3)",
            "watermark_at_arrival": "TIMESTAMP(3)",
            "kafka_partition": "INT",
            "event_date": "DATE",
        }

    def get_partition_by(self) -> list[str]:
        return ["event_date"]

    def get_late_records_of(self) -> str | None:
        return "bid_events_aggregated"  # the pipeline whose late events these rows are

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"""
SELECT
{BID_FIELD_LIST},
  {EVENT_TIME_UTC} AS `event_time`,
  CAST({WINDOW_END} AS TIMESTAMP(3)) AS `window_end`,
  {watermark_at_arrival()} AS `watermark_at_arrival`,
  `kafka_partition`,
  {EVENT_DATE_UTC} AS `event_date`
FROM {sources.primary}
WHERE {is_late(WINDOW_END)}
"""
