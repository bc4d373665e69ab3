"""A local, in-memory stand-in for a Confluent-compatible schema registry (Avro only).

No Confluent Schema Registry runs here, so Avro topics are tested against this one, built from
Confluent's public REST API reference (v1) the way dev/msk-iam/ is built from AWS's: same
paths, JSON shapes, HTTP statuses and ``error_code`` values. Avro itself is Apache Avro's
Python library: schemas are parsed by ``avro.schema.parse`` and checked for compatibility by
``avro.compatibility`` (a port of the Java ``SchemaCompatibility`` Confluent uses).

Implemented:

- ``POST /subjects/{s}/versions`` (register; a schema equal to one under the subject returns
  its id, one known under another subject reuses the global id; compatibility per level),
  ``POST /subjects/{s}`` (lookup), ``GET /subjects``, ``GET /subjects/{s}/versions``,
  ``GET /subjects/{s}/versions/{v|latest|-1}`` and ``.../schema``, ``DELETE /subjects/{s}``
  (soft, or ``?permanent=true`` after a soft delete; ``?deleted=true`` on reads shows them).
- ``GET /schemas/ids/{id}``, ``GET /schemas/ids/{id}/versions``, ``GET /schemas/types``.
- ``GET|PUT /config``, ``GET|PUT|DELETE /config/{s}`` (``?defaultToGlobal=true``): NONE,
  BACKWARD (the default), FORWARD, FULL and their ``_TRANSITIVE`` forms.
- ``POST /compatibility/subjects/{s}/versions/{v}`` (against that version) and ``.../versions``
  (against what the level names), ``?verbose=true`` adds ``messages``.
- HTTP Basic auth on every path when ``--basic-auth`` (or ``$SCHEMA_REGISTRY_BASIC_AUTH``) is set.

Two schemas are the same when Avro's normalized JSON of them is (whitespace, key order and
redundant namespaces do not count; ``doc``, ``default``, aliases and other attributes do), as
Confluent compares a schema's canonical string, not Avro's Parsing Canonical Form (which drops
defaults, so it would fold a changed default into the old version). Field defaults are checked
against their types, as Java's Avro parser does and Python's does not.

Left out: contexts (``:.ctx:`` subjects), schema references, JSON Schema and Protobuf
(``schemaType`` other than AVRO is refused with 42201), modes (READONLY/IMPORT, registering
with an explicit id or version), deleting single versions, ``normalize``, metadata and rule
sets, exporters, tags, persistence and clustering (state lives and dies with the process).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import logging
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import avro.errors
import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
REQUEST_TYPES = {CONTENT_TYPE, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"}
LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")
MAX_BODY = 16 * 1024 * 1024
INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class ApiError(Exception):
    """An answer other than 200: the HTTP status and Confluent's error_code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def subject_not_found(subject: str) -> ApiError:
    return ApiError(404, 40401, f"Subject '{subject}' not found.")


def invalid_schema(why: str) -> ApiError:
    return ApiError(422, 42201, f"Invalid schema: {why}")


@dataclass
class Stored:
    """A schema under its global id: the text every read returns, and the parsed form."""

    id: int
    text: str
    parsed: avro.schema.Schema


@dataclass
class Version:
    number: int
    schema_id: int
    deleted: bool = False


@dataclass
class Request:
    params: list[str]
    query: dict[str, list[str]]
    body: Any

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[-1].lower() == "true"


def check_defaults(schema: avro.schema.Schema, seen: set[str] | None = None) -> None:
    """Refuse a field default its type cannot hold (Java's Avro parser does; Python's does not)."""
    seen = set() if seen is None else seen
    if isinstance(schema, avro.schema.RecordSchema):
        if schema.fullname in seen:
            return
        seen.add(schema.fullname)
        for field in schema.fields:
            if field.has_default and not default_fits(field.type, field.default):
                raise avro.errors.SchemaParseException(
                    f"invalid default for field {field.name}: {json.dumps(field.default)} is not a {field.type}"
                )
            check_defaults(field.type, seen)
    for child in (getattr(schema, "items", None), getattr(schema, "values", None), *getattr(schema, "schemas", ())):
        if isinstance(child, avro.schema.Schema):
            check_defaults(child, seen)


def default_fits(schema: avro.schema.Schema, value: Any) -> bool:
    """A default in JSON against its Avro type (a union's default belongs to its first branch)."""
    kind = schema.type
    if kind == "union":
        return default_fits(schema.schemas[0], value)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in INT_RANGE:
        low, high = INT_RANGE[kind]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in ("string", "bytes", "fixed"):
        return isinstance(value, str)
    if kind == "enum":
        return value in schema.symbols
    if kind == "array":
        return isinstance(value, list) and all(default_fits(schema.items, v) for v in value)
    if kind == "map":
        return isinstance(value, dict) and all(default_fits(schema.values, v) for v in value.values())
    if kind in ("record", "error"):
        return isinstance(value, dict) and all(
            default_fits(f.type, value[f.name]) if f.name in value else f.has_default for f in schema.fields
        )
    return False


