"""Load phase: config/topics.yaml + config/transformations.yaml -> immutable, checked objects.

No PyFlink import and no network here: every error is found before Flink starts, and names
the file, the key path and what would be valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from common.errors import ConfigError, did_you_mean

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
TOPICS_FILE = "topics.yaml"
TRANSFORMATIONS_FILE = "transformations.yaml"

STARTUP_MODES = ("earliest-offset", "latest-offset", "group-offsets", "timestamp")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|sec|second|seconds|min|minute|minutes|h|hour|hours)\s*$")
TIME_TYPES = ("BIGINT", "TIMESTAMP", "TIMESTAMP_LTZ")

TOPIC_KEYS = {"topic_name": True, "consumer_group": True, "startup_mode": True,
              "startup_timestamp_ms": False, "event_time": True, "schema": True}
PIPELINE_KEYS = {"name": True, "enabled": False, "source_topic": True, "source_table": False,
                 "additional_sources": False, "sink_table": True, "transformer_class": True,
                 "description": False, "options": False}
WATERMARK_EMIT = ("on-periodic", "on-event")


@dataclass(frozen=True)
class EventTime:
    """Which field carries event time and how late events may arrive (the watermark delay)."""

    field: str
    field_type: str
    max_out_of_orderness_ms: int
    emit: str = "on-periodic"  # "on-event": a watermark after every record (exact, slower)


@dataclass(frozen=True)
class TopicConfig:
    key: str
    topic_name: str
    consumer_group: str
    startup_mode: str
    startup_timestamp_ms: int | None
    event_time: EventTime
    schema: tuple[tuple[str, str], ...]  # (column, Flink SQL type), in YAML order

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
    transformer_class: str
    description: str
    options: Mapping[str, Any] = field(default_factory=dict)  # passed to the transformer

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the pipeline reads, primary first."""
        return (self.source_topic, *self.additional_topics)


@dataclass(frozen=True)
class ProjectConfig:
    topics: dict[str, TopicConfig]
    pipelines: tuple[PipelineConfig, ...]  # enabled ones only, in YAML order

    def topics_in_use(self) -> list[TopicConfig]:
        """Topics read by at least one enabled pipeline, in topics.yaml order."""
        used = {t for p in self.pipelines for t in p.topics}
        return [t for k, t in self.topics.items() if k in used]


def source_table_name(topic_key: str) -> str:
    return f"kafka_{topic_key}"


