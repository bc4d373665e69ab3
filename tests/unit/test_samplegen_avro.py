"""samplegen/avro.py: the two wire framings byte for byte, the Avro binary, and registering
schemas with the local Confluent-compatible registry and with moto's Glue Schema Registry; a
topic's writer's schema (the job's Avro mapping of every type, AvroColumns.java) and its generated
values through fastavro and back, and registry-schema reading its columns back from it; and sample_gen producing Avro topics (--dry-run: the exact bytes, registered
with the real local registry and moto, decoded with the schema fetched back from each)."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import io
import json
import random
import re
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest
import yaml

import sample_gen
from common.cli import ExitCode
from common.load.config import EventTime, RegistryConfig, TopicConfig, load_topics
from common.load.flink_types import FlinkType, parse_type
from samplegen.avro import (
    UNKNOWN_CONFLUENT_ID,
    AvroTypeError,
    AvroWriter,
    ConfluentRegistry,
    GlueRegistry,
    RegistryError,
    avro_binary,
    confluent_frame,
    glue_frame,
    writer_schema,
)
from samplegen.faults import FaultKnobs, Faults
from samplegen.model import EventModel, ModelOptions
from scripts.registry_schema import avro_columns
from tests.support.harness import ROOT, free_port
from tests.support.registry import schema_registry_process

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "test",
    "fields": [
        {"name": "id", "type": "int"},
        {"name": "item", "type": "string"},
        {"name": "delta", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
ORDER_V2 = {**ORDER, "fields": [*ORDER["fields"], {"name": "qty", "type": "int", "default": 1}]}
VERSION_ID = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")


def test_confluent_frame_is_magic_byte_id_then_payload():
    assert confluent_frame(1, b"\x02") == b"\x00" + b"\x00\x00\x00\x01" + b"\x02"
    assert confluent_frame(0x01020304, b"ab") == bytes([0, 1, 2, 3, 4]) + b"ab"
    assert confluent_frame(2**31 - 1, b"") == b"\x00\x7f\xff\xff\xff"
    for bad in (-1, 2**31):
        with pytest.raises(ValueError):
            confluent_frame(bad, b"")


def test_glue_frame_is_version_compression_uuid_then_payload():
    uuid_bytes = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert glue_frame(VERSION_ID, b"\x02\x04hi") == b"\x03\x00" + uuid_bytes + b"\x02\x04hi"
    assert len(glue_frame(VERSION_ID, b"")) == 18


def test_glue_frame_compressed_is_a_zlib_stream_after_byte_5():
    payload = b"order-" * 50
    framed = glue_frame(VERSION_ID, payload, compress=True)
    assert framed[:18] == b"\x03\x05" + bytes.fromhex("00112233445566778899aabbccddeeff")
    assert framed[18:20] == b"\x78\x9c"  # the zlib header java.util.zip.Deflater() writes (default level)
    assert zlib.decompress(framed[18:]) == payload
    assert len(framed) < 18 + len(payload)


def test_avro_binary_by_hand_and_back():
    from fastavro import parse_schema, schemaless_reader

    record = {"id": 1, "item": "hi", "delta": -1, "note": None}
    # zig-zag varints: 1 -> 02; "hi" -> length 2 (04) + bytes; -1 -> 01; union branch 0 (null) -> 00.
    assert avro_binary(ORDER, record) == b"\x02\x04hi\x01\x00"
    with_note = {**record, "id": 64, "note": "x"}
    # 64 -> 128 = 80 01; branch 1 (string) -> 02, then "x" -> 02 78.
    assert avro_binary(ORDER, with_note) == b"\x80\x01\x04hi\x01\x02\x02x"
    decoded = schemaless_reader(io.BytesIO(avro_binary(ORDER, with_note)), parse_schema(ORDER), None)
    assert decoded == with_note


def test_avro_binary_refuses_a_record_its_schema_cannot_hold():
    with pytest.raises((ValueError, TypeError)):
        avro_binary(ORDER, {"id": "not an int", "item": "x", "delta": 0, "note": None})


def test_importing_it_loads_neither_fastavro_nor_boto3():
    code = "import sys, samplegen.avro; print(sorted(m for m in ('fastavro', 'boto3', 'botocore') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def secured_registry() -> str:
    with schema_registry_process(basic_auth="producer:pr0ducer-secret") as url:
        yield url


def test_confluent_registry_registers_and_evolves(secured_registry):
    registry = ConfluentRegistry(secured_registry + "/", "producer:pr0ducer-secret")
    first = registry.register("orders-value", ORDER)
    assert registry.register("orders-value", ORDER) == first
    assert registry.register("orders-copy-value", ORDER) == first
    second = registry.register("orders-value", ORDER_V2)
    assert second != first
    assert registry.register("subject/with slash", ORDER) == first  # the subject is URL-encoded


def test_confluent_registry_errors_name_the_registry_code_and_message(secured_registry):
    registry = ConfluentRegistry(secured_registry, "producer:pr0ducer-secret")
    registry.register("strict-value", ORDER)
    incompatible = {**ORDER, "fields": [*ORDER["fields"], {"name": "must", "type": "int"}]}
    with pytest.raises(RegistryError, match=r"HTTP 409, error_code 409: Schema being registered is incompatible"):
        registry.register("strict-value", incompatible)
    with pytest.raises(RegistryError, match=r"HTTP 401, error_code 401: Unauthorized") as refused:
        ConfluentRegistry(secured_registry, "producer:wrong-secret").register("strict-value", ORDER)
    assert "wrong-secret" not in str(refused.value)
    with pytest.raises(RegistryError, match="error_code 401"):
        ConfluentRegistry(secured_registry, None).register("strict-value", ORDER)


def test_confluent_registry_unreachable():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(RegistryError, match=f"schema registry {url}: registering subject 'x' failed"):
        ConfluentRegistry(url, None, timeout_s=2).register("x", ORDER)


@pytest.fixture
def aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)


def test_glue_registry_creates_registers_and_finds_versions(moto_server, aws_env):
    import boto3

    registry = GlueRegistry("orders-registry", "us-east-1", endpoint_url=moto_server)
    first = registry.register("orders-value", ORDER)  # creates the registry and the schema
    assert registry.register("orders-value", ORDER) == first
    second = registry.register("orders-value", ORDER_V2)
    assert second != first
    assert registry.register("orders-value", ORDER_V2) == second
    assert registry.register("orders-value", ORDER) == first
    # A second client (a producer restarting) finds the same registry, schema and versions.
    assert GlueRegistry("orders-registry", "us-east-1", moto_server).register("orders-value", ORDER_V2) == second

    glue = boto3.client("glue", region_name="us-east-1", endpoint_url=moto_server)
    schema = glue.get_schema(SchemaId={"RegistryName": "orders-registry", "SchemaName": "orders-value"})
    assert (schema["DataFormat"], schema["Compatibility"], schema["LatestSchemaVersion"]) == ("AVRO", "BACKWARD", 2)
    versions = {v: glue.get_schema_version(SchemaVersionId=str(v)) for v in (first, second)}
    assert {v: (d["VersionNumber"], d["Status"]) for v, d in versions.items()} == {
        first: (1, "AVAILABLE"),
        second: (2, "AVAILABLE"),
    }
    assert json.loads(versions[second]["SchemaDefinition"]) == ORDER_V2
    framed = glue_frame(second, avro_binary(ORDER_V2, {"id": 1, "item": "a", "delta": 0, "note": None, "qty": 2}))
    assert uuid.UUID(bytes=framed[2:18]) == second


# --- a topic's writer's schema ----------------------------------------------------------------------


def avro_topic(schema: dict[str, str], key: str = "things", event_time: str = "ts", registry: str = "confluent"):
    """A TopicConfig of format avro, as the loader makes them (schema: column -> Flink type)."""
    return TopicConfig(
        key=key,
        topic_name=key.replace("_", "-"),
        consumer_group=f"{key}-group",
        startup_mode="earliest-offset",
        startup_timestamp_ms=None,
        event_time=EventTime(field=event_time, field_type=schema[event_time], max_out_of_orderness_ms=5_000),
        schema=tuple(schema.items()),
        format="avro",
        registry=RegistryConfig(registry, "default-registry", f"{key}-value"),
    )


def decimal_schema(precision: int, scale: int) -> dict:
    return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}


# Timestamps as Avro means them and the job reads them (AvroColumns.java): an instant (TIMESTAMP_LTZ)
# is timestamp-*, a wall-clock time (TIMESTAMP) local-timestamp-*, by precision (<= 3 millis, <= 6 micros).
MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
MICROS = {"type": "long", "logicalType": "timestamp-micros"}
LOCAL_MILLIS = {"type": "long", "logicalType": "local-timestamp-millis"}
LOCAL_MICROS = {"type": "long", "logicalType": "local-timestamp-micros"}
# Flink SQL type -> its Avro schema in the job's reader schema (AvroColumns.readerSchema; NOT NULL).
FLINK_TO_AVRO = {
    "BOOLEAN": "boolean",
    "TINYINT": "int",
    "SMALLINT": "int",
    "INT": "int",
    "INTEGER": "int",
    "BIGINT": "long",
    "FLOAT": "float",
    "DOUBLE": "double",
    "DOUBLE PRECISION": "double",
    "STRING": "string",
    "VARCHAR": "string",
    "VARCHAR(10)": "string",
    "CHAR(3)": "string",
    "BYTES": "bytes",
    "BINARY(4)": "bytes",
    "VARBINARY(8)": "bytes",
    "DECIMAL(10, 2)": decimal_schema(10, 2),
    "DECIMAL": decimal_schema(10, 0),
    "NUMERIC(5)": decimal_schema(5, 0),
    "DEC(38, 18)": decimal_schema(38, 18),
    "DATE": {"type": "int", "logicalType": "date"},
    "TIME": {"type": "int", "logicalType": "time-millis"},
    "TIME(3)": {"type": "int", "logicalType": "time-millis"},
    "TIMESTAMP(0)": LOCAL_MILLIS,
    "TIMESTAMP(3)": LOCAL_MILLIS,
    "TIMESTAMP(3) WITHOUT TIME ZONE": LOCAL_MILLIS,
    "TIMESTAMP(4)": LOCAL_MICROS,
    "TIMESTAMP(6)": LOCAL_MICROS,
    "TIMESTAMP": LOCAL_MICROS,  # Flink's default precision is 6
    "TIMESTAMP_LTZ(0)": MILLIS,
    "TIMESTAMP_LTZ(3)": MILLIS,
    "TIMESTAMP(3) WITH LOCAL TIME ZONE": MILLIS,
    "TIMESTAMP_LTZ(5)": MICROS,
    "TIMESTAMP_LTZ(6)": MICROS,
    "TIMESTAMP_LTZ": MICROS,
    "TIMESTAMP(6) WITH LOCAL TIME ZONE": MICROS,
    "ARRAY<INT>": {"type": "array", "items": ["null", "int"]},
    "ARRAY<INT NOT NULL>": {"type": "array", "items": "int"},
    "BIGINT ARRAY": {"type": "array", "items": ["null", "long"]},
    "MAP<STRING, DOUBLE>": {"type": "map", "values": ["null", "double"]},
    "MAP<VARCHAR(5), BIGINT NOT NULL>": {"type": "map", "values": "long"},
    "MULTISET<STRING>": {"type": "map", "values": ["null", "int"]},
}


@pytest.mark.parametrize("flink_type", FLINK_TO_AVRO)
def test_writer_schema_maps_each_type_as_the_job_reads_it(flink_type):
    expected = FLINK_TO_AVRO[flink_type]
    schema = writer_schema(avro_topic({"ts": "BIGINT NOT NULL", "req": f"{flink_type} NOT NULL", "opt": flink_type}))
    assert schema["type"] == "record" and schema["name"] == "things"
    assert schema["fields"] == [
        {"name": "ts", "type": "long"},
        {"name": "req", "type": expected},  # NOT NULL: the plain type, no default
        {"name": "opt", "type": ["null", expected], "default": None},  # nullable: a union with null first
    ]


def test_writer_schema_nests_records_with_unique_names():
    topic = avro_topic(
        {
            "ts": "TIMESTAMP(3) NOT NULL",
            "r": "ROW<a INT NOT NULL, b ARRAY<ROW<x STRING>>, c ROW<d DATE NOT NULL> NOT NULL>",
            "r_c": "ROW<d DECIMAL(5, 1)> NOT NULL",  # Flink's <parent>_<field> name is taken by r.c
            "m": "MAP<STRING, ROW<v DOUBLE NOT NULL>>",
        },
        key="bid_events",
    )
    schema = writer_schema(topic)
    assert schema == {
        "type": "record",
        "name": "bid_events",
        "fields": [
            {"name": "ts", "type": LOCAL_MILLIS},
            {
                "name": "r",
                "type": [
                    "null",
                    {
                        "type": "record",
                        "name": "bid_events_r",
                        "fields": [
                            {"name": "a", "type": "int"},
                            {
                                "name": "b",
                                "type": [
                                    "null",
                                    {
                                        "type": "array",
                                        "items": [
                                            "null",
                                            {
                                                "type": "record",
                                                "name": "bid_events_r_b",
                                                "fields": [{"name": "x", "type": ["null", "string"], "default": None}],
                                            },
                                        ],
                                    },
                                ],
                                "default": None,
                            },
                            {
                                "name": "c",
                                "type": {
                                    "type": "record",
                                    "name": "bid_events_r_c",
                                    "fields": [{"name": "d", "type": {"type": "int", "logicalType": "date"}}],
                                },
                            },
                        ],
                    },
                ],
                "default": None,
            },
            {
                "name": "r_c",
                "type": {
                    "type": "record",
                    "name": "bid_events_r_c_2",
                    "fields": [{"name": "d", "type": ["null", decimal_schema(5, 1)], "default": None}],
                },
            },
            {
                "name": "m",
                "type": [
                    "null",
                    {
                        "type": "map",
                        "values": [
                            "null",
                            {"type": "record", "name": "bid_events_m", "fields": [{"name": "v", "type": "double"}]},
                        ],
                    },
                ],
                "default": None,
            },
        ],
    }
    from fastavro import parse_schema

    parse_schema(schema)  # a valid schema: every named type defined once


@pytest.mark.parametrize(
    "flink_type, message",
    [
        ("TIME(6)", r"topic things\.bad: TIME\(6\): the job's Avro mapping has TIME up to precision 3"),
        ("TIMESTAMP(9)", r"topic things\.bad: TIMESTAMP\(9\): .* up to precision 6"),
        ("TIMESTAMP_LTZ(7)", r"TIMESTAMP_LTZ\(7\): .* up to precision 6"),
        ("MAP<INT, STRING>", r"an Avro map's keys are strings"),
        ("INTERVAL DAY", r"the job's Avro mapping has no schema for INTERVAL"),
        ("TIMESTAMP(3) WITH TIME ZONE", r"no schema for TIMESTAMP_TZ"),
        ("ARRAY<ROW<t TIME(9)>>", r"topic things\.bad\[\]\.t: TIME\(9\)"),
        ("ROW<`a-b` INT>", r"topic things\.bad\.a-b: not an Avro field name"),
    ],
)
def test_writer_schema_refuses_what_flink_maps_to_no_avro(flink_type, message):
    with pytest.raises(AvroTypeError, match=message):
        writer_schema(avro_topic({"ts": "BIGINT NOT NULL", "bad": flink_type}))


# --- the writer's schema read back by registry-schema -----------------------------------------------

# Flink SQL type (as written in topics.yaml) -> the column registry-schema (scripts/registry_schema.py)
# reads back from its writer's schema: the same Flink type, in Flink's canonical spelling, and the
# same kind of timestamp (a wall-clock TIMESTAMP, an instant TIMESTAMP_LTZ); only where one Avro
# type holds several Flink types is it the widest of them ("widened"): int for TINYINT/SMALLINT,
# string for CHAR/VARCHAR, bytes for BINARY/VARBINARY, millis or micros for a timestamp's precision,
# time-millis for TIME, a map of counts for MULTISET.
ROUND_TRIP = {
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "INT",  # widened
    "SMALLINT": "INT",  # widened
    "INT": "INT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "DOUBLE PRECISION": "DOUBLE",
    "STRING": "STRING",
    "VARCHAR": "STRING",  # widened (VARCHAR is VARCHAR(1))
    "VARCHAR(10)": "STRING",  # widened
    "VARCHAR(12)": "STRING",  # widened
    "CHAR(3)": "STRING",  # widened
    "CHAR(4)": "STRING",  # widened
    "BYTES": "BYTES",
    "BINARY(4)": "BYTES",  # widened
    "VARBINARY(6)": "BYTES",  # widened
    "VARBINARY(8)": "BYTES",  # widened
    "DECIMAL(10, 2)": "DECIMAL(10, 2)",
    "DECIMAL": "DECIMAL(10, 0)",
    "DECIMAL(6)": "DECIMAL(6, 0)",
    "NUMERIC(5)": "DECIMAL(5, 0)",
    "DEC(38, 18)": "DECIMAL(38, 18)",
    "DATE": "DATE",
    "TIME": "TIME(3)",  # widened (TIME is TIME(0))
    "TIME(3)": "TIME(3)",
    "TIMESTAMP(0)": "TIMESTAMP(3)",  # widened
    "TIMESTAMP(3)": "TIMESTAMP(3)",
    "TIMESTAMP(3) WITHOUT TIME ZONE": "TIMESTAMP(3)",
    "TIMESTAMP(4)": "TIMESTAMP(6)",  # widened
    "TIMESTAMP(6)": "TIMESTAMP(6)",
    "TIMESTAMP": "TIMESTAMP(6)",
    "TIMESTAMP_LTZ(0)": "TIMESTAMP_LTZ(3)",  # widened
    "TIMESTAMP_LTZ(3)": "TIMESTAMP_LTZ(3)",
    "TIMESTAMP(3) WITH LOCAL TIME ZONE": "TIMESTAMP_LTZ(3)",
    "TIMESTAMP_LTZ(5)": "TIMESTAMP_LTZ(6)",  # widened
    "TIMESTAMP_LTZ(6)": "TIMESTAMP_LTZ(6)",
    "TIMESTAMP_LTZ": "TIMESTAMP_LTZ(6)",
    "TIMESTAMP(6) WITH LOCAL TIME ZONE": "TIMESTAMP_LTZ(6)",
    "ARRAY<INT>": "ARRAY<INT>",
    "ARRAY<INT NOT NULL>": "ARRAY<INT NOT NULL>",
    "ARRAY<STRING NOT NULL>": "ARRAY<STRING NOT NULL>",
    "BIGINT ARRAY": "ARRAY<BIGINT>",
    "MAP<STRING, DOUBLE>": "MAP<STRING, DOUBLE>",
    "MAP<VARCHAR(5), BIGINT NOT NULL>": "MAP<STRING, BIGINT NOT NULL>",  # widened key
    "MULTISET<STRING>": "MAP<STRING, INT>",  # widened: Flink's MULTISET is a map of counts in Avro
    "ARRAY<TIMESTAMP_LTZ(3)>": "ARRAY<TIMESTAMP_LTZ(3)>",
    "ARRAY<TIMESTAMP(6) NOT NULL>": "ARRAY<TIMESTAMP(6) NOT NULL>",
    "MAP<STRING, TIMESTAMP(3) NOT NULL>": "MAP<STRING, TIMESTAMP(3) NOT NULL>",
    "MAP<STRING, TIMESTAMP_LTZ(6)>": "MAP<STRING, TIMESTAMP_LTZ(6)>",
    "ROW<a INT NOT NULL, b ARRAY<ROW<x STRING, at TIMESTAMP(3)>>, c ROW<d DATE NOT NULL>>": (
        "ROW<a INT NOT NULL, b ARRAY<ROW<x STRING, at TIMESTAMP(3)>>, c ROW<d DATE NOT NULL>>"
    ),
    "ROW<d DECIMAL(5, 1), blob BYTES NOT NULL>": "ROW<d DECIMAL(5, 1), blob BYTES NOT NULL>",
    "ROW<os STRING NOT NULL, seen_at TIMESTAMP_LTZ(3), at TIMESTAMP(6) NOT NULL>": (
        "ROW<os STRING NOT NULL, seen_at TIMESTAMP_LTZ(3), at TIMESTAMP(6) NOT NULL>"
    ),
    "ARRAY<ROW<sku STRING, paid_at TIMESTAMP_LTZ(3), packed_at TIMESTAMP(6)>>": (
        "ARRAY<ROW<sku STRING, paid_at TIMESTAMP_LTZ(3), packed_at TIMESTAMP(6)>>"
    ),
}


def timestamp_kinds(ftype: FlinkType) -> list[str]:
    """The roots of the timestamps in a type, depth first (TIMESTAMP or TIMESTAMP_LTZ each)."""
    own = [ftype.root] if ftype.root in ("TIMESTAMP", "TIMESTAMP_LTZ") else []
    return own + [kind for _, child in ftype.children for kind in timestamp_kinds(child)]


def test_the_round_trip_table_covers_every_type_the_writer_supports():
    written = {text.removesuffix(" NOT NULL") for text in ALL_TYPES.values()}
    assert set(FLINK_TO_AVRO) | written <= set(ROUND_TRIP)
    for flink_type, back in ROUND_TRIP.items():  # the kind of each timestamp never changes, at any depth
        assert timestamp_kinds(parse_type(back)) == timestamp_kinds(parse_type(flink_type)), flink_type


@pytest.mark.parametrize("flink_type", ROUND_TRIP)
def test_registry_schema_reads_the_writers_schema_back_as_the_same_columns(flink_type):
    back = ROUND_TRIP[flink_type]
    topic = avro_topic({"ts": "BIGINT NOT NULL", "req": f"{flink_type} NOT NULL", "opt": flink_type})
    schema = writer_schema(topic)
    assert avro_columns(schema) == [("ts", "BIGINT NOT NULL"), ("req", f"{back} NOT NULL"), ("opt", back)]
    # what it reads back is a fixed point: written again, the same writer's schema
    assert writer_schema(avro_topic(dict(avro_columns(schema)))) == schema


def test_registry_schema_reads_a_whole_topic_back_as_its_columns():
    topic = avro_topic(ALL_TYPES)
    expected = [
        (name, ROUND_TRIP[text.removesuffix(" NOT NULL")] + (" NOT NULL" if text.endswith(" NOT NULL") else ""))
        for name, text in ALL_TYPES.items()
    ]
    assert avro_columns(writer_schema(topic)) == expected
    assert [(n, t) for n, t in expected if t.startswith("TIMESTAMP")] == [
        ("ts", "TIMESTAMP(3) NOT NULL"),
        ("ts0", "TIMESTAMP(3)"),
        ("ts6", "TIMESTAMP(6)"),
        ("ltz", "TIMESTAMP_LTZ(3)"),
        ("ltz6", "TIMESTAMP_LTZ(6) NOT NULL"),
    ]


# --- generated values through fastavro and back -----------------------------------------------------

# Every type the generator makes and Avro holds, NOT NULL and nullable, nested, as the loader takes them.
ALL_TYPES = {
    "ts": "TIMESTAMP(3) NOT NULL",
    "user_id": "BIGINT NOT NULL",
    "flag": "BOOLEAN",
    "tiny": "TINYINT",
    "small": "SMALLINT NOT NULL",
    "n": "INT",
    "f": "FLOAT",
    "d": "DOUBLE NOT NULL",
    "dec": "DECIMAL(10, 2)",
    "dec0": "DECIMAL(6) NOT NULL",
    "s": "STRING",
    "c": "CHAR(4)",
    "v": "VARCHAR(12) NOT NULL",
    "b": "BYTES",
    "bin": "BINARY(4)",
    "vb": "VARBINARY(6) NOT NULL",
    "day": "DATE",
    "t": "TIME",
    "t3": "TIME(3) NOT NULL",
    "ts0": "TIMESTAMP(0)",
    "ts6": "TIMESTAMP(6)",
    "ltz": "TIMESTAMP_LTZ(3)",
    "ltz6": "TIMESTAMP_LTZ(6) NOT NULL",
    "arr": "ARRAY<INT>",
    "tags": "ARRAY<STRING NOT NULL> NOT NULL",
    "m": "MAP<STRING, DOUBLE>",
    "r": "ROW<a INT NOT NULL, b ARRAY<ROW<x STRING, at TIMESTAMP(3)>>, c ROW<d DATE NOT NULL>>",
    "r_c": "ROW<d DECIMAL(5, 1), blob BYTES NOT NULL>",
}
UTC = dt.timezone.utc


def decoded_form(value, ftype: FlinkType):
    """What fastavro's reader gives for a generated value (Flink's JSON format) of ``ftype``:
    worked out from the value's text, independently of samplegen.avro's conversion."""
    if value is None:
        return None
    root = ftype.root
    if root == "FLOAT":  # an Avro float is 32 bits
        return struct.unpack("<f", struct.pack("<f", value))[0]
    if root == "DOUBLE":
        return float(value)
    if root == "DECIMAL":
        return decimal.Decimal(str(value))
    if root in ("BINARY", "VARBINARY", "BYTES"):
        return base64.b64decode(value)
    if root == "DATE":
        return dt.date.fromisoformat(value)
    if root == "TIME":
        return dt.time.fromisoformat(value)
    if root == "TIMESTAMP":  # local-timestamp-*: a wall-clock time, naive
        return dt.datetime.fromisoformat(value)
    if root == "TIMESTAMP_LTZ":  # timestamp-*: an instant, in UTC
        return dt.datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)
    if root == "ARRAY":
        return [decoded_form(v, ftype.children[0][1]) for v in value]
    if root == "MAP":
        return {k: decoded_form(v, ftype.children[1][1]) for k, v in value.items()}
    if root == "ROW":
        return {name: decoded_form(value[name], child) for name, child in ftype.children}
    return value


def decoded_record(record: dict, topic: TopicConfig) -> dict:
    return {name: decoded_form(record[name], parse_type(text)) for name, text in topic.schema}


def read_avro(payload: bytes, schema: dict) -> dict:
    from fastavro import parse_schema, schemaless_reader

    stream = io.BytesIO(payload)
    record = schemaless_reader(stream, parse_schema(schema), None)
    assert stream.read() == b"", "bytes left after the record"
    return record


def test_every_generated_type_round_trips_through_fastavro():
    topic = avro_topic({**ALL_TYPES, "bag": "MULTISET<STRING>"})  # MULTISET: the loader refuses it (no JSON reading)
    schema = writer_schema(topic)
    writer = AvroWriter(topic, schema, 42)
    model = EventModel([topic], ModelOptions(seed=3))
    records = [record for _, _, _, record in model.take(150)]
    for record in records:
        framed = writer.encode(record)
        assert framed[:5] == b"\x00\x00\x00\x00\x2a"
        assert read_avro(framed[5:], schema) == decoded_record(record, topic)
    # the generator's values cover the types: non-empty arrays, maps and nested rows, fractions of seconds
    assert any(r["arr"] and r["m"] and r["r"]["b"] and r["bag"] for r in records)
    assert any(not r["ts6"].endswith(".000000") for r in records)


def test_null_in_every_nullable_column_and_none_in_a_required_one():
    topic = avro_topic(ALL_TYPES)
    schema = writer_schema(topic)
    writer = AvroWriter(topic, schema, uuid.UUID(int=7))
    record = next(r for _, _, _, r in EventModel([topic], ModelOptions(seed=1)).take(1))
    nullable = [name for name, text in topic.schema if not parse_type(text).not_null and name != "r_c"]
    assert len(nullable) == 17
    nulls = {**record, **dict.fromkeys(nullable), "r_c": {"d": None, "blob": "AAE="}}  # and a null nested field
    framed = writer.encode(nulls)
    assert framed[:18] == b"\x03\x00" + uuid.UUID(int=7).bytes  # Glue's header, uncompressed
    decoded = read_avro(framed[18:], schema)
    assert {name: decoded[name] for name in nullable} == dict.fromkeys(nullable)
    assert decoded["r_c"] == {"d": None, "blob": b"\x00\x01"}
    assert decoded["dec0"] == decimal.Decimal(record["dec0"]) and decoded["tags"] == record["tags"]
    with pytest.raises((ValueError, TypeError)):
        writer.encode({**record, "user_id": None})


def test_the_writer_does_not_change_the_record_it_encodes():
    topic = avro_topic(ALL_TYPES)
    writer = AvroWriter(topic, writer_schema(topic), 1)
    record = next(r for _, _, _, r in EventModel([topic], ModelOptions(seed=2)).take(1))
    before = json.dumps(record, sort_keys=True)
    writer.encode(record)
    assert json.dumps(record, sort_keys=True) == before


def test_malformed_avro_values_are_each_kind_the_decoder_refuses():
    topic = avro_topic(ALL_TYPES)
    schema = writer_schema(topic)
    plan_model = EventModel([topic], ModelOptions(seed=5))
    plan_model.selected[0].writer = confluent = AvroWriter(topic, schema, 3)
    faults = Faults(FaultKnobs(malformed=0.5), seed=5, total=400)
    kinds: dict[str, int] = {}
    for plan, _, ts, record in plan_model.take(400):
        value, event_time = faults.encode(plan, ts, record)
        if faults.last_fault is None:
            assert value[:5] == b"\x00\x00\x00\x00\x03" and read_avro(value[5:], schema)["user_id"] == record["user_id"]
            continue
        assert event_time is None
        if value[:1] == b"{":
            kind = "not_wire_format"
            assert json.loads(value) == record
        elif struct.unpack(">I", value[1:5])[0] == UNKNOWN_CONFLUENT_ID:
            kind = "unknown_schema"
            assert read_avro(value[5:], schema) == decoded_record(record, topic)  # the bytes are fine
        else:
            kind = "cut_short"
            assert value[:5] == b"\x00\x00\x00\x00\x03" and len(value) < len(confluent.encode(record))
            with pytest.raises((EOFError, IndexError, ValueError)):
                read_avro(value[5:], schema)
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == plan_model.selected[0].stats.malformed_kinds
    assert set(kinds) == {"not_wire_format", "unknown_schema", "cut_short"} and sum(kinds.values()) == 200

    glue = AvroWriter(topic, schema, uuid.UUID(int=9))
    record = next(r for _, _, _, r in EventModel([topic], ModelOptions(seed=1)).take(1))
    kind, value = glue.malformed("wrong_type", record, random.Random(1))
    assert kind == "unknown_schema" and value[:2] == b"\x03\x00" and uuid.UUID(bytes=value[2:18]) != uuid.UUID(int=9)
    kind, value = glue.malformed("missing_field", record, random.Random(1))
    assert kind == "cut_short" and value[:18] == b"\x03\x00" + uuid.UUID(int=9).bytes


# --- sample_gen producing Avro topics ---------------------------------------------------------------

USER_INFO = "sample-gen:pr0ducer-pass"
GLUE_REGISTRY = "samplegen-tests"
BID_COLUMNS = {
    "event_name": "STRING",
    "user_id": "BIGINT",
    "city_id": "INT",
    "platform": "STRING",
    "session_id": "STRING",
    "timestamp_ms": "BIGINT",
    "bid_amount": "DOUBLE",
}
USER_COLUMNS = {"event_type": "STRING", "user_id": "BIGINT", "action": "STRING", "timestamp_ms": "BIGINT"}


def topic_yaml(name: str, columns: dict, event_time: str, **extra) -> dict:
    return {
        "topic_name": name,
        "consumer_group": f"{name}-job",
        "startup_mode": "earliest-offset",
        **extra,
        "event_time": {"field": event_time, "max_out_of_orderness": "5s"},
        "schema": dict(columns),
    }


def write_config(folder: Path, registry_group: dict[str, str]) -> tuple[Path, Path]:
    """topics.yaml with a Confluent Avro topic (the model's bids), a Glue Avro topic of every type
    and a JSON topic; runtime properties with the registry group. (config dir, properties file)."""
    topics = {
        "bid_events": topic_yaml(
            "bids-avro", BID_COLUMNS, "timestamp_ms", format="avro", registry={"type": "confluent"}
        ),
        "things": topic_yaml(
            "things-avro",
            ALL_TYPES,
            "ts",
            format="avro",
            registry={"type": "glue", "registry_name": GLUE_REGISTRY, "subject": "things"},
        ),
        "user_events": topic_yaml("user-json", USER_COLUMNS, "timestamp_ms"),
    }
    config = folder / "config"
    config.mkdir()
    (config / "topics.yaml").write_text(yaml.safe_dump({"kafka_topics": topics}, sort_keys=False))
    props = json.loads((ROOT / "application_properties.json").read_text())
    props = [g for g in props if g["PropertyGroupId"] != "registry"]
    props.append({"PropertyGroupId": "registry", "PropertyMap": registry_group})
    path = folder / "properties.json"
    path.write_text(json.dumps(props))
    return config, path


@pytest.fixture
def registry_env(monkeypatch, aws_env):
    """AWS test credentials; no registry setting from the environment (the properties file says)."""
    for key in ("SCHEMA_REGISTRY_URL", "SCHEMA_REGISTRY_USER_INFO", "GLUE_REGISTRY_REGION", "GLUE_REGISTRY_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="module")
def producer_registry() -> str:
    with schema_registry_process(basic_auth=USER_INFO) as url:
        yield url


def registry_get(url: str, path: str) -> dict | list:
    request = urllib.request.Request(url + path)
    request.add_header("Authorization", "Basic " + base64.b64encode(USER_INFO.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Schemas:
    """The writer's schemas sample_gen registered, fetched back by the id each value names."""

    def __init__(self, registry_url: str, glue_endpoint: str) -> None:
        import boto3

        self.url = registry_url
        self.glue = boto3.client("glue", region_name="us-east-1", endpoint_url=glue_endpoint)
        self.known: dict[object, dict | None] = {}

    def confluent(self, schema_id: int) -> dict | None:
        if schema_id not in self.known:
            try:
                self.known[schema_id] = json.loads(registry_get(self.url, f"/schemas/ids/{schema_id}")["schema"])
            except urllib.error.HTTPError as error:
                assert error.code == 404
                self.known[schema_id] = None
        return self.known[schema_id]

    def glue_version(self, version: uuid.UUID) -> dict | None:
        if version not in self.known:
            try:
                found = self.glue.get_schema_version(SchemaVersionId=str(version))
                assert (found["DataFormat"], found["Status"]) == ("AVRO", "AVAILABLE")
                self.known[version] = json.loads(found["SchemaDefinition"])
            except self.glue.exceptions.EntityNotFoundException:
                self.known[version] = None
        return self.known[version]

    def unframe(self, topic: str, value: bytes) -> tuple[dict | None, bytes]:
        """(the writer's schema the frame names, None if unknown; the Avro binary)."""
        if topic == "bids-avro":
            assert value[0] == 0, value[:8]
            return self.confluent(struct.unpack(">I", value[1:5])[0]), value[5:]
        assert topic == "things-avro" and value[:2] == b"\x03\x00", value[:8]  # Glue, uncompressed
        return self.glue_version(uuid.UUID(bytes=value[2:18])), value[18:]


def expected_records(config: Path, seed: int, count: int) -> list[tuple[str, bytes, dict]]:
    """(Kafka topic, key, record) as sample_gen --count makes them for a seed (simulated time, no faults)."""
    topics = load_topics(config)
    model = EventModel(list(topics.values()), ModelOptions(seed=seed))
    return [(plan.topic_name, key, record) for plan, key, _, record in model.take(count)]


def test_sample_gen_registers_and_frames_avro_topics(tmp_path, producer_registry, moto_server, registry_env, capsys):
    config, properties = write_config(
        tmp_path,
        {
            "confluent.url": producer_registry,
            "confluent.basic.auth.user.info": USER_INFO,
            "glue.region": "us-east-1",
            "glue.endpoint": moto_server,
        },
    )
    topics = load_topics(config)
    args = ["--dry-run", "--count", "400", "--seed", "4", "--config-dir", str(config), "--properties", str(properties)]
    outputs = []
    for _ in range(2):  # a second run registers the same schemas again: same ids, same bytes
        code = sample_gen.main([*args, "--manifest", str(tmp_path / "m.json"), "--progress", "none", "--quiet"])
        assert code == ExitCode.OK
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]

    schemas = Schemas(producer_registry, moto_server)
    lines = [json.loads(line) for line in outputs[0].splitlines()]
    expected = expected_records(config, 4, 400)
    assert len(lines) == len(expected) == 400
    seen = {}
    for line, (topic_name, key, record) in zip(lines, expected):
        assert (line["topic"], line["key"]) == (topic_name, key.decode())
        seen[topic_name] = seen.get(topic_name, 0) + 1
        if topic_name == "user-json":
            assert set(line) == {"topic", "key", "value"} and line["value"] == record  # JSON stays JSON
            continue
        assert set(line) == {"topic", "key", "value_base64"}
        schema, payload = schemas.unframe(topic_name, base64.b64decode(line["value_base64"]))
        topic = topics["bid_events" if topic_name == "bids-avro" else "things"]
        assert schema == writer_schema(topic)
        assert read_avro(payload, schema) == decoded_record(record, topic)
    assert set(seen) == {"bids-avro", "things-avro", "user-json"}
    # The local registry parses with Apache Avro's library (defaults checked against their types, as
    # Java's parser does): the schema of every type is a valid Avro schema there too.
    assert ConfluentRegistry(producer_registry, USER_INFO).register("things-check", writer_schema(topics["things"])) > 0

    # One version registered per topic, under the topic's subject / schema name.
    assert "bids-avro-value" in registry_get(producer_registry, "/subjects")
    assert registry_get(producer_registry, "/subjects/bids-avro-value/versions") == [1]
    glue_schema = schemas.glue.get_schema(SchemaId={"RegistryName": GLUE_REGISTRY, "SchemaName": "things"})
    assert (glue_schema["DataFormat"], glue_schema["LatestSchemaVersion"]) == ("AVRO", 1)


