"""session_late: the bid and user events session_analytics kept out because they came too late."""

from __future__ import annotations

from common.load.lateness import is_late, watermark_at_arrival
from common.load.transformer import EVENT_DATE_UTC, EVENT_TIME_UTC, SourceTables
from common.sql import literal
from transformations.session_analytics import SessionAnalyticsTransformer


class SessionLateTransformer(SessionAnalyticsTransformer):
    """One row per event (with a user_id) that arrived when the watermark of its source subtask
    had reached ``event_time + session_gap``: exactly the events session_analytics leaves out,
    at any parallelism (the same condition, negated, on the same scans:
    common/load/lateness.py). Give it the same ``session_gap`` option as session_analytics.
    ``source_topic`` (the topic's key in topics.yaml) and ``kafka_partition`` say where the event
    came from; the events stay in the raw tables.
    """

    def get_sink_schema(self) -> dict[str, str]:
        return {
            "source_topic": "STRING",
            "user_id": "BIGINT",
            "event_time": "TIMESTAMP(3)",
            "session_deadline": "TIMESTAMP(3)",
            "watermark_at_arrival": "TIMESTAMP(3)",
            "kafka_partition": "INT",
            "event_date": "DATE",
        }

    def get_partition_by(self) -> list[str]:
        return ["event_date"]

    def get_view_sql(self, sources: SourceTables) -> None:
        return None

    def get_late_records_of(self) -> str | None:
        return "session_analytics"  # the pipeline whose late events these rows are

    def get_select_sql(self, sources: SourceTables) -> str:
        branches = [
            f"""SELECT {literal(topic)} AS `source_topic`, `user_id`, {EVENT_TIME_UTC} AS `event_time`,
  CAST({self.deadline()} AS TIMESTAMP(3)) AS `session_deadline`, {watermark_at_arrival()} AS `watermark_at_arrival`,
  `kafka_partition`, {EVENT_DATE_UTC} AS `event_date`
FROM {sources[topic]}
WHERE `user_id` IS NOT NULL AND {is_late(self.deadline())}"""
            for topic in ("bid_events", "user_events")
        ]
        return "\n" + "\nUNION ALL\n".join(branches) + "\n"
