"""scripts/registry_schema.py: an Avro topic's `schema:` block from its registry. The conversion of
every Avro type (exact strings, NOT NULL at every depth), then the command against the real local
Confluent-compatible registry (Basic auth) and moto's Glue Schema Registry: the latest version and
--version 1 printed, --write replacing only the block (the whole file compared), the result
loading with the project's loader, and each refusal's exit code and message."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from common.cli import ExitCode
from common.load.config import load_topics
from common.load.flink_types import parse_type
from scripts import registry_schema
from scripts.registry_schema import AvroConversionError, avro_columns, block_lines, find_block, splice
from tests.support.harness import ROOT, free_port
from tests.support.registry import schema_registry_process

# --- the conversion ------------------------------------------------------------------------------


def record(*fields: tuple[str, object], name: str = "R", namespace: str | None = None) -> dict:
    schema: dict = {"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]}
    if namespace:
        schema["namespace"] = namespace
    return schema


def one(avro_type: object) -> str:
    """The column type of a record's one field of ``avro_type``."""
    ((_, flink_type),) = avro_columns(record(("f", avro_type)))
    return flink_type


EVERY_TYPE = [
    ("boolean", "BOOLEAN"),
    ("int", "INT"),
    ("long", "BIGINT"),
    ("float", "FLOAT"),
    ("double", "DOUBLE"),
    ("string", "STRING"),
    ("bytes", "BYTES"),
    ({"type": "fixed", "name": "Hash", "size": 16}, "BYTES"),
    ({"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}, "STRING"),
    ({"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}, "DECIMAL(10, 2)"),
    (
        {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 4},
        "DECIMAL(18, 4)",
    ),
    ({"type": "bytes", "logicalType": "decimal", "precision": 38}, "DECIMAL(38, 0)"),
    ({"type": "int", "logicalType": "date"}, "DATE"),
    ({"type": "int", "logicalType": "time-millis"}, "TIME(3)"),
    # timestamps as Avro means them and the job reads them: timestamp-* an instant, local-timestamp-* a wall-clock time
    ({"type": "long", "logicalType": "timestamp-millis"}, "TIMESTAMP_LTZ(3)"),
    ({"type": "long", "logicalType": "timestamp-micros"}, "TIMESTAMP_LTZ(6)"),
    ({"type": "long", "logicalType": "local-timestamp-millis"}, "TIMESTAMP(3)"),
    ({"type": "long", "logicalType": "local-timestamp-micros"}, "TIMESTAMP(6)"),
    ({"type": "string", "logicalType": "uuid"}, "STRING"),
    (record(("a", "int"), ("b", ["null", "string"]), name="Inner"), "ROW<a INT NOT NULL, b STRING>"),
    ({"type": "array", "items": "string"}, "ARRAY<STRING NOT NULL>"),
    ({"type": "array", "items": ["null", "long"]}, "ARRAY<BIGINT>"),
    ({"type": "map", "values": "double"}, "MAP<STRING, DOUBLE NOT NULL>"),
    ({"type": "map", "values": ["null", "double"]}, "MAP<STRING, DOUBLE>"),
    # a logical type on a type it does not annotate, or one Avro does not know: the underlying type
    ({"type": "string", "logicalType": "date"}, "STRING"),
    ({"type": "long", "logicalType": "made-up"}, "BIGINT"),
    ({"type": "bytes", "logicalType": "decimal"}, "BYTES"),  # no precision: not a decimal (Avro spec)
    ({"type": "int"}, "INT"),
]


@pytest.mark.parametrize(("avro_type", "flink_type"), EVERY_TYPE, ids=[f for _, f in EVERY_TYPE])
def test_every_type_required_and_nullable(avro_type, flink_type):
    assert one(avro_type) == f"{flink_type} NOT NULL"
    assert one(["null", avro_type]) == flink_type
    assert one([avro_type, "null"]) == flink_type  # either order
    assert one([avro_type]) == f"{flink_type} NOT NULL"  # a union of one non-null type
    parse_type(one(avro_type))  # Flink's grammar reads it


def test_nested_types_at_any_depth():
    item = record(
        ("sku", "string"),
        ("price", ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}]),
        ("attrs", {"type": "map", "values": {"type": "array", "items": ["null", "int"]}}),
        name="Item",
    )
    schema = record(
        ("id", "long"),
        ("items", {"type": "array", "items": item}),
        ("maybe_items", ["null", {"type": "array", "items": ["null", "Item"]}]),
        (
            "deep",
            record(
                ("inner", record(("at", {"type": "long", "logicalType": "local-timestamp-millis"}), name="L2")),
                name="L1",
            ),
        ),
        ("by_key", {"type": "map", "values": ["null", "L1"]}),
        name="Order",
    )
    item_row = "ROW<sku STRING NOT NULL, price DECIMAL(10, 2), attrs MAP<STRING, ARRAY<INT> NOT NULL> NOT NULL>"
    deep_row = "ROW<inner ROW<at TIMESTAMP(3) NOT NULL> NOT NULL>"
    assert avro_columns(schema) == [
        ("id", "BIGINT NOT NULL"),
        ("items", f"ARRAY<{item_row} NOT NULL> NOT NULL"),
        ("maybe_items", f"ARRAY<{item_row}>"),
        ("deep", f"{deep_row} NOT NULL"),
        ("by_key", f"MAP<STRING, {deep_row}> NOT NULL"),
    ]
    for _, text in avro_columns(schema):
        parse_type(text)


def test_named_types_by_reference_and_namespace():
    schema = {
        "type": "record",
        "name": "Outer",
        "namespace": "shop.v1",
        "fields": [
            {"name": "a", "type": {"type": "enum", "name": "Tier", "symbols": ["GOLD"]}},
            {"name": "b", "type": ["null", "Tier"]},
            {"name": "c", "type": "shop.v1.Tier"},
            {"name": "d", "type": {"type": "record", "name": "other.Point", "fields": [{"name": "x", "type": "int"}]}},
            {"name": "e", "type": "other.Point"},
            {"name": "f", "type": {"type": "fixed", "name": "Id", "namespace": "ids", "size": 4}},
            {"name": "g", "type": "ids.Id"},
        ],
    }
    assert avro_columns(schema) == [
        ("a", "STRING NOT NULL"),
        ("b", "STRING"),
        ("c", "STRING NOT NULL"),
        ("d", "ROW<x INT NOT NULL> NOT NULL"),
        ("e", "ROW<x INT NOT NULL> NOT NULL"),
        ("f", "BYTES NOT NULL"),
        ("g", "BYTES NOT NULL"),
    ]


def test_row_field_names_that_are_flink_keywords_are_quoted():
    schema = record(("r", record(("date", "int"), ("value", "string"), ("timestamp", ["null", "long"]), name="K")))
    assert avro_columns(schema) == [
        ("r", "ROW<`date` INT NOT NULL, value STRING NOT NULL, `timestamp` BIGINT> NOT NULL")
    ]
    assert [n for n, _ in parse_type(avro_columns(schema)[0][1]).children] == ["date", "value", "timestamp"]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            record(("payload", ["null", "string", "long"])),
            r'field payload: the union \["null", "string", "long"\] has 2 non-null types',
        ),
        (
            record(("r", record(("x", ["int", "string"]), name="In"))),
            r'field r\.x: the union \["int", "string"\] has 2 non-null types',
        ),
        (record(("a", {"type": "array", "items": ["int", "float"]})), r"field a\[\]: the union"),
        (record(("n", "null")), "field n: type null is always null"),
        (record(("n", ["null"])), r'field n: the union \["null"\] is always null'),
        (record(("t", {"type": "long", "logicalType": "time-micros"})), "field t: logicalType time-micros"),
        (record(("t", {"type": "long", "logicalType": "timestamp-nanos"})), "up to precision 6"),
        (
            record(("d", {"type": "bytes", "logicalType": "decimal", "precision": 40, "scale": 2})),
            "field d: decimal precision 40: Flink's DECIMAL holds at most 38",
        ),
        (
            record(("next", ["null", "Node"]), name="Node"),
            "field next: record Node contains itself",
        ),
        (record(("u", "Unknown")), "field u: unknown type 'Unknown'"),
        ("string", "the schema is 'string', not a record"),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "the schema is a enum, not a record"),
    ],
)
def test_what_makes_no_column(schema, message):
    with pytest.raises(AvroConversionError, match=message):
        avro_columns(schema)


