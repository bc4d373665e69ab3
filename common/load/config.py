"""Load phase: config/topics.yaml + config/transformations.yaml (+ an overlay) -> checked objects.

No PyFlink import and no network here: every error is found before Flink starts, and names
the file, the line, the key path, what was found and what would be valid.

Environments: ``config/overlays/<env>.yaml`` may change, per topic, ``topic_name``,
``consumer_group``, ``startup_mode`` and ``startup_timestamp_ms``; what it sets wins over
topics.yaml. The environment comes from ``$APP_ENV``, else the runtime property ``app.env``
(see common/load/properties.py); without one no overlay is read.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from common.durations import EXAMPLES as DURATION_EXAMPLES
from common.durations import parse_duration_ms
from common.errors import ConfigError, Origin, did_you_mean
from common.load.flink_types import (  # noqa: F401 (re-exported)
    MAX_LENGTH,
    FlinkType,
    FlinkTypeError,
    parse_type,
    split_nullability,
)
from common.load.partitioning import GRAMMAR as PARTITION_GRAMMAR
from common.load.partitioning import (
    PartitionField,
    PartitionFieldError,
    parse_partition_field,
    source_columns,
    spec_problem,
)
from common.load.properties import APP_DIR
from common.load.source_columns import READABLE_TYPES, RESERVED, UNREADABLE_TYPES, VIEW_METADATA
from common.load.sql_pipeline import (
    SOURCES_PREFIX,
    SqlDefinition,
    SqlText,
    SqlTransformer,
    allowed_placeholders,
    placeholders,
    sql_text,
)
from common.load.transformer import BaseTransformer
from common.load.yaml_source import At, boolean, choice, found, items_of, mapping, read_yaml, string

CONFIG_DIR = APP_DIR / "config"
TOPICS_FILE = "topics.yaml"
TRANSFORMATIONS_FILE = "transformations.yaml"
OVERLAYS_DIR = "overlays"
TRANSFORMATIONS_PACKAGE = "transformations"

STARTUP_MODES = ("earliest-offset", "latest-offset", "group-offsets", "timestamp")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDENTIFIER_RULE = "letters, digits and _, not starting with a digit"
KAFKA_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
EVENT_TIME_ROOTS = ("BIGINT", "TIMESTAMP", "TIMESTAMP_LTZ")
WATERMARK_EMIT = ("on-periodic", "on-event")
SOURCE_ADDED_COLUMNS = RESERVED  # the records table adds these itself
TYPE_EXAMPLES = "e.g. STRING, BIGINT, DECIMAL(10, 2), TIMESTAMP(3), TIMESTAMP_LTZ(3), ARRAY<STRING>, ROW<a INT>"

TOPIC_KEYS = {
    "topic_name": True,
    "consumer_group": True,
    "startup_mode": True,
    "startup_timestamp_ms": False,
    "event_time": True,
    "schema": True,
    "enabled": False,
    "metadata": False,
    "format": False,
    "registry": False,
    "primary_key": False,
}
# How a topic's values are written: JSON objects, Avro framed by a schema registry, Debezium
# change events (JSON). Each has its decoder in the job's jar (common/render/kafka_sources.py).
JSON, AVRO, DEBEZIUM_JSON, DEBEZIUM_AVRO = "json", "avro", "debezium-json", "debezium-avro"
FORMATS = (JSON, AVRO, DEBEZIUM_JSON, DEBEZIUM_AVRO)
CDC_FORMATS = (DEBEZIUM_JSON, DEBEZIUM_AVRO)  # change events: keyed, applied to upsert tables
REGISTRY_FORMATS = (AVRO, DEBEZIUM_AVRO)  # written through a schema registry
REGISTRY_TYPES = ("glue", "confluent")
REGISTRY_KEYS = {"type": True, "registry_name": False, "subject": False}
GLUE_DEFAULT_REGISTRY = "default-registry"  # AWS Glue's own default registry name
CDC_EVENT_TIME_FIELD = "ts_ms"  # a Debezium envelope's event time: when the connector read the change
OVERLAY_TOPIC_KEYS = {
    "topic_name": False,
    "consumer_group": False,
    "startup_mode": False,
    "startup_timestamp_ms": False,
}
EVENT_TIME_KEYS = {
    "field": True,
    "max_out_of_orderness": True,
    "emit": False,
    "valid_from": False,
    "valid_until": False,
    "idle_timeout": False,
    "release_after": False,
}
# A partition with no record for this long stops holding the watermark back (0: never).
DEFAULT_IDLE_TIMEOUT_MS = 30_000
# Event times outside [valid_from, valid_until) are dead letters. The defaults catch the usual
# unit mistakes in epoch fields: seconds (1970) and microseconds (year 50000+).
DEFAULT_VALID_FROM = "2000-01-01T00:00:00Z"
DEFAULT_VALID_UNTIL = "2100-01-01T00:00:00Z"
CLASS_ROUTE_KEYS = ("transformer_class", "options")
SQL_ROUTE_KEYS = ("sql", "sql_file", "view_sql", "sink_schema", "partition_by", "primary_key")
PIPELINE_KEYS = {
    "name": True,
    "enabled": False,
    "source_topic": True,
    "source_table": False,
    "additional_sources": False,
    "sink_table": True,
    "description": False,
    **{k: False for k in CLASS_ROUTE_KEYS + SQL_ROUTE_KEYS},
}


@dataclass(frozen=True)
class EventTime:
    """Which field carries event time and how late events may arrive (the watermark delay)."""

    field: str
    field_type: str  # canonical: BIGINT, TIMESTAMP(p), TIMESTAMP_LTZ(p) (+ NOT NULL)
    max_out_of_orderness_ms: int
    emit: str = "on-periodic"  # "on-event": a watermark after every record (exact, slower)
    valid_from: str = DEFAULT_VALID_FROM  # ISO-8601 instant (UTC, Z): earlier event times are dead letters
    valid_until: str = DEFAULT_VALID_UNTIL  # event times at or after it are dead letters
    idle_timeout_ms: int = DEFAULT_IDLE_TIMEOUT_MS  # 0: a quiet partition holds the watermark back forever
    # 0 (default): a topic with nothing written to it holds the windows that read it until it
    # resumes; > 0: after that long its idle partitions follow the job's other topics
    release_after_ms: int = 0


@dataclass(frozen=True)
class RegistryConfig:
    """The schema registry an Avro topic's writers register in. Where it is (URL, region,
    credentials) is a runtime property (common/load/properties.py: RegistrySettings)."""

    kind: str  # "glue" | "confluent"
    registry_name: str  # glue: the registry (default "default-registry"); confluent: unused
    subject: str  # glue: the schema name (default: the topic name); confluent: the subject (default "<topic>-value")


@dataclass(frozen=True)
class TopicConfig:
    key: str
    topic_name: str
    consumer_group: str
    startup_mode: str
    startup_timestamp_ms: int | None
    event_time: EventTime
    schema: tuple[tuple[str, str], ...]  # (column, Flink SQL type as written), in YAML order
    enabled: bool = True
    metadata: tuple[str, ...] = ()  # Kafka metadata in the view pipelines read: VIEW_METADATA keys, in its order
    format: str = JSON  # one of FORMATS
    registry: RegistryConfig | None = None  # avro only
    primary_key: tuple[str, ...] = ()  # debezium-json only: the columns that identify a row

    @property
    def source_table(self) -> str:
        return source_table_name(self.key)


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    enabled: bool
    source_topic: str
    additional_topics: tuple[str, ...]
    sink_table: str
    transformer_class: str | None  # None: a SQL-only pipeline
    description: str
    options: Mapping[str, Any] = field(default_factory=dict)  # passed to the transformer
    sql: SqlDefinition | None = None  # a SQL-only pipeline's definition (None: a class)
    origin: Origin | None = None

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the pipeline reads, primary first."""
        return (self.source_topic, *self.additional_topics)


