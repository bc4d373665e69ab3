"""Backfill and switch, in one place: a restore that adds pipelines records each one's switch
point (the Kafka source state of its topics inside the snapshot, read by a small Flink job in
this JVM, and the broker's first offsets for splits that had read nothing); a backfill is a
bounded run of one pipeline from the earliest offsets (or a file) up to that point.
The offsets files and what they mean: common/state/switch_offsets.py (pure, files).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from common.errors import ConfigError
from common.kafka_client import Target, ca_location, client_config, resolve_region
from common.load.config import ProjectConfig
from common.load.properties import KafkaSettings, RuntimeSettings
from common.state import switch_offsets
from common.state.stable_ids import SOURCE, StateMap

log = logging.getLogger(__name__)


def backfill_overrides(
    pipeline: str, project: ProjectConfig, settings: RuntimeSettings, until_file: Path | None, from_file: Path | None
) -> dict[str, dict[str, str]]:
    """The backfill's sources: from earliest (or ``from_file``) up to the switch offsets."""
    until_file = until_file or switch_offsets.switch_file(settings.flink.checkpoint_dir, pipeline)
    if not until_file.is_file():
        raise ConfigError(
            "--backfill-until",
            str(until_file),
            "no switch offsets file",
            "the switch-<pipeline>.json a restore with the new pipeline wrote, or a file of your own",
        )
    until = switch_offsets.read_offsets(until_file, "--backfill-until")
    start = switch_offsets.read_offsets(from_file, "--backfill-from") if from_file else None
    return switch_offsets.source_overrides(pipeline, project.topics_in_use(), until, start)


def record_switches(
    names: list[str], project: ProjectConfig, settings: RuntimeSettings, restore: str, previous: StateMap | None
) -> None:
    """A restore that adds pipelines: keep each one's switch offsets (the snapshot's Kafka source
    state of its topics) for its backfill."""
    from common.load.properties import local_jar
    from common.render.kafka_sources import records_table

    if previous is None:
        log.warning("no state map beside %s: the switch offsets of %s are not recorded", restore, ", ".join(names))
        return
    sources = {n.table: n.id for n in previous.nodes if n.kind == SOURCE}
    by_name = {p.name: p for p in project.pipelines}
    topics = {t.key: t for t in project.topics_in_use()}
    read: dict[str, dict[int, int]] = {}
    for name in names:
        offsets = {}
        for topic in (topics[k] for k in by_name[name].topics):
            if topic.topic_name not in read:
                source_id = sources.get(records_table(topic).replace("`", ""))
                if source_id is None:  # the topic is new too: nothing before the switch
                    log.info("%s read no topic %s before the switch: nothing to backfill there", name, topic.topic_name)
                    continue
                state = snapshot_offsets(restore, f"{source_id}_source", local_jar(settings).as_uri())
                read[topic.topic_name] = resolve_markers(
                    settings.kafka, topic.topic_name, state.get(topic.topic_name, {})
                )
            offsets[topic.topic_name] = read[topic.topic_name]
        switch_offsets.record_switch(settings.flink.checkpoint_dir, name, offsets)


def consumer_config(kafka: KafkaSettings, group: str) -> dict[str, Any]:
    """A confluent-kafka consumer that only reads offsets (never commits)."""
    target = Target(
        kafka.bootstrap_servers,
        kafka.auth,
        resolve_region(None, os.environ, kafka.bootstrap_servers),
        client_id="streaming_job",
        ca_location=ca_location(kafka.client_properties),
    )
    config = {
        k: v
        for k, v in client_config(target).items()
        if k in ("bootstrap.servers", "client.id", "security.protocol", "sasl.mechanism", "oauth_cb", "ssl.ca.location")
    }
    config.update({"group.id": group, "enable.auto.commit": False})
    return config


KAFKA_EARLIEST_MARKER = -2  # KafkaPartitionSplit.EARLIEST_OFFSET: the split had not read a record yet


def snapshot_offsets(snapshot: str, source_uid: str, jar_uri: str) -> dict[str, dict[int, int]]:
    """topic -> partition -> next offset, from the Kafka source state in a savepoint/checkpoint
    (runs a small local Flink job in this process's JVM)."""
    from pyflink.java_gateway import get_gateway

    text = get_gateway().jvm.mskiceberg.streaming.state.SwitchOffsets.readAsJson(snapshot, source_uid, jar_uri)
    return {topic: {int(p): int(o) for p, o in parts.items()} for topic, parts in json.loads(text).items()}


def resolve_markers(kafka: KafkaSettings, topic: str, offsets: dict[int, int], timeout_s: float = 30) -> dict[int, int]:
    """A split that had read nothing still says 'earliest': that is the partition's first offset."""
    if all(o >= 0 for o in offsets.values()):
        return offsets
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(consumer_config(kafka, "streaming-job-offsets"))
    try:
        resolved = {}
        for partition, offset in offsets.items():
            if offset == KAFKA_EARLIEST_MARKER:
                offset = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)[0]
            resolved[partition] = offset
        return resolved
    finally:
        consumer.close()
