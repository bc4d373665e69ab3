"""sample_gen on CDC topics (format debezium-json / debezium-avro): the change stream it makes,
applied by an independent reference (a dict, as a Debezium consumer applies changes), is
consistent (c inserts a key not there, u replaces the row its before image shows, d removes it,
a tombstone right after each delete), keyed by the row's key as Debezium keys it (so a key's
changes, one partition's worth, give the same table applied alone), deterministic for a seed,
counted in the manifest; faults on it are what the job's decoder refuses or reorders; live, its
ts_ms is the send time; and as Avro (--dry-run, the real local registry) its envelopes decode with
the schema registered, carrying the same changes as the JSON ones.
"""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

import sample_gen
from common.cli import ExitCode
from common.load.config import load_topics
from common.load.flink_types import parse_type
from samplegen.avro import UNKNOWN_CONFLUENT_ID, envelope_schema
from samplegen.cdc import ChangeLog
from samplegen.model import EventModel, ModelOptions
from samplegen.runner import FileSink, RunOptions, SentRecord, run, wall_clock_ms
from samplegen.schema import record_problems
from tests.support.harness import ROOT
from tests.support.registry import schema_registry_process
from tests.unit.test_samplegen_avro import decoded_form, read_avro

CUSTOMERS = {"id": "BIGINT NOT NULL", "name": "STRING NOT NULL", "email": "STRING", "tier": "INT"}
ITEMS = {
    "tenant": "STRING NOT NULL",
    "sku": "INT NOT NULL",
    "price": "DECIMAL(10, 2)",
    "updated": "TIMESTAMP(3)",
    "tags": "ARRAY<STRING>",
    "dims": "ROW<w DOUBLE, h DOUBLE>",
}
USER_COLUMNS = {"event_type": "STRING", "user_id": "BIGINT", "action": "STRING", "timestamp_ms": "BIGINT"}
KEYS = {"customers": ("id",), "items": ("tenant", "sku")}
ENVELOPE_FIELDS = ["before", "after", "source", "op", "ts_ms"]


# --- the reference ---------------------------------------------------------------------------------


class Table:
    """A Debezium consumer's view of one CDC topic: its changes applied to a dict, checking each."""

    def __init__(self, key_columns: tuple[str, ...]) -> None:
        self.key_columns = key_columns
        self.rows: dict[tuple, dict] = {}
        self.ops: Counter[str] = Counter()
        self.deleted: bytes | None = None  # the Kafka key of a delete whose tombstone is due next
        self.last_ts: dict[bytes, int] = {}

    def apply(self, key: bytes, change: dict | None) -> None:
        if self.deleted is not None:
            assert change is None and key == self.deleted, "a delete is followed at once by its tombstone"
            self.deleted = None
            self.ops["tombstone"] += 1
            return
        assert change is not None, "a tombstone only right after a delete"
        assert list(change) == ENVELOPE_FIELDS
        assert change["source"] == {"connector": "sample_gen", "ts_ms": change["ts_ms"]}
        assert change["ts_ms"] >= self.last_ts.get(key, 0), "a key's changes come in event-time order"
        self.last_ts[key] = change["ts_ms"]
        op, before, after = change["op"], change["before"], change["after"]
        image = before if op == "d" else after
        assert image is not None
        row_key = tuple(image[c] for c in self.key_columns)
        # Debezium's key: the key columns as compact JSON, the same bytes for every change of the row
        assert key == json.dumps(dict(zip(self.key_columns, row_key)), separators=(",", ":")).encode()
        if op in ("c", "r"):
            assert before is None and row_key not in self.rows, f"{op} of a key already there: {row_key}"
            self.rows[row_key] = after
        elif op == "u":
            assert row_key in self.rows, f"update of a key not there: {row_key}"
            assert before == self.rows[row_key], "an update's before image is the row as it was"
            assert tuple(before[c] for c in self.key_columns) == row_key
            self.rows[row_key] = after
        elif op == "d":
            assert after is None and self.rows.pop(row_key, None) == before, "a delete's before image is the row"
            self.deleted = key
        else:
            pytest.fail(f"op {op!r}")
        self.ops[op] += 1

    def apply_all(self, changes: list[tuple[bytes, dict | None]], complete: bool = False) -> "Table":
        for key, change in changes:
            self.apply(key, change)
        assert not (complete and self.deleted), "the last delete's tombstone is missing"
        return self


