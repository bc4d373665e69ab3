"""End to end: Avro topics through both schema registries on the real broker -> the job
(--bounded) -> Iceberg, every row against the records as written, every bad record in
dead_letters with its exact bytes and reason.

- AWS Glue Schema Registry: moto in server mode (GetSchemaVersion by version id), values framed
  with Glue's header, half of them zlib-compressed.
- A Confluent-compatible registry: dev/schema_registry.py (Confluent's REST API, HTTP basic auth
  on), values framed with the magic byte and the schema id.

Writers evolve mid-stream as Avro allows (v2 drops `amount`, adds `coupon` with a default,
widens `user_id` from int to long) and the two versions' records are interleaved at random with a fixed
seed: the job reads each with its own writer's schema into the declared columns. Bad records:
not the wire format, a schema the registry does not have, a writer's schema that cannot be read
as declared, bytes cut short, a required column the writer does not have.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import pytest
import yaml

from samplegen.avro import ConfluentRegistry, GlueRegistry, avro_binary, confluent_frame, glue_frame
from tests.e2e.test_adding_pipeline import examples
from tests.support.e2e import CREDENTIALS, REGION, table
from tests.support.harness import JobWorkspace, create_topics
from tests.support.registry import schema_registry_process

pytestmark = [pytest.mark.kafka, pytest.mark.jvm]

START_MS = int(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc).timestamp() * 1000)
USER_INFO = "ci-writer:s3cret-pass"
# The pipeline guide's Avro example (docs/adding_a_pipeline.md, "Avro topics and CDC topics").
EXAMPLE = yaml.safe_load(examples()["avro topics.yaml"])["bids_avro"]


def record_schema(fields: list[tuple[str, object]], **extra) -> dict:
    return {
        "type": "record",
        "name": "Bid",
        "namespace": "shop",
        **extra,
        "fields": [{"name": n, "type": t} for n, t in fields],
    }


V1 = record_schema([("bid_id", "string"), ("user_id", "int"), ("amount", "double"), ("ts", "long")])
V2 = {
    "type": "record",
    "name": "Bid",
    "namespace": "shop",
    "fields": [
        {"name": "ts", "type": "long"},
        {"name": "bid_id", "type": "string"},
        {"name": "user_id", "type": "long"},
        {"name": "coupon", "type": ["null", "string"], "default": None},
    ],
}
# amount as a string: no Avro resolution reads it as DOUBLE
INCOMPATIBLE = record_schema([("bid_id", "string"), ("user_id", "long"), ("amount", "string"), ("ts", "long")])
NO_USER = record_schema([("bid_id", "string"), ("ts", "long")])


def topic_block(name: str, registry: dict) -> dict:
    return {**EXAMPLE, "topic_name": name, "consumer_group": f"{name}-job", "registry": registry}


def pipeline(topic: str) -> dict:
    return {
        "name": f"{topic}_rows",
        "source_topic": topic,
        "sink_table": f"{topic}_rows",
        "sink_schema": {
            "bid_id": "STRING",
            "user_id": "BIGINT",
            "amount": "DOUBLE",
            "coupon": "STRING",
            "ts": "BIGINT",
            "event_date": "DATE",
        },
        "partition_by": ["event_date"],
        "sql": "SELECT `bid_id`, `user_id`, `amount`, `coupon`, `ts`, "
        "CAST(CAST(`event_time` AS TIMESTAMP(3)) AS DATE) AS `event_date` FROM {source}",
    }


def bids(count: int, seed: int) -> list[tuple[dict, dict]]:
    """(writer schema, record) pairs: v1 and v2 interleaved at random."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        ts = START_MS + n * 1_000 + rng.randrange(1_000)
        if rng.random() < 0.5:
            out.append(
                (
                    V1,
                    {
                        "bid_id": f"b{n}",
                        "user_id": rng.randrange(2**31),
                        "amount": rng.randrange(10**6) / 100,
                        "ts": ts,
                    },
                )
            )
        else:
            out.append(
                (
                    V2,
                    {
                        "ts": ts,
                        "bid_id": f"b{n}",
                        "user_id": rng.randrange(2**40),
                        "coupon": rng.choice([None, "", "SPRING", "ÉTÉ-✓"]),
                    },
                )
            )
    return out


def expected_row(record: dict) -> dict:
    """The declared columns of one record: what its writer did not write is NULL."""
    return {
        "bid_id": record["bid_id"],
        "user_id": record["user_id"],
        "amount": record.get("amount"),
        "coupon": record.get("coupon"),
        "ts": record["ts"],
        "event_date": dt.datetime.fromtimestamp(record["ts"] / 1000, dt.timezone.utc).date(),
    }


@pytest.fixture
def avro_workspace(tmp_path, kafka_broker, moto_server):
    suffix = uuid.uuid4().hex[:8]
    names = {"bids_glue": f"bids-glue-{suffix}", "bids_confluent": f"bids-confluent-{suffix}"}
    with schema_registry_process(basic_auth=USER_INFO) as registry_url:
        config = tmp_path / "config"
        config.mkdir()
        topics = {
            "bids_glue": topic_block(names["bids_glue"], {"type": "glue", "registry_name": f"shop-{suffix}"}),
            "bids_confluent": topic_block(names["bids_confluent"], {"type": "confluent"}),
        }
        (config / "topics.yaml").write_text(yaml.safe_dump({"kafka_topics": topics}, sort_keys=False))
        pipelines = {"transformations": [pipeline("bids_glue"), pipeline("bids_confluent")]}
        (config / "transformations.yaml").write_text(yaml.safe_dump(pipelines, sort_keys=False))
        create_topics(kafka_broker, list(names.values()))
        ws = JobWorkspace(kafka_broker, config, tmp_path / "warehouse", names)
        env = {
            **CREDENTIALS,
            "SCHEMA_REGISTRY_URL": registry_url,
            "SCHEMA_REGISTRY_USER_INFO": USER_INFO,
            "GLUE_REGISTRY_REGION": REGION,
            "GLUE_REGISTRY_ENDPOINT": moto_server,
        }
        glue = GlueRegistry(f"shop-{suffix}", REGION, endpoint_url=moto_server)
        yield ws, env, ConfluentRegistry(registry_url, USER_INFO), glue


