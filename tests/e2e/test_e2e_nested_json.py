"""End to end: a topic of nested JSON (ROW, ARRAY<ROW>, MAP) on the real broker -> the job
(--bounded) -> Iceberg struct / list / map columns and an UNNEST pipeline, every row against an
independent computation in Python; malformed nested values in dead_letters with their exact bytes
and a reason naming the path.

The events are random with a fixed seed (sizes, nulls, empty arrays and maps, absent members,
objects where a STRING is declared, member order); nested columns are read from the data files
with pyarrow (pyiceberg reads a NULL list as [], /work/shared/notes/pyiceberg-nested-nulls.md).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
import yaml

from common.ops.local_warehouse import open_table
from tests.e2e.test_adding_pipeline import examples
from tests.support.e2e import NAMESPACE, table
from tests.support.harness import JobWorkspace, create_topics

UTC = dt.timezone.utc
START_MS = int(dt.datetime(2026, 3, 1, 22, 0, tzinfo=UTC).timestamp() * 1000)
DAY = "CAST(CAST(`event_time` AS TIMESTAMP(3)) AS DATE) AS `event_date`"
# The pipeline guide's nested example (docs/adding_a_pipeline.md, "Nested values"), run as written.
TOPIC = yaml.safe_load(examples()["nested topics.yaml"])
ITEMS_PIPELINE = yaml.safe_load(examples()["nested transformations.yaml"])[0]
NESTED_PIPELINE = {
    "name": "device_events_nested",
    "source_topic": "device_events",
    "sink_table": "device_events_nested",
    "description": "the nested values as Iceberg struct, list and map columns",
    "sink_schema": {
        "event_id": "STRING",
        "device": "ROW<os STRING NOT NULL, version INT>",
        "items": "ARRAY<ROW<sku STRING, price DECIMAL(10, 2), qty INT NOT NULL>>",
        "attrs": "MAP<STRING, STRING>",
        "event_date": "DATE",
    },
    "partition_by": ["event_date"],
    "sql": f"SELECT `event_id`, `device`, `items`, `attrs`, {DAY}\nFROM {{source}}",
}


def events(count: int, seed: int) -> list[dict]:
    """Good events: the JSON documents as sent (member order, absent members, nulls vary)."""
    rng = random.Random(seed)
    result = []
    for n in range(count):
        doc: dict = {"event_id": f"e{n}", "ts": START_MS + n * 97_000}
        if rng.random() < 0.85:
            doc["device"] = {"os": rng.choice(["ios", "android"]), "version": rng.choice([None, 14, 17.0])}
            if rng.random() < 0.3:
                doc["device"]["extra"] = {"screen": [1170, 2532]}  # unknown members are ignored
            if doc["device"]["version"] is None and rng.random() < 0.5:
                del doc["device"]["version"]
        if rng.random() < 0.9:
            doc["items"] = [
                {
                    "sku": rng.choice([f"s{rng.randrange(50)}", None]),
                    "price": rng.choice([round(rng.uniform(0, 500), 2), 7, None]),
                    "qty": rng.choice([1, 2, 3.0]),
                }
                for _ in range(rng.choice([0, 1, 1, 2, 4]))
            ]
        if rng.random() < 0.8:
            attrs = {f"k{i}": rng.choice(["x", None]) for i in range(rng.randrange(3))}
            if rng.random() < 0.6:
                attrs["campaign"] = rng.choice(["spring", {"id": 5, "tags": ["a"]}, 12.50])
            doc["attrs"] = attrs
        keys = list(doc)
        rng.shuffle(keys)
        result.append({k: doc[k] for k in keys})
    return result


def as_text(value) -> str | None:
    """A JSON value read into STRING: strings as they are, anything else as its compact JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def item_row(item: dict) -> dict:
    return {"sku": item.get("sku"), "price": decimal(item.get("price")), "qty": int(item["qty"])}


def event_date(doc: dict) -> dt.date:
    return dt.datetime.fromtimestamp(doc["ts"] / 1000, UTC).date()


def expected_items(docs: list[dict]) -> list[tuple]:
    rows = []
    for doc in docs:
        items = doc.get("items") or []
        device = doc.get("device")
        campaign = as_text((doc.get("attrs") or {}).get("campaign"))
        for item in items:
            r = item_row(item)
            rows.append(
                (
                    doc["event_id"],
                    device["os"] if device else None,
                    r["sku"],
                    r["price"],
                    r["qty"],
                    len(items),
                    campaign,
                    items[0].get("sku"),
                    event_date(doc),
                )
            )
    return rows