def test_sample_gen_faults_on_avro_topics(tmp_path, producer_registry, moto_server, registry_env):
    config, properties = write_config(
        tmp_path,
        {
            "confluent.url": producer_registry,
            "confluent.basic.auth.user.info": USER_INFO,
            "glue.region": "us-east-1",
            "glue.endpoint": moto_server,
        },
    )
    records_path, manifest_path = tmp_path / "records.jsonl", tmp_path / "manifest.json"
    code = sample_gen.main(
        [
            *("--dry-run", "--count", "600", "--seed", "8", "--config-dir", str(config)),
            *("--properties", str(properties), "--records", str(records_path), "--manifest", str(manifest_path)),
            *("--malformed", "0.15", "--late", "0.05", "--out-of-order", "0.1", "--progress", "none", "--quiet"),
        ]
    )
    assert code == ExitCode.OK
    topics = load_topics(config)
    schemas = Schemas(producer_registry, moto_server)
    kinds: dict[str, dict[str, int]] = {}
    faults: set[str | None] = set()
    for line in map(json.loads, records_path.read_text().splitlines()):
        faults.add(line["fault"])
        if line["topic_name"] == "user-json":
            assert "value_base64" not in line and isinstance(line["value"], str)
            continue
        assert "value" not in line
        value = base64.b64decode(line["value_base64"])
        topic = topics[line["topic"]]
        if line["fault"] != "malformed":  # late and out-of-order records too: their event time is the one written
            schema, payload = schemas.unframe(topic.topic_name, value)
            written = read_avro(payload, schema)
            event_time = written[topic.event_time.field]
            if isinstance(event_time, dt.datetime):  # a TIMESTAMP (naive) is read as UTC, as the job does
                event_time = event_time if event_time.tzinfo else event_time.replace(tzinfo=UTC)
                event_time = (event_time - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)
            assert event_time == line["event_time_ms"]
            continue
        if value[:1] == b"{":
            kind = "not_wire_format"
            assert isinstance(json.loads(value), dict)
        else:
            schema, payload = schemas.unframe(topic.topic_name, value)
            if schema is None:
                kind = "unknown_schema"
            else:
                kind = "cut_short"
                with pytest.raises((EOFError, IndexError, ValueError)):
                    read_avro(payload, schema)
        by_topic = kinds.setdefault(line["topic"], {})
        by_topic[kind] = by_topic.get(kind, 0) + 1
    assert faults == {None, "malformed", "late", "out_of_order"}
    manifest = json.loads(manifest_path.read_text())
    for key in ("bid_events", "things"):
        assert kinds[key] == manifest["topics"][key]["malformed_kinds"]
        assert set(kinds[key]) <= {"not_wire_format", "unknown_schema", "cut_short"}
    assert set(kinds["bid_events"]) | set(kinds["things"]) == {"not_wire_format", "unknown_schema", "cut_short"}
    assert set(manifest["topics"]["user_events"]["malformed_kinds"]) <= {"bad_json", "wrong_type", "missing_field"}


