"""An Avro topic's `schema:` block from its schema registry: the writer's schema of the topic's
subject (the latest version, or --version N) as the Flink SQL columns of config/topics.yaml,
printed to paste; with --write it replaces the topic's block in topics.yaml, every other line
and comment of the file kept byte for byte, and says which columns were added, removed or
retyped. topics.yaml stays the one source of the reader's schema: this only writes it on request.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import textwrap
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common import cli
from common.cli import ExitCode
from common.errors import ConfigError, did_you_mean
from common.load.config import (
    AVRO,
    CONFIG_DIR,
    EVENT_TIME_ROOTS,
    OVERLAYS_DIR,
    TOPICS_FILE,
    TopicConfig,
    load_topics,
)
from common.load.flink_types import KEYWORDS, parse_type
from common.load.properties import RegistrySettings, load_settings
from common.logs import setup_logging

log = logging.getLogger(__name__)

REGISTRY_TIMEOUT_S = 10.0
DEFAULT_INDENT = 4  # where topics.yaml writes a topic's keys (the topic key itself at 2)
DEFAULT_STEP = 2

EPILOG = """\
examples:
  %(prog)s bids_avro                  # print the block of the latest version, to paste
  %(prog)s bids_avro --version 3      # the block of version 3
  %(prog)s bids_avro --write          # replace the block in config/topics.yaml, say what changed