@dataclass(frozen=True)
class ProjectConfig:
    topics: dict[str, TopicConfig]
    pipelines: tuple[PipelineConfig, ...]  # enabled ones only, in YAML order
    environment: str | None = None  # the overlay applied, if any

    def topics_in_use(self) -> list[TopicConfig]:
        """Topics read by at least one enabled pipeline, in topics.yaml order."""
        used = {t for p in self.pipelines for t in p.topics}
        return [t for k, t in self.topics.items() if k in used]


def source_table_name(topic_key: str) -> str:
    return f"kafka_{topic_key}"


# --- names and types ---------------------------------------------------------------------------------


def _identifier(at: At, value: Any = None) -> str:
    """A name used in SQL (always quoted in generated SQL, so reserved words are fine)."""
    name = string(at) if value is None else str(value)
    if not IDENTIFIER.match(name):
        raise at.error(f"'{name}' is not a safe SQL identifier", IDENTIFIER_RULE)
    return name


def _flink_type(at: At) -> FlinkType:
    if not isinstance(at.value, str) or not at.value.strip():
        raise at.error(f"expected a Flink SQL type, found {found(at.value)}", TYPE_EXAMPLES)
    try:
        return parse_type(at.value)
    except FlinkTypeError as exc:
        raise at.error(f"'{at.value.strip()}' is not a Flink SQL type: {exc}", TYPE_EXAMPLES) from None