def expected_nested(docs: list[dict]) -> list[tuple]:
    rows = []
    for doc in docs:
        device = doc.get("device")
        items = doc.get("items")
        attrs = doc.get("attrs")
        rows.append(
            (
                doc["event_id"],
                None
                if device is None
                else (device["os"], None if device.get("version") is None else int(device["version"])),
                None if items is None else tuple(tuple(item_row(i).values()) for i in items),
                None if attrs is None else tuple(sorted((k, as_text(v)) for k, v in attrs.items())),
                event_date(doc),
            )
        )
    return rows


def nested_rows(ws: JobWorkspace) -> list[tuple]:
    """The nested table's rows, read from its Parquet files (not through pyiceberg)."""
    tbl = open_table(str(ws.warehouse), NAMESPACE, "device_events_nested")
    rows = []
    for task in tbl.scan().plan_files():
        for r in pq.read_table(task.file.file_path.removeprefix("file:")).to_pylist():
            device, items, attrs = r["device"], r["items"], r["attrs"]
            rows.append(
                (
                    r["event_id"],
                    None if device is None else (device["os"], device["version"]),
                    None if items is None else tuple((i["sku"], i["price"], i["qty"]) for i in items),
                    None if attrs is None else tuple(sorted(attrs)),
                    r["event_date"],
                )
            )
    return rows


def bad_records() -> list[tuple[bytes, str]]:
    """Malformed nested values, exactly as sent, and the reason each must carry."""
    ts = START_MS + 5_000

    def doc(**members) -> bytes:
        return json.dumps({"event_id": "bad", "ts": ts, **members}).encode()

    return [
        (
            doc(items=[{"qty": 1}, {"qty": 1, "price": "9.99"}]),
            "field items[2].price: expected DECIMAL(10, 2), found a string",
        ),
        (doc(items=[{"qty": 1.5}]), "field items[1].qty: not an integer for INT"),
        (doc(items=[{"sku": "a"}]), "field items[1].qty: missing or null, and declared NOT NULL"),
        (doc(device={}), "field device.os: missing or null, and declared NOT NULL"),
        (doc(device={"os": "ios", "version": "17"}), "field device.version: expected INT, found a string"),
        (doc(device=["ios"]), "field device: expected ROW<`os` STRING NOT NULL, `version` INT>, found an array"),
        (doc(attrs=["a"]), "field attrs: expected MAP<STRING, STRING>, found an array"),
        (
            doc(items={"qty": 1}),
            "field items: expected ARRAY<ROW<`sku` STRING, `price` DECIMAL(10, 2), `qty` INT NOT NULL>>, found an object",
        ),
        (b'{"event_id":"bad","ts":%d,"device":{"os":"a","os":"b"}}' % ts, "duplicate key os"),
        (b'{"event_id":"bad","ts":%d,"items":[{"qty":1},{"qty"' % ts, "not a JSON object"),
    ]


@pytest.fixture
def nested_workspace(tmp_path, kafka_broker) -> JobWorkspace:
    config = tmp_path / "config"
    config.mkdir()
    suffix = uuid.uuid4().hex[:8]
    topics = {"kafka_topics": json.loads(json.dumps(TOPIC))}
    topic = topics["kafka_topics"]["device_events"]
    topic["topic_name"] += f"-{suffix}"
    topic["consumer_group"] += f"-{suffix}"
    (config / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    pipelines = {"transformations": [ITEMS_PIPELINE, NESTED_PIPELINE]}
    (config / "transformations.yaml").write_text(yaml.safe_dump(pipelines, sort_keys=False))
    create_topics(kafka_broker, [topic["topic_name"]])
    return JobWorkspace(kafka_broker, config, tmp_path / "warehouse", {"device_events": topic["topic_name"]})


def test_nested_values_reach_struct_list_map_columns_and_unnest_exactly(nested_workspace):
    from confluent_kafka import Producer

    ws = nested_workspace
    good = events(120, seed=31)
    bad = bad_records()
    sent = [json.dumps(d).encode() for d in good] + [raw for raw, _ in bad]
    random.Random(5).shuffle(sent)
    producer = Producer({"bootstrap.servers": ws.bootstrap, "enable.idempotence": True})
    for i, value in enumerate(sent):
        producer.produce(ws.topics["device_events"], value=value, key=str(i).encode())
    assert producer.flush(30) == 0

    result = ws.run_job("--bounded")
    assert result.returncode == 0, result.stderr[-4000:]

    items = [tuple(r.values()) for r in table(ws, "device_items")]
    assert len(items) > 100 and any(r[6] == '{"id":5,"tags":["a"]}' for r in items)
    assert sorted(items, key=repr) == sorted(expected_items(good), key=repr)
    assert sorted(nested_rows(ws), key=repr) == sorted(expected_nested(good), key=repr)

    dead = table(ws, "dead_letters")
    assert sorted((r["raw_value"], r["reason"]) for r in dead) == sorted(bad)
    assert all(r["topic"] == ws.topics["device_events"] for r in dead)