def test_column_names_yaml_would_read_as_other_values_are_quoted():
    lines = block_lines([("on", "BOOLEAN NOT NULL"), ("null", "STRING"), ("id", "BIGINT")], 4, 2)
    assert lines == ["    schema:", '      "on": BOOLEAN NOT NULL', '      "null": STRING', "      id: BIGINT"]
    assert yaml.safe_load("\n".join(lines)) == {"schema": {"on": "BOOLEAN NOT NULL", "null": "STRING", "id": "BIGINT"}}


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_splice_keeps_line_ends_and_everything_around_the_block(newline, final_newline):
    lines = [
        "kafka_topics:",
        "  t:",
        "    topic_name: t",
        "    schema:",
        "      a: INT  # kept",
        "",
        "      # about b",
        "      b:",
        "        STRING",
    ]
    text = newline.join(lines) + (newline if final_newline else "")
    block = find_block(text, "t")
    assert block is not None and (block.first, block.last, block.indent, block.step) == (3, 8, 4, 2)
    new = splice(text, block, block_lines([("b", "BIGINT"), ("c", "DATE"), ("a", "INT")], 4, 2, block))
    expected = lines[:3] + [
        "    schema:",
        "",
        "      # about b",
        "      b: BIGINT",
        "      c: DATE",
        "      a: INT  # kept",
    ]
    assert new == newline.join(expected) + (newline if final_newline else "")