def _schema(at: At, reserved: Mapping[str, str] | None = None) -> dict[str, FlinkType]:
    """column: TYPE, in order; `reserved` maps names that may not be used to the reason."""
    if not isinstance(at.value, dict) or not at.value:
        raise at.error(f"expected a non-empty mapping of column: TYPE, found {found(at.value)}")
    schema = {}
    for column in at.value:
        col_at = at.child(column)
        if not isinstance(column, str):
            raise col_at.error(
                f"column name {column!r} is not text (YAML reads on, off, yes, no as true/false "
                "and digits as numbers): quote it"
            )
        name = _identifier(col_at, column)
        if reserved and name in reserved:
            raise col_at.error(reserved[name])
        schema[name] = _flink_type(col_at)
    return schema


def _columns(
    at: At, schema: Mapping[str, Any], what: str, of: str = "a column of the sink", listing: str = "column names"
) -> tuple[str, ...]:
    """A list of columns, each once (a sink's partition_by and primary_key, a CDC topic's primary_key)."""
    columns: list[str] = []
    for item in items_of(at, listing):
        name = string(item)
        if name not in schema:
            raise item.error(f"'{name}' is not {of}{did_you_mean(name, schema)}", ", ".join(schema))
        if name in columns:
            raise item.error(f"'{name}' is listed twice in {what}")
        columns.append(name)
    return tuple(columns)


def _partition_fields(at: At, schema: Mapping[str, FlinkType]) -> tuple[str, ...]:
    """partition_by: columns or Iceberg transforms of them (common/load/partitioning.py), as canonical text."""
    fields: list[PartitionField] = []
    for item in items_of(at, "partition fields"):
        try:
            field = parse_partition_field(string(item))
        except PartitionFieldError as exc:
            raise item.error(str(exc), PARTITION_GRAMMAR) from None
        if field.column not in schema:
            raise item.error(
                f"'{field.column}' is not a column of the sink{did_you_mean(field.column, schema)}", ", ".join(schema)
            )
        problem = field.type_problem(schema[field.column])
        if problem:
            raise item.error(problem)
        problem = spec_problem([*fields, field], schema)
        if problem:
            raise item.error(f"{problem} in partition_by")
        fields.append(field)
    return tuple(f.text for f in fields)


# --- topics ------------------------------------------------------------------------------------------


def _event_time(at: At, schema: Mapping[str, FlinkType], value_format: str = JSON) -> EventTime:
    mapping(at, {**EVENT_TIME_KEYS, "field": value_format not in CDC_FORMATS})
    emit_at = at.child("emit")
    emit = choice(emit_at, WATERMARK_EMIT, "a watermark emit strategy") if emit_at.present else "on-periodic"
    field_at = at.child("field")
    if value_format in CDC_FORMATS:
        # A change's event time is its envelope's ts_ms, present in every change (a row's own
        # columns may be absent from a delete's before image).
        if field_at.present and field_at.value != CDC_EVENT_TIME_FIELD:
            raise field_at.error(
                f"'{field_at.value}': a Debezium topic's event time is its envelope's {CDC_EVENT_TIME_FIELD}",
                f"leave field out, or {CDC_EVENT_TIME_FIELD}",
            )
        column, column_type = CDC_EVENT_TIME_FIELD, "BIGINT"
    else:
        column = _identifier(field_at)
        if column not in schema:
            raise field_at.error(f"'{column}' is not in the schema{did_you_mean(column, schema)}", ", ".join(schema))
        column_type = schema[column].text
    if value_format not in CDC_FORMATS and schema[column].root not in EVENT_TIME_ROOTS:
        raise field_at.error(
            f"'{column}' has type {schema[column].text}, not a time type: no watermark possible",
            "BIGINT (epoch millis), TIMESTAMP(p), TIMESTAMP_LTZ(p)",
        )
    delay_at = at.child("max_out_of_orderness")
    delay = parse_duration_ms(delay_at.value)
    if delay is None:
        raise delay_at.error(f"'{delay_at.value}' is not a duration", DURATION_EXAMPLES)
    idle_at = at.child("idle_timeout")
    idle = parse_duration_ms(idle_at.value) if idle_at.present else DEFAULT_IDLE_TIMEOUT_MS
    if idle is None:
        raise idle_at.error(f"'{idle_at.value}' is not a duration", "e.g. 30s, 2 min; 0s never marks a partition idle")
    release = _release_after(at.child("release_after"), idle)
    valid_from = _instant(at.child("valid_from"), DEFAULT_VALID_FROM)
    valid_until = _instant(at.child("valid_until"), DEFAULT_VALID_UNTIL)
    if valid_from >= valid_until:
        raise at.child("valid_until").error(f"valid_until {valid_until} is not after valid_from {valid_from}")
    return EventTime(
        field=column,
        field_type=column_type,
        max_out_of_orderness_ms=delay,
        emit=emit,
        valid_from=valid_from,
        valid_until=valid_until,
        idle_timeout_ms=idle,
        release_after_ms=release,
    )


