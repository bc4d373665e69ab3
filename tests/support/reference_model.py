"""Each pipeline's definition computed in plain Python from the produced events (not the SQL again).

Rows are tuples in the sink's column order, minus ``ingestion_time`` (wall clock). Times are
naive UTC datetimes, as pyiceberg returns Iceberg ``timestamp`` columns.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

HOUR_MS = 3_600_000
UTC = dt.timezone.utc

# The sink columns each reference function yields, in its tuple order (ingestion_time left out).
RAW_COLUMNS = ["event_name", "user_id", "city_id", "platform", "session_id", "bid_amount", "event_time", "event_date"]
LATE_COLUMNS = [
    "event_name",
    "user_id",
    "city_id",
    "platform",
    "session_id",
    "bid_amount",
    "event_time",
    "window_end",
    "event_date",
]
HOURLY_AGG_COLUMNS = [
    "window_start",
    "window_end",
    "city_id",
    "platform",
    "total_bids",
    "unique_users",
    "avg_bid_amount",
    "max_bid_amount",
    "min_bid_amount",
    "window_date",
]
USER_EVENTS_COLUMNS = ["event_type", "user_id", "action", "event_time", "event_date", "event_hour", "metadata"]
ORDER_COLUMNS = [
    "order_id",
    "user_id",
    "product_id",
    "quantity",
    "price",
    "total_amount",
    "order_time",
    "order_date",
    "price_category",
]
SESSION_COLUMNS = [
    "session_id",
    "user_id",
    "session_start",
    "session_end",
    "total_bids",
    "total_events",
    "platforms_used",
    "cities_accessed",
    "session_date",
]
SESSION_LATE_COLUMNS = ["source_topic", "user_id", "event_time", "session_deadline", "event_date"]


def columns(rows: list[dict], names: list[str]) -> list[tuple]:
    """Table rows (dicts) as tuples in the order of `names`, to compare with a reference."""
    return [tuple(r[n] for n in names) for r in rows]


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def bid_events_raw(bids: Iterable[dict]) -> list[tuple]:
    return [
        (
            b["event_name"],
            b["user_id"],
            b["city_id"],
            b["platform"],
            b["session_id"],
            b["bid_amount"],
            utc(b["timestamp_ms"]),
            utc(b["timestamp_ms"]).date(),
        )
        for b in bids
    ]


def late_events(events_in_partition_order: list[dict], bound_ms: int, deadline_ms) -> list[dict]:
    """Events that arrive when the watermark has reached deadline_ms(event) - 1 ms, for ONE
    partition read with a watermark after every event: at each event the watermark is
    (max event time so far) - bound (Flink SQL's `event_time - INTERVAL ...` watermark)."""
    late, max_ts = [], None
    for e in events_in_partition_order:
        if max_ts is not None and max_ts - bound_ms >= deadline_ms(e) - 1:
            late.append(e)
        max_ts = e["timestamp_ms"] if max_ts is None else max(max_ts, e["timestamp_ms"])
    return late


def window_end_ms(event: dict) -> int:
    return event["timestamp_ms"] - event["timestamp_ms"] % HOUR_MS + HOUR_MS


def late_bids(bids_in_partition_order: list[dict], bound_ms: int) -> list[dict]:
    """Bids the hourly windows leave out: their window's end had been reached on arrival."""
    return late_events(bids_in_partition_order, bound_ms, window_end_ms)


def session_late(events_in_partition_order: list[dict], bound_ms: int, gap_ms: int) -> list[dict]:
    """Events (with a user) the sessions leave out: event time + gap had been reached on arrival."""
    return [
        e
        for e in late_events(events_in_partition_order, bound_ms, lambda e: e["timestamp_ms"] + gap_ms)
        if e.get("user_id") is not None
    ]


def session_analytics_late(late_by_topic: dict[str, list[dict]], gap_ms: int) -> list[tuple]:
    """session_analytics_late rows (SESSION_LATE_COLUMNS) of the late events of each topic."""
    return [
        (topic, e["user_id"], utc(e["timestamp_ms"]), utc(e["timestamp_ms"] + gap_ms), utc(e["timestamp_ms"]).date())
        for topic, events in late_by_topic.items()
        for e in events
    ]


def bid_events_late(late: Iterable[dict]) -> list[tuple]:
    """Late table rows without watermark_at_arrival (checked separately)."""
    return [
        (
            b["event_name"],
            b["user_id"],
            b["city_id"],
            b["platform"],
            b["session_id"],
            b["bid_amount"],
            utc(b["timestamp_ms"]),
            utc(b["timestamp_ms"] - b["timestamp_ms"] % HOUR_MS + HOUR_MS),
            utc(b["timestamp_ms"]).date(),
        )
        for b in late
    ]


def bid_events_hourly_agg(bids: Iterable[dict]) -> list[tuple]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for b in bids:
        start = b["timestamp_ms"] - b["timestamp_ms"] % HOUR_MS
        groups[(start, b["city_id"], b["platform"])].append(b)
    rows = []
    for (start, city, platform), members in groups.items():
        amounts = [m["bid_amount"] for m in members]
        rows.append(
            (
                utc(start),
                utc(start + HOUR_MS),
                city,
                platform,
                len(members),
                len({m["user_id"] for m in members} - {None}),
                sum(amounts) / len(amounts),
                max(amounts),
                min(amounts),
                utc(start).date(),
            )
        )
    return rows


def user_events_processed(events: Iterable[dict]) -> list[tuple]:
    return [
        (
            e["event_type"],
            e["user_id"],
            e["action"],
            utc(e["timestamp_ms"]),
            utc(e["timestamp_ms"]).date(),
            utc(e["timestamp_ms"]).hour,
            e["metadata"],
        )
        for e in events
    ]


def price_category(price: float) -> str:
    if price < 100:
        return "LOW"
    return "MEDIUM" if price < 500 else "HIGH"


def order_events_enriched(orders: Iterable[dict]) -> list[tuple]:
    return [
        (
            o["order_id"],
            o["user_id"],
            o["product_id"],
            o["quantity"],
            o["price"],
            o["quantity"] * o["price"],
            utc(o["timestamp_ms"]),
            utc(o["timestamp_ms"]).date(),
            price_category(o["price"]),
        )
        for o in orders
    ]


def session_analytics(bids: Iterable[dict], user_events: Iterable[dict], gap_ms: int) -> list[tuple]:
    """Per user and UTC day, events by time; a new session starts when the pause exceeds the
    gap or the day changes. Events without a user_id belong to no session."""
    per_user: dict[tuple[int, dt.date], list[tuple[int, dict | None]]] = defaultdict(list)
    for b in bids:
        if b["user_id"] is not None:
            per_user[(b["user_id"], utc(b["timestamp_ms"]).date())].append((b["timestamp_ms"], b))
    for e in user_events:
        if e["user_id"] is not None:
            per_user[(e["user_id"], utc(e["timestamp_ms"]).date())].append((e["timestamp_ms"], None))
    rows = []
    for (user_id, _), events in per_user.items():
        events.sort(key=lambda x: x[0])
        sessions: list[list[tuple[int, dict | None]]] = []
        for ts, bid in events:
            if sessions and ts - sessions[-1][-1][0] <= gap_ms:
                sessions[-1].append((ts, bid))
            else:
                sessions.append([(ts, bid)])
        for session in sessions:
            start, end = session[0][0], session[-1][0]
            session_bids = [b for _, b in session if b is not None]
            rows.append(
                (
                    f"{user_id}-{start}",
                    user_id,
                    utc(start),
                    utc(end),
                    len(session_bids),
                    len(session) - len(session_bids),
                    ",".join(sorted({b["platform"] for b in session_bids})),
                    ",".join(str(c) for c in sorted({b["city_id"] for b in session_bids})),
                    utc(start).date(),
                )
            )
    return rows
