"""samplegen/avro.py: the two wire framings byte for byte, the Avro binary, and registering
schemas with the local Confluent-compatible registry and with moto's Glue Schema Registry."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
import zlib

import pytest

from samplegen.avro import ConfluentRegistry, GlueRegistry, RegistryError, avro_binary, confluent_frame, glue_frame
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
