"""session_analytics: per-user sessions across bid events AND user events."""

from __future__ import annotations

from common.load.config import parse_duration_ms
from common.load.lateness import is_on_time
from common.load.transformer import BaseTransformer, SourceTables
from common.sql import interval

DEFAULT_GAP = "30 min"


class SessionAnalyticsTransformer(BaseTransformer):
    """One row per user session, over the user's bid events and user events together.

    Definition: take every bid event and every user event of a user (events without a
    user_id belong to no session) on one UTC day, ordered by event time. A session is a
    maximal run of them in which consecutive events are at most ``session_gap`` apart
    (option, default 30 min; Flink's session window merges windows [t, t + gap) that touch).
    Sessions end at UTC midnight, as in common web analytics: that bounds a session (and its
    state) to one day even for a user who never pauses. Events that arrive when the watermark
    of their source subtask has reached ``event_time + gap`` are kept out (they could only
    extend a session already written) and listed in ``session_analytics_late``
    (transformations/session_late.py). For each session:
    ``session_start`` / ``session_end`` = time of its first / last event (UTC);
    ``session_id`` = "<user_id>-<session_start in epoch ms>";
    ``total_bids`` = bid events in it; ``total_events`` = user events in it;
    ``platforms_used`` / ``cities_accessed`` = the distinct platforms / city ids of its bids,
    sorted (text / numeric) and joined with ',' ('' when the session has no bid).
    A row is final when the watermark passes session_end + gap (append-only);
    ``session_date`` (UTC day of session_start) is the partition.
    """

    def gap_ms(self) -> int:
        text = str(self.options.get("session_gap", DEFAULT_GAP))
        gap = parse_duration_ms(text)
        if gap is None or gap <= 0:
            raise ValueError(f"session_gap '{text}' is not a positive duration (e.g. 30 min)")
        return gap

    def get_sink_schema(self) -> dict[str, str]:
        return {
            "session_id": "STRING",
            "user_id": "BIGINT",
            "session_start": "TIMESTAMP(3)",
            "session_end": "TIMESTAMP(3)",
            "total_bids": "BIGINT",
            "total_events": "BIGINT",
            "platforms_used": "STRING",
            "cities_accessed": "STRING",
            "session_date": "DATE",
        }

    def get_partition_by(self) -> list[str]:
        return ["session_date"]

    def deadline(self) -> str:
        """After this event time + gap, the event's own session window [t, t + gap) has closed."""
        return f"`event_time` + {interval(self.gap_ms())}"

    def get_view_sql(self, sources: SourceTables) -> str | None:  # None in session_late
        on_time = f"`user_id` IS NOT NULL AND {is_on_time(self.deadline())}"
        return f"""
SELECT `user_id`, CAST(`event_time` AS DATE) AS `session_day`, `event_time`, `timestamp_ms` AS `ts_ms`,
       TRUE AS `is_bid`, `platform`, `city_id`
FROM {sources["bid_events"]}
WHERE {on_time}
UNION ALL
SELECT `user_id`, CAST(`event_time` AS DATE) AS `session_day`, `event_time`, `timestamp_ms` AS `ts_ms`,
       FALSE AS `is_bid`, CAST(NULL AS STRING) AS `platform`, CAST(NULL AS INT) AS `city_id`
FROM {sources["user_events"]}
WHERE {on_time}
"""

    def get_select_sql(self, sources: SourceTables) -> str:
        return f"""
SELECT
  CONCAT(CAST(`user_id` AS STRING), '-', CAST(MIN(`ts_ms`) AS STRING)) AS `session_id`,
  `user_id`,
  CAST(TO_TIMESTAMP_LTZ(MIN(`ts_ms`), 3) AS TIMESTAMP(3)) AS `session_start`,
  CAST(TO_TIMESTAMP_LTZ(MAX(`ts_ms`), 3) AS TIMESTAMP(3)) AS `session_end`,
  COUNT(*) FILTER (WHERE `is_bid`) AS `total_bids`,
  COUNT(*) FILTER (WHERE NOT `is_bid`) AS `total_events`,
  COALESCE(ARRAY_JOIN(ARRAY_SORT(ARRAY_DISTINCT(
    ARRAY_AGG(`platform`) FILTER (WHERE `is_bid` AND `platform` IS NOT NULL))), ','), '') AS `platforms_used`,
  COALESCE(ARRAY_JOIN(CAST(ARRAY_SORT(ARRAY_DISTINCT(
    ARRAY_AGG(`city_id`) FILTER (WHERE `is_bid` AND `city_id` IS NOT NULL))) AS ARRAY<STRING>), ','), '') AS `cities_accessed`,
  CAST(TO_TIMESTAMP_LTZ(MIN(`ts_ms`), 3) AS DATE) AS `session_date`
FROM TABLE(SESSION(TABLE {sources.view} PARTITION BY (`user_id`, `session_day`), DESCRIPTOR(`event_time`),
                   {interval(self.gap_ms())}))
GROUP BY `window_start`, `window_end`, `user_id`, `session_day`
"""