Avro -> Flink SQL (the job's Avro mapping, inverted): boolean BOOLEAN, int INT, long BIGINT,
float FLOAT, double DOUBLE, string STRING, bytes / fixed BYTES, enum STRING, decimal
DECIMAL(p, s), date DATE, time-millis TIME(3), timestamp-millis / -micros (an instant)
TIMESTAMP_LTZ(3) / (6), local-timestamp-millis / -micros (a wall-clock time) TIMESTAMP(3) /
(6), uuid STRING, record ROW<...>, array ARRAY<T>, map MAP<STRING, T>. ["null", T] is T
(nullable); any other type is T NOT NULL, at every depth. A union of two or more non-null
types is no column type: refused. (The job reads an enum into its STRING column as the
symbol's name, a fixed into BYTES as its bytes.)

where the registry is: the runtime properties' registry group (--properties, else
$APP_PROPERTIES_FILE, else application_properties.json): confluent.url and
confluent.basic.auth.user.info, or glue.region and glue.endpoint ($SCHEMA_REGISTRY_URL,
$SCHEMA_REGISTRY_USER_INFO, $GLUE_REGISTRY_REGION, $GLUE_REGISTRY_ENDPOINT override them);
Glue uses the default AWS credentials.

exit codes: 0 printed or written; 1 the registry could not be read (unreachable, refused);
2 bad arguments or configuration: an unknown topic, a topic that is not Avro, no registry
URL, a subject or version the registry does not have, a schema that makes no valid topic
(a union column, an event-time field missing or not a time type).
"""


class Refused(Exception):
    """Bad input (exit 2): the arguments, the configuration or the registry's schema make no block."""


class RegistryFailed(Exception):
    """The registry could not be read (exit 1)."""


@dataclass(frozen=True)
class Fetched:
    """One version of a subject's writer's schema."""

    text: str  # the schema's JSON
    version: int
    where: str  # what was read, for people: confluent subject 'x' version 2 at http://...


# --- Avro -> Flink SQL ---------------------------------------------------------------------------

PRIMITIVES = {
    "boolean": "BOOLEAN",
    "int": "INT",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "STRING",
    "bytes": "BYTES",
}
# logicalType -> (the Avro types it annotates, the Flink type); on another type it is ignored, as the
# Avro specification says of a logical type that does not fit (the underlying type is read).
# Timestamps as Avro means them and the job reads them (AvroColumns.java): timestamp-* is an
# instant (TIMESTAMP_LTZ), local-timestamp-* a wall-clock time (TIMESTAMP); samplegen/avro.py
# writes them so.
LOGICAL = {
    "date": (("int",), "DATE"),
    "time-millis": (("int",), "TIME(3)"),
    "timestamp-millis": (("long",), "TIMESTAMP_LTZ(3)"),
    "timestamp-micros": (("long",), "TIMESTAMP_LTZ(6)"),
    "local-timestamp-millis": (("long",), "TIMESTAMP(3)"),
    "local-timestamp-micros": (("long",), "TIMESTAMP(6)"),
    "uuid": (("string",), "STRING"),
}
# Logical types the job's Avro mapping has no type for (its TIME stops at millis, its timestamps at micros).
UNMAPPED_LOGICAL = {
    "time-micros": "the job's Avro mapping reads TIME up to precision 3 (time-millis)",
    "timestamp-nanos": "the job's Avro mapping reads timestamps up to precision 6 (micros)",
    "local-timestamp-nanos": "the job's Avro mapping reads timestamps up to precision 6 (micros)",
}
MAX_DECIMAL_PRECISION = 38
NAMED = ("record", "error", "enum", "fixed")


class AvroConversionError(ValueError):
    """An Avro schema (or a part of it) that has no Flink SQL column type; the message names the field."""


def avro_columns(schema: Any) -> list[tuple[str, str]]:
    """(column, Flink SQL type) per field of an Avro record schema (parsed JSON), in its order."""
    return _Converter().columns(schema)


class _Converter:
    """One schema's named types (records, enums, fixed) by full name, as Avro resolves references."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}  # full name -> its definition (parsed JSON) and namespace
        self.converted: dict[str, str] = {}  # full name -> Flink type text (no nullability)
        self.open: set[str] = set()  # records being converted: a reference to one is a recursive type

    def columns(self, schema: Any) -> list[tuple[str, str]]:
        if not (isinstance(schema, dict) and schema.get("type") in ("record", "error")):
            raise AvroConversionError(f"the schema is {_describe(schema)}, not a record: no columns")
        fields = self._fields(schema, "", "")
        return [(name, base if nullable else f"{base} NOT NULL") for name, base, nullable in fields]

    def _fields(self, record: dict, namespace: str, where: str) -> list[tuple[str, str, bool]]:
        """(name, Flink type without nullability, nullable) per field of a record definition."""
        full, namespace = self._define(record, namespace)
        self.open.add(full)
        fields = record.get("fields")
        if not isinstance(fields, list):
            raise AvroConversionError(f"{where or 'the schema'}: record {full} has no fields list")
        out = []
        for field in fields:
            if not isinstance(field, dict) or not isinstance(field.get("name"), str) or "type" not in field:
                raise AvroConversionError(f"{where or 'the schema'}: record {full}: a field without name or type")
            path = f"{where}.{field['name']}" if where else field["name"]
            base, nullable = self._nullable(field["type"], namespace, path)
            out.append((field["name"], base, nullable))
        self.open.discard(full)
        return out

    def _define(self, named: dict, namespace: str) -> tuple[str, str]:
        """Register a named type: (its full name, the namespace its own definitions live in)."""
        name = named.get("name")
        if not isinstance(name, str) or not name:
            raise AvroConversionError(f"a {named.get('type')} without a name: {json.dumps(named)[:200]}")
        if "." in name:
            full = name
        else:
            space = named.get("namespace", namespace)
            full = f"{space}.{name}" if space else name
        self.named[full] = (named, full.rpartition(".")[0])
        return full, full.rpartition(".")[0]

    def _nullable(self, avro: Any, namespace: str, where: str) -> tuple[str, bool]:
        """A field's (or an element's, a value's) type and whether it may be null: ["null", T] is T nullable."""
        if isinstance(avro, list):
            others = [b for b in avro if b != "null" and not (isinstance(b, dict) and b.get("type") == "null")]
            if len(others) > 1:
                raise AvroConversionError(
                    f"field {where}: the union {json.dumps(avro)} has {len(others)} non-null types: no Flink "
                    'column type holds it (a column reads a union only as ["null", T])'
                )
            if not others:
                raise AvroConversionError(f"field {where}: the union {json.dumps(avro)} is always null: no column type")
            return self._plain(others[0], namespace, where), len(others) < len(avro)
        if avro == "null" or (isinstance(avro, dict) and avro.get("type") == "null"):
            raise AvroConversionError(f"field {where}: type null is always null: no column type")
        return self._plain(avro, namespace, where), False

    def _plain(self, avro: Any, namespace: str, where: str) -> str:
        if isinstance(avro, str):
            if avro in PRIMITIVES:
                return PRIMITIVES[avro]
            return self._reference(avro, namespace, where)
        if isinstance(avro, list):
            raise AvroConversionError(f"field {where}: a union inside a union ({json.dumps(avro)}) is not Avro")
        if not isinstance(avro, dict) or "type" not in avro:
            raise AvroConversionError(f"field {where}: {json.dumps(avro)[:200]} is not an Avro type")
        kind = avro["type"]
        if not isinstance(kind, str):  # {"type": {...}} or {"type": [...]}: the inner schema
            base, nullable = self._nullable(kind, namespace, where)
            if nullable:
                raise AvroConversionError(f"field {where}: a nullable union nested in {json.dumps(avro)[:200]}")
            return base
        logical = avro.get("logicalType")
        if logical == "decimal" and kind in ("bytes", "fixed"):
            decimal = self._decimal(avro, where)
            if kind == "fixed":
                self._define(avro, namespace)
            if decimal:
                return decimal
        if logical in UNMAPPED_LOGICAL and kind in ("int", "long"):
            raise AvroConversionError(f"field {where}: logicalType {logical}: {UNMAPPED_LOGICAL[logical]}")
        if logical in LOGICAL and kind in LOGICAL[logical][0]:
            return LOGICAL[logical][1]
        if kind in PRIMITIVES:
            return PRIMITIVES[kind]
        if kind in ("record", "error"):
            full = self._name_of(avro, namespace)
            if full in self.converted:  # the same definition again (a writer may repeat it)
                return self.converted[full]
            fields = self._fields(avro, namespace, where)
            text = "ROW<" + ", ".join(f"{_row_field(n)} {_nullity(b, nl)}" for n, b, nl in fields) + ">"
            self.converted[full] = text
            return text
        if kind == "enum":
            self._define(avro, namespace)
            return "STRING"
        if kind == "fixed":
            self._define(avro, namespace)
            return "BYTES"
        if kind == "array":
            return f"ARRAY<{_nullity(*self._nullable(avro.get('items'), namespace, f'{where}[]'))}>"
        if kind == "map":
            return f"MAP<STRING, {_nullity(*self._nullable(avro.get('values'), namespace, where + '{}'))}>"
        return self._reference(kind, namespace, where)

    def _name_of(self, named: dict, namespace: str) -> str:
        name = str(named.get("name", ""))
        space = named.get("namespace", namespace)
        return name if "." in name or not space else f"{space}.{name}"

    def _decimal(self, avro: dict, where: str) -> str | None:
        """DECIMAL(p, s), or None for a decimal the Avro specification calls invalid (then it is bytes)."""
        precision, scale = avro.get("precision"), avro.get("scale", 0)
        if not isinstance(precision, int) or not isinstance(scale, int) or precision < 1 or not 0 <= scale <= precision:
            return None
        if precision > MAX_DECIMAL_PRECISION:
            raise AvroConversionError(
                f"field {where}: decimal precision {precision}: Flink's DECIMAL holds at most {MAX_DECIMAL_PRECISION}"
            )
        return f"DECIMAL({precision}, {scale})"

    def _reference(self, name: str, namespace: str, where: str) -> str:
        """A named type used by its name: defined earlier in the schema (as Avro requires)."""
        candidates = [name] if "." in name else ([f"{namespace}.{name}"] if namespace else []) + [name]
        for full in candidates:
            if full in self.open:
                raise AvroConversionError(f"field {where}: record {full} contains itself: no Flink type is recursive")
            if full in self.named:
                definition, space = self.named[full]
                if definition.get("type") in ("record", "error"):
                    return self.converted.get(full) or self._plain(definition, space, where)
                return self._plain(definition, space, where)
        raise AvroConversionError(f"field {where}: unknown type {name!r} (not a primitive, nor defined before)")


def _nullity(base: str, nullable: bool) -> str:
    return base if nullable else f"{base} NOT NULL"


def _row_field(name: str) -> str:
    """A ROW field name as Flink's type parser reads it: quoted when it is one of its keywords."""
    return f"`{name}`" if name.upper() in KEYWORDS or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) else name


