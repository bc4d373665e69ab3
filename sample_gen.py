"""Produce sample bid events to Kafka (minimal generator: bid events only, deterministic).

Messages are JSON matching the bid_events schema of config/topics.yaml, keyed by user_id.
Every delivery is confirmed; the exit code is 1 if any message was not delivered.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.config import load_project  # noqa: E402
from common.errors import ConfigError  # noqa: E402
from common.properties import load_settings  # noqa: E402

log = logging.getLogger("sample_gen")

CITIES = (1, 2, 3, 4, 5, 7, 11, 13)
PLATFORMS = ("android", "ios", "web")
EVENT_NAMES = ("bid_placed", "bid_raised", "bid_won")
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def bid_events(count: int, seed: int, start_ms: int = START_MS, users: int = 50) -> Iterator[dict]:
    """`count` bid events, one every 0-60 s of event time, from a seeded random stream."""
    rng = random.Random(seed)
    ts = start_ms
    for i in range(count):
        ts += rng.randint(0, 60_000)
        user_id = rng.randint(1, users)
        yield {
            "event_name": rng.choice(EVENT_NAMES),
            "user_id": user_id,
            "city_id": rng.choice(CITIES),
            "platform": rng.choice(PLATFORMS),
            "session_id": f"s-{user_id}-{(ts - start_ms) // 1_800_000}",
            "timestamp_ms": ts,
            "bid_amount": round(rng.lognormvariate(3.0, 1.0), 2),
        }


@dataclass
class DeliveryReport:
    """What the broker confirmed: delivered messages per partition, and failures."""

    per_partition: Counter = field(default_factory=Counter)
    failed: int = 0

    @property
    def delivered(self) -> int:
        return sum(self.per_partition.values())


def produce(bootstrap: str, topic: str, events: list[dict]) -> DeliveryReport:
    """Send events keyed by user_id and wait for every delivery report."""
    from confluent_kafka import Producer

    report = DeliveryReport()

    def on_delivery(err, msg) -> None:
        if err is not None:
            report.failed += 1
            log.error("delivery failed: %s", err)
        else:
            report.per_partition[msg.partition()] += 1

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20})
    try:
        for event in events:
            producer.produce(topic, key=str(event["user_id"]), value=json.dumps(event), on_delivery=on_delivery)
            producer.poll(0)
    finally:
        report.failed += producer.flush(30)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Exit codes: 0 all delivered, 1 some not delivered, 2 bad configuration.")
    parser.add_argument("--count", type=int, default=1000, help="number of bid events (default 1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed: same seed, same events")
    parser.add_argument("--bootstrap-servers", help="override kafka.bootstrap.servers of the runtime properties")
    parser.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.properties)
        topic = load_project().topics["bid_events"].topic_name
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return 2
    bootstrap = args.bootstrap_servers or settings.kafka.bootstrap_servers
    events = list(bid_events(args.count, args.seed))
    report = produce(bootstrap, topic, events)
    log.info("produced %d bid events to %s at %s (per partition %s), %d not delivered",
             report.delivered, topic, bootstrap, dict(report.per_partition), report.failed)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