# --- against real registries ---------------------------------------------------------------------

USER_INFO = "schema-reader:r3ader-pass"

TOPICS_YAML = """\
# Kafka topics of the registry-schema tests
kafka_topics:
  bids_avro:
    topic_name: bids-avro
    consumer_group: flink-bids-avro
    startup_mode: earliest-offset
    format: avro
    registry:
      type: confluent           # subject: bids-avro-value
    event_time:
      field: ts
      max_out_of_orderness: 5s
    schema:   # the reader's schema
      # the bid's id
      bid_id: STRING NOT NULL  # from the writer
      user_id: INTEGER NOT NULL
      amount: DOUBLE   # euros
      ts: BIGINT NOT NULL
    # after the block: stays
    enabled: true

  things_glue:
    topic_name: things-glue
    consumer_group: flink-things
    startup_mode: latest-offset
    format: avro
    registry: {type: glue, registry_name: shop-tests}
    event_time: {field: ts, max_out_of_orderness: 1s}
    schema: {id: BIGINT NOT NULL, ts: TIMESTAMP(3) NOT NULL}
    metadata: [timestamp]

  all_types:
    topic_name: all-types
    consumer_group: flink-all-types
    startup_mode: earliest-offset
    format: avro
    registry:
      type: confluent
    event_time:
      field: ts
      max_out_of_orderness: 5s
    schema:
      ts: TIMESTAMP_LTZ(3)

  unions:
    topic_name: unions
    consumer_group: flink-unions
    startup_mode: earliest-offset
    format: avro
    registry:
      type: confluent
      subject: unions-subject
    event_time:
      field: ts
      max_out_of_orderness: 5s
    schema:
      ts: BIGINT

  clicks:
    topic_name: clicks
    consumer_group: flink-clicks
    startup_mode: earliest-offset
    event_time:
      field: ts
      max_out_of_orderness: 5s
    schema:
      url: STRING
      ts: BIGINT NOT NULL
"""

BIDS_V1 = record(
    ("bid_id", "string"),
    ("user_id", "int"),
    ("amount", ["null", "double"]),
    ("ts", "long"),
    name="Bid",
    namespace="shop",
)
BIDS_V2 = {
    **BIDS_V1,
    "fields": [
        {"name": "bid_id", "type": "string"},
        {"name": "user_id", "type": "long"},  # widened: Avro reads an old int as long
        {"name": "coupon", "type": ["null", "string"], "default": None},
        {"name": "ts", "type": "long"},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
    ],
}
BIDS_V1_BLOCK = """\
    schema:
      bid_id: STRING NOT NULL
      user_id: INT NOT NULL
      amount: DOUBLE
      ts: BIGINT NOT NULL
"""
BIDS_V2_BLOCK = """\
    schema:
      bid_id: STRING NOT NULL
      user_id: BIGINT NOT NULL
      coupon: STRING
      ts: BIGINT NOT NULL
      tags: ARRAY<STRING NOT NULL> NOT NULL
"""
BIDS_OLD_TEXT = """\
    schema:   # the reader's schema
      # the bid's id
      bid_id: STRING NOT NULL  # from the writer
      user_id: INTEGER NOT NULL
      amount: DOUBLE   # euros
      ts: BIGINT NOT NULL
"""
# What --write makes of it: the printed block, with the comments of the columns that stay.
BIDS_NEW_TEXT = """\
    schema:   # the reader's schema
      # the bid's id
      bid_id: STRING NOT NULL  # from the writer
      user_id: BIGINT NOT NULL
      coupon: STRING
      ts: BIGINT NOT NULL
      tags: ARRAY<STRING NOT NULL> NOT NULL
"""
ALL_TYPES = record(
    *((f"c{i}", t) for i, (t, _) in enumerate(EVERY_TYPE) if not isinstance(t, dict) or "name" not in t),
    ("named_fixed", {"type": "fixed", "name": "Hash", "size": 16}),
    ("named_enum", ["null", {"type": "enum", "name": "Color", "symbols": ["RED"]}]),
    ("inner", record(("a", "int"), ("b", ["null", "string"]), name="Inner")),
    ("ts", {"type": "long", "logicalType": "timestamp-millis"}),
    name="AllTypes",
)