def _describe(schema: Any) -> str:
    if isinstance(schema, dict):
        return f"a {schema.get('type')}"
    if isinstance(schema, list):
        return "a union"
    return repr(schema)


# --- the registries ------------------------------------------------------------------------------


def fetch_confluent(url: str, user_info: str | None, subject: str, version: str) -> Fetched:
    """GET /subjects/{subject}/versions/{version} of a Confluent-compatible registry (Basic auth)."""
    path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions/{version}"
    request = urllib.request.Request(
        url.rstrip("/") + path, headers={"Accept": "application/vnd.schemaregistry.v1+json, application/json"}
    )
    if user_info:
        request.add_header("Authorization", "Basic " + base64.b64encode(user_info.encode()).decode())
    where = f"confluent subject '{subject}' version {version} at {url}"
    try:
        with urllib.request.urlopen(request, timeout=REGISTRY_TIMEOUT_S) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            detail = json.loads(raw)
            code, message = detail.get("error_code"), detail.get("message")
        except ValueError:
            code, message = None, raw.decode(errors="replace")[:300]
        if error.code == 404:
            raise Refused(f"{where}: the registry does not have it (error_code {code}: {message})") from None
        hint = ": check registry confluent.basic.auth.user.info" if error.code in (401, 403) else ""
        raise RegistryFailed(f"{where}: HTTP {error.code}, error_code {code}: {message}{hint}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise RegistryFailed(f"{where}: {error}") from None
    kind = answer.get("schemaType") or "AVRO"
    if kind != "AVRO":
        raise Refused(f"{where} is a {kind} schema, not Avro")
    return Fetched(
        answer["schema"], int(answer["version"]), f"confluent subject '{subject}' version {answer['version']}"
    )


def fetch_glue(registry: RegistrySettings, registry_name: str, schema_name: str, version: str) -> Fetched:
    """glue:GetSchemaVersion of the schema's latest version or version number N."""
    import boto3
    import botocore.exceptions

    number = {"LatestVersion": True} if version == "latest" else {"VersionNumber": int(version)}
    where = f"glue schema '{schema_name}' of registry '{registry_name}' version {version}"
    try:
        glue = boto3.client("glue", region_name=registry.glue_region, endpoint_url=registry.glue_endpoint)
        found = glue.get_schema_version(
            SchemaId={"RegistryName": registry_name, "SchemaName": schema_name}, SchemaVersionNumber=number
        )
    except botocore.exceptions.NoRegionError:
        raise Refused(f"{where}: no AWS region: set registry glue.region (or $GLUE_REGISTRY_REGION)") from None
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "EntityNotFoundException":
            raise Refused(f"{where}: the registry does not have it ({error})") from None
        raise RegistryFailed(f"{where}: {error}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise RegistryFailed(f"{where}: {error}") from None
    if found.get("DataFormat", "AVRO") != "AVRO":
        raise Refused(f"{where} is a {found['DataFormat']} schema, not Avro")
    if found.get("Status") not in (None, "AVAILABLE"):
        log.warning("%s is %s, not AVAILABLE", where, found["Status"])
    return Fetched(
        found["SchemaDefinition"],
        int(found["VersionNumber"]),
        f"glue schema '{schema_name}' of registry '{registry_name}' version {found['VersionNumber']}",
    )


def fetch(topic: TopicConfig, registry: RegistrySettings, version: str) -> Fetched:
    config = topic.registry
    assert config is not None  # the loader requires it of an Avro topic
    if config.kind == "confluent":
        if not registry.confluent_url:
            raise Refused(
                f"topic {topic.key} reads Avro through a Confluent-compatible registry, and no URL is set: "
                "set registry confluent.url in the runtime properties (or $SCHEMA_REGISTRY_URL)"
            )
        return fetch_confluent(registry.confluent_url, registry.confluent_user_info, config.subject, version)
    return fetch_glue(registry, config.registry_name, config.subject, version)


# --- topics.yaml ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """Where a topic's `schema:` is in topics.yaml's text (0-based lines, inclusive)."""

    first: int  # the `schema:` key's line
    last: int  # the last line of its value
    indent: int  # the key's column
    step: int  # how much deeper its columns are
    columns: dict[str, tuple[list[str], str]]  # old column -> (comment/blank lines before it, its trailing comment)
    key_line: str | None = None  # the `schema:` line as written (a block mapping's, kept with its comment)


LINE = re.compile(r"[^\n]*\n|[^\n]+$")


def find_block(text: str, key: str) -> Block | None:
    """The topic's `schema:` in the text, or None when the topic is not written in block style."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    node = _mapping_value(root, "kafka_topics")
    topic = _mapping_value(node, key)
    if not isinstance(topic, yaml.MappingNode) or topic.flow_style:
        return None
    lines = LINE.findall(text)
    for key_node, value in topic.value:
        if key_node.value != "schema":
            continue
        first = key_node.start_mark.line
        indent = key_node.start_mark.column
        if lines[first][:indent].strip():
            return None
        last = value.end_mark.line - (1 if value.end_mark.column == 0 and value.end_mark.line > first else 0)
        if isinstance(value, yaml.ScalarNode) and value.value == "":
            last = first  # nothing written: an empty scalar's mark is where the next token starts
        if not isinstance(value, yaml.MappingNode) or value.flow_style or not value.value:
            return Block(first, max(first, last), indent, DEFAULT_STEP, {})
        columns: dict[str, tuple[list[str], str]] = {}
        previous = first
        for column_key, column_value in value.value:
            start, end = column_key.start_mark.line, column_value.end_mark.line
            if column_value.end_mark.column == 0 and end > start:
                end -= 1
            before = lines[previous + 1 : start]
            tail = (
                lines[end][column_value.end_mark.column :].rstrip("\r\n") if end == column_value.end_mark.line else ""
            )
            columns[str(column_key.value)] = (before, tail if "#" in tail else "")
            previous = end
        step = value.value[0][0].start_mark.column - indent
        key_line = lines[first].rstrip("\r\n")
        return Block(first, previous, indent, step if step > 0 else DEFAULT_STEP, columns, key_line)
    return None


def _mapping_value(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    return None


def block_lines(columns: list[tuple[str, str]], indent: int, step: int, old: Block | None = None) -> list[str]:
    """The `schema:` block, one line each (no line ends); the comments of the old block's columns
    that stay go with them."""
    lines = [old.key_line if old is not None and old.key_line else " " * indent + "schema:"]
    for name, flink_type in columns:
        before, tail = old.columns.get(name, ([], "")) if old is not None else ([], "")
        lines += [line.rstrip("\r\n") for line in before]
        lines.append(f"{' ' * (indent + step)}{_yaml_key(name)}: {_yaml_value(flink_type)}{tail}")
    return lines


def _yaml_key(name: str) -> str:
    """A column name that YAML reads as that text (on, yes, null... would be read as other values)."""
    return name if yaml.safe_load(f"{name}: x") == {name: "x"} else json.dumps(name)


def _yaml_value(text: str) -> str:
    return text if yaml.safe_load(f"k: {text}") == {"k": text} else json.dumps(text)


def splice(text: str, block: Block, new_lines: list[str]) -> str:
    """The text with the block's lines replaced by ``new_lines``; every other byte as it was."""
    lines = LINE.findall(text)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    ending = lines[block.last][len(lines[block.last].rstrip("\r\n")) :]
    replaced = [line + newline for line in new_lines[:-1]] + [new_lines[-1] + ending]
    return "".join(lines[: block.first] + replaced + lines[block.last + 1 :])


def changes(old: tuple[tuple[str, str], ...], new: list[tuple[str, str]]) -> list[str]:
    """What a reader of the diff needs: columns added, removed, retyped (Flink's canonical spelling
    compared, so INTEGER and INT are the same), and whether the order changed."""
    before = {c: parse_type(t).text for c, t in old}
    after = {c: parse_type(t).text for c, t in new}
    lines = [f"  added:   {c} {t}" for c, t in after.items() if c not in before]
    lines += [f"  removed: {c} {t}" for c, t in before.items() if c not in after]
    lines += [f"  retyped: {c} {before[c]} -> {t}" for c, t in after.items() if c in before and before[c] != t]
    kept_before = [c for c in before if c in after]
    kept_after = [c for c in after if c in before]
    if kept_before != kept_after:
        lines.append(f"  order:   {', '.join(kept_after)} (the writer's field order)")
    return lines


def check_event_time(topic: TopicConfig, columns: list[tuple[str, str]]) -> None:
    field = topic.event_time.field
    types = dict(columns)
    if field not in types:
        raise Refused(
            f"topic {topic.key}: the registry's schema has no field '{field}', the topic's event_time.field: "
            "the topic would have no event time (change event_time.field first, or keep the field in the writer)"
        )
    root = parse_type(types[field]).root
    if root not in EVENT_TIME_ROOTS:
        raise Refused(
            f"topic {topic.key}: event_time.field '{field}' would be {types[field]}, not BIGINT, TIMESTAMP or "
            "TIMESTAMP_LTZ: no watermark possible"
        )


def check_loads(config_dir: Path, environment: str | None, topics_text: str, what: str) -> dict[str, TopicConfig]:
    """Load ``topics_text`` as topics.yaml (with the config's overlays) with the project's loader."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / TOPICS_FILE).write_text(topics_text, encoding="utf-8")
        if (config_dir / OVERLAYS_DIR).is_dir():
            shutil.copytree(config_dir / OVERLAYS_DIR, folder / OVERLAYS_DIR)
        try:
            return load_topics(folder, environment)
        except ConfigError as exc:
            problem = str(exc).replace(str(folder / TOPICS_FILE), TOPICS_FILE)
            raise Refused(f"{what} does not load: {problem}") from None


def with_block(text: str, key: str, printed: list[str]) -> str:
    """topics.yaml's data with the topic's schema replaced by the printed block, as YAML."""
    data = yaml.safe_load(text)
    data["kafka_topics"][key]["schema"] = yaml.safe_load(textwrap.dedent("\n".join(printed)))["schema"]
    return yaml.safe_dump(data, sort_keys=False)


def write_text(path: Path, text: str) -> None:
    """Replace the file at once (a reader never sees half of it), its mode kept."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", dir=path.parent, delete=False) as out:
        out.write(text)
    shutil.copymode(path, out.name)
    os.replace(out.name, path)


# --- the command ---------------------------------------------------------------------------------


def version_argument(text: str) -> str:
    if text == "latest" or (text.isdigit() and int(text) >= 1):
        return text if text == "latest" else str(int(text))
    raise argparse.ArgumentTypeError(f"'{text}' is not latest or a version number (1, 2, ...)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="registry-schema",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("topic", metavar="TOPIC_KEY", help="the Avro topic's key in topics.yaml, e.g. bids_avro")
    parser.add_argument(
        "--version",
        type=version_argument,
        default="latest",
        metavar="latest|N",
        help="latest (default) or a version number N",
    )
    parser.add_argument("--config-dir", type=Path, default=CONFIG_DIR, metavar="DIR", help="folder with topics.yaml")
    parser.add_argument("--properties", metavar="FILE", help="runtime properties JSON (as streaming_job.py)")
    parser.add_argument(
        "--write", action="store_true", help="replace the topic's schema: block in topics.yaml and say what changed"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    path = args.config_dir / TOPICS_FILE
    try:
        settings = load_settings(args.properties)
        topics = load_topics(args.config_dir, settings.environment)
        topic = topics.get(args.topic)
        if topic is None:
            raise Refused(
                f"'{args.topic}' is not a topic of {path}{did_you_mean(args.topic, topics)} "
                f"(valid: {', '.join(topics)})"
            )
        if topic.format != AVRO:
            raise Refused(f"topic {topic.key} is format {topic.format}: only an Avro topic has a schema registry")
        fetched = fetch(topic, settings.kafka.registry, args.version)
        log.info("read %s", fetched.where)
        try:
            schema = json.loads(fetched.text)
        except ValueError as exc:
            raise Refused(f"{fetched.where} is not JSON: {exc}") from None
        try:
            columns = avro_columns(schema)
        except AvroConversionError as exc:
            raise Refused(f"{fetched.where}: {exc}") from None
        check_event_time(topic, columns)
        text = path.open(encoding="utf-8", newline="").read()
        block = find_block(text, topic.key)
        indent, step = (block.indent, block.step) if block else (DEFAULT_INDENT, DEFAULT_STEP)
        printed = block_lines(columns, indent, step)
        check_loads(args.config_dir, settings.environment, with_block(text, topic.key, printed), "the printed block")
        if not args.write:
            sys.stdout.write("\n".join(printed) + "\n")
        else:
            if block is None:
                raise Refused(
                    f"topic {topic.key} of {path} is not written in block style: paste the printed block instead"
                )
            new_text = splice(text, block, block_lines(columns, indent, step, block))
            loaded = check_loads(args.config_dir, settings.environment, new_text, f"{path} with the new block")
            assert [(c, parse_type(t).text) for c, t in loaded[topic.key].schema] == [
                (c, parse_type(t).text) for c, t in columns
            ]
            diff = changes(topic.schema, columns)
            if not diff:
                sys.stdout.write(f"{path}: topic {topic.key}'s schema is already {fetched.where}: unchanged\n")
            else:
                write_text(path, new_text)
                sys.stdout.write(f"{path}: topic {topic.key}'s schema is now {fetched.where}:\n")
                sys.stdout.write("\n".join(diff) + "\n")
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT
    except Refused as exc:
        log.error("%s", exc)
        return ExitCode.BAD_INPUT
    except RegistryFailed as exc:
        log.error("the schema registry could not be read: %s", exc)
        return ExitCode.FAILED
    return ExitCode.OK


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
