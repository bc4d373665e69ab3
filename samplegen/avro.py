"""Avro records for Kafka: the binary encoding, the framing of the two schema registries, and
registering a schema with either (what a producer of Avro topics needs).

- Confluent's wire format: byte 0 is the magic byte 0, bytes 1-4 the schema's global id
  (big-endian), then the Avro binary of the record.
- AWS Glue Schema Registry's: byte 0 is the header version 3, byte 1 the compression (0 none,
  5 zlib), bytes 2-17 the schema version's UUID (most significant 8 bytes first), then the Avro
  binary, zlib-compressed (a zlib stream, as java.util.zip.Deflater writes) when byte 1 is 5.

A topic's writer's schema (``writer_schema``: its declared columns in the job's Avro mapping,
src/main/java/mskiceberg/streaming/format/AvroColumns.java) and its generated records as fastavro
wants them (``record_converter``); a Debezium Avro topic's is the change event's envelope around
that record (``envelope_schema``, ``envelope_converter``).
``avro_writers`` registers each such topic's schema with its registry and gives the ``AvroWriter``
that frames its values (and makes its malformed ones), what sample_gen sends for a topic of
format avro or debezium-avro.

fastavro and boto3 are imported inside the functions that use them, so importing this module
(and sample_gen.py --help) loads neither.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import io
import json
import logging
import os
import random
import re
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from typing import Any, Callable, Iterable, Mapping

from common.errors import ConfigError
from common.load.config import CDC_FORMATS, REGISTRY_FORMATS, TopicConfig
from common.load.flink_types import FlinkType, parse_type
from common.load.properties import RegistrySettings

log = logging.getLogger(__name__)

CONFLUENT_MAGIC_BYTE = 0
# The Glue format's constants, as awslabs/aws-glue-schema-registry writes them:
# common/src/main/java/com/amazonaws/services/schemaregistry/utils/AWSSchemaRegistryConstants.java
# (HEADER_VERSION_BYTE, COMPRESSION_BYTE, COMPRESSION_DEFAULT_BYTE, SCHEMA_VERSION_ID_SIZE) and
# serializer-deserializer/src/main/java/com/amazonaws/services/schemaregistry/serializers/SerializationDataEncoder.java
# (version byte, compression byte, the UUID's two longs big-endian, then the data; zlib through
# common/.../GlueSchemaRegistryCompressionHandler.java, a default java.util.zip.Deflater).
GLUE_HEADER_VERSION_BYTE = 3
GLUE_COMPRESSION_NONE = 0
GLUE_COMPRESSION_ZLIB = 5
GLUE_AVAILABLE_TIMEOUT_S = 30.0


def confluent_frame(schema_id: int, payload: bytes) -> bytes:
    """A record in Confluent's wire format: magic byte, 4-byte schema id, Avro binary."""
    if not 0 <= schema_id <= 2**31 - 1:
        raise ValueError(f"a Confluent schema id is a non-negative 32-bit int, not {schema_id}")
    return struct.pack(">bI", CONFLUENT_MAGIC_BYTE, schema_id) + payload


def glue_frame(version_id: uuid.UUID, payload: bytes, compress: bool = False) -> bytes:
    """A record in AWS Glue Schema Registry's wire format (see the module docstring)."""
    compression = GLUE_COMPRESSION_ZLIB if compress else GLUE_COMPRESSION_NONE
    body = zlib.compress(payload) if compress else payload
    return bytes([GLUE_HEADER_VERSION_BYTE, compression]) + version_id.bytes + body


@functools.lru_cache(maxsize=64)
def _parsed_schema(schema_json: str) -> Any:
    from fastavro import parse_schema

    return parse_schema(json.loads(schema_json))


def avro_binary(schema: dict, record: dict) -> bytes:
    """The Avro binary encoding of ``record`` (no container, no framing); the parsed schema is cached."""
    from fastavro import schemaless_writer

    out = io.BytesIO()
    schemaless_writer(out, _parsed_schema(json.dumps(schema, sort_keys=True)), record)
    return out.getvalue()


class RegistryError(RuntimeError):
    """A schema registry refused or could not be reached."""