@pytest.fixture(scope="module")
def registry_url():
    with schema_registry_process(basic_auth=USER_INFO) as url:
        register(url, "bids-avro-value", BIDS_V1)
        register(url, "bids-avro-value", BIDS_V2)
        register(url, "all-types-value", ALL_TYPES)
        register(url, "unions-subject", record(("ts", "long"), ("payload", ["null", "string", "long"])))
        register(url, "no-ts-value", record(("id", "long")))
        register(url, "bad-ts-value", record(("id", "long"), ("ts", "string")))
        register(url, "bids-avro-staging-value", record(("bid_id", "string"), ("ts", "long")))
        yield url


def register(url: str, subject: str, schema: dict) -> int:
    request = urllib.request.Request(
        f"{url}/subjects/{subject}/versions",
        data=json.dumps({"schema": json.dumps(schema)}).encode(),
        method="POST",
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(USER_INFO.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


@pytest.fixture
def clean_env(monkeypatch):
    """No registry, properties or environment from the environment: the test's files say."""
    for key in (
        "SCHEMA_REGISTRY_URL",
        "SCHEMA_REGISTRY_USER_INFO",
        "GLUE_REGISTRY_REGION",
        "GLUE_REGISTRY_ENDPOINT",
        "APP_ENV",
        "APP_PROPERTIES_FILE",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)


def project(folder: Path, registry_group: dict[str, str], topics: str = TOPICS_YAML) -> tuple[Path, Path]:
    """(config dir with topics.yaml, runtime properties with the registry group)."""
    config = folder / "config"
    config.mkdir(parents=True)
    (config / "topics.yaml").write_text(topics, encoding="utf-8")
    groups = [
        g for g in json.loads((ROOT / "application_properties.json").read_text()) if g["PropertyGroupId"] != "registry"
    ]
    groups.append({"PropertyGroupId": "registry", "PropertyMap": registry_group})
    properties = folder / "properties.json"
    properties.write_text(json.dumps(groups))
    return config, properties


def run(config: Path, properties: Path, *args: str) -> int:
    return registry_schema.main([*args, "--config-dir", str(config), "--properties", str(properties)])


@pytest.fixture
def confluent_project(tmp_path, registry_url, clean_env):
    return project(tmp_path, {"confluent.url": registry_url, "confluent.basic.auth.user.info": USER_INFO})


def test_prints_the_latest_version_and_version_1(confluent_project, capsys, caplog):
    config, properties = confluent_project
    before = (config / "topics.yaml").read_bytes()
    assert run(config, properties, "bids_avro") == ExitCode.OK
    assert capsys.readouterr().out == BIDS_V2_BLOCK
    assert "read confluent subject 'bids-avro-value' version 2" in caplog.text
    assert run(config, properties, "bids_avro", "--version", "1") == ExitCode.OK
    assert capsys.readouterr().out == BIDS_V1_BLOCK
    assert (config / "topics.yaml").read_bytes() == before  # printing writes nothing
    # The printed block, pasted over the topic's, loads with the project's loader.
    (config / "topics.yaml").write_text(before.decode().replace(BIDS_OLD_TEXT, BIDS_V1_BLOCK))
    assert load_topics(config)["bids_avro"].schema == (
        ("bid_id", "STRING NOT NULL"),
        ("user_id", "INT NOT NULL"),
        ("amount", "DOUBLE"),
        ("ts", "BIGINT NOT NULL"),
    )
    assert USER_INFO.split(":")[1] not in caplog.text


def test_write_replaces_only_the_block_and_says_what_changed(confluent_project, capsys):
    config, properties = confluent_project
    path = config / "topics.yaml"
    before = path.read_text()
    assert before.count(BIDS_OLD_TEXT) == 1
    assert run(config, properties, "bids_avro", "--write") == ExitCode.OK
    assert path.read_text() == before.replace(BIDS_OLD_TEXT, BIDS_NEW_TEXT)
    assert capsys.readouterr().out == (
        f"{path}: topic bids_avro's schema is now confluent subject 'bids-avro-value' version 2:\n"
        "  added:   coupon STRING\n"
        "  added:   tags ARRAY<STRING NOT NULL> NOT NULL\n"
        "  removed: amount DOUBLE\n"
        "  retyped: user_id INT NOT NULL -> BIGINT NOT NULL\n"
    )
    topic = load_topics(config)["bids_avro"]
    assert topic.schema == (
        ("bid_id", "STRING NOT NULL"),
        ("user_id", "BIGINT NOT NULL"),
        ("coupon", "STRING"),
        ("ts", "BIGINT NOT NULL"),
        ("tags", "ARRAY<STRING NOT NULL> NOT NULL"),
    )
    assert topic.enabled and topic.event_time.field == "ts"

    # Again: nothing changed, the file is not touched.
    written = path.read_bytes()
    assert run(config, properties, "bids_avro", "--write") == ExitCode.OK
    assert "schema is already confluent subject 'bids-avro-value' version 2: unchanged" in capsys.readouterr().out
    assert path.read_bytes() == written

    # Back to version 1: the columns return, in the writer's order; comments of kept columns stay.
    assert run(config, properties, "bids_avro", "--write", "--version", "1") == ExitCode.OK
    out = capsys.readouterr().out
    assert "  added:   amount DOUBLE\n" in out and "  removed: coupon STRING\n" in out
    assert path.read_text() == before.replace(
        BIDS_OLD_TEXT,
        "    schema:   # the reader's schema\n"
        "      # the bid's id\n"
        "      bid_id: STRING NOT NULL  # from the writer\n"
        "      user_id: INT NOT NULL\n"
        "      amount: DOUBLE\n"
        "      ts: BIGINT NOT NULL\n",
    )


def test_every_type_prints_writes_and_loads(confluent_project, capsys, caplog):
    config, properties = confluent_project
    assert run(config, properties, "all_types") == ExitCode.OK
    printed = capsys.readouterr().out
    expected = [
        f"c{i}: {f} NOT NULL" for i, (t, f) in enumerate(EVERY_TYPE) if not isinstance(t, dict) or "name" not in t
    ]
    expected += [
        "named_fixed: BYTES NOT NULL",
        "named_enum: STRING",
        "inner: ROW<a INT NOT NULL, b STRING> NOT NULL",
        "ts: TIMESTAMP_LTZ(3) NOT NULL",
    ]
    assert printed == "    schema:\n" + "".join(f"      {line}\n" for line in expected)
    assert run(config, properties, "all_types", "--write") == ExitCode.OK
    topic = load_topics(config)["all_types"]
    assert [f"{c}: {t}" for c, t in topic.schema] == expected
    assert topic.event_time.field_type == "TIMESTAMP_LTZ(3) NOT NULL"


def test_an_overlay_renames_the_topic_and_so_its_default_subject(
    tmp_path, registry_url, clean_env, capsys, monkeypatch
):
    config, properties = project(tmp_path, {"confluent.url": registry_url, "confluent.basic.auth.user.info": USER_INFO})
    (config / "overlays").mkdir()
    (config / "overlays" / "staging.yaml").write_text(
        "kafka_topics:\n  bids_avro:\n    topic_name: bids-avro-staging\n"
    )
    monkeypatch.setenv("APP_ENV", "staging")
    assert run(config, properties, "bids_avro") == ExitCode.OK
    assert capsys.readouterr().out == "    schema:\n      bid_id: STRING NOT NULL\n      ts: BIGINT NOT NULL\n"


def test_registry_url_and_user_info_from_the_environment(tmp_path, registry_url, clean_env, capsys, monkeypatch):
    config, properties = project(tmp_path, {})
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", registry_url)
    monkeypatch.setenv("SCHEMA_REGISTRY_USER_INFO", USER_INFO)
    assert run(config, properties, "bids_avro", "--version", "1") == ExitCode.OK
    assert capsys.readouterr().out == BIDS_V1_BLOCK


# --- moto's Glue Schema Registry --------------------------------------------------------------------

THINGS_V1 = record(("id", "long"), ("ts", {"type": "long", "logicalType": "local-timestamp-millis"}), name="Thing")
THINGS_V2 = {
    **THINGS_V1,
    "fields": [
        *THINGS_V1["fields"],
        {
            "name": "price",
            "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}],
            "default": None,
        },
        {"name": "seen", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}], "default": None},
    ],
}


