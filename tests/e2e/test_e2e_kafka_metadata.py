"""End to end: a topic with `metadata: [key, offset, timestamp, headers]` -> a SQL pipeline that
selects them -> Iceberg, every row compared with what the broker confirmed for each record."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import yaml
from confluent_kafka import Producer

from common.ops.local_warehouse import read_rows
from tests.support.harness import create_topics

UTC = dt.timezone.utc
PIPELINE = "tagged_metadata"
EVENT_MS = 1_772_359_200_000  # 2026-03-01 10:00 UTC: the event time in each value
KAFKA_MS = EVENT_MS + 7 * 3_600_000  # the Kafka timestamps: other times, so the columns cannot be confused

TOPIC = {
    "consumer_group": "flink-tagged",
    "startup_mode": "earliest-offset",
    "event_time": {"field": "timestamp_ms", "max_out_of_orderness": "5s"},
    "schema": {"id": "INT", "timestamp_ms": "BIGINT"},
    "metadata": ["headers", "key", "offset", "timestamp"],  # any order: the view has one
}
SINK_PIPELINE = {
    "name": PIPELINE,
    "source_topic": "tagged_events",
    "sink_table": PIPELINE,
    "sink_schema": {
        "id": "INT",
        "kafka_partition": "INT",
        "kafka_offset": "BIGINT",
        "kafka_key": "BYTES",
        "kafka_key_text": "STRING",
        "kafka_timestamp": "TIMESTAMP_LTZ(3)",
        "source": "BYTES",
        "header_count": "INT",
    },
    "sql": "SELECT `id`, `kafka_partition`, `kafka_offset`, `kafka_key`, `kafka_key_text`, `kafka_timestamp`,\n"
    "  `kafka_headers`['source'] AS `source`, CARDINALITY(`kafka_headers`) AS `header_count`\n"
    "FROM {source}\n",
}
# (key, headers) of each good record; record i goes to partition i % 2, with Kafka timestamp KAFKA_MS + i * 1001
RECORDS: list[tuple[bytes | None, list[tuple[str, bytes]]]] = [
    (b"user-1", [("source", b"web")]),
    (None, [("source", b"app"), ("trace", b"t-1")]),
    ("ключ-é".encode(), []),
    (b"\xff\xfe-not-utf8", [("source", b"\x00\xff")]),
    ("🔑".encode(), [("source", b"first"), ("source", b"last")]),  # a header key twice: the last value
    (None, [("trace", b"t-2")]),
    (b"\xc0\xaf", [("source", b"overlong")]),  # an overlong '/': not UTF-8
    (b"", [("source", b"")]),  # an empty key is not a null key
    (b"user-1", [("source", b"web")]),
]
BAD_AT = 4  # a value that is not JSON goes between the good ones: a dead letter, not a row


def produce_records(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """Send the records; id -> (partition, offset) as the broker confirmed them."""
    confirmed: dict[int, tuple[int, int]] = {}
    failed: list[str] = []

    def report(err, msg) -> None:
        if err is not None:
            failed.append(str(err))
        elif msg.value() != b"not json":
            confirmed[json.loads(msg.value())["id"]] = (msg.partition(), msg.offset())

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i, (key, headers) in enumerate(RECORDS):
        if i == BAD_AT:
            producer.produce(topic, b"not json", b"bad", partition=0, timestamp=KAFKA_MS, on_delivery=report)
        value = json.dumps({"id": i, "timestamp_ms": EVENT_MS + i * 1000}).encode()
        producer.produce(
            topic, value, key, partition=i % 2, timestamp=KAFKA_MS + i * 1001, headers=headers, on_delivery=report
        )
    assert producer.flush(30) == 0 and not failed, failed
    return confirmed


def predicted_offsets() -> dict[int, tuple[int, int]]:
    """id -> (partition, offset): a fresh topic numbers each partition's records from 0, in the
    order they were sent (the dead letter takes one offset of partition 0)."""
    sent, where = [0, 0], {}
    for i in range(len(RECORDS)):
        sent[0] += i == BAD_AT
        where[i] = (i % 2, sent[i % 2])
        sent[i % 2] += 1
    return where


def expected_row(i: int, partition: int, offset: int) -> dict:
    """The pipeline's SELECT in Python, from what was produced (kafka_key_text: NULL unless UTF-8)."""
    key, headers = RECORDS[i]
    try:
        text = None if key is None else key.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    by_name = dict(headers)  # Kafka's map form: a key sent twice keeps its last value
    return {
        "id": i,
        "kafka_partition": partition,
        "kafka_offset": offset,
        "kafka_key": key,
        "kafka_key_text": text,
        "kafka_timestamp": dt.datetime.fromtimestamp((KAFKA_MS + i * 1001) / 1000, UTC),
        "source": by_name.get("source"),
        "header_count": len(by_name),
    }


def test_the_metadata_a_topic_asks_for_reaches_the_table_exactly(workspace):
    topic_name = f"tagged-events-{uuid.uuid4().hex[:8]}"  # fresh: offsets from 0 in each partition
    create_topics(workspace.bootstrap, [topic_name])
    workspace.edit_topics(lambda doc: doc["kafka_topics"].update(tagged_events={"topic_name": topic_name, **TOPIC}))
    pipes_file = workspace.config_dir / "transformations.yaml"
    pipes = yaml.safe_load(pipes_file.read_text())
    pipes["transformations"].append(SINK_PIPELINE)
    pipes_file.write_text(yaml.safe_dump(pipes, sort_keys=False))

    confirmed = produce_records(workspace.bootstrap, topic_name)
    assert confirmed == predicted_offsets()

    result = workspace.run_job("--bounded", "--only", PIPELINE)
    assert result.returncode == 0, result.stderr[-4000:]
    rows = sorted(read_rows(str(workspace.warehouse), "sink", PIPELINE), key=lambda r: r["id"])
    assert rows == [expected_row(i, *confirmed[i]) for i in range(len(RECORDS))]