@pytest.mark.parametrize(
    "group, unset, message",
    [
        ({"glue.region": "us-east-1"}, (), r"registry\.confluent\.url: topic bid_events is Avro through a Confluent"),
        (
            {"confluent.url": "http://127.0.0.1:9"},
            ("AWS_REGION", "AWS_DEFAULT_REGION"),
            r"registry\.glue\.region: topic things is Avro through AWS Glue Schema Registry, and no region is set",
        ),
    ],
)
def test_an_avro_topic_without_its_registry_is_a_config_error(
    tmp_path, registry_env, monkeypatch, caplog, group, unset, message
):
    for key in unset:
        monkeypatch.delenv(key, raising=False)
    config, properties = write_config(tmp_path, group)
    topic = "bid_events" if "confluent" in message else "things"
    with caplog.at_level("ERROR"):
        code = sample_gen.main(
            [
                *("--dry-run", "--count", "10", "--config-dir", str(config), "--properties", str(properties)),
                *("--topics", topic, "--manifest", str(tmp_path / "m.json"), "--progress", "none", "--quiet"),
            ]
        )
    assert code == ExitCode.BAD_INPUT
    assert any(r.levelname == "ERROR" and re.search(message, r.getMessage()) for r in caplog.records)
    assert not (tmp_path / "m.json").exists()  # stopped before anything was made


