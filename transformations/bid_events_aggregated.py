"""bid_events_aggregated: hourly bid metrics per city and platform, final when the hour closes."""

from __future__ import annotations

from common.load.lateness import is_on_time
from common.load.transformer import BaseTransformer, SourceTables

WINDOW_MS = 3_600_000  # one hour; bid_events_late uses it to find what these windows dropped
# The end of an event's hourly window, from its epoch millis.
WINDOW_END = f"TO_TIMESTAMP_LTZ(`timestamp_ms` - MOD(`timestamp_ms`, {WINDOW_MS}) + {WINDOW_MS}, 3)"


class BidEventsAggregatedTransformer(BaseTransformer):
    """One row per (1-hour tumbling event-time window, city_id, platform) with bids.

    Windows are aligned to the UTC hour: [hh:00, hh+1:00). ``total_bids`` = number of bid
    events, ``unique_users`` = exact number of distinct user_id, and average / maximum /
    minimum of ``bid_amount``. A row is written once, when the watermark passes the window's
    end (append-only). Events that arrive when the watermark of their source subtask has
    reached their window's end are kept out of the window and listed in
    ``bid_events_hourly_agg_late`` (pipeline bid_events_late): exact at any parallelism
    (common/load/lateness.py).
    ``window_date`` (UTC day of window_start) is the partition.
    """

    def get_sink_schema(self) -> dict[str, str]:
        return {
            "window_start": "TIMESTAMP(3)",
            "window_end": "TIMESTAMP(3)",
            "city_id": "INT",
            "platform": "STRING",
            "total_bids": "BIGINT",
            "unique_users": "BIGINT",
            "avg_bid_amount": "DOUBLE",
            "max_bid_amount": "DOUBLE",
            "min_bid_amount": "DOUBLE",
            "window_date": "DATE",
        }

    def get_partition_by(self) -> list[str]:
        return ["window_date"]

    def get_view_sql(self, sources: SourceTables) -> str:
        """The on-time bids: the complement of bid_events_late, decided next to the source."""
        return f"SELECT * FROM {sources.primary}\nWHERE {is_on_time(WINDOW_END)}"

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"""
SELECT
  `window_start`,
  `window_end`,
  `city_id`,
  `platform`,
  COUNT(*) AS `total_bids`,
  COUNT(DISTINCT `user_id`) AS `unique_users`,
  AVG(`bid_amount`) AS `avg_bid_amount`,
  MAX(`bid_amount`) AS `max_bid_amount`,
  MIN(`bid_amount`) AS `min_bid_amount`,
  CAST(`window_start` AS DATE) AS `window_date`
FROM TABLE(TUMBLE(TABLE {sources.view}, DESCRIPTOR(`event_time`), INTERVAL '1' HOUR))
GROUP BY `window_start`, `window_end`, `city_id`, `platform`
"""