def check_stream(topic: str, changes: list[tuple[bytes, dict | None]], manifest: dict) -> Table:
    """The whole topic applied in order, then each key's changes alone (a partition's share, in
    any interleaving): the same table; the counts are the manifest's."""
    table = Table(KEYS[topic]).apply_all(changes)
    by_key: dict[bytes, list] = defaultdict(list)
    for key, change in changes:
        by_key[key].append((key, change))
    merged: dict[tuple, dict] = {}
    for key, own in by_key.items():
        merged.update(Table(KEYS[topic]).apply_all(own).rows)
    assert merged == table.rows
    counts = manifest["topics"][topic]["changes"]
    assert counts == {
        "c": table.ops["c"],
        "u": table.ops["u"],
        "d": table.ops["d"],
        "tombstones": table.ops["tombstone"],
        "keys": len(by_key),
        "rows": len(table.rows),
    }
    assert manifest["topics"][topic]["sent"] == len(changes) == sum(table.ops.values())
    # plausible: keys repeat (each is updated a few times), some are deleted and some come back
    assert table.ops["u"] > table.ops["c"] > table.ops["d"] > 0
    assert len(by_key) < len(changes) / 2
    assert any(
        ops[0][1]["op"] == "c" and sum(1 for _, ch in ops if ch and ch["op"] == "c") > 1 for ops in by_key.values()
    )
    assert table.ops["tombstone"] in (table.ops["d"], table.ops["d"] - 1)  # the run may end between the two
    return table


# --- configs and runs ------------------------------------------------------------------------------


def topic_yaml(name: str, columns: dict, event_time: str | None = None, **extra) -> dict:
    time = {"max_out_of_orderness": "5s"} if event_time is None else {"field": event_time, "max_out_of_orderness": "5s"}
    return {
        "topic_name": name,
        "consumer_group": f"{name}-job",
        "startup_mode": "earliest-offset",
        **extra,
        "event_time": time,
        "schema": dict(columns),
    }


def write_config(
    folder: Path, value_format: str = "debezium-json", registry_url: str | None = None
) -> tuple[Path, Path]:
    """topics.yaml with two CDC topics (customers keyed by id, items by tenant and sku, of more
    types) in ``value_format`` and a JSON topic; the runtime properties (with the registry's URL)."""
    registry = {"registry": {"type": "confluent"}} if value_format == "debezium-avro" else {}
    topics = {
        "customers": topic_yaml("shop.customers", CUSTOMERS, format=value_format, primary_key=["id"], **registry),
        "items": topic_yaml("shop.items", ITEMS, format=value_format, primary_key=["tenant", "sku"], **registry),
        "user_events": topic_yaml("user-json", USER_COLUMNS, "timestamp_ms"),
    }
    config = folder / "config"
    config.mkdir(parents=True)
    (config / "topics.yaml").write_text(yaml.safe_dump({"kafka_topics": topics}, sort_keys=False))
    props = json.loads((ROOT / "application_properties.json").read_text())
    props = [g for g in props if g["PropertyGroupId"] != "registry"]
    if registry_url is not None:
        props.append({"PropertyGroupId": "registry", "PropertyMap": {"confluent.url": registry_url}})
    path = folder / "properties.json"
    path.write_text(json.dumps(props))
    return config, path


@pytest.fixture(autouse=True)
def no_registry_from_the_environment(monkeypatch):
    for key in ("SCHEMA_REGISTRY_URL", "SCHEMA_REGISTRY_USER_INFO", "GLUE_REGISTRY_REGION", "GLUE_REGISTRY_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)


def dry_run(config: Path, properties: Path, capsys, *args: str, quiet: bool = True) -> tuple[list[dict], dict]:
    """sample_gen --dry-run: (the lines printed, the manifest)."""
    manifest = config.parent / "manifest.json"
    code = sample_gen.main(
        [
            *("--dry-run", "--config-dir", str(config), "--properties", str(properties)),
            *("--manifest", str(manifest), "--progress", "none", *(["--quiet"] if quiet else []), *args),
        ]
    )
    assert code == ExitCode.OK
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()], json.loads(manifest.read_text())


def changes_of(lines: list[dict], topic_name: str) -> list[tuple[bytes, dict | None]]:
    out = []
    for line in lines:
        if line["topic"] == topic_name:
            assert set(line) == {"topic", "key", "value"}
            out.append((line["key"].encode(), line["value"]))
    return out


# --- debezium-json ---------------------------------------------------------------------------------