def _release_after(at: At, idle_timeout_ms: int) -> int:
    """event_time.release_after: off (0) unless set; longer than a non-zero idle timeout, since a
    topic is only released through its idle partitions (docs: "When a whole topic is quiet")."""
    if not at.present:
        return 0
    release = parse_duration_ms(at.value)
    valid = "a duration longer than idle_timeout, e.g. 15 min; leave it out to never release"
    if release is None:
        raise at.error(f"'{at.value}' is not a duration", valid)
    if release <= idle_timeout_ms or idle_timeout_ms == 0:
        idle = "0s (never idle)" if idle_timeout_ms == 0 else f"{idle_timeout_ms} ms"
        raise at.error(f"'{at.value}' is not longer than the idle timeout ({idle})", valid)
    return release


def _instant(at: At, default: str) -> str:
    """An ISO-8601 instant, canonical as yyyy-MM-ddTHH:mm:ss[.fff]Z (what the decoder reads and its reasons print)."""
    if not at.present:
        return default
    text = at.value.isoformat() if isinstance(at.value, (dt.date, dt.datetime)) else str(at.value).strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise at.error(f"'{at.value}' is not an ISO-8601 instant with a zone", "e.g. 2020-01-01T00:00:00Z")
    utc = moment.astimezone(dt.timezone.utc)
    return utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds").replace("+00:00", "Z")


def unreadable(flink_type: FlinkType) -> tuple[str, str] | None:
    """(what is wrong, what is valid) when the JSON decoder cannot read a value of the type, at any depth."""
    if flink_type.root in UNREADABLE_TYPES or flink_type.root == "MULTISET":
        return (
            f"{flink_type.text}: the record decoder has no JSON reading for this type",
            f"one of {', '.join(READABLE_TYPES)}",
        )
    key = flink_type.children[0][1] if flink_type.root == "MAP" else None
    if key is not None and not (key.root in ("STRING", "VARCHAR") and key.length == MAX_LENGTH):
        return (
            f"{flink_type.text}: JSON object keys are text, so a MAP's key type must be STRING",
            "MAP<STRING, value type>",
        )
    for _, child in flink_type.children:
        problem = unreadable(child)
        if problem:
            return problem
    return None


def _topic(at: At, overlay: At | None) -> TopicConfig:
    """One topic; a value the overlay sets wins over topics.yaml (and errors name the overlay)."""
    key = _identifier(at, at.path[-1])
    mapping(at, TOPIC_KEYS)

    def setting(name: str) -> At:
        return overlay.child(name) if overlay is not None and name in overlay.value else at.child(name)

    topic_name = string(setting("topic_name"))
    if not KAFKA_TOPIC_NAME.match(topic_name):
        raise setting("topic_name").error(
            f"'{topic_name}' is not a valid Kafka topic name",
            "letters, digits, '.', '_' and '-', at most 249 characters",
        )
    reserved = {
        c: f"'{c}' is a column the source adds itself ({what}): rename this field"
        for c, what in SOURCE_ADDED_COLUMNS.items()
    }
    format_at = at.child("format")
    value_format = choice(format_at, FORMATS, "a value format") if format_at.present else JSON
    schema = _schema(at.child("schema"), reserved)
    for column, flink_type in schema.items():
        problem = unreadable(flink_type)
        if problem:
            raise at.child("schema").child(column).error(*problem)
    mode = choice(setting("startup_mode"), STARTUP_MODES, "a startup mode")
    ts_at = setting("startup_timestamp_ms")
    if mode == "timestamp" and (not isinstance(ts_at.value, int) or isinstance(ts_at.value, bool) or ts_at.value < 0):
        raise ts_at.error(
            f"startup_mode timestamp needs startup_timestamp_ms (epoch millis), found {found(ts_at.value)}",
            "e.g. 1767225600000",
        )
    return TopicConfig(
        key=key,
        topic_name=topic_name,
        consumer_group=string(setting("consumer_group")),
        startup_mode=mode,
        startup_timestamp_ms=ts_at.value if mode == "timestamp" else None,
        event_time=_event_time(at.child("event_time"), schema, value_format),
        schema=tuple((c, at.child("schema").value[c].strip()) for c in schema),
        enabled=boolean(at.child("enabled"), True),
        metadata=_metadata(at.child("metadata")),
        format=value_format,
        registry=_registry(at.child("registry"), value_format, topic_name),
        primary_key=_topic_key(at.child("primary_key"), value_format, schema),
    )


