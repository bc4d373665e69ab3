"""End to end: Debezium change events (JSON) on the real broker -> the job -> an upsert table,
read back with its delete files applied, against a Python reference that applies the same
changes to a dict.

The change stream is random with a fixed seed, per key in order (Debezium keys each change by
the row's primary key, so one key's changes are in one partition): snapshot reads, inserts,
several updates of a key in a row (within one checkpoint: position deletes), deletes followed by
re-inserts of the same key, updates without a before image (PostgreSQL's default replica
identity), deletes whose before image holds only the key, a tombstone after every delete
(skipped, not a dead letter), and broken envelopes (dead letters with exact bytes and reasons).
Two bounded runs at parallelism 2: the second sends more changes (deletes and updates of rows the
first run wrote: equality deletes across commits) and re-reads everything from the start, which
an upsert table must absorb.
"""

from __future__ import annotations

import json
import random
import uuid

import pytest
import yaml

from tests.e2e.test_adding_pipeline import examples
from tests.support.e2e import live_rows, table
from tests.support.harness import JobWorkspace, create_topics

pytestmark = [pytest.mark.kafka, pytest.mark.jvm]

TS = 1_772_400_000_000
# The pipeline guide's CDC example (docs/adding_a_pipeline.md, "Avro topics and CDC topics"), run as written.
TOPIC = yaml.safe_load(examples()["cdc topics.yaml"])["customers_cdc"]
PIPELINE = yaml.safe_load(examples()["cdc transformations.yaml"])[0]


def change(op: str, before: dict | None, after: dict | None, ts: int) -> dict:
    return {
        "before": before,
        "after": after,
        "op": op,
        "ts_ms": ts,
        "source": {"connector": "postgresql", "db": "shop", "table": "customers", "ts_ms": ts - 5},
    }