def test_a_cdc_topic_is_a_consistent_change_stream(tmp_path, capsys):
    config, properties = write_config(tmp_path)
    lines, manifest = dry_run(config, properties, capsys, "--count", "3000", "--seed", "5")
    assert len(lines) == 3000
    types = {
        key: tuple((n, parse_type(t)) for n, t in cols.items())
        for key, cols in (("customers", CUSTOMERS), ("items", ITEMS))
    }
    for topic, name in (("customers", "shop.customers"), ("items", "shop.items")):
        changes = changes_of(lines, name)
        assert len(changes) > 300
        check_stream(topic, changes, manifest)
        for _, change in changes:  # every image a valid row of the schema, as the job's JSON rules read it
            for image in (change["before"], change["after"]) if change else ():
                assert image is None or record_problems(image, types[topic]) == []
        stamps = [c["ts_ms"] for _, c in changes if c is not None]
        assert stamps == sorted(stamps)  # simulated time: in event-time order
        entry = manifest["topics"][topic]
        assert entry["event_time"]["min_ms"] == stamps[0] and entry["event_time"]["max_ms"] == stamps[-1]
    first = [json.loads(k) for k, _ in changes_of(lines, "shop.items")[:3]]
    assert first[0] == {"tenant": "tenant-1", "sku": 1}
    # The JSON topic is still plain records keyed by user id; the manifest has no changes for it.
    users = [line for line in lines if line["topic"] == "user-json"]
    assert users and all(set(u["value"]) == set(USER_COLUMNS) and u["key"] == str(u["value"]["user_id"]) for u in users)
    assert "changes" not in manifest["topics"]["user_events"]