def _registry(at: At, value_format: str, topic_name: str) -> RegistryConfig | None:
    """An Avro topic's `registry:` block (and only an Avro topic's)."""
    if value_format not in REGISTRY_FORMATS:
        if at.present:
            raise at.error(
                f"registry is for Avro topics; this topic's format is {value_format}", "format: avro or debezium-avro"
            )
        return None
    if not at.present:
        raise at.error("an Avro topic needs registry: {type: glue | confluent}", "type: glue or type: confluent")
    mapping(at, REGISTRY_KEYS)
    kind = choice(at.child("type"), REGISTRY_TYPES, "a schema registry")
    name_at = at.child("registry_name")
    if kind == "confluent" and name_at.present:
        raise name_at.error(
            "registry_name is for AWS Glue; a Confluent-compatible registry has subjects only", "subject"
        )
    subject_at = at.child("subject")
    default_subject = topic_name if kind == "glue" else f"{topic_name}-value"
    return RegistryConfig(
        kind=kind,
        registry_name=string(name_at) if name_at.present else GLUE_DEFAULT_REGISTRY,
        subject=string(subject_at) if subject_at.present else default_subject,
    )


def _topic_key(at: At, value_format: str, schema: Mapping[str, FlinkType]) -> tuple[str, ...]:
    """A Debezium topic's `primary_key:` (required there: deletes and updates find rows by it)."""
    if value_format not in CDC_FORMATS:
        if at.present:
            raise at.error(
                f"primary_key is for CDC topics; this topic's format is {value_format}",
                "format: debezium-json or debezium-avro",
            )
        return ()
    if not at.present:
        raise at.error(
            "a Debezium topic needs primary_key: the columns that identify a row (its table's key)", "e.g. [id]"
        )
    return _columns(at, schema, "primary_key", of="in the schema", listing="columns of the schema")


def _metadata(at: At) -> tuple[str, ...]:
    """A topic's `metadata:` list, opt-in: the view only grows the columns a pipeline asked for."""
    valid = ", ".join(VIEW_METADATA)
    chosen: list[str] = []
    for item in items_of(at, f"Kafka metadata ({valid})"):
        if item.value == "partition":
            raise item.error("kafka_partition is always in the view: leave 'partition' out", valid)
        name = choice(item, tuple(VIEW_METADATA), "Kafka metadata a pipeline can read")
        if name in chosen:
            raise item.error(f"'{name}' is listed twice in metadata")
        chosen.append(name)
    return tuple(m for m in VIEW_METADATA if m in chosen)


def _overlay(config_dir: Path, environment: str | None, topic_keys: list[str]) -> dict[str, At]:
    """topic key -> the overlay's settings for it (empty without an environment)."""
    if not environment:
        return {}
    folder = config_dir / OVERLAYS_DIR
    known = sorted(p.stem for p in folder.glob("*.yaml"))
    path = folder / f"{environment}.yaml"
    if not ENVIRONMENT_NAME.match(environment) or not path.is_file():
        raise ConfigError(
            str(path),
            "(file)",
            f"no overlay for environment '{environment}' (from $APP_ENV or "
            f"the app.env property){did_you_mean(environment, known)}",
            ", ".join(known) or "none yet",
        )
    root = read_yaml(path)
    if not root.present:
        return {}
    mapping(root, {"kafka_topics": False})
    topics_at = root.child("kafka_topics")
    if not topics_at.present:
        return {}
    overlays = {}
    for key in topics_at.value:
        if key not in topic_keys:
            raise topics_at.child(key).error(
                f"'{key}' is not a topic in {TOPICS_FILE}{did_you_mean(str(key), topic_keys)}", ", ".join(topic_keys)
            )
        mapping(topics_at.child(key), OVERLAY_TOPIC_KEYS)
        overlays[key] = topics_at.child(key)
    return overlays


