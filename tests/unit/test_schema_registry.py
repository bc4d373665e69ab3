"""dev/schema_registry.py, the local Confluent-compatible registry, over HTTP as clients see it:
every endpoint, status and error_code it serves, compatibility at each level, basic auth, its CLI.

One registry process serves the module (each test uses subjects of its own); the tests that
need a registry's first id or change its global level start one of their own.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.harness import ROOT, free_port
from tests.support.registry import SCRIPT, schema_registry_process, wait_until_answering

V1_JSON = "application/vnd.schemaregistry.v1+json"


@dataclass
class Answer:
    status: int
    body: Any
    headers: Any


class Client:
    def __init__(self, url: str, user_info: str | None = None) -> None:
        self.url = url
        self.user_info = user_info

    def call(self, method: str, path: str, body: Any = None, content_type: str = V1_JSON, raw: bytes | None = None):
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.user_info is not None:
            request.add_header("Authorization", "Basic " + base64.b64encode(self.user_info.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text, headers = response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            status, text, headers = error.code, error.read().decode(), error.headers
        return Answer(status, json.loads(text), headers)

    def get(self, path: str) -> Answer:
        return self.call("GET", path)

    def register(self, subject: str, schema: Any, **extra: Any) -> Answer:
        return self.call("POST", f"/subjects/{subject}/versions", {"schema": json.dumps(schema), **extra})

    def set_level(self, subject: str, level: str) -> None:
        assert self.call("PUT", f"/config/{subject}", {"compatibility": level}).body == {"compatibility": level}


def record(*fields: dict, name: str = "Order") -> dict:
    return {"type": "record", "name": name, "namespace": "test", "fields": list(fields)}


def field(name: str, type_: Any, **extra: Any) -> dict:
    return {"name": name, "type": type_, **extra}


A = field("a", "int")
B = field("b", "string")
B_DEFAULT = field("b", "string", default="x")
V1 = record(A)
V1_TEXT = '{"type":"record","name":"Order","namespace":"test","fields":[{"type":"int","name":"a"}]}'


def failure(answer: Answer) -> tuple[int, int]:
    assert set(answer.body) == {"error_code", "message"}, answer.body
    return answer.status, answer.body["error_code"]


@pytest.fixture(scope="module")
def registry() -> Client:
    with schema_registry_process() as url:
        yield Client(url)


@pytest.fixture
def subject() -> str:
    return f"orders-{uuid.uuid4().hex[:8]}-value"


def test_a_fresh_registry_numbers_schemas_globally_from_1_and_reuses_ids_across_subjects():
    with schema_registry_process() as url:
        client = Client(url)
        assert client.get("/subjects").body == []
        assert client.register("s1", V1).body == {"id": 1}
        assert client.register("s2", "string").body == {"id": 2}
        assert client.register("s3", V1).body == {"id": 1}  # known under s1: same global id
        assert client.register("s1", record(A, B_DEFAULT)).body == {"id": 3}
        assert client.get("/subjects").body == ["s1", "s2", "s3"]
        assert client.get("/subjects/s3/versions").body == [1]
        assert client.get("/schemas/ids/1/versions").body == [
            {"subject": "s1", "version": 1},
            {"subject": "s3", "version": 1},
        ]


def test_the_same_schema_twice_is_the_same_id_and_no_new_version(registry, subject):
    first = registry.register(subject, V1)
    assert first.status == 200
    assert first.headers["Content-Type"] == V1_JSON
    # Whitespace, key order and a redundant namespace do not make another schema.
    same = '{ "fields": [{"type": "int", "name": "a"}], "name": "test.Order", "type": "record" }'
    again = registry.call("POST", f"/subjects/{subject}/versions", {"schema": same, "schemaType": "AVRO"})
    assert again.body == first.body
    assert registry.get(f"/subjects/{subject}/versions").body == [1]


def test_a_changed_default_or_doc_is_a_new_version(registry, subject):
    """Confluent compares schemas with their defaults and docs (Avro's Parsing Canonical Form,
    which drops both, would call these the same)."""
    first = registry.register(subject, record(A, B_DEFAULT)).body["id"]
    other_default = registry.register(subject, record(A, field("b", "string", default="y"))).body["id"]
    with_doc = registry.register(subject, {**record(A, B_DEFAULT), "doc": "orders"}).body["id"]
    assert len({first, other_default, with_doc}) == 3
    assert registry.get(f"/subjects/{subject}/versions").body == [1, 2, 3]


def test_schemas_by_id(registry, subject):
    unique = record(A, name=f"Only{uuid.uuid4().hex}")  # a schema no other test registers
    schema_id = registry.register(subject, unique).body["id"]
    text = json.loads(registry.get(f"/schemas/ids/{schema_id}").body["schema"])
    assert text == {"type": "record", "name": unique["name"], "namespace": "test", "fields": [A]}
    assert registry.get(f"/schemas/ids/{schema_id}/versions").body == [{"subject": subject, "version": 1}]
    missing = registry.get("/schemas/ids/99999")
    assert failure(missing) == (404, 40403)
    assert missing.body["message"] == "Schema not found"
    assert failure(registry.get("/schemas/ids/99999/versions")) == (404, 40403)
    assert failure(registry.get("/schemas/ids/abc")) == (404, 404)
    assert registry.get("/schemas/types").body == ["AVRO"]


def test_subjects_and_versions(registry, subject):
    id1 = registry.register(subject, V1).body["id"]
    id2 = registry.register(subject, record(A, B_DEFAULT)).body["id"]
    assert subject in registry.get("/subjects").body
    assert registry.get(f"/subjects/{subject}/versions").body == [1, 2]
    assert registry.get(f"/subjects/{subject}/versions/1").body == {
        "subject": subject,
        "version": 1,
        "id": id1,
        "schema": V1_TEXT,
    }
    latest = registry.get(f"/subjects/{subject}/versions/latest").body
    assert (latest["version"], latest["id"]) == (2, id2)
    assert registry.get(f"/subjects/{subject}/versions/-1").body == latest
    raw = urllib.request.urlopen(f"{registry.url}/subjects/{subject}/versions/1/schema").read().decode()
    assert raw == V1_TEXT


def test_subject_and_version_errors(registry, subject):
    registry.register(subject, V1)
    assert failure(registry.get("/subjects/no-such-subject/versions")) == (404, 40401)
    assert failure(registry.get("/subjects/no-such-subject/versions/1")) == (404, 40401)
    assert failure(registry.get(f"/subjects/{subject}/versions/2")) == (404, 40402)
    assert failure(registry.get(f"/subjects/{subject}/versions/2/schema")) == (404, 40402)
    for bad in ("0", "abc", "-2", "1.5"):
        assert failure(registry.get(f"/subjects/{subject}/versions/{bad}")) == (422, 42202), bad


def test_lookup_under_a_subject(registry, subject):
    schema_id = registry.register(subject, V1).body["id"]
    registry.register(subject, record(A, B_DEFAULT))
    found = registry.call("POST", f"/subjects/{subject}", {"schema": json.dumps(V1)})
    assert found.body == {"subject": subject, "version": 1, "id": schema_id, "schema": V1_TEXT}
    assert failure(registry.call("POST", f"/subjects/{subject}", {"schema": '"string"'})) == (404, 40403)
    assert failure(registry.call("POST", "/subjects/no-such-subject", {"schema": '"string"'})) == (404, 40401)
    assert failure(registry.call("POST", f"/subjects/{subject}", {"schema": "{"})) == (422, 42201)


@pytest.mark.parametrize(
    "schema, schema_type, says",
    [
        ("{not json", None, "Invalid schema"),
        ('{"type": "no_such_type"}', None, "no_such_type"),
        ('{"type": "record", "name": "R"}', None, "fields"),
        (json.dumps(record(field("a", "int", default="x"))), None, "default"),
        (json.dumps(record(field("a", ["null", "int"], default=1))), None, "default"),
        ('{"type": "object"}', "JSON", "only AVRO"),
        ('syntax = "proto3";', "PROTOBUF", "only AVRO"),
    ],
)
def test_an_invalid_schema_or_type_is_42201(registry, subject, schema, schema_type, says):
    body = {"schema": schema, **({"schemaType": schema_type} if schema_type else {})}
    answer = registry.call("POST", f"/subjects/{subject}/versions", body)
    assert failure(answer) == (422, 42201)
    assert says in answer.body["message"]
    assert failure(registry.get(f"/subjects/{subject}/versions")) == (404, 40401)  # nothing registered


def test_a_body_without_a_schema_is_42201(registry, subject):
    assert failure(registry.call("POST", f"/subjects/{subject}/versions", {"schemaType": "AVRO"})) == (422, 42201)


def test_backward_is_the_default_level(registry, subject):
    assert registry.register(subject, V1).status == 200
    # A new field with a default: the new schema reads old data.
    assert registry.register(subject, record(A, B_DEFAULT)).status == 200
    # int -> long is a promotion Avro reads.
    assert registry.register(subject, record(field("a", "long"), B_DEFAULT)).status == 200
    without_default = registry.register(subject, record(field("a", "long"), B_DEFAULT, field("c", "int")))
    assert failure(without_default) == (409, 409)
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in without_default.body["message"]
    assert subject in without_default.body["message"]
    type_change = registry.register(subject, record(field("a", "string"), B_DEFAULT))
    assert failure(type_change) == (409, 409)
    assert "TYPE_MISMATCH" in type_change.body["message"]
    assert registry.get(f"/subjects/{subject}/versions").body == [1, 2, 3]


def test_none_accepts_anything(registry, subject):
    registry.set_level(subject, "NONE")
    registry.register(subject, V1)
    assert registry.register(subject, record(field("a", "string"))).status == 200
    assert registry.register(subject, "bytes").status == 200
    assert registry.get(f"/subjects/{subject}/versions").body == [1, 2, 3]


def test_forward_checks_that_the_old_schema_reads_new_data(registry, subject):
    registry.set_level(subject, "FORWARD")
    registry.register(subject, record(A, B))
    # An added field without a default: old readers skip it.
    assert registry.register(subject, record(A, B, field("c", "int"))).status == 200
    # Dropping b, which the old schema needs and has no default for.
    assert failure(registry.register(subject, record(A, field("c", "int")))) == (409, 409)
    # A long where the old schema reads an int.
    assert failure(registry.register(subject, record(field("a", "long"), B, field("c", "int")))) == (409, 409)


def test_full_checks_both_ways(registry, subject):
    registry.set_level(subject, "FULL")
    registry.register(subject, record(A, B_DEFAULT))
    assert registry.register(subject, record(A, B_DEFAULT, field("c", "int", default=0))).status == 200
    no_default = record(A, B_DEFAULT, field("c", "int", default=0), field("d", "int"))
    assert failure(registry.register(subject, no_default)) == (409, 409)
    # Dropping c is fine (it has a default); dropping a is not (the latest version reads it without a default).
    assert registry.register(subject, record(A, B_DEFAULT)).status == 200
    assert failure(registry.register(subject, record(B_DEFAULT))) == (409, 409)


# (level, the two earlier versions, the third): transitive levels check the third against
# both earlier versions, the others against the latest only.
BACKWARD_HISTORY = [record(A), record(A, B_DEFAULT), record(A, B)]
FORWARD_HISTORY = [record(A, B), record(A, B_DEFAULT), record(A)]


@pytest.mark.parametrize(
    "level, history, status",
    [
        ("BACKWARD", BACKWARD_HISTORY, 200),
        ("BACKWARD_TRANSITIVE", BACKWARD_HISTORY, 409),
        ("FORWARD", FORWARD_HISTORY, 200),
        ("FORWARD_TRANSITIVE", FORWARD_HISTORY, 409),
        ("FULL", FORWARD_HISTORY, 200),
        ("FULL_TRANSITIVE", FORWARD_HISTORY, 409),
    ],
)
def test_transitive_levels_check_every_version_the_others_the_latest(registry, subject, level, history, status):
    registry.set_level(subject, "NONE")
    for schema in history[:2]:
        assert registry.register(subject, schema).status == 200
    registry.set_level(subject, level)
    answer = registry.register(subject, history[2])
    assert answer.status == status, answer.body
    if status == 409:
        assert "version 1" in answer.body["message"] and "version 2" not in answer.body["message"]


def test_soft_and_permanent_delete(registry, subject):
    schema_id = registry.register(subject, V1).body["id"]
    registry.register(subject, record(A, B_DEFAULT))
    assert failure(registry.call("DELETE", f"/subjects/{subject}?permanent=true")) == (404, 40405)
    assert registry.call("DELETE", f"/subjects/{subject}").body == [1, 2]
    assert failure(registry.get(f"/subjects/{subject}/versions")) == (404, 40401)
    assert failure(registry.get(f"/subjects/{subject}/versions/1")) == (404, 40401)
    assert failure(registry.call("POST", f"/subjects/{subject}", {"schema": json.dumps(V1)})) == (404, 40401)
    assert subject not in registry.get("/subjects").body
    assert subject in registry.get("/subjects?deleted=true").body
    assert registry.get(f"/subjects/{subject}/versions?deleted=true").body == [1, 2]
    assert registry.get(f"/schemas/ids/{schema_id}").body == {"schema": V1_TEXT}  # ids outlive their subjects
    assert failure(registry.call("DELETE", f"/subjects/{subject}")) == (404, 40404)
    # Registering again starts after the deleted versions, with the schema's old id and no check against them.
    assert registry.register(subject, record(field("a", "string"))).status == 200
    registry.set_level(subject, "NONE")
    assert registry.register(subject, V1).body == {"id": schema_id}
    assert registry.get(f"/subjects/{subject}/versions").body == [3, 4]


def test_permanent_delete_after_a_soft_one_forgets_the_subject(registry, subject):
    registry.register(subject, V1)
    registry.call("DELETE", f"/subjects/{subject}")
    assert registry.call("DELETE", f"/subjects/{subject}?permanent=true").body == [1]
    assert failure(registry.get(f"/subjects/{subject}/versions?deleted=true")) == (404, 40401)
    assert failure(registry.call("DELETE", f"/subjects/{subject}")) == (404, 40401)
    assert registry.register(subject, V1).status == 200
    assert registry.get(f"/subjects/{subject}/versions").body == [1]


def test_global_config():
    with schema_registry_process() as url:
        client = Client(url)
        assert client.get("/config").body == {"compatibilityLevel": "BACKWARD"}
        assert client.call("PUT", "/config", {"compatibility": "full"}).body == {"compatibility": "FULL"}
        assert client.get("/config").body == {"compatibilityLevel": "FULL"}
        bad = client.call("PUT", "/config", {"compatibility": "SIDEWAYS"})
        assert failure(bad) == (422, 42203)
        assert failure(client.call("PUT", "/config", {})) == (422, 42203)
        assert client.get("/config").body == {"compatibilityLevel": "FULL"}
        # The global level applies to a subject without its own: FULL refuses a field without default.
        client.register("s", V1)
        assert failure(client.register("s", record(A, B))) == (409, 409)
        assert client.get("/config/s?defaultToGlobal=true").body == {"compatibilityLevel": "FULL"}


def test_subject_config(registry, subject):
    assert failure(registry.get(f"/config/{subject}")) == (404, 40408)
    assert registry.get(f"/config/{subject}?defaultToGlobal=true").body == {"compatibilityLevel": "BACKWARD"}
    assert registry.call("PUT", f"/config/{subject}", {"compatibility": "NONE"}).body == {"compatibility": "NONE"}
    assert registry.get(f"/config/{subject}").body == {"compatibilityLevel": "NONE"}
    assert failure(registry.call("PUT", f"/config/{subject}", {"compatibility": "ALL"})) == (422, 42203)
    registry.register(subject, V1)
    assert registry.register(subject, "string").status == 200  # NONE
    assert registry.call("DELETE", f"/config/{subject}").body == {"compatibilityLevel": "NONE"}
    assert failure(registry.get(f"/config/{subject}")) == (404, 40408)
    assert failure(registry.register(subject, "int")) == (409, 409)  # back to the global BACKWARD


def test_compatibility_endpoint(registry, subject):
    registry.register(subject, V1)
    registry.register(subject, record(A, B_DEFAULT))
    path = f"/compatibility/subjects/{subject}/versions"
    new = {"schema": json.dumps(record(A, B))}  # reads version 2's data, not version 1's
    assert registry.call("POST", f"{path}/latest", new).body == {"is_compatible": True}
    assert registry.call("POST", f"{path}/2", new).body == {"is_compatible": True}
    assert registry.call("POST", f"{path}/1", new).body == {"is_compatible": False}
    verbose = registry.call("POST", f"{path}/1?verbose=true", new).body
    assert verbose["is_compatible"] is False
    assert len(verbose["messages"]) == 1 and "READER_FIELD_MISSING_DEFAULT_VALUE" in verbose["messages"][0]
    assert registry.call("POST", f"{path}/latest?verbose=true", new).body == {"is_compatible": True, "messages": []}
    # Without a version: what the level names (BACKWARD: the latest; BACKWARD_TRANSITIVE: all).
    assert registry.call("POST", path, new).body == {"is_compatible": True}
    registry.set_level(subject, "BACKWARD_TRANSITIVE")
    assert registry.call("POST", path, new).body == {"is_compatible": False}
    assert registry.get(f"/subjects/{subject}/versions").body == [1, 2]  # checking registers nothing
    assert failure(registry.call("POST", f"{path}/3", new)) == (404, 40402)
    assert failure(registry.call("POST", f"{path}/x", new)) == (422, 42202)
    assert failure(registry.call("POST", f"{path}/1", {"schema": "{"})) == (422, 42201)
    missing = "/compatibility/subjects/no-such-subject/versions/latest"
    assert failure(registry.call("POST", missing, new)) == (404, 40401)


def test_routes_methods_and_bodies(registry, subject):
    assert failure(registry.get("/no/such/route")) == (404, 404)
    assert failure(registry.call("PUT", "/subjects")) == (405, 405)
    assert failure(registry.call("DELETE", "/schemas/ids/1")) == (405, 405)
    assert registry.get("/").body == {}
    versions = f"/subjects/{subject}/versions"
    plain_json = registry.call("POST", versions, {"schema": '"string"'}, content_type="application/json")
    assert plain_json.status == 200
    text_plain = registry.call("POST", versions, {"schema": '"string"'}, content_type="text/plain")
    assert failure(text_plain) == (415, 415)
    assert failure(registry.call("POST", versions, raw=b"{not json")) == (400, 400)


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> tuple[str, str]:
    log = tmp_path_factory.mktemp("registry") / "registry.log"
    with schema_registry_process(basic_auth="svc-orders:s3cret-Pa55", log_file=log) as url:
        yield url, log


@pytest.mark.parametrize("user_info", [None, "svc-orders:wrong", "other:s3cret-Pa55", "svc-orders"])
def test_basic_auth_refuses_missing_or_wrong_credentials(secured, user_info):
    url, _ = secured
    for method, path in (("GET", "/subjects"), ("GET", "/config"), ("GET", "/no/such/route")):
        answer = Client(url, user_info).call(method, path)
        assert (answer.status, answer.body) == (401, {"error_code": 401, "message": "Unauthorized"})
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="SchemaRegistry"'
    refused = Client(url, user_info).register("refused-value", V1)
    assert refused.status == 401


def test_basic_auth_admits_the_right_credentials_and_logs_no_password(secured):
    url, log = secured
    client = Client(url, "svc-orders:s3cret-Pa55")
    assert client.register("admitted-value", V1).status == 200
    assert client.get("/subjects/admitted-value/versions").body == [1]
    assert "refused-value" not in client.get("/subjects").body
    text = log.read_text()
    assert "svc-orders" in text and "s3cret-Pa55" not in text
    assert '"GET /subjects/admitted-value/versions HTTP/1.1" 200' in text  # one DEBUG line per request


def test_help_and_bad_arguments():
    shown = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "--basic-auth" in shown.stdout
    for bad in (["--basic-auth", "no-colon"], ["--port", "eighty"], ["--no-such-flag"]):
        run = subprocess.run([sys.executable, str(SCRIPT), *bad], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, (bad, run.stderr)
        assert "usage:" in run.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_it_with_exit_0(tmp_path, sig):
    port = free_port()
    log = tmp_path / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until_answering(process, f"http://127.0.0.1:{port}", None, log)
        process.send_signal(sig)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert f"listening on http://127.0.0.1:{port} (no auth)" in text
    assert f"stopping on {sig.name}" in text