@pytest.fixture(scope="module")
def glue_url(moto_server):
    import boto3

    glue = boto3.client(
        "glue",
        region_name="us-east-1",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    glue.create_registry(RegistryName="shop-tests")
    glue.create_schema(
        RegistryId={"RegistryName": "shop-tests"},
        SchemaName="things-glue",
        DataFormat="AVRO",
        Compatibility="BACKWARD",
        SchemaDefinition=json.dumps(THINGS_V1),
    )
    glue.register_schema_version(
        SchemaId={"RegistryName": "shop-tests", "SchemaName": "things-glue"}, SchemaDefinition=json.dumps(THINGS_V2)
    )
    return moto_server


THINGS_V2_BLOCK = """\
    schema:
      id: BIGINT NOT NULL
      ts: TIMESTAMP(3) NOT NULL
      price: DECIMAL(10, 2)
      seen: TIMESTAMP_LTZ(6)
"""


def test_glue_latest_version_1_and_write(tmp_path, glue_url, clean_env, capsys, caplog):
    config, properties = project(tmp_path, {"glue.region": "us-east-1", "glue.endpoint": glue_url})
    assert run(config, properties, "things_glue") == ExitCode.OK
    assert capsys.readouterr().out == THINGS_V2_BLOCK
    assert "read glue schema 'things-glue' of registry 'shop-tests' version 2" in caplog.text
    assert run(config, properties, "things_glue", "--version", "1") == ExitCode.OK
    assert capsys.readouterr().out == "    schema:\n      id: BIGINT NOT NULL\n      ts: TIMESTAMP(3) NOT NULL\n"

    # The topic's schema is a flow mapping on one line: --write replaces that line with the block.
    path = config / "topics.yaml"
    before = path.read_text()
    old_line = "    schema: {id: BIGINT NOT NULL, ts: TIMESTAMP(3) NOT NULL}\n"
    assert run(config, properties, "things_glue", "--write") == ExitCode.OK
    assert path.read_text() == before.replace(old_line, THINGS_V2_BLOCK)
    assert capsys.readouterr().out.endswith("  added:   price DECIMAL(10, 2)\n  added:   seen TIMESTAMP_LTZ(6)\n")
    topic = load_topics(config)["things_glue"]
    assert [c for c, _ in topic.schema] == ["id", "ts", "price", "seen"] and topic.metadata == ("timestamp",)


def test_glue_endpoint_from_the_environment(tmp_path, glue_url, clean_env, capsys, monkeypatch):
    config, properties = project(tmp_path, {})
    monkeypatch.setenv("GLUE_REGISTRY_ENDPOINT", glue_url)
    assert run(config, properties, "things_glue") == ExitCode.OK
    assert capsys.readouterr().out == THINGS_V2_BLOCK


def test_glue_unknown_version_and_schema(tmp_path, glue_url, clean_env, caplog):
    config, properties = project(tmp_path, {"glue.region": "us-east-1", "glue.endpoint": glue_url})
    assert run(config, properties, "things_glue", "--version", "9") == ExitCode.BAD_INPUT
    assert "glue schema 'things-glue' of registry 'shop-tests' version 9: the registry does not have it" in caplog.text
    missing = TOPICS_YAML.replace("registry_name: shop-tests}", "registry_name: shop-tests, subject: nothing-here}")
    config, properties = project(tmp_path / "other", {"glue.region": "us-east-1", "glue.endpoint": glue_url}, missing)
    assert run(config, properties, "things_glue") == ExitCode.BAD_INPUT
    assert "glue schema 'nothing-here'" in caplog.text


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "topics_edit", "code", "message"),
    [
        (["bid_avro"], None, ExitCode.BAD_INPUT, "'bid_avro' is not a topic of .*; did you mean 'bids_avro'"),
        (["clicks"], None, ExitCode.BAD_INPUT, "topic clicks is format json: only an Avro topic has a schema registry"),
        (
            ["unions"],
            None,
            ExitCode.BAD_INPUT,
            r"confluent subject 'unions-subject' version 1: field payload: the union \[\"null\", \"string\", \"long\"\]",
        ),
        (["bids_avro", "--version", "7"], None, ExitCode.BAD_INPUT, "version 7 .*: the registry does not have it"),
        (
            ["unions"],
            ("subject: unions-subject", "subject: no-ts-value"),
            ExitCode.BAD_INPUT,
            "topic unions: the registry's schema has no field 'ts', the topic's event_time.field",
        ),
        (
            ["unions"],
            ("subject: unions-subject", "subject: bad-ts-value"),
            ExitCode.BAD_INPUT,
            "topic unions: event_time.field 'ts' would be STRING NOT NULL, not BIGINT, TIMESTAMP or TIMESTAMP_LTZ",
        ),
        (
            ["bids_avro"],
            (
                "bid_id: STRING NOT NULL  # from the writer",
                "bid_id: STRING NOT NULL  # from the writer\n      kafka_offset: STRING",
            ),
            ExitCode.BAD_INPUT,
            "'kafka_offset' is a column the source adds itself",  # the loader itself refuses the config
        ),
    ],
)
def test_refusals_change_nothing(confluent_project, caplog, capsys, args, topics_edit, code, message):
    config, properties = confluent_project
    path = config / "topics.yaml"
    if topics_edit:
        path.write_text(path.read_text().replace(*topics_edit))
    before = path.read_bytes()
    assert run(config, properties, *args, "--write") == code
    assert caplog.records[-1].levelname == "ERROR"
    assert re.search(message, caplog.text), caplog.text
    assert path.read_bytes() == before
    assert capsys.readouterr().out == ""


