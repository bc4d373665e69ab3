"""How far each consumer group of the job is behind its topic, per partition, from the broker.

Flink's Kafka source does not need committed offsets (its positions are in checkpoints) but
commits them to its group when a checkpoint completes, so ``high watermark - committed`` is
the backlog as of the last checkpoint: it includes up to one checkpoint interval of records
the job may already have read. A partition the group never committed has no lag figure,
unless it holds no records (low watermark = high watermark): then there is nothing to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

TIMEOUT_S = 15.0


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    group: str
    partition: int
    high_watermark: int
    committed: int | None  # None: the group has no offset for this partition
    low_watermark: int = 0  # the oldest offset the broker still has

    @property
    def lag(self) -> int | None:
        if self.committed is None:
            return 0 if self.low_watermark >= self.high_watermark else None
        return max(self.high_watermark - self.committed, 0)


def consumer_lag(admin: Any, pairs: Iterable[tuple[str, str]], timeout_s: float = TIMEOUT_S) -> list[PartitionLag]:
    """Lag of each (topic, group) pair, every partition, in (topic, partition) order.

    `admin` is a confluent_kafka AdminClient. Raises LookupError for a topic the broker does
    not have, KafkaException when the broker does not answer.
    """
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    pairs = sorted(set(pairs))
    metadata = admin.list_topics(timeout=timeout_s).topics
    absent = sorted({t for t, _ in pairs if t not in metadata or metadata[t].error is not None})
    if absent:
        raise LookupError(f"topic {', '.join(absent)} does not exist on the broker")
    partitions = {t: sorted(metadata[t].partitions) for t, _ in pairs}

    def offsets(spec: Any) -> dict[tuple[str, int], int]:
        wanted = {TopicPartition(t, p): spec for t in partitions for p in partitions[t]}
        return {
            (tp.topic, tp.partition): future.result(timeout_s).offset
            for tp, future in admin.list_offsets(wanted, request_timeout=timeout_s).items()
        }

    high, low = offsets(OffsetSpec.latest()), offsets(OffsetSpec.earliest())

    committed: dict[tuple[str, str, int], int] = {}
    for topic, group in pairs:  # one group per request: what every broker version accepts
        request = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions[topic]])]
        for future in admin.list_consumer_group_offsets(request, request_timeout=timeout_s).values():
            for tp in future.result(timeout_s).topic_partitions:
                if tp.offset >= 0:  # OFFSET_INVALID (-1001): nothing committed
                    committed[(topic, group, tp.partition)] = tp.offset

    return [
        PartitionLag(topic, group, p, high[(topic, p)], committed.get((topic, group, p)), low[(topic, p)])
        for topic, group in pairs
        for p in partitions[topic]
    ]
