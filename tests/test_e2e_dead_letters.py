"""No silent loss: every malformed record lands in dead_letters with its reason and position,
good records around it flow on, and per topic good + dead = produced."""

from __future__ import annotations

import json
import re

import yaml

from tests import reference_model as ref
from common.local_warehouse import read_rows
from tests.conftest import assert_same_rows
from tests.event_data import generate

MAX_BYTES = 2000


def produce_values(bootstrap: str, topic: str, values: list[tuple[str, str | None]]) -> list[tuple[int, int]]:
    """(key, value) messages; returns each one's (partition, offset) as the broker confirmed it."""
    from confluent_kafka import Producer

    positions: dict[int, tuple[int, int]] = {}
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i, (key, value) in enumerate(values):
        def on_delivery(err, msg, i=i):
            assert err is None, err
            positions[i] = (msg.partition(), msg.offset())
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    return [positions[i] for i in range(len(values))]


def bad_records(good: dict) -> list[tuple[str | None, str]]:
    """(value, expected reason) for every kind of malformed record, built from one good event."""
    def changed(**fields) -> str:
        return json.dumps({**good, **fields})

    without = {k: v for k, v in good.items() if k != "timestamp_ms"}
    return [
        ("{not json", "not a JSON object"),
        ("[1, 2, 3]", "not a JSON object"),
        ('"just a string"', "not a JSON object"),
        (None, "no value"),
        (json.dumps(without), "missing required field timestamp_ms"),
        (changed(timestamp_ms="yesterday"), "field timestamp_ms: expected BIGINT, found a string"),
        (changed(user_id="abc"), "field user_id: expected BIGINT, found a string"),
        (changed(session_id="x" * (MAX_BYTES + 10)), f"too large: more than {MAX_BYTES} bytes"),
    ]


def test_malformed_records_go_to_dead_letters_and_counts_add_up(workspace):
    # user_id is declared required (NOT NULL) for bid events in this test's config
    topics_file = workspace.config_dir / "topics.yaml"
    doc = yaml.safe_load(topics_file.read_text())
    doc["kafka_topics"]["bid_events"]["schema"]["user_id"] = "BIGINT NOT NULL"
    topics_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    traffic = generate(seed=5, users=8, days=1)
    expected_dead = []  # (topic, partition, offset, reason, raw_value, raw_text, kafka_key)
    for key in ("bid_events", "user_events", "order_events"):
        good = traffic.topics()[key]
        bad = bad_records(good[0])
        if key == "bid_events":
            bad += [(json.dumps({k: v for k, v in good[1].items() if k != "user_id"}), "missing required field user_id"),
                    (json.dumps({**good[2], "city_id": "x"}), "field city_id: expected INT, found a string"),
                    (json.dumps({**good[3], "bid_amount": "lots"}), "field bid_amount: expected DOUBLE, found a string")]
        if key == "order_events":
            bad.append((json.dumps({**good[1], "quantity": "two"}), "field quantity: expected INT, found a string"))
        # bad records interleaved with the good ones
        messages = [(str(e["user_id"]), json.dumps(e)) for e in good]
        for n, (value, _) in enumerate(bad):
            messages.insert(3 + n * 7, (f"bad-{n}", value))
        positions = produce_values(workspace.bootstrap, workspace.topics[key], messages)
        by_value = {}
        for (k, v), pos in zip(messages, positions):
            by_value.setdefault((k, v), pos)
        for n, (value, reason) in enumerate(bad):
            partition, offset = by_value[(f"bad-{n}", value)]
            expected_dead.append((workspace.topics[key], partition, offset, reason,
                                  None if value is None else value.encode(), value, f"bad-{n}".encode()))

    result = workspace.run_job("--bounded", env={"KAFKA_MAX_RECORD_BYTES": str(MAX_BYTES)})
    assert result.returncode == 0, result.stderr[-5000:]

    dead = read_rows(str(workspace.warehouse), "sink", "dead_letters")
    got = [(d["topic"], d["kafka_partition"], d["kafka_offset"], d["reason"], d["raw_value"], d["raw_text"],
            d["kafka_key"]) for d in dead]
    assert sorted(got, key=str) == sorted(expected_dead, key=str)
    assert all(d["kafka_timestamp"] is not None and d["dead_letter_date"] == d["kafka_timestamp"].date() for d in dead)

    # good records around the bad ones flow on, exactly
    raw = read_rows(str(workspace.warehouse), "sink", "bid_events_raw")
    assert_same_rows(ref.columns(raw, ref.RAW_COLUMNS), ref.bid_events_raw(traffic.bid_events))
    assert len(read_rows(str(workspace.warehouse), "sink", "user_events_processed")) == len(traffic.user_events)
    assert len(read_rows(str(workspace.warehouse), "sink", "order_events_enriched")) == len(traffic.order_events)

    # the end-of-run summary: per topic good + dead = produced
    for key, events in traffic.topics().items():
        topic = workspace.topics[key]
        dead_here = sum(1 for d in expected_dead if d[0] == topic)
        line = re.search(rf"records of {re.escape(topic)}: (\d+) good, (\d+) dead letters", result.stderr)
        assert line, result.stderr[-3000:]
        assert (int(line.group(1)), int(line.group(2))) == (len(events), dead_here)
