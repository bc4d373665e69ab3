"""Feeding a running job from Python: send sample traffic and get back every record sent.

Tests that run the job unbounded call :func:`feed` (live event time by default) for some
seconds, then compute the expected tables from ``Feed.records``: each record's exact bytes,
event time, fault and the partition and offset the broker confirmed. The command line
(sample_gen.py) shares the pieces here (partition choice, the records file).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from common.kafka_client import KafkaSink, Target, client_config
from common.load.config import CONFIG_DIR, TopicConfig, load_topics
from common.load.properties import RegistrySettings
from samplegen.avro import avro_writers
from samplegen.faults import FaultKnobs, Faults
from samplegen.model import EventModel, ModelOptions, TopicPlan
from samplegen.runner import RunOptions, SentRecord, build_manifest, log_summary, run, wall_clock_ms

log = logging.getLogger(__name__)

ALL_TOPICS = "*"  # in a partition mapping: every topic not named otherwise


@dataclass
class Feed:
    """What one feed() sent: every record in sending order, and the manifest of the run."""

    records: list[SentRecord]
    manifest: dict[str, Any]

    @property
    def complete(self) -> bool:
        """Every record confirmed by the broker and the run not stopped early."""
        return bool(self.manifest["complete"])

    def of_topic(self, topic: str) -> list[SentRecord]:
        """The records of one topic (key of topics.yaml), in sending order."""
        return [r for r in self.records if r.topic == topic]


def feed(
    target: str | Target,
    *,
    count: int | None = None,
    duration_s: float | None = None,
    rate: float | None = None,
    live: bool = True,
    topics: Sequence[str] | None = None,
    partition: int | Mapping[str, int] | None = None,
    model: ModelOptions = ModelOptions(),
    faults: FaultKnobs = FaultKnobs(),
    config_dir: Path = CONFIG_DIR,
    environment: str | None = None,
    cancel: threading.Event | None = None,
    flush_timeout_s: float = 60.0,
    manifest_path: str | Path | None = None,
    registry: RegistrySettings | None = None,
) -> Feed:
    """Send sample traffic to Kafka and return every record sent, once the broker confirmed them.

    target: a bootstrap address (plaintext) or a Target (MSK IAM...).
    count / duration_s: stop after this many records / seconds, whichever comes first (at
        least one of them). rate: records per second, steady; None: as fast as possible.
    live: event time is the wall clock at sending (default); False: the simulated timeline
        from ``model.start_ms``, deterministic to the byte for a seed.
    topics: topic keys or Kafka names (default: every enabled topic of config_dir/topics.yaml).
    partition: send every record to this partition; or {topic key or Kafka name: partition},
        with "*" for the others. None: by key (user_id), as usual.
    model, faults: the event model's and the fault knobs' options (seed: ``model.seed``).
    cancel: an Event another thread sets to stop early (the run then counts as interrupted).
    manifest_path: also write the manifest there (what sample_gen.py writes).
    registry: where the schema registries of Avro topics are (RuntimeSettings.kafka.registry;
        default: none set, so only Glue with the region from the environment): every Avro topic
        sent has its writer's schema registered first, and its values are framed Avro.

    Raises ValueError for bad arguments (a partition the topic does not have...) and
    common.errors.ConfigError for a bad config_dir (or no registry for an Avro topic;
    samplegen.avro.RegistryError when its registry refuses). Blocks for the whole run plus the flush;
    the caller's thread may be any thread (Ctrl-C handling needs the main thread).
    """
    if count is None and duration_s is None:
        raise ValueError("feed() needs a count or a duration_s")
    all_topics = load_topics(config_dir, environment)
    selected = [_topic_key(name, all_topics) for name in topics] if topics else None
    if live:
        model = replace(model, start_ms=wall_clock_ms())  # the simulation's zero: now
    event_model = EventModel(list(all_topics.values()), model, selected)
    options = RunOptions(
        count=count,
        duration_s=duration_s,
        rate=rate or None,
        progress="none",
        flush_timeout_s=flush_timeout_s,
        live=live,
        partitions=partition_map(partition, event_model.selected),
    )
    target = Target(target) if isinstance(target, str) else target
    use_registries(event_model.selected, all_topics, registry or RegistrySettings())
    sink = KafkaSink(client_config(target))
    check_partitions(sink, event_model.selected, options.partitions)
    fault_injector = Faults(faults, model.seed, count if duration_s is None else None, live) if faults.any else None
    records: list[SentRecord] = []
    log.info(
        "feeding %s, %s event time, topics %s",
        target.bootstrap_servers,
        "live" if live else "simulated",
        ", ".join(p.topic_name for p in event_model.selected),
    )
    outcome = run(event_model, fault_injector, sink, options, journal=records, cancel=cancel)
    manifest = build_manifest(event_model, faults, options, outcome, target.describe(), dry_run=False)
    if manifest_path is not None:
        Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
        Path(manifest_path).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log_summary(manifest)
    return Feed(records, manifest)


def use_registries(
    plans: Iterable[TopicPlan], topics: Mapping[str, TopicConfig], settings: RegistrySettings
) -> list[str]:
    """Register the writer's schema of each Avro topic among ``plans`` with its registry and give its
    plan the writer that frames its values (samplegen.avro.avro_writers, whose errors it raises);
    the Kafka names of those topics."""
    plans = list(plans)
    writers = avro_writers([topics[p.key] for p in plans], settings)
    for plan in plans:
        plan.writer = writers.get(plan.key)
    return [p.topic_name for p in plans if p.writer is not None]


def _topic_key(name: str, topics: Mapping[str, Any]) -> str:
    if name in topics:
        return name
    for key, topic in topics.items():
        if topic.topic_name == name:
            return key
    raise ValueError(f"'{name}' is not a topic of topics.yaml ({', '.join(topics)})")


def partition_map(spec: int | Mapping[str, int] | None, plans: Iterable[TopicPlan]) -> dict[str, int]:
    """Topic key -> partition for the topics sent, from an int (every topic) or a mapping.

    The mapping's keys are topic keys or Kafka names, "*" for every other topic sent. A named
    topic that is not sent is an error (it was surely meant to be).
    """
    if spec is None:
        return {}
    plans = list(plans)
    wanted = {ALL_TOPICS: spec} if isinstance(spec, int) else dict(spec)
    by_name = {p.key: p for p in plans} | {p.topic_name: p for p in plans}
    chosen: dict[str, int] = {}
    for name, number in wanted.items():
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise ValueError(f"partition {number!r} for {name} is not a partition number (0, 1, ...)")
        if name != ALL_TOPICS and name not in by_name:
            raise ValueError(f"partition for '{name}': not a topic being sent ({', '.join(p.key for p in plans)})")
    for plan in plans:
        partition = wanted.get(plan.key, wanted.get(plan.topic_name, wanted.get(ALL_TOPICS)))
        if partition is not None:
            chosen[plan.key] = partition
    return chosen


def check_partitions(sink: KafkaSink, plans: Iterable[TopicPlan], partitions: Mapping[str, int]) -> None:
    """Refuse (ValueError) a partition a topic does not have, before anything is sent.

    A topic the broker does not know yet is let through: the delivery reports will tell.
    """
    for plan in plans:
        number = partitions.get(plan.key)
        if number is None:
            continue
        have = sink.partitions(plan.topic_name)
        if have is not None and number >= have:
            raise ValueError(
                f"topic {plan.topic_name} has {have} partition(s) (0..{have - 1}), not a partition {number}"
            )