def _topics(config_dir: Path, environment: str | None) -> dict[str, TopicConfig]:
    root = read_yaml(config_dir / TOPICS_FILE)
    mapping(root, {"kafka_topics": True})
    topics_at = root.child("kafka_topics")
    if not isinstance(topics_at.value, dict) or not topics_at.value:
        raise topics_at.error(f"expected a non-empty mapping of topic key: settings, found {found(topics_at.value)}")
    overlays = _overlay(config_dir, environment, [str(k) for k in topics_at.value])
    return {str(key): _topic(topics_at.child(key), overlays.get(str(key))) for key in topics_at.value}


# --- pipelines ---------------------------------------------------------------------------------------


def import_transformer(name: str, class_name: str, options: Mapping[str, Any], origin: Origin) -> BaseTransformer:
    """Import transformations.<name> and instantiate the class; errors show the import error."""
    module_name = f"{TRANSFORMATIONS_PACKAGE}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise origin.error(f"cannot import module {module_name}: {type(exc).__name__}: {exc}") from None
        raise origin.error(
            f"cannot import module {module_name}: there is no transformations/{name}.py",
            f"a module transformations/{name}.py holding class {class_name}, or a SQL-only pipeline (sql: / sql_file:)",
        ) from None
    except Exception as exc:  # a syntax error or a failing import inside the module
        raise origin.error(f"cannot import module {module_name}: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        found = [
            n
            for n, v in vars(module).items()
            if inspect.isclass(v) and issubclass(v, BaseTransformer) and v is not BaseTransformer
        ]
        raise origin.error(
            f"module {module_name} has no class {class_name}{did_you_mean(class_name, found)}",
            ", ".join(found) or "a BaseTransformer subclass",
        )
    if not (inspect.isclass(cls) and issubclass(cls, BaseTransformer)):
        raise origin.error(
            f"{class_name} in {module_name} is not a BaseTransformer subclass (found {type(cls).__name__} {cls!r})"
        )
    try:
        return cls(options)
    except Exception as exc:
        raise origin.error(f"cannot create {class_name}(options): {type(exc).__name__}: {exc}") from None


def build_transformer(pipeline: PipelineConfig) -> BaseTransformer:
    """The one place a pipeline's transformer is made: from its SQL definition, or its class
    (transformations/<name>.py) with its options. Config objects hold no instances."""
    if pipeline.sql is not None:
        return SqlTransformer(pipeline.sql)
    origin = pipeline.origin or Origin(TRANSFORMATIONS_FILE, f"{pipeline.name}.transformer_class")
    return import_transformer(pipeline.name, pipeline.transformer_class or "", pipeline.options, origin)


def _check_sink(
    schema_at: At, partition_at: At, key_at: At
) -> tuple[dict[str, FlinkType], tuple[str, ...], tuple[str, ...]]:
    """Sink schema, partition fields (canonical text) and primary key: the same rules for both routes."""
    schema = _schema(schema_at)
    partition_by = _partition_fields(partition_at, schema)
    primary_key = _columns(key_at, schema, "primary_key")
    sources = source_columns(partition_by)
    missing = [c for c in sources if primary_key and c not in primary_key]
    if missing:
        raise key_at.error(
            f"the partition column(s) {', '.join(missing)} must be part of the primary key "
            "(Iceberg upserts need them in the equality fields)"
        )
    return schema, partition_by, primary_key


def _check_class(at: At, name: str) -> None:
    """The class imports, takes its options and declares a valid sink (the instance is not kept)."""
    class_at = at.child("transformer_class")
    class_name = _identifier(class_at)
    options_at = at.child("options")
    if options_at.present and not isinstance(options_at.value, dict):
        raise options_at.error(f"expected a mapping, found {found(options_at.value)}")
    transformer = import_transformer(name, class_name, options_at.value or {}, class_at.origin)

    def returned(method: str) -> At:
        """What the class declares, located at its transformer_class line."""
        where = class_at.virtual(f"{at.label}: {class_name}.{method}()", None)
        try:
            value = getattr(transformer, method)()
        except Exception as exc:
            raise where.error(f"failed: {type(exc).__name__}: {exc}") from None
        return class_at.virtual(where.label, value)

    _check_sink(returned("get_sink_schema"), returned("get_partition_by"), returned("get_primary_key"))