def test_a_schema_that_makes_no_valid_topic_is_refused(tmp_path, registry_url, clean_env, caplog):
    register(registry_url, "reserved-value", record(("kafka_partition", "int"), ("ts", "long")))
    topics = TOPICS_YAML.replace("subject: unions-subject", "subject: reserved-value")
    config, properties = project(
        tmp_path, {"confluent.url": registry_url, "confluent.basic.auth.user.info": USER_INFO}, topics
    )
    assert run(config, properties, "unions") == ExitCode.BAD_INPUT
    assert "the printed block does not load: topics.yaml" in caplog.text
    assert "'kafka_partition' is a column the source adds itself" in caplog.text


def test_no_registry_url(tmp_path, clean_env, caplog):
    config, properties = project(tmp_path, {})
    assert run(config, properties, "bids_avro") == ExitCode.BAD_INPUT
    assert (
        "no URL is set: set registry confluent.url in the runtime properties (or $SCHEMA_REGISTRY_URL)" in caplog.text
    )


def test_registry_refusing_or_unreachable_fails(tmp_path, registry_url, clean_env, caplog):
    config, properties = project(
        tmp_path, {"confluent.url": registry_url, "confluent.basic.auth.user.info": "schema-reader:wrong"}
    )
    assert run(config, properties, "bids_avro") == ExitCode.FAILED
    assert "HTTP 401" in caplog.text and "check registry confluent.basic.auth.user.info" in caplog.text
    assert "wrong" not in caplog.text
    nowhere = f"http://127.0.0.1:{free_port()}"
    config, properties = project(tmp_path / "nowhere", {"confluent.url": nowhere})
    assert run(config, properties, "bids_avro") == ExitCode.FAILED
    assert (
        f"the schema registry could not be read: confluent subject 'bids-avro-value' version latest at {nowhere}"
        in caplog.text
    )


@pytest.mark.parametrize("version", ["0", "-1", "newest", "1.5"])
def test_bad_version_argument(tmp_path, clean_env, capsys, version):
    with pytest.raises(SystemExit) as exit:
        registry_schema.main(["bids_avro", "--version", version])
    assert exit.value.code == ExitCode.BAD_INPUT
    assert "is not latest or a version number" in capsys.readouterr().err


def test_help_as_a_script_loads_no_cloud_sdk():
    shown = subprocess.run(
        [sys.executable, "-X", "importtime", "scripts/registry_schema.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "usage: registry-schema [-h] [--version latest|N]" in shown.stdout and "--write" in shown.stdout
    assert not [line for line in shown.stderr.splitlines() if line.rstrip().endswith(("| boto3", "| botocore"))]
