"""No poison record: every kind of bad record of the strict decoder's contract (tombstone, too
large, not UTF-8, not JSON, not an object, trailing content, duplicate key, missing / null
required field, each type mismatch, out-of-range numbers and event times), with Kafka keys and
headers, between good records on 3-partition topics. One bounded run of the job must finish;
each bad record is in `dead_letters` at the partition and offset the broker confirmed, with its
reason and its exact bytes, and nothing else is; every good record (some written in unusual
but valid ways) is in every table exactly as the reference model says. The same run then
feeds scripts/replay_dead_letters.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field

import pytest
import yaml

from tests.support import reference_model as ref
from tests.support.e2e import SESSION_GAP_MS, table
from tests.support.event_data import generate
from tests.support.harness import ROOT, assert_same_rows, create_topics, make_workspace

PARTITIONS = 3
MAX_BYTES = 2000
OUT_OF_RANGE = "event time timestamp_ms outside [2000-01-01T00:00:00Z, 2100-01-01T00:00:00Z)"
REPLAY = ROOT / "scripts" / "replay_dead_letters.py"
STEP_MS = 40  # Kafka timestamps: one message every 40 ms, from 5 s before a UTC midnight (two days)


@dataclass
class Message:
    """One Kafka record to produce; `reason` set = a bad record, expected in dead_letters."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None = None
    reason: str | None = None
    kind: str = "good"
    # where the broker put it (from the delivery report)
    partition: int = -1
    offset: int = -1
    timestamp_ms: int = -1

    def headers_map(self) -> dict[str, bytes]:
        """Kafka's header map: a repeated key keeps its last value."""
        return dict(self.headers or [])


def value(fields: dict, **raw_json: str) -> bytes:
    """The fields as a JSON object; each `raw_json` field written exactly as given (1e400, NaN, 42.0...)."""
    text = json.dumps({**fields, **{k: f"@{k}@" for k in raw_json}})
    for k, v in raw_json.items():
        text = text.replace(json.dumps(f"@{k}@"), v)
    return text.encode()


def without(fields: dict, name: str) -> dict:
    return {k: v for k, v in fields.items() if k != name}


def headers(n: int) -> list[tuple[str, bytes]]:
    """Headers of the n-th bad record: text, binary, and a repeated key (the last value wins)."""
    return [("trace-id", f"first-{n}".encode()), ("origin", bytes([0, 1, 2, 255])), ("trace-id", f"t-{n}".encode())]