def _sql(at: At, config_dir: Path) -> SqlText:
    """The SELECT: inline `sql` or `sql_file` (relative to the config folder)."""
    if at.child("sql").present and at.child("sql_file").present:
        raise at.child("sql_file").error("give either sql or sql_file, not both")
    if at.child("sql").present:
        return _inline_sql(at.child("sql"))
    file_at = at.child("sql_file")
    path = config_dir / string(file_at)
    if not path.is_file():
        raise file_at.error(f"no file {path} (sql_file is relative to the config folder {config_dir})")
    text = sql_text(path.read_text(encoding="utf-8"), str(path), 1)
    if not text.text:
        raise file_at.error(f"{path} is empty: expected a SELECT")
    return text


def _inline_sql(at: At) -> SqlText:
    string(at)
    return sql_text(at.value, at.doc.file, at.doc.text_first_line(at.path))


def _check_placeholders(at: At, text: SqlText, allowed: list[str]) -> None:
    for name, line in placeholders(text.text):
        if name in allowed:
            continue
        where = Origin(text.file, at.label, text.file_line(line) or at.doc.line(at.path))
        valid = ", ".join(f"{{{a}}}" for a in allowed)
        if name.startswith(SOURCES_PREFIX):
            topic = name[len(SOURCES_PREFIX) :]
            raise where.error(
                f"{{{name}}}: the pipeline does not read a topic '{topic}'"
                f"{did_you_mean(name, allowed)} (a topic read through {{sources.<key>}} must be "
                f"the source_topic or in additional_sources: {source_table_name(topic)})",
                valid,
            )
        hint = " ({view} is the view of view_sql: only sql can read it)" if name == "view" else ""
        raise where.error(f"unknown placeholder {{{name}}}{did_you_mean(name, allowed)}{hint}", valid)


def _sql_definition(at: At, topics: tuple[str, ...], config_dir: Path) -> SqlDefinition:
    select = _sql(at, config_dir)
    view_at = at.child("view_sql")
    view = _inline_sql(view_at) if view_at.present else None
    _check_placeholders(
        at.child("sql" if at.child("sql").present else "sql_file"),
        select,
        allowed_placeholders(topics, with_view=view is not None),
    )
    if view:
        _check_placeholders(view_at, view, allowed_placeholders(topics, with_view=False))
    if not at.child("sink_schema").present:
        raise at.child("sink_schema").error("missing: a SQL-only pipeline declares its sink columns (column: TYPE)")
    schema, partition_by, primary_key = _check_sink(
        at.child("sink_schema"), at.child("partition_by"), at.child("primary_key")
    )
    return SqlDefinition(
        select=select,
        view=view,
        sink_schema=tuple((c, at.child("sink_schema").value[c].strip()) for c in schema),
        partition_by=partition_by,
        primary_key=primary_key,
    )


def _route(at: At) -> str:
    """'class' or 'sql': exactly one way of declaring the pipeline's query."""
    data = at.value
    has_class, has_sql = "transformer_class" in data, "sql" in data or "sql_file" in data
    if has_class and has_sql:
        raise at.child("sql" if "sql" in data else "sql_file").error(
            "give either transformer_class (a Python class) or sql / sql_file (SQL-only), not both"
        )
    if not has_class and not has_sql:
        raise at.child("transformer_class").error(
            "missing: give transformer_class (a class in transformations/<name>.py) or sql / sql_file (SQL-only)"
        )
    wrong = [k for k in (SQL_ROUTE_KEYS if has_class else CLASS_ROUTE_KEYS) if k in data]
    if wrong:
        reason = (
            "the class declares these itself (get_sink_schema, get_partition_by, get_primary_key, get_view_sql)"
            if has_class
            else "options are handed to a transformer class; SQL has none"
        )
        raise at.child(wrong[0]).error(
            f"'{wrong[0]}' does not go with {'transformer_class' if has_class else 'sql'}: {reason}"
        )
    return "class" if has_class else "sql"


def _source_topics(at: At, topics: dict[str, TopicConfig]) -> tuple[str, tuple[str, ...]]:
    """The primary topic key and the additional ones (from source table names)."""
    topic_at = at.child("source_topic")
    source_topic = string(topic_at)
    if source_topic not in topics:
        raise topic_at.error(
            f"'{source_topic}' is not a topic in {TOPICS_FILE}{did_you_mean(source_topic, topics)}", ", ".join(topics)
        )
    table_at = at.child("source_table")
    if table_at.present and table_at.value != topics[source_topic].source_table:
        raise table_at.error(
            f"'{table_at.value}' is not the source table of topic '{source_topic}'", topics[source_topic].source_table
        )
    tables = {t.source_table: k for k, t in topics.items()}
    additional: list[str] = []
    for item in items_of(at.child("additional_sources"), "source tables (kafka_<topic key>)"):
        table = string(item)
        if table not in tables:
            raise item.error(f"'{table}' is not a source table{did_you_mean(table, tables)}", ", ".join(tables))
        if tables[table] == source_topic or tables[table] in additional:
            raise item.error(f"'{table}' is already a source of this pipeline")
        additional.append(tables[table])
    return source_topic, tuple(additional)