class Database:
    """The reference: the table's rows as the database has them after each change."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[int, dict] = {}
        self.ts = TS

    def image(self, key: int) -> dict:
        rng = self.rng
        return {
            "id": key,
            "name": f"n{key}-{rng.randrange(1000)}",
            "email": rng.choice([None, f"u{key}@x.example"]),
            "tier": rng.choice([None, 1, 2, 3]),
        }

    def changes(self, count: int, keys: range, snapshot: bool) -> list[tuple[int, dict | None]]:
        """(key, change event or None for a tombstone), applied to self.rows as it goes."""
        out: list[tuple[int, dict | None]] = []
        rng = self.rng
        if snapshot:
            for key in keys:
                self.rows[key] = self.image(key)
                out.append((key, change("r", None, self.rows[key], self.ts)))
        for _ in range(count):
            self.ts += rng.randrange(1, 200)
            key = rng.choice(keys)
            old = self.rows.get(key)
            if old is None:
                self.rows[key] = self.image(key)
                out.append((key, change("c", None, self.rows[key], self.ts)))
            elif rng.random() < 0.25:
                del self.rows[key]
                before = old if rng.random() < 0.5 else {"id": key, "name": None, "email": None, "tier": None}
                out.append((key, change("d", before, None, self.ts)))
                out.append((key, None))  # the tombstone Debezium writes after a delete
            else:
                for _ in range(rng.choice([1, 1, 2, 3])):  # a key updated several times in a row
                    new = {**self.image(key), "id": key}
                    before = dict(self.rows[key]) if rng.random() < 0.6 else None
                    self.rows[key] = new
                    out.append((key, change("u", before, new, self.ts)))
        return out


def broken() -> list[tuple[bytes, str]]:
    """Envelopes that make no change, exactly as sent, and the reason each must carry."""
    row = {"id": 900, "name": "x", "email": None, "tier": 1}

    def env(**members) -> bytes:
        return json.dumps({"before": None, "after": row, "op": "c", "ts_ms": TS, **members}).encode()

    return [
        (env(op="x"), 'unknown op "x": expected c, r, u or d'),
        (env(after=None), "after missing or null for op c"),
        (env(op="d", before=None, after=None), "before missing or null for op d"),
        (env(after={"name": "no key"}), "missing required field after.id"),
        (env(after={"id": 901, "name": None}), "missing required field after.name"),
        (env(after={"id": 902, "name": "y", "tier": "gold"}), "field after.tier: expected INT, found a string"),
        (b'{"before":null,"after":{"id":903,"name":"z"},"op":"c","ts_ms":' + str(TS).encode(), "not a JSON object"),
    ]


@pytest.fixture
def cdc_workspace(tmp_path, kafka_broker) -> JobWorkspace:
    config = tmp_path / "config"
    config.mkdir()
    suffix = uuid.uuid4().hex[:8]
    name = f"shop.public.customers-{suffix}"
    topic = {**TOPIC, "topic_name": name, "consumer_group": f"customers-{suffix}"}
    (config / "topics.yaml").write_text(yaml.safe_dump({"kafka_topics": {"customers_cdc": topic}}, sort_keys=False))
    (config / "transformations.yaml").write_text(yaml.safe_dump({"transformations": [PIPELINE]}, sort_keys=False))
    create_topics(kafka_broker, [name])
    return JobWorkspace(kafka_broker, config, tmp_path / "warehouse", {"customers_cdc": name})


def send(ws: JobWorkspace, changes: list[tuple[int, dict | None]], extra: list[bytes] = ()) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": ws.bootstrap, "enable.idempotence": True})
    topic = ws.topics["customers_cdc"]
    for key, event in changes:
        value = None if event is None else json.dumps(event).encode()
        producer.produce(topic, key=json.dumps({"id": key}).encode(), value=value)
    for i, value in enumerate(extra):
        producer.produce(topic, key=json.dumps({"id": 900 + i}).encode(), value=value)
    assert producer.flush(30) == 0


def test_debezium_changes_reach_the_upsert_table_as_the_database_has_them(cdc_workspace):
    ws = cdc_workspace
    db = Database(seed=32)
    first = db.changes(300, range(1, 41), snapshot=True)
    bad = broken()
    send(ws, first, [raw for raw, _ in bad])
    result = ws.run_job("--bounded", env={"FLINK_PARALLELISM": "2"})
    assert result.returncode == 0, result.stderr[-4000:]
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(live_rows(ws, "customers"), key=key) == sorted(db.rows.values(), key=key)

    second = db.changes(300, range(1, 51), snapshot=False)  # deletes and updates of rows run 1 wrote
    assert any(e is not None and e["op"] == "d" for _, e in second)
    send(ws, second)
    result = ws.run_job("--bounded", env={"FLINK_PARALLELISM": "2"})
    assert result.returncode == 0, result.stderr[-4000:]
    assert sorted(live_rows(ws, "customers"), key=key) == sorted(db.rows.values(), key=key)

    dead = table(ws, "dead_letters")  # both runs read the broken envelopes: twice each
    assert sorted((r["raw_value"], r["reason"]) for r in dead) == sorted(bad * 2)
    tombstones = sum(1 for _, e in first + second if e is None)
    assert tombstones > 10 and all(r["raw_value"] is not None for r in dead)  # tombstones skipped, not dead


VALUE = {
    "type": "record",
    "name": "Value",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": ["null", "string"], "default": None},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "tier", "type": ["null", "int"], "default": None},
    ],
}
# Debezium's Avro converter: the envelope record with the row images as a nullable "Value" record
ENVELOPE = {
    "type": "record",
    "name": "Envelope",
    "namespace": "shop.public.customers",
    "fields": [
        {"name": "before", "type": ["null", VALUE], "default": None},
        {"name": "after", "type": ["null", "Value"], "default": None},
        {
            "name": "source",
            "type": {
                "type": "record",
                "name": "Source",
                "namespace": "io.debezium.connector.postgresql",
                "fields": [{"name": "connector", "type": "string"}, {"name": "ts_ms", "type": "long"}],
            },
        },
        {"name": "op", "type": "string"},
        {"name": "ts_ms", "type": ["null", "long"], "default": None},
    ],
}


def test_debezium_avro_changes_through_the_registry_reach_the_upsert_table(tmp_path, kafka_broker):
    """The same changes written by Debezium's Avro converter (Confluent wire format): the row
    images are read with the writer's envelope schema; what is not a change is a dead letter."""
    from confluent_kafka import Producer

    from samplegen.avro import ConfluentRegistry, avro_binary, confluent_frame
    from tests.support.registry import schema_registry_process

    config = tmp_path / "config"
    config.mkdir()
    suffix = uuid.uuid4().hex[:8]
    name = f"shop.public.customers-avro-{suffix}"
    topic = {**TOPIC, "topic_name": name, "consumer_group": f"customers-{suffix}", "format": "debezium-avro"}
    topic["registry"] = {"type": "confluent"}
    (config / "topics.yaml").write_text(yaml.safe_dump({"kafka_topics": {"customers_cdc": topic}}, sort_keys=False))
    (config / "transformations.yaml").write_text(yaml.safe_dump({"transformations": [PIPELINE]}, sort_keys=False))
    create_topics(kafka_broker, [name])
    ws = JobWorkspace(kafka_broker, config, tmp_path / "warehouse", {"customers_cdc": name})
    db = Database(seed=33)
    changes = db.changes(300, range(1, 41), snapshot=True)
    with schema_registry_process() as url:
        schema_id = ConfluentRegistry(url).register(f"{name}-value", ENVELOPE)

        def framed(event: dict) -> bytes:
            source = {"connector": event["source"]["connector"], "ts_ms": event["source"]["ts_ms"]}
            return confluent_frame(schema_id, avro_binary(ENVELOPE, {**event, "source": source}))

        row = {"id": 900, "name": "x", "email": None, "tier": 1}
        envelope = {"before": None, "after": row, "op": "c", "ts_ms": TS, "source": {"connector": "pg", "ts_ms": TS}}
        bad = [
            (framed({**envelope, "op": "x"}), 'unknown op "x": expected c, r, u or d'),
            (framed({**envelope, "after": None}), "after missing or null for op c"),
            (framed({**envelope, "after": {**row, "name": None}}), "missing required field after.name"),
            (
                json.dumps(envelope).encode(),
                "not the Confluent wire format: first byte 0x7b, expected the magic byte 0x00",
            ),
            (framed(envelope)[:-4], f"not Avro of schema id {schema_id}: cut short"),
        ]
        producer = Producer({"bootstrap.servers": ws.bootstrap, "enable.idempotence": True})
        for key, event in changes:
            producer.produce(name, key=json.dumps({"id": key}).encode(), value=None if event is None else framed(event))
        for i, (value, _) in enumerate(bad):
            producer.produce(name, key=json.dumps({"id": 900 + i}).encode(), value=value)
        assert producer.flush(30) == 0
        result = ws.run_job("--bounded", env={"SCHEMA_REGISTRY_URL": url})
    assert result.returncode == 0, result.stderr[-4000:]
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(live_rows(ws, "customers"), key=key) == sorted(db.rows.values(), key=key)
    assert sorted((r["raw_value"], r["reason"]) for r in table(ws, "dead_letters")) == sorted(bad)