def test_a_registry_that_refuses_stops_sample_gen_before_sending(tmp_path, producer_registry, registry_env, caplog):
    config, properties = write_config(
        tmp_path, {"confluent.url": producer_registry, "confluent.basic.auth.user.info": "sample-gen:wrong"}
    )
    with caplog.at_level("ERROR"):
        code = sample_gen.main(
            [
                *("--dry-run", "--count", "10", "--config-dir", str(config), "--properties", str(properties)),
                *("--topics", "bid_events", "--manifest", str(tmp_path / "m.json"), "--progress", "none", "--quiet"),
            ]
        )
    assert code == ExitCode.FAILED
    assert any("nothing sent" in r.getMessage() and "HTTP 401" in r.getMessage() for r in caplog.records)
    assert all("wrong" not in r.getMessage() for r in caplog.records)


def test_an_avro_topic_of_a_type_avro_cannot_hold_is_a_config_error(tmp_path, registry_env, caplog):
    config, properties = write_config(tmp_path, {"confluent.url": "http://127.0.0.1:9"})
    topics = yaml.safe_load((config / "topics.yaml").read_text())
    topics["kafka_topics"]["bid_events"]["schema"]["precise"] = "TIME(6)"
    (config / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    with caplog.at_level("ERROR"):
        code = sample_gen.main(
            [
                *("--dry-run", "--count", "10", "--config-dir", str(config), "--properties", str(properties)),
                *("--topics", "bid_events", "--manifest", str(tmp_path / "m.json"), "--progress", "none", "--quiet"),
            ]
        )
    assert code == ExitCode.BAD_INPUT
    assert any("topic bid_events.precise: TIME(6)" in r.getMessage() for r in caplog.records)
