"""Backfill: fill a new pipeline's history, exactly once, as a bounded run of that pipeline alone.

A pipeline added to a running deployment shares its topics' sources with the others, so after
the restore it reads from the offsets in the snapshot on: the *switch point*. Everything before
it is the backfill's: a bounded run of the new pipeline alone (``--backfill NAME``) reads each
of its topics from the earliest offset (or given ones) up to, not including, the switch offsets.
Together the two runs read every record once.

The switch offsets are the snapshot's. Flink's Kafka source commits a checkpoint's offsets to
the consumer group when the checkpoint completes, so when a local run restores a snapshot with
new pipelines, the group's committed offsets at that moment are the snapshot's: the job records
them in ``<checkpoint.dir>/switch-<pipeline>.json`` before it submits. On the managed service
read the group's offsets right after stopping the application (``scripts/status.py`` or
``kafka-consumer-groups.sh --describe``) into such a file.

The backfill reads with a consumer group of its own (``<group>-backfill-<pipeline>``), writes no
dead letters (the live job's dead-letter table already has every bad record before the switch)
and touches no other table.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from common.config import TopicConfig
from common.errors import ConfigError
from common.properties import KafkaSettings, local_path

log = logging.getLogger(__name__)

SWITCH_FILE = "switch-{pipeline}.json"
EARLIEST = "earliest"


def switch_file(checkpoint_dir: str, pipeline: str) -> Path:
    return local_path(checkpoint_dir) / SWITCH_FILE.format(pipeline=pipeline)


def consumer_config(kafka: KafkaSettings, group: str) -> dict[str, Any]:
    """A confluent-kafka consumer that only reads offsets (never commits)."""
    from samplegen.kafka_io import Target, client_config, resolve_region
    import os

    target = Target(kafka.bootstrap_servers, kafka.auth, resolve_region(None, os.environ, kafka.bootstrap_servers),
                    client_id="streaming_job")
    config = {k: v for k, v in client_config(target).items()
              if k in ("bootstrap.servers", "client.id", "security.protocol", "sasl.mechanism", "oauth_cb")}
    config.update({"group.id": group, "enable.auto.commit": False})
    return config


def committed_offsets(kafka: KafkaSettings, group: str, topic: str, timeout_s: float = 30) -> dict[int, int]:
    """partition -> the group's committed offset (the next record it reads). A partition without
    a commit is at its end offset if it holds no records (the source commits nothing there),
    else unknown (-1: the backfill refuses it)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(consumer_config(kafka, group))
    try:
        partitions = consumer.list_topics(topic, timeout=timeout_s).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in sorted(partitions)], timeout=timeout_s)
        offsets = {}
        for tp in committed:
            if tp.offset >= 0:
                offsets[tp.partition] = tp.offset
            else:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)
                offsets[tp.partition] = high if low == high else -1
        return offsets
    finally:
        consumer.close()


def record_switch(kafka: KafkaSettings, checkpoint_dir: str, pipeline: str, topics: list[TopicConfig]) -> Path:
    """Write the switch offsets of a new pipeline: its topics' committed group offsets now."""
    offsets = {t.topic_name: committed_offsets(kafka, t.consumer_group, t.topic_name) for t in topics}
    path = switch_file(checkpoint_dir, pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pipeline": pipeline, "recorded_at_ms": int(time.time() * 1000),
                                "offsets": {t: {str(p): o for p, o in parts.items()} for t, parts in offsets.items()}},
                               indent=1))
    log.info("switch point of new pipeline %s recorded in %s: %s", pipeline, path, offsets)
    return path


def read_offsets(path: Path, option: str) -> dict[str, dict[int, int]]:
    """topic name -> partition -> offset, from a switch file."""
    try:
        data = json.loads(path.read_text())
        offsets = {topic: {int(p): int(o) for p, o in parts.items()} for topic, parts in data["offsets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(str(path), option, f"not a readable offsets file ({exc})",
                          '{"offsets": {"<topic>": {"<partition>": <offset>, ...}}}') from None
    unknown = [f"{t}:{p}" for t, parts in offsets.items() for p, o in parts.items() if o < 0]
    if unknown:
        raise ConfigError(str(path), option, f"no committed offset for {', '.join(unknown)}",
                          "offsets >= 0 (the group had committed nothing for these partitions at the switch)")
    return offsets


def specific_offsets(offsets: Mapping[int, int]) -> str:
    """Flink's 'partition:0,offset:42;partition:1,offset:7'."""
    return ";".join(f"partition:{p},offset:{o}" for p, o in sorted(offsets.items()))


def source_overrides(pipeline: str, topics: list[TopicConfig], until: dict[str, dict[int, int]],
                     start: dict[str, dict[int, int]] | None) -> dict[str, dict[str, str]]:
    """topic key -> source options of the backfill run: own group, from earliest (or ``start``),
    bounded at the switch offsets."""
    overrides = {}
    for topic in topics:
        if topic.topic_name not in until:
            raise ConfigError("--backfill-until", topic.topic_name, "no switch offsets for this topic",
                              f"a file with offsets of: {', '.join(t.topic_name for t in topics)}")
        options = {
            "properties.group.id": f"{topic.consumer_group}-backfill-{pipeline}",
            "scan.bounded.mode": "specific-offsets",
            "scan.bounded.specific-offsets": specific_offsets(until[topic.topic_name]),
        }
        if start and topic.topic_name in start:
            options.update({"scan.startup.mode": "specific-offsets",
                            "scan.startup.specific-offsets": specific_offsets(start[topic.topic_name])})
        else:
            options["scan.startup.mode"] = "earliest-offset"
        overrides[topic.key] = options
    return overrides