def test_same_seed_same_changes_whatever_else_is_sent(tmp_path, capsys):
    config, properties = write_config(tmp_path)
    runs = [dry_run(config, properties, capsys, "--count", "800", "--seed", str(seed))[0] for seed in (9, 9, 10)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    # one topic alone: its changes are the same ones (its table's draws are its own)
    alone, _ = dry_run(config, properties, capsys, "--count", "400", "--seed", "9", "--topics", "customers")
    together = changes_of(runs[0], "shop.customers")
    assert changes_of(alone, "shop.customers")[: len(together)] == together


def test_records_journal_and_summary(tmp_path, capsys, caplog):
    config, properties = write_config(tmp_path)
    records = tmp_path / "sent.jsonl"
    with caplog.at_level("INFO"):
        _, manifest = dry_run(
            config,
            properties,
            capsys,
            "--count",
            "600",
            "--topics",
            "customers",
            "--records",
            str(records),
            quiet=False,
        )
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(lines) == 600
    tombstones = [line for line in lines if line["value"] is None]
    assert len(tombstones) == manifest["topics"]["customers"]["changes"]["tombstones"] > 0
    assert all(t["event_time_ms"] is None and t["fault"] is None and "value_base64" not in t for t in tombstones)
    for line in lines:
        if line["value"] is not None:
            assert json.loads(line["value"])["ts_ms"] == line["event_time_ms"]
    counts = manifest["topics"]["customers"]["changes"]
    assert manifest["topics"]["customers"]["bytes"] == sum(
        len(line["value"].encode()) for line in lines if line["value"]
    )
    summary = [r.getMessage() for r in caplog.records if "changes:" in r.getMessage()]
    assert summary == [
        f"customers      changes: c {counts['c']}  u {counts['u']}  d {counts['d']}  tombstones "
        f"{counts['tombstones']}  ({counts['keys']} keys, {counts['rows']} rows)"
    ]


def test_faults_on_a_cdc_topic_are_dead_letters_or_move_ts_ms(tmp_path, capsys):
    config, properties = write_config(tmp_path)
    records = tmp_path / "sent.jsonl"
    args = ("--count", "2000", "--topics", "customers", "items", "--records", str(records))
    _, manifest = dry_run(
        config, properties, capsys, *args, "--malformed", "0.1", "--late", "0.05", "--out-of-order", "0.05"
    )
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    types = {
        key: tuple((n, parse_type(t)) for n, t in cols.items())
        for key, cols in (("customers", CUSTOMERS), ("items", ITEMS))
    }
    kinds: dict[str, Counter] = defaultdict(Counter)
    faults: Counter = Counter()
    for line in lines:
        faults[line["fault"]] += 1
        if line["value"] is None:
            assert line["fault"] is None  # a tombstone never gets a fault
            continue
        if line["fault"] != "malformed":
            change = json.loads(line["value"])
            assert change["ts_ms"] == line["event_time_ms"]
            if line["fault"] in ("late", "out_of_order"):  # ts_ms moved back; source.ts_ms is when it was made
                assert change["ts_ms"] < change["source"]["ts_ms"]
            continue
        assert line["event_time_ms"] is None
        try:
            change = json.loads(line["value"])
        except ValueError:
            kinds[line["topic"]]["bad_json"] += 1
            continue
        # what the decoder refuses: the image the op needs with a key column left out or a wrong type
        image = change["before"] if change["op"] == "d" else change["after"]
        found = record_problems(image, types[line["topic"]])
        assert len(found) == 1, found
        if found[0].endswith("missing"):
            assert found[0].split(".")[1].split(":")[0] in KEYS[line["topic"]]
            kinds[line["topic"]]["missing_field"] += 1
        else:
            kinds[line["topic"]]["wrong_type"] += 1
    assert faults["malformed"] == manifest["totals"]["malformed"]
    assert (
        200
        - manifest["topics"]["customers"]["changes"]["tombstones"]
        - manifest["topics"]["items"]["changes"]["tombstones"]
        <= faults["malformed"]
        <= 200
    )  # one landing on a tombstone is not made
    assert faults["late"] > 50 and faults["out_of_order"] > 50
    for topic in ("customers", "items"):
        entry = manifest["topics"][topic]
        assert dict(kinds[topic]) == entry["malformed_kinds"]
        assert set(entry["malformed_kinds"]) == {"bad_json", "wrong_type", "missing_field"}
        ops = entry["changes"]
        assert ops["c"] + ops["u"] + ops["d"] + ops["tombstones"] + entry["malformed"] == entry["sent"]


def test_live_ts_ms_is_the_send_time(tmp_path):
    config, _ = write_config(tmp_path)
    topics = load_topics(config)
    journal: list[SentRecord] = []
    model = EventModel(list(topics.values()), ModelOptions(seed=4, start_ms=wall_clock_ms()), ["customers"])
    started = wall_clock_ms()
    outcome = run(
        model, None, FileSink(io.StringIO()), RunOptions(count=300, progress="none", live=True), journal=journal
    )
    assert outcome["sent"] == 300
    changes = []
    for record in journal:
        change = None if record.value is None else json.loads(record.value)
        changes.append((record.key, change))
        if change is not None:
            assert change["ts_ms"] == record.event_time_ms == record.sent_at_ms
            assert started <= change["ts_ms"] <= wall_clock_ms()
    Table(("id",)).apply_all(changes)


def test_key_values_by_type():
    columns = tuple(
        (n, parse_type(t))
        for n, t in {
            "small": "TINYINT NOT NULL",
            "code": "CHAR(6) NOT NULL",
            "day": "DATE NOT NULL",
            "x": "INT",
        }.items()
    )
    log = ChangeLog(("small", "code", "day"), columns, random.Random(1))
    row = {"small": 0, "code": "zzzzzz", "day": "2026-01-02", "x": 1}
    keys = []
    for i in range(300):
        for key, change in log.changes({**row, "day": f"2026-01-{i % 28 + 1:02d}"}, 1_000 + i):
            keys.append(json.loads(key))
    assert keys[0] == {"small": 1, "code": "code-1", "day": "2026-01-01"}
    assert all(-128 <= k["small"] <= 127 and len(k["code"]) == 6 for k in keys)  # TINYINT wraps; CHAR padded to 6
    assert {"small": 1, "code": "code-1", "day": "2026-01-01"} in keys[1:]  # keys repeat
    assert len(log.keys) == len({tuple(k.values()) for k in keys})  # each key index its own key


# --- debezium-avro ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> str:
    with schema_registry_process() as url:
        yield url


def registry_get(url: str, path: str):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.loads(response.read())


def same_schema(registered: dict, written: dict) -> bool:
    """The registry gives a schema back with every name qualified: compare Avro's Parsing Canonical
    Forms, and the envelope's defaults (which that form leaves out)."""
    from fastavro.schema import to_parsing_canonical_form

    defaults = {f["name"]: f.get("default", "none") for f in registered["fields"]}
    assert defaults == {"before": None, "after": None, "source": "none", "op": "none", "ts_ms": None}
    return to_parsing_canonical_form(registered) == to_parsing_canonical_form(written)


def decoded_change(change: dict, columns: dict[str, str]) -> dict:
    """What fastavro reads back for a JSON envelope (images through the Avro tests' own decoded forms)."""

    def image(row):
        return None if row is None else {n: decoded_form(row[n], parse_type(t)) for n, t in columns.items()}

    return {**change, "before": image(change["before"]), "after": image(change["after"])}


def test_debezium_avro_envelopes_through_the_registry(tmp_path, registry, capsys):
    json_config, json_properties = write_config(tmp_path / "json")
    avro_config, avro_properties = write_config(tmp_path / "avro", "debezium-avro", registry)
    args = ("--count", "1500", "--seed", "12")
    as_json, _ = dry_run(json_config, json_properties, capsys, *args)
    as_avro, manifest = dry_run(avro_config, avro_properties, capsys, *args)
    again, _ = dry_run(avro_config, avro_properties, capsys, *args)  # registered again: same ids, same bytes
    assert again == as_avro and len(as_avro) == len(as_json) == 1500

    topics = load_topics(avro_config)
    schemas: dict[int, dict] = {}
    decoded: dict[str, list] = defaultdict(list)
    ids: dict[str, set[int]] = defaultdict(set)
    for sent_json, sent_avro in zip(as_json, as_avro):
        assert (sent_avro["topic"], sent_avro["key"]) == (sent_json["topic"], sent_json["key"])
        if sent_json["topic"] == "user-json":
            assert sent_avro == sent_json
            continue
        assert set(sent_avro) == {"topic", "key", "value_base64"}
        topic = "customers" if sent_json["topic"] == "shop.customers" else "items"
        if sent_json["value"] is None:  # the tombstone: a null value there too
            assert sent_avro["value_base64"] is None
            decoded[topic].append((sent_avro["key"].encode(), None))
            continue
        value = base64.b64decode(sent_avro["value_base64"])
        assert value[0] == 0  # Confluent's wire format
        schema_id = struct.unpack(">I", value[1:5])[0]
        ids[topic].add(schema_id)
        if schema_id not in schemas:
            schemas[schema_id] = json.loads(registry_get(registry, f"/schemas/ids/{schema_id}")["schema"])
        assert same_schema(schemas[schema_id], envelope_schema(topics[topic]))
        change = read_avro(value[5:], schemas[schema_id])
        assert change == decoded_change(sent_json["value"], CUSTOMERS if topic == "customers" else ITEMS)
        decoded[topic].append((sent_avro["key"].encode(), change))
    assert {t: len(i) for t, i in ids.items()} == {"customers": 1, "items": 1} and ids["customers"] != ids["items"]
    for topic in ("customers", "items"):  # the same changes, read back from the Avro bytes
        check_stream(topic, decoded[topic], manifest)
        assert registry_get(registry, f"/subjects/shop.{topic}-value/versions") == [1]
    envelope = envelope_schema(topics["items"])
    assert (envelope["namespace"], envelope["name"]) == ("items", "Envelope")
    assert [f["name"] for f in envelope["fields"]] == ENVELOPE_FIELDS
    assert envelope["fields"][0]["type"][1]["name"] == "Value" and envelope["fields"][1]["type"] == ["null", "Value"]
    assert envelope["fields"][4]["type"] == ["null", "long"]


def test_malformed_debezium_avro_values(tmp_path, registry, capsys):
    config, properties = write_config(tmp_path, "debezium-avro", registry)
    records = tmp_path / "sent.jsonl"
    _, manifest = dry_run(
        config,
        properties,
        capsys,
        "--count",
        "600",
        "--topics",
        "items",
        "--malformed",
        "0.2",
        "--late",
        "0.05",
        "--records",
        str(records),
    )
    topic = load_topics(config)["items"]
    schema = envelope_schema(topic)
    kinds: Counter = Counter()
    for line in map(json.loads, records.read_text().splitlines()):
        assert "value" not in line
        if line["value_base64"] is None:
            assert line["fault"] is None
            continue
        value = base64.b64decode(line["value_base64"])
        if line["fault"] != "malformed":
            assert read_avro(value[5:], schema)["ts_ms"] == line["event_time_ms"]
        elif value[:1] == b"{":
            kinds["not_wire_format"] += 1
            assert json.loads(value)["op"] in ("c", "u", "d")
        elif struct.unpack(">I", value[1:5])[0] == UNKNOWN_CONFLUENT_ID:
            kinds["unknown_schema"] += 1
            assert read_avro(value[5:], schema)["op"] in ("c", "u", "d")
        else:
            kinds["cut_short"] += 1
            with pytest.raises((EOFError, IndexError, ValueError)):
                read_avro(value[5:], schema)
    entry = manifest["topics"]["items"]
    assert dict(kinds) == entry["malformed_kinds"] and set(kinds) == {"not_wire_format", "unknown_schema", "cut_short"}
    ops = entry["changes"]
    assert ops["c"] + ops["u"] + ops["d"] + ops["tombstones"] + entry["malformed"] == entry["sent"] == 600
