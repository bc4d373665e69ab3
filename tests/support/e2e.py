"""What the end-to-end tests (and the benchmarks) share beyond the harness: the tables' namespace,
producing and reading back, the S3 Tables properties, the built zip unpacked for a cluster."""

from __future__ import annotations

import json
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from common.load.properties import LOCAL_PROPERTIES
from common.ops.local_warehouse import read_rows
from sample_gen import produce
from tests.support.harness import ROOT

NAMESPACE = "sink"


SESSION_GAP_MS = 30 * 60_000


def produce_all(ws, topics: dict[str, list[dict]]) -> None:
    for key, events in topics.items():
        report = produce(ws.bootstrap, ws.topics[key], events)
        assert report.failed == 0 and report.delivered == len(events)


def table(ws, name: str) -> list[dict]:
    return read_rows(str(ws.warehouse), NAMESPACE, name)


def live_rows(ws, name: str) -> list[dict]:
    """The table's rows with its delete files applied, read from the files themselves (pyiceberg
    0.12 refuses equality deletes): an upsert table's reader, written from Iceberg's spec. A
    position delete removes (file, pos) from data files of a sequence number <= its own; an
    equality delete removes rows whose key columns equal one of its rows, in data files of a
    smaller sequence number and the same partition."""
    import pyarrow.parquet as pq

    from common.ops.local_warehouse import open_table

    tbl = open_table(str(ws.warehouse), NAMESPACE, name)
    live = [e for e in tbl.inspect.entries().to_pylist() if e["status"] != 2]  # 2: deleted
    path = lambda f: f["file_path"].removeprefix("file:")  # noqa: E731
    data = [e for e in live if e["data_file"]["content"] == 0]
    positions = [e for e in live if e["data_file"]["content"] == 1]
    equalities = [e for e in live if e["data_file"]["content"] == 2]
    deleted_at = {}  # (file, pos) -> the highest sequence number of a position delete of it
    for e in positions:
        for row in pq.read_table(path(e["data_file"])).to_pylist():
            at = (row["file_path"].removeprefix("file:"), row["pos"])
            deleted_at[at] = max(deleted_at.get(at, -1), e["sequence_number"])
    keys = []  # (sequence number, partition, column names, key values)
    for e in equalities:
        names = tuple(tbl.schema().find_field(i).name for i in e["data_file"]["equality_ids"])
        for row in pq.read_table(path(e["data_file"])).to_pylist():
            keys.append((e["sequence_number"], e["data_file"]["partition"], names, tuple(row[n] for n in names)))
    rows = []
    for e in data:
        file = path(e["data_file"])
        for pos, row in enumerate(pq.read_table(file).to_pylist()):
            if deleted_at.get((file, pos), -1) >= e["sequence_number"]:
                continue
            if any(
                seq > e["sequence_number"]
                and part == e["data_file"]["partition"]
                and tuple(row[n] for n in names) == key
                for seq, part, names, key in keys
            ):
                continue
            rows.append(row)
    return rows


LATE_PIPELINES = ("bid_events_raw", "bid_events_aggregated", "bid_events_late", "session_analytics", "session_late")


REGION = "us-east-1"


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}


def table_bucket(endpoint: str, tmp_path, monkeypatch, prefix: str):
    """A fresh S3 Tables bucket on the moto server at `endpoint`, the test's AWS variables set:
    (the s3tables client, the bucket's ARN)."""
    import boto3

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    s3tables = boto3.client("s3tables", endpoint_url=endpoint, region_name=REGION)
    name = f"{prefix}-{tmp_path.name[-8:].lower().replace('_', '-')}"
    return s3tables, s3tables.create_table_bucket(name=name)["arn"]


def s3tables_properties(path, table_bucket_arn: str, endpoint: str) -> None:
    """The shipped properties with the iceberg group switched to S3 Tables at `endpoint`."""
    groups = json.loads(LOCAL_PROPERTIES.read_text())
    for group in groups:
        if group["PropertyGroupId"] == "iceberg":
            group["PropertyMap"] = {
                "catalog.type": "s3tables",
                "catalog.name": "s3_tables",
                "warehouse": table_bucket_arn,
                "namespace": "sink",
                "option.client.region": REGION,
                "option.s3tables.endpoint": endpoint,
                "option.s3.endpoint": endpoint,
                "option.s3.path-style-access": "true",
            }
    path.write_text(json.dumps(groups))


def read_table(s3tables, arn: str, endpoint: str, credentials: dict[str, str], name: str = "bid_events_raw"):
    """(pyiceberg StaticTable, its rows) of a table in the bucket, read from moto's S3 with `credentials`."""
    from pyiceberg.table import StaticTable

    location = s3tables.get_table_metadata_location(tableBucketARN=arn, namespace="sink", name=name)["metadataLocation"]
    table = StaticTable.from_metadata(
        location,
        properties={
            "s3.endpoint": endpoint,
            "s3.access-key-id": credentials["AWS_ACCESS_KEY_ID"],
            "s3.secret-access-key": credentials["AWS_SECRET_ACCESS_KEY"],
            "s3.region": REGION,
        },
    )
    return table, table.scan().to_arrow().to_pylist()


def consume_all(bootstrap: str, topics: list[str], timeout_s: float = 60) -> dict[str, list[tuple[int, bytes, bytes]]]:
    """Every message of the topics, (partition, key, value) in partition order, up to the end offsets."""
    return defaultdict(
        list,
        {
            topic: [(m.partition(), m.key(), m.value()) for m in messages]
            for topic, messages in consume_messages(bootstrap, topics, timeout_s).items()
        },
    )


def consume_messages(bootstrap: str, topics: list[str], timeout_s: float = 60) -> dict[str, list]:
    """Every message (confluent_kafka Message) of the topics, in partition order, up to the end offsets."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-sample-gen-{time.time_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        ends, assignment = {}, []
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high > low:
                    ends[(topic, partition)] = high
                    assignment.append(TopicPartition(topic, partition, low))
        consumer.assign(assignment)
        got: dict[str, list] = defaultdict(list)
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            got[msg.topic()].append(msg)
            if msg.offset() + 1 >= ends.get((msg.topic(), msg.partition()), 0):
                ends.pop((msg.topic(), msg.partition()), None)
        assert not ends, f"did not reach the end of {ends}"
        return got
    finally:
        consumer.close()


CLUSTER_SCRIPT = ROOT / "dev" / "flink_cluster.sh"


ZIP = ROOT / "target" / "managed-flink-app.zip"


ENVIRONMENT = "cluster-e2e"  # the overlay naming this test's topics (app.env)


def unpack_zip(folder: Path, ws) -> Path:
    """The built zip, unpacked, plus one overlay file that names this test's topics."""
    if not ZIP.is_file():
        pytest.fail(f"{ZIP} does not exist: build it with `mvn package` (make test does)")
    with zipfile.ZipFile(ZIP) as archive:
        archive.extractall(folder)
    topics = yaml.safe_load((ws.config_dir / "topics.yaml").read_text())["kafka_topics"]
    overlay = {
        "kafka_topics": {
            key: {"topic_name": t["topic_name"], "consumer_group": t["consumer_group"]} for key, t in topics.items()
        }
    }
    (folder / "config" / "overlays" / f"{ENVIRONMENT}.yaml").write_text(yaml.safe_dump(overlay))
    return folder