def test_avro_through_glue_and_a_confluent_registry_reaches_iceberg_exactly(avro_workspace, monkeypatch):
    from confluent_kafka import Producer

    ws, env, confluent, glue = avro_workspace
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)  # boto3's Glue client (moto takes any credentials)
    glue_topic, confluent_topic = ws.topics["bids_glue"], ws.topics["bids_confluent"]

    # Glue: one schema name per topic (the topic name), versions in the order writers evolve
    glue_ids = {id(V1): glue.register(glue_topic, V1), id(V2): glue.register(glue_topic, V2)}
    glue_incompatible = glue.register(f"{glue_topic}-other", INCOMPATIBLE)  # moto checks nothing: any version id
    glue_no_user = glue.register(f"{glue_topic}-other2", NO_USER)
    # Confluent: the subject <topic>-value; incompatible versions under other subjects (the registry
    # itself refuses them under the topic's subject: BACKWARD)
    subject = f"{confluent_topic}-value"
    confluent_ids = {id(V1): confluent.register(subject, V1), id(V2): confluent.register(subject, V2)}
    confluent_incompatible = confluent.register("other-value", INCOMPATIBLE)
    confluent_no_user = confluent.register("other2-value", NO_USER)

    good_glue, good_confluent = bids(150, seed=32), bids(150, seed=33)
    rng = random.Random(7)
    glue_values = [glue_frame(glue_ids[id(s)], avro_binary(s, r), compress=rng.random() < 0.5) for s, r in good_glue]
    confluent_values = [confluent_frame(confluent_ids[id(s)], avro_binary(s, r)) for s, r in good_confluent]

    v1_payload = avro_binary(V1, {"bid_id": "x", "user_id": 1, "amount": 1.5, "ts": START_MS})
    bad_amount = avro_binary(INCOMPATIBLE, {"bid_id": "x", "user_id": 1, "amount": "1.5", "ts": START_MS})
    no_user = avro_binary(NO_USER, {"bid_id": "x", "ts": START_MS})
    unknown_version = uuid.UUID("00000000-0000-4000-8000-000000000001")
    v1_glue = glue_ids[id(V1)]
    incompatible_reason = (
        'cannot be read as the declared columns: field amount: written as "string", declared DOUBLE '
        "(reader union lacking writer type: STRING)"
    )
    bad_glue = [
        (
            json.dumps({"bid_id": "j", "user_id": 1, "ts": START_MS}).encode(),
            "not the Glue Schema Registry wire format: header version byte 0x7b, expected 0x03",
        ),
        (
            glue_frame(unknown_version, v1_payload),
            f"unknown schema version {unknown_version}: the registry does not have it",
        ),
        (glue_frame(glue_incompatible, bad_amount), f"schema version {glue_incompatible} {incompatible_reason}"),
        (glue_frame(v1_glue, v1_payload[:-3]), f"not Avro of schema version {v1_glue}: cut short"),
        (glue_frame(glue_no_user, no_user), "missing required field user_id"),
    ]
    v1_id = confluent_ids[id(V1)]
    bad_confluent = [
        (b"\x00\x00\x01", "not the Confluent wire format: 3 bytes, shorter than its 5-byte header"),
        (confluent_frame(987_654, v1_payload), "unknown schema id 987654: the registry does not have it"),
        (
            confluent_frame(confluent_incompatible, bad_amount),
            f"schema id {confluent_incompatible} {incompatible_reason}",
        ),
        (
            confluent_frame(v1_id, v1_payload + b"\x02\x04"),
            f"not Avro of schema id {v1_id}: bytes left after the record",
        ),
        (confluent_frame(confluent_no_user, no_user), "missing required field user_id"),
    ]

    producer = Producer({"bootstrap.servers": ws.bootstrap, "enable.idempotence": True})
    for topic, values in (
        (glue_topic, glue_values + [b for b, _ in bad_glue]),
        (confluent_topic, confluent_values + [b for b, _ in bad_confluent]),
    ):
        shuffled = list(values)
        rng.shuffle(shuffled)
        for i, value in enumerate(shuffled):
            producer.produce(topic, value=value, key=str(i).encode())
    assert producer.flush(30) == 0

    result = ws.run_job("--bounded", env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert USER_INFO.split(":")[1] not in result.stdout + result.stderr  # the registry's password is never shown

    def rows(name: str) -> list[dict]:
        return sorted(table(ws, name), key=lambda r: r["bid_id"])

    assert rows("bids_glue_rows") == sorted((expected_row(r) for _, r in good_glue), key=lambda r: r["bid_id"])
    assert rows("bids_confluent_rows") == sorted(
        (expected_row(r) for _, r in good_confluent), key=lambda r: r["bid_id"]
    )
    dead = table(ws, "dead_letters")
    assert sorted((r["topic"], r["raw_value"], r["reason"]) for r in dead) == sorted(
        [(glue_topic, raw, why) for raw, why in bad_glue] + [(confluent_topic, raw, why) for raw, why in bad_confluent]
    )
