"""The switch point of a new pipeline, read where it lives: the Kafka source state inside a
snapshot (a small Flink job in this JVM) and the broker's first offsets for splits that had read
nothing. What the switch point means and how a backfill uses it: common/state/switch_offsets.py.
"""

from __future__ import annotations

import json
import os
from typing import Any

from common.kafka_client import Target, ca_location, client_config, resolve_region
from common.load.properties import KafkaSettings


def consumer_config(kafka: KafkaSettings, group: str) -> dict[str, Any]:
    """A confluent-kafka consumer that only reads offsets (never commits)."""
    target = Target(kafka.bootstrap_servers, kafka.auth, resolve_region(None, os.environ, kafka.bootstrap_servers),
                    client_id="streaming_job", ca_location=ca_location(kafka.client_properties))
    config = {k: v for k, v in client_config(target).items()
              if k in ("bootstrap.servers", "client.id", "security.protocol", "sasl.mechanism", "oauth_cb",
                       "ssl.ca.location")}
    config.update({"group.id": group, "enable.auto.commit": False})
    return config


KAFKA_EARLIEST_MARKER = -2  # KafkaPartitionSplit.EARLIEST_OFFSET: the split had not read a record yet


def snapshot_offsets(snapshot: str, source_uid: str, jar_uri: str) -> dict[str, dict[int, int]]:
    """topic -> partition -> next offset, from the Kafka source state in a savepoint/checkpoint
    (runs a small local Flink job in this process's JVM)."""
    from pyflink.java_gateway import get_gateway

    text = get_gateway().jvm.com.example.streaming.state.SwitchOffsets.readAsJson(snapshot, source_uid, jar_uri)
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