class ConfluentRegistry:
    """Registers schemas with a Confluent-compatible registry over its REST API (v1)."""

    def __init__(self, url: str, user_info: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._auth = "Basic " + base64.b64encode(user_info.encode()).decode() if user_info else None

    def register(self, subject: str, schema: dict) -> int:
        """The global id of ``schema`` under ``subject`` (registered if new; the registry checks compatibility)."""
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions"
        answer = self._post(path, {"schema": json.dumps(schema)}, f"registering subject {subject!r}")
        return int(answer["id"])

    def _post(self, path: str, body: dict, what: str) -> dict:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/vnd.schemaregistry.v1+json",
                "Accept": "application/vnd.schemaregistry.v1+json, application/json",
            },
        )
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                detail = json.loads(raw)
                code, message = detail.get("error_code"), detail.get("message")
            except ValueError:
                code, message = None, raw.decode(errors="replace")[:500]
            raise RegistryError(
                f"schema registry {self.url}: {what} failed: HTTP {error.code}, error_code {code}: {message}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise RegistryError(f"schema registry {self.url}: {what} failed: {error}") from None


class GlueRegistry:
    """Registers Avro schemas with AWS Glue Schema Registry (or moto's, through ``endpoint_url``)."""

    def __init__(self, registry_name: str, region: str, endpoint_url: str | None = None) -> None:
        self.registry_name = registry_name
        self.region = region
        self.endpoint_url = endpoint_url
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("glue", region_name=self.region, endpoint_url=self.endpoint_url)
        return self._client

    def register(self, schema_name: str, schema: dict) -> uuid.UUID:
        """The schema version id of ``schema`` under ``schema_name``: the schema is created (AVRO,
        BACKWARD) when missing, an existing version is found by its definition, else a new one is
        registered and awaited until AVAILABLE (Glue checks compatibility meanwhile)."""
        glue = self.client()
        definition = json.dumps(schema, separators=(",", ":"))  # one text per schema: Glue matches definitions
        self._ensure_registry(glue)
        schema_id = {"RegistryName": self.registry_name, "SchemaName": schema_name}
        try:
            created = glue.create_schema(
                RegistryId={"RegistryName": self.registry_name},
                SchemaName=schema_name,
                DataFormat="AVRO",
                Compatibility="BACKWARD",
                SchemaDefinition=definition,
            )
            return self._available(glue, created["SchemaVersionId"], created.get("SchemaVersionStatus"))
        except glue.exceptions.AlreadyExistsException:
            pass
        try:
            found = glue.get_schema_by_definition(SchemaId=schema_id, SchemaDefinition=definition)
            return self._available(glue, found["SchemaVersionId"], found.get("Status"))
        except glue.exceptions.EntityNotFoundException:
            pass
        registered = glue.register_schema_version(SchemaId=schema_id, SchemaDefinition=definition)
        return self._available(glue, registered["SchemaVersionId"], registered.get("Status"))

    def _ensure_registry(self, glue: Any) -> None:
        try:
            glue.get_registry(RegistryId={"RegistryName": self.registry_name})
        except glue.exceptions.EntityNotFoundException:
            try:
                glue.create_registry(RegistryName=self.registry_name)
            except glue.exceptions.AlreadyExistsException:
                pass  # created meanwhile by another producer

    def _available(self, glue: Any, version_id: str, status: str | None) -> uuid.UUID:
        """Wait out PENDING (Glue checks compatibility asynchronously); FAILURE means incompatible."""
        deadline = time.monotonic() + GLUE_AVAILABLE_TIMEOUT_S
        while status not in (None, "AVAILABLE"):
            if status != "PENDING":
                raise RegistryError(f"Glue schema version {version_id} in {self.registry_name} is {status}")
            if time.monotonic() > deadline:
                raise RegistryError(f"Glue schema version {version_id} still PENDING after {GLUE_AVAILABLE_TIMEOUT_S}s")
            time.sleep(0.5)
            status = glue.get_schema_version(SchemaVersionId=version_id)["Status"]
        return uuid.UUID(version_id)


# --- the writer's schema of a topic, and its values ------------------------------------------------

AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
EPOCH_NAIVE = dt.datetime(1970, 1, 1)
_DECIMALS = decimal.Context(prec=80)  # wider than DECIMAL(38, s): quantize never runs out of digits
# A Confluent schema id no registry hands out (they count up from 1): the "unknown schema" malformed record.
UNKNOWN_CONFLUENT_ID = 2**31 - 1
# --malformed-kinds as they apply to an Avro topic: the JSON kinds' counterparts in its wire format,
# each one a dead letter of the job's registry-avro decoder (and named so in the manifest).
AVRO_MALFORMED = {
    "bad_json": "not_wire_format",  # the record as JSON, unframed: a JSON producer on an Avro topic
    "wrong_type": "unknown_schema",  # framed with a schema id / version the registry does not have
    "missing_field": "cut_short",  # the right frame, the Avro binary cut short
}


class AvroTypeError(ValueError):
    """A declared column the job's Avro mapping has no schema for (so no writer can match it)."""


def writer_schema(topic: TopicConfig) -> dict:
    """The Avro record schema a producer of ``topic`` writes: its declared columns in the job's
    Avro mapping of Flink SQL types (its registry-avro reader schema, AvroColumns.java), so the
    job's reader schema (the same columns, converted the same way) resolves it field for field,
    and registry-schema (scripts/registry_schema.py) reads the same columns back from it.

    BOOLEAN boolean; TINYINT/SMALLINT/INT int; BIGINT long; FLOAT float; DOUBLE double; CHAR/
    VARCHAR/STRING string; BINARY/VARBINARY/BYTES bytes; DECIMAL(p, s) bytes, logicalType decimal;
    DATE int date; TIME(p <= 3) int time-millis; timestamps as Avro means them: TIMESTAMP(p) (a
    wall-clock time) long local-timestamp-millis (p <= 3) or local-timestamp-micros (p <= 6),
    TIMESTAMP_LTZ(p) (an instant) long timestamp-millis (p <= 3) or timestamp-micros (p <= 6)
    (not flink-avro's legacy mapping, which writes timestamp-* for both); ARRAY array;
    MAP<string type, V> and MULTISET<string type> map; ROW record. A nullable type (every type not
    NOT NULL, array elements and map values included) is ["null", T]; a nullable field has the
    default null. The record is named after the topic key, a nested ROW after its path
    (``<parent>_<field>``, as Flink names them), made unique within the schema. Raises
    AvroTypeError for a type Flink maps to no Avro schema (TIME(p > 3), TIMESTAMP(p > 6),
    INTERVAL, WITH TIME ZONE, a MAP key that is not text).
    """
    columns = tuple((name, parse_type(text)) for name, text in topic.schema)
    return _record(_name(topic.key), columns, set(), f"topic {topic.key}")


ENVELOPE, ENVELOPE_VALUE, ENVELOPE_SOURCE = "Envelope", "Value", "Source"


def envelope_schema(topic: TopicConfig) -> dict:
    """The writer's schema of a Debezium Avro topic's change events, as Debezium's Avro converter
    shapes it: record ``<topic key>.Envelope`` with ``before`` and ``after`` ["null", Value] (Value:
    the topic's columns as ``writer_schema`` maps them, nested ROWs named ``Value_<field>``...),
    ``source`` a small record (connector, ts_ms), ``op`` string and ``ts_ms`` ["null", "long"]. The
    job's reader resolves it into before/after/op/ts_ms (source skipped); names do not matter there.
    """
    columns = tuple((name, parse_type(text)) for name, text in topic.schema)
    value = _record(ENVELOPE_VALUE, columns, {ENVELOPE, ENVELOPE_SOURCE}, f"topic {topic.key}")
    source = {
        "type": "record",
        "name": ENVELOPE_SOURCE,
        "fields": [{"name": "connector", "type": "string"}, {"name": "ts_ms", "type": "long"}],
    }
    return {
        "type": "record",
        "name": ENVELOPE,
        "namespace": _name(topic.key),
        "fields": [
            {"name": "before", "type": ["null", value], "default": None},
            {"name": "after", "type": ["null", ENVELOPE_VALUE], "default": None},
            {"name": "source", "type": source},
            {"name": "op", "type": "string"},
            {"name": "ts_ms", "type": ["null", "long"], "default": None},
        ],
    }


def value_schema(topic: TopicConfig) -> dict:
    """The writer's schema of a topic written through a registry: its record, or for a CDC topic the envelope."""
    return envelope_schema(topic) if topic.format in CDC_FORMATS else writer_schema(topic)


def _name(text: str) -> str:
    """An Avro name made of ``text``: other characters become _, a leading digit gets a _."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if AVRO_NAME.match(name) else f"_{name}"


def _record(name: str, fields: tuple[tuple[str, FlinkType], ...], names: set[str], where: str) -> dict:
    unique, n = name, 1
    while unique in names:
        n += 1
        unique = f"{name}_{n}"
    names.add(unique)
    out = []
    for field, ftype in fields:
        if not AVRO_NAME.match(field):
            raise AvroTypeError(
                f"{where}.{field}: not an Avro field name (letters, digits and _, not starting with a digit)"
            )
        entry: dict[str, Any] = {
            "name": field,
            "type": _avro_type(ftype, f"{unique}_{field}", names, f"{where}.{field}"),
        }
        if ftype.nullable:
            entry["default"] = None
        out.append(entry)
    return {"type": "record", "name": unique, "fields": out}


def _avro_type(ftype: FlinkType, row_name: str, names: set[str], where: str) -> Any:
    plain = _plain_type(ftype, row_name, names, where)
    return ["null", plain] if ftype.nullable else plain


def _plain_type(ftype: FlinkType, row_name: str, names: set[str], where: str) -> Any:
    root = ftype.root
    if root in PRIMITIVES:
        return PRIMITIVES[root]
    if root == "DECIMAL":
        precision, scale = ftype.decimal
        return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": scale}
    if root == "DATE":
        return {"type": "int", "logicalType": "date"}
    if root == "TIME":
        if ftype.precision > 3:
            raise AvroTypeError(
                f"{where}: {ftype.text}: the job's Avro mapping has TIME up to precision 3 (time-millis)"
            )
        return {"type": "int", "logicalType": "time-millis"}
    if root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        if ftype.precision > 6:
            raise AvroTypeError(
                f"{where}: {ftype.text}: the job's Avro mapping has timestamps up to precision 6 (micros)"
            )
        unit = "millis" if ftype.precision <= 3 else "micros"
        kind = "local-timestamp" if root == "TIMESTAMP" else "timestamp"  # a wall-clock time; an instant
        return {"type": "long", "logicalType": f"{kind}-{unit}"}
    if root == "ARRAY":
        return {"type": "array", "items": _avro_type(ftype.children[0][1], row_name, names, f"{where}[]")}
    if root in ("MAP", "MULTISET"):
        key = ftype.children[0][1]
        if not key.is_string:
            raise AvroTypeError(f"{where}: {ftype.text}: an Avro map's keys are strings, so the key type must be text")
        values = _avro_type(ftype.children[1][1], row_name, names, f"{where}{{}}") if root == "MAP" else ["null", "int"]
        return {"type": "map", "values": values}
    if root == "ROW":
        return _record(row_name, ftype.children, names, where)
    raise AvroTypeError(f"{where}: {ftype.text}: the job's Avro mapping has no schema for {root}")


PRIMITIVES = {
    "BOOLEAN": "boolean",
    "TINYINT": "int",
    "SMALLINT": "int",
    "INT": "int",
    "BIGINT": "long",
    "FLOAT": "float",
    "DOUBLE": "double",
    "CHAR": "string",
    "VARCHAR": "string",
    "STRING": "string",
    "BINARY": "bytes",
    "VARBINARY": "bytes",
    "BYTES": "bytes",
}


Convert = Callable[[Any], Any]


def record_converter(columns: tuple[tuple[str, FlinkType], ...]) -> Callable[[dict], dict]:
    """A function from a generated record (Flink's JSON format: samplegen.schema) to the values
    fastavro writes for ``writer_schema``: DECIMAL a Decimal of the column's scale, BINARY the
    bytes, DATE days since the epoch, TIME millis of the day, TIMESTAMP the wall-clock epoch
    millis or micros of its naive datetime (local-timestamp-*), TIMESTAMP_LTZ the epoch millis or
    micros of its UTC instant (timestamp-*), by precision; the rest as they are; None stays None."""
    converters = [(name, _converter(ftype)) for name, ftype in columns]
    changed = [(name, convert) for name, convert in converters if convert is not None]
    if not changed:
        return dict

    def convert_record(record: dict) -> dict:
        out = dict(record)
        for name, convert in changed:
            value = out.get(name)
            if value is not None:
                out[name] = convert(value)
        return out

    return convert_record


def envelope_converter(columns: tuple[tuple[str, FlinkType], ...]) -> Callable[[dict], dict]:
    """``record_converter`` for the row images of a change event (samplegen.cdc), for ``envelope_schema``."""
    convert_row = record_converter(columns)

    def convert_envelope(change: dict) -> dict:
        out = dict(change)
        for image in ("before", "after"):
            if out.get(image) is not None:
                out[image] = convert_row(out[image])
        return out

    return convert_envelope


def _converter(ftype: FlinkType) -> Convert | None:
    """How one value of ``ftype`` becomes fastavro's (never given None); None: as it is."""
    root = ftype.root
    if root in ("FLOAT", "DOUBLE"):
        return float
    if root == "DECIMAL":
        quantum = decimal.Decimal(1).scaleb(-ftype.decimal[1])
        return lambda v: _DECIMALS.quantize(decimal.Decimal(str(v)), quantum)
    if root in ("BINARY", "VARBINARY", "BYTES"):
        return lambda v: base64.b64decode(v) if isinstance(v, str) else bytes(v)
    if root == "DATE":
        return lambda v: dt.date.fromisoformat(v).toordinal() - EPOCH_DAY if isinstance(v, str) else v
    if root == "TIME":
        return _time_millis
    if root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        unit = dt.timedelta(milliseconds=1) if ftype.precision <= 3 else dt.timedelta(microseconds=1)
        epoch = _local_epoch if root == "TIMESTAMP" else _instant_epoch
        return lambda v: epoch(v, unit) if isinstance(v, str) else v
    if root == "ARRAY":
        element = _converter(ftype.children[0][1])
        if element is None:
            return None
        return lambda v: [None if x is None else element(x) for x in v]
    if root == "MAP":
        value = _converter(ftype.children[1][1])
        if value is None:
            return None
        return lambda v: {k: None if x is None else value(x) for k, x in v.items()}
    if root == "ROW":
        convert_row = record_converter(ftype.children)
        return None if convert_row is dict else convert_row
    return None


def _time_millis(value: Any) -> Any:
    """'12:00:00' / '12:00:00.123' -> millis of the day."""
    if not isinstance(value, str):
        return value
    moment = dt.time.fromisoformat(value)
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1000 + moment.microsecond // 1000


def _local_epoch(text: str, unit: dt.timedelta) -> int:
    """A TIMESTAMP's '2026-01-01 12:00:00.123', a wall-clock time (no zone) -> its local-timestamp
    long: the time since 1970-01-01 00:00:00 on the same clock, in ``unit``."""
    return (dt.datetime.fromisoformat(text) - EPOCH_NAIVE) // unit


def _instant_epoch(text: str, unit: dt.timedelta) -> int:
    """A TIMESTAMP_LTZ's '2026-01-01 12:00:00.123Z', an instant in UTC -> its timestamp long: the
    time since the Unix epoch, in ``unit``."""
    moment = dt.datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=dt.timezone.utc)
    return (moment - EPOCH) // unit


# --- producing an Avro topic -----------------------------------------------------------------------


class AvroWriter:
    """How one Avro topic's values are written (a samplegen.model.ValueWriter): a generated record
    converted for ``writer_schema`` (a Debezium Avro topic's: a change event for ``envelope_schema``),
    its Avro binary framed with the schema's registry id (a Confluent schema id, or a Glue schema
    version's UUID, uncompressed)."""

    def __init__(self, topic: TopicConfig, schema: dict, writer_id: int | uuid.UUID) -> None:
        from fastavro import parse_schema, schemaless_writer

        self.topic = topic.key
        self.schema = schema
        self.writer_id = writer_id
        columns = tuple((name, parse_type(text)) for name, text in topic.schema)
        self.convert = envelope_converter(columns) if topic.format in CDC_FORMATS else record_converter(columns)
        self._parsed = parse_schema(schema)
        self._write = schemaless_writer

    def frame(self, payload: bytes, writer_id: int | uuid.UUID | None = None) -> bytes:
        """``payload`` in the registry's wire format, naming ``writer_id`` (default: the schema's)."""
        named = self.writer_id if writer_id is None else writer_id
        if isinstance(named, uuid.UUID):
            return glue_frame(named, payload)
        return confluent_frame(named, payload)

    def binary(self, record: dict) -> bytes:
        """The Avro binary of a generated record (no framing)."""
        out = io.BytesIO()
        self._write(out, self._parsed, self.convert(record))
        return out.getvalue()

    def encode(self, record: dict) -> bytes:
        return self.frame(self.binary(record))

    def malformed(self, kind: str, record: dict, rng: random.Random) -> tuple[str, bytes]:
        """A value the job's decoder refuses, for a --malformed-kinds kind: (its Avro kind, the bytes)."""
        avro_kind = AVRO_MALFORMED[kind]
        if avro_kind == "not_wire_format":
            return avro_kind, json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        payload = self.binary(record)
        if avro_kind == "cut_short" and payload:  # a record of only empty ROWs has no bytes to cut
            return avro_kind, self.frame(payload[: rng.randrange(len(payload))])
        unknown = uuid.UUID(int=rng.getrandbits(128)) if isinstance(self.writer_id, uuid.UUID) else UNKNOWN_CONFLUENT_ID
        return "unknown_schema", self.frame(payload, unknown)


def glue_region(settings: RegistrySettings, env: Mapping[str, str] = os.environ) -> str | None:
    """The Glue registry's region: the registry property group's, else $AWS_REGION, $AWS_DEFAULT_REGION."""
    return settings.glue_region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def avro_writers(
    topics: Iterable[TopicConfig], settings: RegistrySettings, env: Mapping[str, str] = os.environ
) -> dict[str, AvroWriter]:
    """An AvroWriter per Avro topic of ``topics`` (by key, format avro or debezium-avro): its
    ``value_schema`` registered once with the topic's registry (Confluent: under the topic's subject at ``settings.confluent_url``; Glue:
    as the topic's schema name in its registry_name, in ``glue_region``, at ``glue_endpoint`` if
    set). Raises ConfigError when the registry's URL or region is not set, AvroTypeError for a
    column Avro cannot hold, RegistryError when the registry refuses or cannot be reached."""
    writers: dict[str, AvroWriter] = {}
    confluent: ConfluentRegistry | None = None
    glue: dict[str, GlueRegistry] = {}
    for topic in topics:
        if topic.format not in REGISTRY_FORMATS:
            continue
        assert topic.registry is not None  # the loader requires it for an Avro topic
        schema = value_schema(topic)
        subject = topic.registry.subject
        writer_id: int | uuid.UUID
        if topic.registry.kind == "confluent":
            if not settings.confluent_url:
                raise ConfigError(
                    "application properties",
                    "registry.confluent.url",
                    f"topic {topic.key} is Avro through a Confluent-compatible registry, and no URL is set",
                    "the registry's base URL, e.g. https://registry.example:8081 (or $SCHEMA_REGISTRY_URL)",
                )
            if confluent is None:
                confluent = ConfluentRegistry(settings.confluent_url, settings.confluent_user_info)
            writer_id = confluent.register(subject, schema)
            log.info("topic %s: writer's schema registered as subject %s, schema id %d", topic.key, subject, writer_id)
        else:
            region = glue_region(settings, env)
            if not region:
                raise ConfigError(
                    "application properties",
                    "registry.glue.region",
                    f"topic {topic.key} is Avro through AWS Glue Schema Registry, and no region is set",
                    "an AWS region, e.g. eu-west-1 (or $GLUE_REGISTRY_REGION, $AWS_REGION, $AWS_DEFAULT_REGION)",
                )
            name = topic.registry.registry_name
            if name not in glue:
                glue[name] = GlueRegistry(name, region, settings.glue_endpoint)
            writer_id = glue[name].register(subject, schema)
            log.info(
                "topic %s: writer's schema registered in Glue %s/%s, version %s", topic.key, name, subject, writer_id
            )
        writers[topic.key] = AvroWriter(topic, schema, writer_id)
    return writers