def _pipeline(at: At, topics: dict[str, TopicConfig], config_dir: Path) -> PipelineConfig:
    mapping(at, PIPELINE_KEYS)
    name = _identifier(at.child("name"))
    at = at.named(name)
    enabled = boolean(at.child("enabled"), True)
    source_topic, additional = _source_topics(at, topics)
    sink_table = _identifier(at.child("sink_table"))
    route = _route(at)
    description = at.child("description").value
    if description is not None and not isinstance(description, str):
        raise at.child("description").error(f"expected text, found {found(description)}")
    sql = _sql_definition(at, (source_topic, *additional), config_dir) if route == "sql" else None
    if enabled:
        disabled = [k for k in (source_topic, *additional) if not topics[k].enabled]
        if disabled:
            raise at.child("source_topic").error(
                f"reads topic(s) {', '.join(disabled)}, disabled in {TOPICS_FILE} (enabled: false): "
                "the pipeline has no enabled source",
                "enable the topic or disable this pipeline",
            )
        if route == "class":
            _check_class(at, name)
    return PipelineConfig(
        name=name,
        enabled=enabled,
        source_topic=source_topic,
        additional_topics=additional,
        sink_table=sink_table,
        transformer_class=at.child("transformer_class").value if route == "class" else None,
        description=description or "",
        options=at.child("options").value or {},
        sql=sql,
        origin=at.origin,
    )


def _check_across(pipelines: list[tuple[At, PipelineConfig]], topics: dict[str, TopicConfig]) -> None:
    """Unique names and sinks; sinks named unlike sources."""
    sources = {t.source_table: k for k, t in topics.items()}
    owner: dict[tuple[str, str], str] = {}  # (key, value) -> first pipeline using it
    for at, p in pipelines:
        if p.sink_table in sources:
            raise at.child("sink_table").error(
                f"'{p.sink_table}' is the name of the source table of topic '{sources[p.sink_table]}'; "
                "choose another sink name"
            )
        for key, value in (("name", p.name), ("sink_table", p.sink_table)):
            if (key, value) in owner:
                what = "two pipelines cannot write one table" if key == "sink_table" else "names must be unique"
                raise at.child(key).error(f"'{value}' is already used by pipeline '{owner[(key, value)]}': {what}")
            owner[(key, value)] = p.name


def load_topics(config_dir: Path = CONFIG_DIR, environment: str | None = None) -> dict[str, TopicConfig]:
    """topics.yaml (+ overlays/<environment>.yaml) alone, checked: what the generator and the IAM
    policy need. No pipeline module is imported, so a broken pipeline cannot break them."""
    return _topics(Path(config_dir), environment)


def select_pipelines(project: ProjectConfig, only: list[str] | None) -> ProjectConfig:
    """The project with only the pipelines ``--only`` names (every CLI that takes it)."""
    if not only:
        return project
    known = [p.name for p in project.pipelines]
    missing = [n for n in only if n not in known]
    if missing:
        raise ConfigError("--only", ",".join(missing), "not an enabled pipeline", ", ".join(known))
    return replace(project, pipelines=tuple(p for p in project.pipelines if p.name in only))


def load_project(config_dir: Path = CONFIG_DIR, environment: str | None = None) -> ProjectConfig:
    """Read and check topics.yaml (+ overlays/<environment>.yaml) and transformations.yaml."""
    config_dir = Path(config_dir)
    topics = _topics(config_dir, environment)
    root = read_yaml(config_dir / TRANSFORMATIONS_FILE)
    mapping(root, {"transformations": True})
    list_at = root.child("transformations")
    if not isinstance(list_at.value, list) or not list_at.value:
        raise list_at.error(f"expected a non-empty list of pipelines, found {found(list_at.value)}")
    pipelines = [(at, _pipeline(at, topics, config_dir)) for at in list_at.items()]
    _check_across(pipelines, topics)
    enabled = tuple(p for _, p in pipelines if p.enabled)
    if not enabled:
        raise list_at.error("every pipeline is disabled: the job would do nothing", "set enabled: true on at least one")
    return ProjectConfig(topics=topics, pipelines=enabled, environment=environment)
