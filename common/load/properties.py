"""Runtime properties: where they come from (local file or the managed service) and their typed form.

The managed service writes the application's property groups to
``/etc/flink/application_properties.json``; locally the repository's
``application_properties.json`` (same format) holds working defaults. Which file is used,
in order: ``--properties FILE``, then ``$APP_PROPERTIES_FILE``, then the managed path if it
exists, then the local file.

``managed`` (Flink runs the job: the job sets only table options, does not name its jar and
does not wait) is true when the Python process was started by Flink itself: ``flink run -py``
on a cluster or the managed service, whose PythonDriver hands the process the port of its
JVM in ``$PYFLINK_GATEWAY_PORT``; or when the managed path exists. Otherwise the process
starts its own local Flink (``python streaming_job.py``), so it names the jar
(``pipeline.jars``), configures checkpointing and parallelism, and waits. docs/cluster.md.

Precedence: an environment variable of ENV_OVERRIDES wins over the file. One property,
``app.env`` (``$APP_ENV``), names the environment whose overlay ``config/overlays/<env>.yaml``
the load phase applies over topics.yaml (topic names, consumer groups, startup modes; see
common/load/config.py); unset means no overlay. The sink namespace is ``iceberg.namespace``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

from common.errors import ConfigError, did_you_mean

APP_DIR = Path(__file__).resolve().parents[2]  # the project root: common/load/ is two levels down
MANAGED_PROPERTIES = Path("/etc/flink/application_properties.json")
LOCAL_PROPERTIES = APP_DIR / "application_properties.json"
# Set by Flink's PythonDriver (flink run -py, the managed service) for the Python process it
# starts: the port of the Flink JVM that runs the job. A local run starts its own JVM instead.
FLINK_GATEWAY_ENV = "PYFLINK_GATEWAY_PORT"

RUN_OPTIONS = "kinesis.analytics.flink.run.options"
KAFKA = "kafka"
ICEBERG = "iceberg"
FLINK = "flink"
APP = "app"
REGISTRY = "registry"

# Environment variables that override one property each (group, key).
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "KAFKA_BOOTSTRAP_SERVERS": (KAFKA, "bootstrap.servers"),
    "KAFKA_AUTH": (KAFKA, "auth"),
    "KAFKA_MAX_RECORD_BYTES": (KAFKA, "max.record.bytes"),
    "KAFKA_MAX_RECORD_CHARS": (KAFKA, "max.record.bytes"),  # the old name, still read
    "ICEBERG_CATALOG_TYPE": (ICEBERG, "catalog.type"),
    "ICEBERG_WAREHOUSE": (ICEBERG, "warehouse"),
    "ICEBERG_NAMESPACE": (ICEBERG, "namespace"),
    "FLINK_CHECKPOINT_INTERVAL": (FLINK, "checkpoint.interval"),
    "FLINK_PARALLELISM": (FLINK, "parallelism"),
    "APP_ENV": (APP, "env"),
    "FLINK_CHECKPOINT_DIR": (FLINK, "checkpoint.dir"),
    "FLINK_REST_PORT": (FLINK, "rest.port"),
    "SCHEMA_REGISTRY_URL": (REGISTRY, "confluent.url"),
    "SCHEMA_REGISTRY_USER_INFO": (REGISTRY, "confluent.basic.auth.user.info"),
    "GLUE_REGISTRY_REGION": (REGISTRY, "glue.region"),
    "GLUE_REGISTRY_ENDPOINT": (REGISTRY, "glue.endpoint"),
}

KAFKA_AUTH_MODES = ("none", "iam")
DEFAULT_MAX_RECORD_BYTES = "1048576"  # Kafka's default largest record batch (message.max.bytes)
CATALOG_OPTION = "option."
KAFKA_PROPERTY = "property."
CATALOG_TYPES = ("hadoop", "s3tables")

PropertyGroups = dict[str, dict[str, str]]


@dataclass(frozen=True)
class RegistrySettings:
    """Where the schema registries of Avro topics are (the `registry` property group). AWS
    credentials for Glue come from the same default chain as every other AWS call of the job."""

    confluent_url: str | None = None  # confluent.url: a Confluent-compatible registry's base URL
    confluent_user_info: str | None = None  # confluent.basic.auth.user.info: "user:password" (a secret)
    glue_region: str | None = None  # glue.region (default: the AWS SDK's region chain)
    glue_endpoint: str | None = None  # glue.endpoint: another endpoint than AWS's (a local one)


@dataclass(frozen=True)
class KafkaSettings:
    """How every source reaches the brokers."""

    bootstrap_servers: str
    auth: str  # "none" (plaintext, local) or "iam" (SASL_SSL + AWS_MSK_IAM, MSK)
    max_record_bytes: int  # longer values go to the dead-letter table as "too large"
    # Kafka client properties: each `property.<key>` of the kafka group, e.g. property.sasl.jaas.config
    # for SASL/SCRAM brokers; passed to every source as 'properties.<key>' (shown redacted: common/redact.py).
    client_properties: tuple[tuple[str, str], ...] = ()
    registry: RegistrySettings = RegistrySettings()  # Avro topics' schema registries


@dataclass(frozen=True)
class CatalogSettings:
    """Where the Iceberg tables live."""

    catalog_type: str  # "hadoop" (local directory) or "s3tables" (table bucket ARN)
    name: str
    warehouse: str  # hadoop: absolute file URI; s3tables: the table bucket ARN
    namespace: str
    # Extra catalog options: each `option.<key>` of the iceberg group, e.g. option.client.region,
    # or option.s3tables.endpoint / option.s3.endpoint to point the clients at another endpoint.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FlinkSettings:
    checkpoint_interval: str
    parallelism: int
    checkpoint_dir: str  # local runs: file URI where checkpoints are kept (retained on cancel/kill)
    rest_port: int | None = None  # local runs: a fixed port for Flink's REST API (metrics, checkpoints)


@dataclass(frozen=True)
class RuntimeSettings:
    """Everything the job takes from runtime properties, resolved and checked."""

    source: Path
    managed: bool  # Flink runs the job (flink run -py on a cluster, the managed service): see locate()
    jarfile: str
    kafka: KafkaSettings
    catalog: CatalogSettings
    flink: FlinkSettings
    environment: str | None = None  # selects config/overlays/<environment>.yaml


def launched_by_flink(env: Mapping[str, str] = os.environ) -> bool:
    """True when Flink started this Python process (flink run -py, the managed service)."""
    return bool(env.get(FLINK_GATEWAY_ENV))


def locate(explicit: str | None = None, env: Mapping[str, str] = os.environ) -> tuple[Path, bool]:
    """The properties file to read and whether Flink (a cluster, the managed service) runs the job."""
    by_flink = launched_by_flink(env)
    if explicit:
        return Path(explicit), by_flink
    if env.get("APP_PROPERTIES_FILE"):
        return Path(env["APP_PROPERTIES_FILE"]), by_flink
    if MANAGED_PROPERTIES.exists():
        return MANAGED_PROPERTIES, True
    return LOCAL_PROPERTIES, by_flink


def read_groups(path: Path) -> PropertyGroups:
    """Read the managed service's format: a list of {PropertyGroupId, PropertyMap}."""
    file = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(file, "(file)", "not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(file, f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None
    if not isinstance(raw, list):
        raise ConfigError(
            file,
            "(top level)",
            f"expected a list of property groups, found {type(raw).__name__}",
            '[{"PropertyGroupId": "...", "PropertyMap": {...}}]',
        )
    groups: PropertyGroups = {}
    for i, group in enumerate(raw):
        if not isinstance(group, dict) or set(group) != {"PropertyGroupId", "PropertyMap"}:
            raise ConfigError(file, f"[{i}]", "each group needs exactly PropertyGroupId and PropertyMap")
        gid, pmap = group["PropertyGroupId"], group["PropertyMap"]
        if not isinstance(pmap, dict) or not all(isinstance(v, str) for v in pmap.values()):
            raise ConfigError(file, f"{gid}.PropertyMap", "must map names to string values")
        if gid in groups:
            raise ConfigError(file, f"[{i}].PropertyGroupId", f"group '{gid}' appears twice")
        groups[gid] = dict(pmap)
    return groups


def apply_env(groups: PropertyGroups, env: Mapping[str, str]) -> PropertyGroups:
    """Return a copy with the documented environment overrides applied."""
    merged = {gid: dict(pmap) for gid, pmap in groups.items()}
    for var, (gid, key) in ENV_OVERRIDES.items():
        if env.get(var):
            merged.setdefault(gid, {})[key] = env[var]
    return merged


def _get(groups: PropertyGroups, file: str, gid: str, key: str, default: str | None = None) -> str:
    value = groups.get(gid, {}).get(key, default)
    if value is None or not value.strip():
        raise ConfigError(file, f"{gid}.{key}", "missing or empty")
    return value.strip()


def _choice(groups: PropertyGroups, file: str, gid: str, key: str, choices: tuple[str, ...]) -> str:
    value = _get(groups, file, gid, key)
    if value not in choices:
        raise ConfigError(
            file, f"{gid}.{key}", f"'{value}' is not allowed{did_you_mean(value, choices)}", ", ".join(choices)
        )
    return value


def _positive_int(groups: PropertyGroups, file: str, gid: str, key: str, default: str) -> int:
    value = _get(groups, file, gid, key, default)
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(file, f"{gid}.{key}", f"'{value}' is not a positive integer")
    return int(value)


def _max_record_bytes(groups: PropertyGroups, file: str) -> int:
    """kafka.max.record.bytes; the old key max.record.chars (now counted in bytes) is still read."""
    kafka = groups.get(KAFKA, {})
    key = "max.record.chars" if "max.record.chars" in kafka and "max.record.bytes" not in kafka else "max.record.bytes"
    return _positive_int(groups, file, KAFKA, key, DEFAULT_MAX_RECORD_BYTES)


def _optional_int(groups: PropertyGroups, file: str, gid: str, key: str) -> int | None:
    return _positive_int(groups, file, gid, key, "") if groups.get(gid, {}).get(key) else None


def _warehouse(catalog_type: str, value: str, file: str) -> str:
    if catalog_type == "s3tables":
        if not re.match(r"arn:aws[a-z-]*:s3tables:", value):  # any partition: aws, aws-cn, aws-us-gov
            raise ConfigError(
                file,
                f"{ICEBERG}.warehouse",
                f"'{value}' is not a table bucket ARN",
                "arn:aws:s3tables:<region>:<account>:bucket/<name>",
            )
        return value
    return _local_uri(value)


def local_path(uri: str) -> Path:
    """A local path from a file URI (or a plain path): the inverse of _local_uri."""
    return Path(urlparse(uri).path) if uri.startswith("file:") else Path(uri)


def _local_uri(value: str) -> str:
    """A file URI; a relative path is relative to the application folder."""
    if value.startswith("file:"):
        return value
    path = Path(value)
    return (path if path.is_absolute() else APP_DIR / path).resolve().as_uri()


def settings_from_groups(groups: PropertyGroups, source: Path, managed: bool) -> RuntimeSettings:
    """Typed, checked settings from (already env-overridden) property groups."""
    file = str(source)
    catalog_type = _choice(groups, file, ICEBERG, "catalog.type", CATALOG_TYPES)
    return RuntimeSettings(
        source=source,
        managed=managed,
        jarfile=_get(groups, file, RUN_OPTIONS, "jarfile"),
        kafka=KafkaSettings(
            bootstrap_servers=_get(groups, file, KAFKA, "bootstrap.servers"),
            auth=_choice(groups, file, KAFKA, "auth", KAFKA_AUTH_MODES),
            max_record_bytes=_max_record_bytes(groups, file),
            client_properties=tuple(
                sorted(
                    (k.removeprefix(KAFKA_PROPERTY), v)
                    for k, v in groups.get(KAFKA, {}).items()
                    if k.startswith(KAFKA_PROPERTY)
                )
            ),
            registry=_registry(groups, file),
        ),
        catalog=CatalogSettings(
            catalog_type=catalog_type,
            name=_get(groups, file, ICEBERG, "catalog.name", "iceberg"),
            warehouse=_warehouse(catalog_type, _get(groups, file, ICEBERG, "warehouse"), file),
            namespace=_get(groups, file, ICEBERG, "namespace"),
            options=tuple(
                sorted(
                    (k.removeprefix(CATALOG_OPTION), v)
                    for k, v in groups.get(ICEBERG, {}).items()
                    if k.startswith(CATALOG_OPTION)
                )
            ),
        ),
        flink=FlinkSettings(
            checkpoint_interval=_get(groups, file, FLINK, "checkpoint.interval", "30s"),
            parallelism=_positive_int(groups, file, FLINK, "parallelism", "1"),
            checkpoint_dir=_local_uri(_get(groups, file, FLINK, "checkpoint.dir", ".local/checkpoints")),
            rest_port=_optional_int(groups, file, FLINK, "rest.port"),
        ),
        environment=groups.get(APP, {}).get("env", "").strip() or None,
    )


REGISTRY_KEYS = ("confluent.url", "confluent.basic.auth.user.info", "glue.region", "glue.endpoint")


def _registry(groups: PropertyGroups, file: str) -> RegistrySettings:
    """The `registry` group: every key optional (only Avro topics need one of them)."""
    group = groups.get(REGISTRY, {})
    for key in group:
        if key not in REGISTRY_KEYS:
            raise ConfigError(
                file, f"{REGISTRY}.{key}", f"unknown key{did_you_mean(key, REGISTRY_KEYS)}", ", ".join(REGISTRY_KEYS)
            )
    values = {k: (group.get(k) or "").strip() or None for k in REGISTRY_KEYS}
    url = values["confluent.url"]
    if url is not None and not re.match(r"https?://[^/\s]+", url):
        raise ConfigError(
            file, f"{REGISTRY}.confluent.url", f"'{url}' is not an http(s) URL", "e.g. https://registry:8081"
        )
    return RegistrySettings(
        confluent_url=url,
        confluent_user_info=values["confluent.basic.auth.user.info"],
        glue_region=values["glue.region"],
        glue_endpoint=values["glue.endpoint"],
    )


def load_settings(explicit: str | None = None, env: Mapping[str, str] = os.environ) -> RuntimeSettings:
    """Locate, read, override from the environment, and check the runtime properties."""
    path, managed = locate(explicit, env)
    return settings_from_groups(apply_env(read_groups(path), env), path, managed)


def local_jar(settings: RuntimeSettings) -> Path:
    """The dependency jar: where the zip puts it (jarfile), else where `mvn package` builds it."""
    candidates = [APP_DIR / settings.jarfile, APP_DIR / "target" / Path(settings.jarfile).name]
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        str(settings.source),
        f"{RUN_OPTIONS}.jarfile",
        f"no jar at {' or '.join(str(c) for c in candidates)}",
        "build it with `mvn package`",
    )