def incompatibilities(level: str, new: avro.schema.Schema, previous: list[tuple[int, Stored]]) -> list[str]:
    """Why ``new`` breaks ``level`` against ``previous`` ((version, schema), oldest first); [] if it does not."""
    if level == "NONE":
        return []
    against = previous if level.endswith("_TRANSITIVE") else previous[-1:]
    found = []
    for number, old in reversed(against):
        checks = []
        if level.startswith(("BACKWARD", "FULL")):
            checks.append(("the new schema cannot read data written with", new, old.parsed))
        if level.startswith(("FORWARD", "FULL")):
            checks.append(("data written with the new schema cannot be read by", old.parsed, new))
        for what, reader, writer in checks:
            result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
            if result.compatibility is not SchemaCompatibilityType.compatible:
                kinds = ", ".join(sorted(i.name.upper() for i in result.incompatibilities))
                details = "; ".join(sorted(result.messages)) or "incompatible"
                found.append(
                    f"{level}: {what} version {number} ({kinds} at {', '.join(sorted(result.locations))}: {details})"
                )
    return found


class Registry:
    """Subjects, versions, global ids and compatibility levels; every request holds its lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.schemas: dict[int, Stored] = {}
        self.ids_by_key: dict[str, int] = {}
        self.subjects: dict[str, list[Version]] = {}
        self.global_level = "BACKWARD"
        self.levels: dict[str, str] = {}

    @staticmethod
    def parse(body: Any) -> tuple[avro.schema.Schema, str]:
        """The request's schema, parsed, and its identity key; 42201 when it is no Avro schema."""
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise invalid_schema("the request has no schema string")
        kind = body.get("schemaType") or "AVRO"
        if kind != "AVRO":
            raise invalid_schema(f"schemaType {kind} is not served here, only AVRO")
        if body.get("references"):
            raise invalid_schema("schema references are not served here")
        try:
            parsed = avro.schema.parse(body["schema"])
            check_defaults(parsed)
        except (avro.errors.AvroException, ValueError, TypeError) as error:
            raise invalid_schema(str(error)) from None
        return parsed, json.dumps(parsed.to_json(), sort_keys=True, separators=(",", ":"))

    def live(self, subject: str, deleted: bool = False) -> list[Version]:
        versions = [v for v in self.subjects.get(subject, []) if deleted or not v.deleted]
        if not versions:
            raise subject_not_found(subject)
        return versions

    def level(self, subject: str) -> str:
        return self.levels.get(subject, self.global_level)

    def previous(self, subject: str) -> list[tuple[int, Stored]]:
        return [(v.number, self.schemas[v.schema_id]) for v in self.subjects.get(subject, []) if not v.deleted]

    def register(self, subject: str, body: Any) -> dict:
        parsed, key = self.parse(body)
        schema_id = self.ids_by_key.get(key)
        versions = self.subjects.get(subject, [])
        if any(not v.deleted and v.schema_id == schema_id for v in versions):
            return {"id": schema_id}
        problems = incompatibilities(self.level(subject), parsed, self.previous(subject))
        if problems:
            raise ApiError(
                409,
                409,
                f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
                f"details: {'; '.join(problems)}",
            )
        if schema_id is None:
            schema_id = max(self.schemas, default=0) + 1
            text = json.dumps(parsed.to_json(), separators=(",", ":"))
            self.schemas[schema_id] = Stored(schema_id, text, parsed)
            self.ids_by_key[key] = schema_id
        number = max((v.number for v in versions), default=0) + 1  # soft-deleted numbers are not reused
        self.subjects[subject] = [*versions, Version(number, schema_id)]
        return {"id": schema_id}

    def lookup(self, subject: str, body: Any, deleted: bool) -> dict:
        _, key = self.parse(body)
        schema_id = self.ids_by_key.get(key)
        for version in self.live(subject, deleted):
            if version.schema_id == schema_id:
                return self.describe(subject, version)
        raise ApiError(404, 40403, "Schema not found")

    def describe(self, subject: str, version: Version) -> dict:
        stored = self.schemas[version.schema_id]
        return {"subject": subject, "version": version.number, "id": stored.id, "schema": stored.text}

    def version(self, subject: str, text: str, deleted: bool) -> Version:
        number = parse_version(text)
        versions = self.live(subject, deleted)
        if number is None:
            return versions[-1]
        for version in versions:
            if version.number == number:
                return version
        raise ApiError(404, 40402, f"Version {number} not found.")

    def delete_subject(self, subject: str, permanent: bool) -> list[int]:
        versions = self.live(subject, deleted=True)
        if permanent:
            if any(not v.deleted for v in versions):
                raise ApiError(
                    404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted"
                )
            del self.subjects[subject]
            self.levels.pop(subject, None)
            return [v.number for v in versions]
        if all(v.deleted for v in versions):
            raise ApiError(
                404, 40404, f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"
            )
        for version in versions:
            version.deleted = True
        return [v.number for v in versions]

    def compatibility(self, r: Request) -> dict:
        """Against one version (``/versions/{v}``), or against what the level names (``/versions``)."""
        subject = r.params[0]
        parsed, _ = self.parse(r.body)
        if len(r.params) == 1:
            previous = self.previous(subject)
        else:
            found = self.version(subject, r.params[1], deleted=False)
            previous = [(found.number, self.schemas[found.schema_id])]
        problems = incompatibilities(self.level(subject), parsed, previous)
        answer: dict[str, Any] = {"is_compatible": not problems}
        if r.flag("verbose"):
            answer["messages"] = problems
        return answer


