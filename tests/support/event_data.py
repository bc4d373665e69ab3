"""Deterministic test traffic for the three topics, with the properties the proofs rely on.

- several days of event time, crossing hour and day boundaries (UTC);
- many users, each with several sessions: within a session consecutive events (bids and
  user events interleaved) are at most 5 minutes apart, now and then 20-29 minutes;
  sessions of one user 31 minutes to 4 hours apart: the 30-minute gap decides (a shorter
  or longer gap gives other sessions);
- orders after some sessions, with prices on the category edges (99.99, 100, 500);
- production order = event time plus a jitter below ``MAX_DISORDER_MS`` (< the 5 s
  watermark bound): events are out of order, but never behind the watermark.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
MAX_DISORDER_MS = 4_000
CITIES = (1, 2, 3, 5, 8, 13)
PLATFORMS = ("android", "ios", "web")
ACTIONS = ("view", "click", "search", "add_to_cart", "login")
EDGE_PRICES = (99.99, 100.0, 499.99, 500.0)


@dataclass
class Traffic:
    """Events per topic key, each list in production order."""

    bid_events: list[dict] = field(default_factory=list)
    user_events: list[dict] = field(default_factory=list)
    order_events: list[dict] = field(default_factory=list)

    def topics(self) -> dict[str, list[dict]]:
        return {"bid_events": self.bid_events, "user_events": self.user_events, "order_events": self.order_events}


def _session(rng: random.Random, user_id: int, start_ms: int, traffic: Traffic, order_seq: list[int]) -> int:
    """Append one session's events; return the time of its last event."""
    ts = start_ms
    platform = rng.choice(PLATFORMS)
    for i in range(rng.randint(2, 12)):
        if i:
            pause_ms = rng.randint(20 * 60_000, 29 * 60_000) if rng.random() < 0.05 else rng.randint(1_000, 300_000)
            ts += pause_ms
        if rng.random() < 0.6:
            traffic.bid_events.append(
                {
                    "event_name": rng.choice(("bid_placed", "bid_raised", "bid_won")),
                    "user_id": user_id,
                    "city_id": rng.choice(CITIES),
                    "platform": platform if rng.random() < 0.8 else rng.choice(PLATFORMS),
                    "session_id": f"app-{user_id}-{start_ms}",
                    "timestamp_ms": ts,
                    "bid_amount": round(rng.lognormvariate(3.5, 0.9), 2),
                }
            )
        else:
            traffic.user_events.append(
                {
                    "event_type": "user_action",
                    "user_id": user_id,
                    "action": rng.choice(ACTIONS),
                    "timestamp_ms": ts,
                    "metadata": json.dumps({"page": rng.randint(1, 40)}),
                }
            )
    if rng.random() < 0.4:
        order_seq[0] += 1
        price = rng.choice(EDGE_PRICES) if rng.random() < 0.2 else round(rng.uniform(5, 900), 2)
        traffic.order_events.append(
            {
                "order_id": f"o-{order_seq[0]:06d}",
                "user_id": user_id,
                "product_id": f"p-{rng.randint(1, 300)}",
                "quantity": rng.randint(1, 5),
                "price": price,
                "timestamp_ms": ts + rng.randint(1_000, 120_000),
            }
        )
    return ts


def _shuffle_within_bound(rng: random.Random, events: list[dict]) -> list[dict]:
    """Order by event time plus a jitter below MAX_DISORDER_MS: bounded disorder."""
    keyed = [(e["timestamp_ms"] + rng.randrange(MAX_DISORDER_MS), i, e) for i, e in enumerate(events)]
    return [e for _, _, e in sorted(keyed)]


def generate(seed: int, users: int = 60, days: int = 3) -> Traffic:
    """Sessions for every user over `days` days, then each topic in bounded-disorder order."""
    rng = random.Random(seed)
    traffic = Traffic()
    order_seq = [0]
    horizon = START_MS + days * 86_400_000
    for user_id in range(1, users + 1):
        ts = START_MS + rng.randint(0, 6 * 3_600_000)
        while ts < horizon:
            last = _session(rng, user_id, ts, traffic, order_seq)
            far = rng.random() < 0.5
            ts = last + (rng.randint(31 * 60_000, 44 * 60_000) if not far else rng.randint(45 * 60_000, 4 * 3_600_000))
    traffic.bid_events = _shuffle_within_bound(rng, traffic.bid_events)
    traffic.user_events = _shuffle_within_bound(rng, traffic.user_events)
    traffic.order_events = _shuffle_within_bound(rng, traffic.order_events)
    return traffic


def late_bids(seed: int, count: int = 600, late_every: int = 25) -> list[dict]:
    """Bids in one production order with, every `late_every` events, one that is behind the
    bound: alternately far behind (its hour already closed) and just behind (its hour still
    open). Meant for a one-partition topic with on-event watermarks, where lateness is exact."""
    rng = random.Random(seed)
    events, ts = [], START_MS
    for i in range(count):
        ts += rng.randint(5_000, 90_000)
        event_ts = ts
        if i and i % late_every == 0:
            hour_start = ts - ts % 3_600_000
            far = (i // late_every) % 2 == 0
            # far: 1-3 hours back; near: behind the bound but inside the current hour if possible
            event_ts = ts - rng.randint(3_600_000, 3 * 3_600_000) if far else max(hour_start, ts - 60_000)
        events.append(
            {
                "event_name": "bid_placed",
                "user_id": rng.randint(1, 20),
                "city_id": rng.choice(CITIES),
                "platform": rng.choice(PLATFORMS),
                "session_id": f"late-{i}",
                "timestamp_ms": event_ts,
                "bid_amount": round(rng.uniform(1, 300), 2),
            }
        )
    return events