def test_sample_gens_change_stream_is_applied_as_its_journal_says(cdc_workspace, tmp_path):
    """sample_gen.py on the guide's CDC topic: its change stream (creates, updates, deletes and
    their tombstones, keys coming back) through the job, against its --records journal replayed."""
    import subprocess
    import sys

    from tests.support.harness import ROOT

    ws = cdc_workspace
    journal = tmp_path / "journal.jsonl"
    command = [sys.executable, str(ROOT / "sample_gen.py"), "--config-dir", str(ws.config_dir), "--count", "400"]
    command += ["--seed", "5", "--records", str(journal), "--manifest", str(tmp_path / "manifest.json")]
    command += ["--bootstrap-servers", ws.bootstrap, "--progress", "none", "--quiet"]
    gen = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stdout[-2000:] + gen.stderr[-4000:]
    rows: dict[str, dict] = {}  # the reference: the journal's changes applied in order (one key, one partition)
    ops = {"c": 0, "u": 0, "d": 0, "tombstone": 0}
    for line in sorted(
        (json.loads(x) for x in journal.read_text().splitlines()), key=lambda r: (r["partition"], r["offset"])
    ):
        if line["value"] is None:
            ops["tombstone"] += 1
            continue
        change = json.loads(line["value"])
        ops[change["op"]] += 1
        key = json.dumps({"id": (change["after"] or change["before"])["id"]})
        if change["op"] == "d":
            del rows[key]
        else:
            rows[key] = change["after"]
    assert min(ops.values()) > 5, ops  # every kind of change, many times
    result = ws.run_job("--bounded")
    assert result.returncode == 0, result.stderr[-4000:]
    key = lambda r: r["id"]  # noqa: E731
    expected = [{c: r.get(c) for c in ("id", "name", "email", "tier")} for r in rows.values()]
    assert sorted(live_rows(ws, "customers"), key=key) == sorted(expected, key=key)
    assert table(ws, "dead_letters") == []