def bad_bids(g: dict) -> list[tuple[str, bytes | None, str]]:
    """(kind, value, expected reason) for every kind of bad record, built from the good bid `g`."""
    not_utf8 = value({**g, "platform": "PLATFORM"}).replace(b"PLATFORM", b"w\xc3\x28b")
    amount_first = {"bid_amount": "lots", **without(g, "bid_amount")}
    amount_first["city_id"] = "three"
    return [
        ("tombstone", None, "no value"),
        (
            "too large (in bytes, not in characters)",
            json.dumps({**g, "session_id": "é" * (MAX_BYTES // 2 + 50)}, ensure_ascii=False).encode(),
            f"too large: more than {MAX_BYTES} bytes",
        ),
        ("invalid UTF-8", not_utf8, "not UTF-8"),
        ("invalid JSON", b"{not json", "not a JSON object"),
        ("empty value", b"", "not a JSON object"),
        ("a JSON array", b"[1, 2, 3]", "not a JSON object"),
        ("a JSON string", b'"just a string"', "not a JSON object"),
        ("trailing content", value(g) + b' {"again": 1}', "trailing content after the JSON object"),
        ("duplicate key", value(g)[:-1] + b', "user_id": 7}', "duplicate key user_id"),
        ("required field missing", value(without(g, "user_id")), "missing required field user_id"),
        ("required field null", value({**g, "user_id": None}), "missing required field user_id"),
        ("a numeric string in an INT", value({**g, "city_id": "3"}), "field city_id: expected INT, found a string"),
        ("a fraction in an INT", value(g, city_id="1.5"), "field city_id: not an integer for INT"),
        ("an integer out of INT range", value(g, city_id="2147483648"), "field city_id: out of range for INT"),
        ("1e400 in a DOUBLE", value(g, bid_amount="1e400"), "field bid_amount: out of range for DOUBLE"),
        ("a bare NaN token", value(g, bid_amount="NaN"), "not a JSON object"),
        (
            'the string "NaN" in a DOUBLE',
            value({**g, "bid_amount": "NaN"}),
            "field bid_amount: expected DOUBLE, found a string",
        ),
        (
            "an object in a BIGINT",
            value({**g, "user_id": {"id": 1}}),
            "field user_id: expected BIGINT, found an object",
        ),
        ("microseconds in timestamp_ms", value({**g, "timestamp_ms": g["timestamp_ms"] * 1000}), OUT_OF_RANGE),
        ("seconds in timestamp_ms", value({**g, "timestamp_ms": g["timestamp_ms"] // 1000}), OUT_OF_RANGE),
        (
            "two bad fields: the first in the value wins",
            value(amount_first),
            "field bid_amount: expected DOUBLE, found a string",
        ),
        (
            "a bad field wins over a missing required one",
            value({**without(g, "user_id"), "city_id": True}),
            "field city_id: expected INT, found a boolean",
        ),
    ]


def bad_user_events(g: dict) -> list[tuple[str, bytes | None, str]]:
    surrogate = value({**g, "action": "ACTION"}).replace(b"ACTION", b"\xed\xa0\x80")  # a UTF-16 surrogate
    return [
        ("tombstone", None, "no value"),
        ("an encoded surrogate (not UTF-8)", surrogate, "not UTF-8"),
        ("a duplicate key inside a nested object", value(g, metadata='{"page": 1, "page": 2}'), "duplicate key page"),
        ("event time missing", value(without(g, "timestamp_ms")), "missing required field timestamp_ms"),
        (
            "a boolean event time",
            value({**g, "timestamp_ms": True}),
            "field timestamp_ms: expected BIGINT, found a boolean",
        ),
        ("a JSON number", b"42", "not a JSON object"),
    ]


def bad_orders(g: dict) -> list[tuple[str, bytes | None, str]]:
    return [
        ("a fraction in an INT", value(g, quantity="2.5"), "field quantity: not an integer for INT"),
        ("a string in a DOUBLE", value({**g, "price": "cheap"}), "field price: expected DOUBLE, found a string"),
        ("an array in a DOUBLE", value({**g, "price": [1]}), "field price: expected DOUBLE, found an array"),
        ("a negative event time", value({**g, "timestamp_ms": -1}), OUT_OF_RANGE),
        ("empty value", b"", "not a JSON object"),
    ]


def unusual_but_good(traffic) -> dict[int, bytes]:
    """Rewrite a few good events in valid but unusual JSON; the reference gets the decoded values.

    Returns {id(event): value bytes}. Each stays in place (same event time, same neighbours).
    """
    raw: dict[int, bytes] = {}
    bids, users, orders = traffic.bid_events, traffic.user_events, traffic.order_events

    b = bids[5]  # an integral number with a fraction part in a BIGINT: 42.0 is 42
    raw[id(b)] = value(b, user_id=f"{b['user_id']}.0")
    b = bids[9]  # an exponent in an INT: 50e-1 is 5
    raw[id(b)] = value(b, city_id=f"{b['city_id'] * 10}e-1")
    b = bids[13]  # text with \u escapes, and unknown keys (nested, arrays) are ignored
    b["session_id"] = "café-✓"
    raw[id(b)] = value({**b, "extra": {"list": [1, {"deep": None}], "flag": False}})
    b = bids[17]  # the same text as raw UTF-8, whitespace around the object
    b["session_id"] = "café-✓"
    raw[id(b)] = b"  \n" + json.dumps(b, ensure_ascii=False).encode() + b" \r\n\t"

    e = users[3]  # an object in a STRING: its compact JSON text, keys in the order written
    e["metadata"] = '{"page":3,"nested":{"z":null,"a":true,"w":1.5},"tags":["x","y"]}'
    raw[id(e)] = value(e, metadata='{"page": 3, "nested": {"z": null, "a": true, "w": 1.5}, "tags": ["x", "y"]}')
    e = users[6]  # a number in a STRING: its text as written
    e["metadata"] = "12.50"
    raw[id(e)] = value(e, metadata="12.50")
    e = users[8]  # a boolean in a STRING
    e["metadata"] = "true"
    raw[id(e)] = value(e, metadata="true")
    e = users[11]  # an array in a STRING
    e["metadata"] = '[1,"two",{"three":3}]'
    raw[id(e)] = value(e, metadata='[ 1, "two", {"three": 3} ]')
    e = users[14]  # the event time with a fraction part that is zero
    raw[id(e)] = value(e, timestamp_ms=f"{e['timestamp_ms']}.0")

    o = orders[2]  # 3.0 in an INT
    raw[id(o)] = value(o, quantity=f"{o['quantity']}.0")
    return raw


def produce_messages(bootstrap: str, topic: str, messages: list[Message]) -> None:
    """Send in order (idempotent: each partition keeps it) and note where the broker put each."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    errors = []
    for m in messages:

        def on_delivery(err, msg, m=m):
            if err is not None:
                errors.append(err)
            else:
                m.partition, m.offset, m.timestamp_ms = msg.partition(), msg.offset(), msg.timestamp()[1]

        producer.produce(
            topic, value=m.value, key=m.key, headers=m.headers, timestamp=m.timestamp_ms, on_delivery=on_delivery
        )
        producer.poll(0)
    assert producer.flush(30) == 0 and not errors, errors


@dataclass
class PoisonRun:
    ws: object
    traffic: object
    messages: dict[str, list[Message]]  # topic key -> every message produced, in order
    result: subprocess.CompletedProcess
    bad: list[tuple[str, Message]] = field(default_factory=list)  # (topic name, message)


@pytest.fixture(scope="module")
def poison_run(tmp_path_factory, kafka_broker) -> PoisonRun:
    ws = make_workspace(tmp_path_factory.mktemp("poison"), kafka_broker, partitions=PARTITIONS)
    topics_file = ws.config_dir / "topics.yaml"
    doc = yaml.safe_load(topics_file.read_text())
    doc["kafka_topics"]["bid_events"]["schema"]["user_id"] = "BIGINT NOT NULL"
    topics_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    traffic = generate(seed=7, users=6, days=1)
    raw = unusual_but_good(traffic)
    builders = {"bid_events": bad_bids, "user_events": bad_user_events, "order_events": bad_orders}
    midnight = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    first_ms = int(midnight.timestamp() * 1000) - 5_000
    messages: dict[str, list[Message]] = {}
    bad: list[tuple[str, Message]] = []
    n = 0
    for key, events in traffic.topics().items():
        # keyed by user (keys that spread these few users over all three partitions)
        msgs = [Message(f"user-{e['user_id']}".encode(), raw.get(id(e), value(e))) for e in events]
        kinds = builders[key](events[0])
        for i, (kind, val, reason) in enumerate(kinds):
            n += 1
            # most bad records have a key and headers; every fourth has neither
            m = (
                Message(None, val, None, reason, kind)
                if n % 4 == 0
                else Message(f"bad-{n}".encode(), val, headers(n), reason, kind)
            )
            msgs.insert((i + 1) * len(events) // (len(kinds) + 1) + i, m)  # spread between good records
            bad.append((ws.topics[key], m))
        for j, m in enumerate(msgs):
            m.timestamp_ms = first_ms + j * STEP_MS
        produce_messages(ws.bootstrap, ws.topics[key], msgs)
        messages[key] = msgs
    for msgs in messages.values():  # good and bad records on every partition
        assert {m.partition for m in msgs if not m.reason} == set(range(PARTITIONS))
    assert {m.partition for m in messages["bid_events"] if m.reason} == set(range(PARTITIONS))

    result = ws.run_job("--bounded", "--summary", env={"KAFKA_MAX_RECORD_BYTES": str(MAX_BYTES)})
    return PoisonRun(ws, traffic, messages, result, bad)


def test_the_job_finished_and_counted_every_record(poison_run):
    result, ws = poison_run.result, poison_run.ws
    assert result.returncode == 0, result.stderr[-5000:]
    for key, msgs in poison_run.messages.items():
        topic = ws.topics[key]
        line = re.search(rf"records of {re.escape(topic)}: (\d+) good, (\d+) dead letters", result.stderr)
        assert line, result.stderr[-3000:]
        good = sum(1 for m in msgs if m.reason is None)
        assert (int(line.group(1)), int(line.group(2))) == (good, len(msgs) - good)


DEAD_LETTER_COLUMNS = [
    "topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
    "reason",
    "raw_value",
    "raw_text",
    "kafka_key",
    "kafka_headers",
    "ingestion_time",
    "dead_letter_date",
]


def dead_letter_rows(run: PoisonRun) -> dict[tuple, dict]:
    rows = table(run.ws, "dead_letters")
    assert rows and list(rows[0]) == DEAD_LETTER_COLUMNS
    by_position = {(r["topic"], r["kafka_partition"], r["kafka_offset"]): r for r in rows}
    assert len(by_position) == len(rows), "a record is in dead_letters twice"
    return by_position


def test_each_bad_record_is_a_dead_letter_with_its_reason_bytes_key_and_headers(poison_run):
    assert poison_run.result.returncode == 0, poison_run.result.stderr[-5000:]
    got = dead_letter_rows(poison_run)
    problems = []
    for topic, m in poison_run.bad:
        row = got.pop((topic, m.partition, m.offset), None)
        where = f"{topic} [{m.partition}] @{m.offset} ({m.kind})"
        if row is None:
            problems.append(f"{where}: not in dead_letters")
            continue
        try:
            text = None if m.value is None else m.value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        expected = {
            "reason": m.reason,
            "raw_value": m.value,
            "raw_text": text,
            "kafka_key": m.key,
            "kafka_headers": m.headers_map(),
            "kafka_timestamp": ref.utc(m.timestamp_ms),
            "dead_letter_date": ref.utc(m.timestamp_ms).date(),
        }
        actual = {**{k: row[k] for k in expected}, "kafka_headers": dict(row["kafka_headers"] or [])}
        for column, want in expected.items():
            if actual[column] != want:
                problems.append(f"{where}: {column} is {actual[column]!r:.200}, expected {want!r:.200}")
        if row["ingestion_time"] is None:
            problems.append(f"{where}: no ingestion_time")
    problems += [f"{pos}: in dead_letters but not a bad record: {row['reason']!r}" for pos, row in got.items()]
    assert not problems, "\n".join(problems)


def test_every_good_record_is_in_every_table_as_the_reference_says(poison_run):
    assert poison_run.result.returncode == 0, poison_run.result.stderr[-5000:]
    ws, t = poison_run.ws, poison_run.traffic
    assert_same_rows(ref.columns(table(ws, "bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(t.bid_events))
    assert_same_rows(
        ref.columns(table(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS), ref.bid_events_hourly_agg(t.bid_events)
    )
    assert table(ws, "bid_events_hourly_agg_late") == []
    processed = ref.columns(table(ws, "user_events_processed"), ref.USER_EVENTS_COLUMNS)
    assert_same_rows(processed, ref.user_events_processed(t.user_events))
    assert_same_rows(
        ref.columns(table(ws, "order_events_enriched"), ref.ORDER_COLUMNS), ref.order_events_enriched(t.order_events)
    )
    assert_same_rows(
        ref.columns(table(ws, "session_analytics"), ref.SESSION_COLUMNS),
        ref.session_analytics(t.bid_events, t.user_events, SESSION_GAP_MS),
    )
    # the object given as `metadata` landed as its compact JSON text, keys in the order written
    assert '{"page":3,"nested":{"z":null,"a":true,"w":1.5},"tags":["x","y"]}' in {r[-1] for r in processed}


def replay(run: PoisonRun, *args: str) -> subprocess.CompletedProcess:
    env = {"ICEBERG_WAREHOUSE": str(run.ws.warehouse), "KAFKA_BOOTSTRAP_SERVERS": run.ws.bootstrap}
    return subprocess.run(
        [sys.executable, str(REPLAY), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def fresh_topic(run: PoisonRun) -> str:
    name = f"replayed-{uuid.uuid4().hex[:8]}"
    create_topics(run.ws.bootstrap, [name], partitions=1)
    return name


def consume_all(bootstrap: str, topic: str) -> list:
    """Every message of a one-partition topic, in order."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        consumer.assign([TopicPartition(topic, 0, 0)])
        messages = []
        while len(messages) < high:
            msg = consumer.poll(30)
            assert msg is not None, f"{len(messages)} of {high} messages read"
            assert msg.error() is None, msg.error()
            messages.append(msg)
        return messages
    finally:
        consumer.close()


def test_replay_sends_the_chosen_dead_letters_exactly(poison_run):
    assert poison_run.result.returncode == 0, poison_run.result.stderr[-5000:]
    source = poison_run.ws.topics["bid_events"]
    target = fresh_topic(poison_run)
    chosen = sorted(
        (
            m
            for t, m in poison_run.bad
            if t == source and (m.reason.startswith("field city_id") or m.reason == "no value")
        ),
        key=lambda m: (m.partition, m.offset),
    )
    assert len(chosen) == 5 and any(m.value is None for m in chosen)

    result = replay(
        poison_run, "--topic", source, "--reason", "field city_id", "--reason", "no value", "--to-topic", target
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f"replayed {len(chosen)} dead letters from {source} to {target}"

    sent = consume_all(poison_run.ws.bootstrap, target)
    assert [(m.key(), m.value(), dict(m.headers() or [])) for m in sent] == [
        (m.key, m.value, m.headers_map()) for m in chosen
    ]


def test_replay_dry_run_lists_and_counts_but_sends_nothing(poison_run):
    assert poison_run.result.returncode == 0, poison_run.result.stderr[-5000:]
    source = poison_run.ws.topics["user_events"]
    target = fresh_topic(poison_run)
    bad = sorted((m for t, m in poison_run.bad if t == source), key=lambda m: m.timestamp_ms)
    since, until = bad[1].timestamp_ms, bad[-1].timestamp_ms  # [since, until): the last one is left out
    chosen = sorted((m for m in bad if since <= m.timestamp_ms < until), key=lambda m: (m.partition, m.offset))
    assert len(chosen) == len(bad) - 2
    assert ref.utc(since).date() != ref.utc(until).date()  # across a UTC midnight: two table partitions

    def iso(ms: int) -> str:
        return ref.utc(ms).isoformat(timespec="milliseconds") + "Z"

    result = replay(
        poison_run, "--topic", source, "--since", iso(since), "--until", iso(until), "--to-topic", target, "--dry-run"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    *listed, last = result.stdout.strip().splitlines()
    assert last == f"would replay {len(chosen)} dead letters from {source} to {target} (dry run: nothing sent)"
    assert [tuple(line.split("\t")[:3]) for line in listed] == [
        (source, str(m.partition), str(m.offset)) for m in chosen
    ]
    one = chosen[0]
    result = replay(
        poison_run,
        "--topic",
        source,
        "--partition",
        str(one.partition),
        "--offset",
        str(one.offset),
        "--to-topic",
        target,
        "--dry-run",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith(f"would replay 1 dead letter from {source}")
    assert consume_all(poison_run.ws.bootstrap, target) == []