def parse_version(text: str) -> int | None:
    """A version number, or None for the latest ('latest' or -1); 42202 for anything else."""
    if text == "latest" or text == "-1":
        return None
    if re.fullmatch(r"[0-9]+", text) and 1 <= int(text) <= 2**31 - 1:
        return int(text)
    raise ApiError(
        422,
        42202,
        f"The specified version '{text}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"',
    )


def parse_level(body: Any) -> str:
    level = body.get("compatibility") if isinstance(body, dict) else None
    if not isinstance(level, str) or level.upper() not in LEVELS:
        raise ApiError(422, 42203, f"Invalid compatibility level. Valid values are {', '.join(LEVELS)}")
    return level.upper()


class RawJson(str):
    """A JSON text sent as it is (the ``/schema`` endpoint answers with the schema itself)."""


def routes(reg: Registry) -> list[tuple[str, str, Callable[[Request], Any]]]:
    """(method, path pattern, handler): Confluent's paths; ``{}`` is one URL-encoded segment."""

    def subject_config(r: Request) -> dict:
        if r.params[0] in reg.levels:
            return {"compatibilityLevel": reg.levels[r.params[0]]}
        if r.flag("defaultToGlobal"):
            return {"compatibilityLevel": reg.global_level}
        raise ApiError(404, 40408, f"Subject '{r.params[0]}' does not have subject-level compatibility configured")

    def set_global(r: Request) -> dict:
        reg.global_level = parse_level(r.body)
        return {"compatibility": reg.global_level}

    def set_subject(r: Request) -> dict:
        reg.levels[r.params[0]] = parse_level(r.body)
        return {"compatibility": reg.levels[r.params[0]]}

    def delete_config(r: Request) -> dict:
        answer = subject_config(Request(r.params, {}, None))
        del reg.levels[r.params[0]]
        return answer

    def schema_by_id(r: Request) -> Stored:
        if not re.fullmatch(r"-?[0-9]{1,10}", r.params[0]):
            raise ApiError(404, 404, "HTTP 404 Not Found")  # not an int: no such resource, as in Jersey
        stored = reg.schemas.get(int(r.params[0]))
        if stored is None:
            raise ApiError(404, 40403, "Schema not found")
        return stored

    def versions_of_id(r: Request) -> list[dict]:
        schema_id = schema_by_id(r).id
        return [
            {"subject": subject, "version": v.number}
            for subject, versions in sorted(reg.subjects.items())
            for v in versions
            if v.schema_id == schema_id and (r.flag("deleted") or not v.deleted)
        ]

    def subjects(r: Request) -> list[str]:
        return sorted(s for s, vs in reg.subjects.items() if any(r.flag("deleted") or not v.deleted for v in vs))

    def one_version(r: Request) -> dict:
        return reg.describe(r.params[0], reg.version(r.params[0], r.params[1], r.flag("deleted")))

    def raw_schema(r: Request) -> RawJson:
        return RawJson(reg.schemas[reg.version(r.params[0], r.params[1], r.flag("deleted")).schema_id].text)

    def versions(r: Request) -> list[int]:
        return [v.number for v in reg.live(r.params[0], r.flag("deleted"))]

    return [
        ("GET", "/", lambda r: {}),
        ("GET", "/schemas/types", lambda r: ["AVRO"]),
        ("GET", "/schemas/ids/{}", lambda r: {"schema": schema_by_id(r).text}),
        ("GET", "/schemas/ids/{}/versions", versions_of_id),
        ("GET", "/subjects", subjects),
        ("POST", "/subjects/{}", lambda r: reg.lookup(r.params[0], r.body, r.flag("deleted"))),
        ("DELETE", "/subjects/{}", lambda r: reg.delete_subject(r.params[0], r.flag("permanent"))),
        ("GET", "/subjects/{}/versions", versions),
        ("POST", "/subjects/{}/versions", lambda r: reg.register(r.params[0], r.body)),
        ("GET", "/subjects/{}/versions/{}", one_version),
        ("GET", "/subjects/{}/versions/{}/schema", raw_schema),
        ("GET", "/config", lambda r: {"compatibilityLevel": reg.global_level}),
        ("PUT", "/config", set_global),
        ("GET", "/config/{}", subject_config),
        ("PUT", "/config/{}", set_subject),
        ("DELETE", "/config/{}", delete_config),
        ("POST", "/compatibility/subjects/{}/versions", reg.compatibility),
        ("POST", "/compatibility/subjects/{}/versions/{}", reg.compatibility),
    ]


class RegistryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], credentials: bytes | None) -> None:
        super().__init__(address, Handler)
        self.credentials = credentials  # b"user:password", or None for no auth
        registry = Registry()
        self.routes = [(m, re.compile("^" + p.replace("{}", "([^/]+)") + "$"), h) for m, p, h in routes(registry)]
        self.registry = registry


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Java client expects; every answer has a length
    server: RegistryServer

    def do_GET(self) -> None:
        self.handle_request("GET")

    def do_POST(self) -> None:
        self.handle_request("POST")

    def do_PUT(self) -> None:
        self.handle_request("PUT")

    def do_DELETE(self) -> None:
        self.handle_request("DELETE")

    def do_PATCH(self) -> None:
        self.handle_request("PATCH")

    def handle_request(self, method: str) -> None:
        try:
            raw = self.read_body()
            if not self.authorized():
                raise ApiError(401, 401, "Unauthorized")
            status, answer = 200, self.dispatch(method, raw)
        except ApiError as error:
            status, answer = error.status, {"error_code": error.code, "message": error.message}
        except Exception:
            log.exception("%s %s failed", method, self.path)
            status, answer = 500, {"error_code": 50001, "message": "Error in the backend data store"}
        data = (answer if isinstance(answer, RawJson) else json.dumps(answer)).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="SchemaRegistry"')
        self.end_headers()
        self.wfile.write(data)

    def read_body(self) -> bytes:
        """The whole body, read before anything is answered so a kept-alive connection stays in step."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise ApiError(411, 411, "HTTP 411 Length Required")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, 400, "HTTP 400 Bad Request: bad Content-Length") from None
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, 413, "HTTP 413 Payload Too Large")
        return self.rfile.read(length) if length > 0 else b""

    def authorized(self) -> bool:
        if self.server.credentials is None:
            return True
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.server.credentials)

    def dispatch(self, method: str, raw: bytes) -> Any:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        allowed = False
        for route_method, pattern, handler in self.server.routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if route_method == method:
                request = Request([unquote(p) for p in match.groups()], parse_qs(url.query), self.json_body(raw))
                with self.server.registry.lock:
                    return handler(request)
        if allowed:
            raise ApiError(405, 405, "HTTP 405 Method Not Allowed")
        raise ApiError(404, 404, "HTTP 404 Not Found")

    def json_body(self, raw: bytes) -> Any:
        if not raw:
            return None
        media = self.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip().lower()
        if media not in REQUEST_TYPES:
            raise ApiError(415, 415, "HTTP 415 Unsupported Media Type")
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ApiError(400, 400, f"Unparseable request body: {error}") from None

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A local Confluent-compatible schema registry (Avro, in memory).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (default 8081, 0 = any free one)")
    parser.add_argument(
        "--basic-auth",
        metavar="USER:PASSWORD",
        help="require HTTP Basic auth with these credentials (default: $SCHEMA_REGISTRY_BASIC_AUTH, else no auth)",
    )
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"), help="DEBUG logs requests")
    args = parser.parse_args(argv)
    user_info = args.basic_auth or os.environ.get("SCHEMA_REGISTRY_BASIC_AUTH")
    if user_info is not None and ":" not in user_info:
        parser.error("--basic-auth (or $SCHEMA_REGISTRY_BASIC_AUTH) must be USER:PASSWORD")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = RegistryServer((args.host, args.port), user_info.encode() if user_info else None)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, error)
        return 1

    def stop(signum: int, _frame: object) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    auth = f"basic auth as user {user_info.partition(':')[0]!r}" if user_info else "no auth"
    log.info("schema registry listening on http://%s:%d (%s)", args.host, server.server_port, auth)
    with server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