def parse_duration_ms(text: str) -> int | None:
    """'5s', '2 min', '500 ms', '1h' -> milliseconds; None if not a duration."""
    match = DURATION.match(str(text))
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2)
    if unit == "ms":
        return value
    if unit.startswith("s"):
        return value * 1000
    if unit.startswith("m"):
        return value * 60_000
    return value * 3_600_000


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        raise ConfigError(str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


def _check_keys(file: str, where: str, data: Any, allowed: dict[str, bool]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(file, where, f"expected a mapping, found {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ConfigError(file, f"{where}.{key}", f"unknown key{did_you_mean(str(key), allowed)}",
                              ", ".join(allowed))
    for key, required in allowed.items():
        if required and key not in data:
            raise ConfigError(file, f"{where}.{key}", "missing required key")
    return data


def _string(file: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(file, where, f"expected a non-empty string, found {value!r}")
    return value.strip()


def _identifier(file: str, where: str, value: Any) -> str:
    name = _string(file, where, value)
    if not IDENTIFIER.match(name):
        raise ConfigError(file, where, f"'{name}' is not a safe SQL identifier",
                          "letters, digits and _, not starting with a digit")
    return name


def _event_time(file: str, where: str, data: Any, schema: dict[str, str]) -> EventTime:
    _check_keys(file, where, data, {"field": True, "max_out_of_orderness": True, "emit": False})
    emit = data.get("emit", "on-periodic")
    if emit not in WATERMARK_EMIT:
        raise ConfigError(file, f"{where}.emit", f"'{emit}' is not a watermark emit strategy", ", ".join(WATERMARK_EMIT))
    column = _identifier(file, f"{where}.field", data["field"])
    if column not in schema:
        raise ConfigError(file, f"{where}.field", f"'{column}' is not in the schema{did_you_mean(column, schema)}",
                          ", ".join(schema))
    field_type = schema[column].upper()
    if not field_type.startswith(TIME_TYPES):
        raise ConfigError(file, f"{where}.field", f"'{column}' has type {schema[column]}, not a time type",
                          "BIGINT (epoch millis), TIMESTAMP(p), TIMESTAMP_LTZ(p)")
    delay = parse_duration_ms(data["max_out_of_orderness"])
    if delay is None:
        raise ConfigError(file, f"{where}.max_out_of_orderness",
                          f"'{data['max_out_of_orderness']}' is not a duration", "e.g. 500 ms, 5s, 2 min, 1h")
    return EventTime(field=column, field_type=field_type, max_out_of_orderness_ms=delay, emit=emit)


def _topic(file: str, key: str, data: Any) -> TopicConfig:
    where = f"kafka_topics.{key}"
    _identifier(file, where, key)
    data = _check_keys(file, where, data, TOPIC_KEYS)
    schema_raw = data["schema"]
    if not isinstance(schema_raw, dict) or not schema_raw:
        raise ConfigError(file, f"{where}.schema", "expected a non-empty mapping of column: TYPE")
    schema = {_identifier(file, f"{where}.schema.{c}", c): _string(file, f"{where}.schema.{c}", t)
              for c, t in schema_raw.items()}
    mode = _string(file, f"{where}.startup_mode", data["startup_mode"])
    if mode not in STARTUP_MODES:
        raise ConfigError(file, f"{where}.startup_mode", f"'{mode}' is not a startup mode{did_you_mean(mode, STARTUP_MODES)}",
                          ", ".join(STARTUP_MODES))
    ts = data.get("startup_timestamp_ms")
    if mode == "timestamp" and not isinstance(ts, int):
        raise ConfigError(file, f"{where}.startup_timestamp_ms", "required (epoch millis) when startup_mode is timestamp")
    return TopicConfig(
        key=key,
        topic_name=_string(file, f"{where}.topic_name", data["topic_name"]),
        consumer_group=_string(file, f"{where}.consumer_group", data["consumer_group"]),
        startup_mode=mode,
        startup_timestamp_ms=ts if mode == "timestamp" else None,
        event_time=_event_time(file, f"{where}.event_time", data["event_time"], schema),
        schema=tuple(schema.items()),
    )


def _pipeline(file: str, index: int, data: Any, topics: dict[str, TopicConfig]) -> PipelineConfig:
    where = f"transformations[{index}]"
    data = _check_keys(file, where, data, PIPELINE_KEYS)
    name = _identifier(file, f"{where}.name", data["name"])
    where = f"transformations[{index}] ({name})"
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(file, f"{where}.enabled", f"expected true or false, found {enabled!r}")
    source_topic = _string(file, f"{where}.source_topic", data["source_topic"])
    if source_topic not in topics:
        raise ConfigError(file, f"{where}.source_topic",
                          f"'{source_topic}' is not a topic in {TOPICS_FILE}{did_you_mean(source_topic, topics)}",
                          ", ".join(topics))
    tables = {t.source_table: k for k, t in topics.items()}
    if "source_table" in data and data["source_table"] != topics[source_topic].source_table:
        raise ConfigError(file, f"{where}.source_table",
                          f"'{data['source_table']}' is not the source table of topic '{source_topic}'",
                          topics[source_topic].source_table)
    extra = data.get("additional_sources") or []
    if not isinstance(extra, list):
        raise ConfigError(file, f"{where}.additional_sources", "expected a list of source tables")
    additional = []
    for i, table in enumerate(extra):
        if table not in tables:
            raise ConfigError(file, f"{where}.additional_sources[{i}]",
                              f"'{table}' is not a source table{did_you_mean(str(table), tables)}", ", ".join(tables))
        additional.append(tables[table])
    description = data.get("description", "")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise ConfigError(file, f"{where}.options", f"expected a mapping, found {type(options).__name__}")
    return PipelineConfig(
        name=name,
        enabled=enabled,
        source_topic=source_topic,
        additional_topics=tuple(additional),
        sink_table=_identifier(file, f"{where}.sink_table", data["sink_table"]),
        transformer_class=_identifier(file, f"{where}.transformer_class", data["transformer_class"]),
        description=str(description),
        options=options,
    )


def load_project(config_dir: Path = CONFIG_DIR) -> ProjectConfig:
    """Read and check both YAML files; return the enabled pipelines and all topics."""
    topics_path = config_dir / TOPICS_FILE
    tf_path = config_dir / TRANSFORMATIONS_FILE
    raw_topics = _check_keys(str(topics_path), "(top level)", _read_yaml(topics_path), {"kafka_topics": True})
    if not isinstance(raw_topics["kafka_topics"], dict) or not raw_topics["kafka_topics"]:
        raise ConfigError(str(topics_path), "kafka_topics", "expected a non-empty mapping of topic key: settings")
    topics = {key: _topic(str(topics_path), key, data) for key, data in raw_topics["kafka_topics"].items()}

    file = str(tf_path)
    raw = _check_keys(file, "(top level)", _read_yaml(tf_path), {"transformations": True})
    if not isinstance(raw["transformations"], list) or not raw["transformations"]:
        raise ConfigError(file, "transformations", "expected a non-empty list of pipelines")
    pipelines = [_pipeline(file, i, data, topics) for i, data in enumerate(raw["transformations"])]
    owner: dict[tuple[str, str], str] = {}  # (key, value) -> first pipeline using it
    for i, p in enumerate(pipelines):
        for key, value in (("name", p.name), ("sink_table", p.sink_table)):
            if (key, value) in owner:
                raise ConfigError(file, f"transformations[{i}].{key}",
                                  f"'{value}' is already used by pipeline '{owner[(key, value)]}'")
            owner[(key, value)] = p.name
    enabled = tuple(p for p in pipelines if p.enabled)
    if not enabled:
        raise ConfigError(file, "transformations", "every pipeline is disabled: the job would do nothing",
                          "set enabled: true on at least one")
    return ProjectConfig(topics=topics, pipelines=enabled)
