"""What the application should look like: the checked spec of one deployment, from the runtime
properties file, the zip and the command's arguments. Every check runs before any AWS call.
"""

from __future__ import annotations

import argparse
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.durations import EXAMPLES as DURATION_EXAMPLES
from common.durations import parse_duration_ms
from common.errors import ConfigError
from common.load.properties import (
    APP_DIR,
    ICEBERG,
    KAFKA,
    RUN_OPTIONS,
    PropertyGroups,
    RuntimeSettings,
    read_groups,
    settings_from_groups,
)

log = logging.getLogger(__name__)


class ApplicationStateError(Exception):
    """The application is missing or did not reach the state asked for (exit 1, like an AWS error)."""


ROOT = APP_DIR
DEFAULT_ZIP = ROOT / "target" / "managed-flink-app.zip"
RUNTIME = "FLINK-2_2"  # the enum value of RuntimeEnvironment for Apache Flink 2.2
BUNDLED_PYTHON_DIR = "lib/python"  # where assembly/assembly.xml puts package/requirements.txt
SHA256_METADATA = "sha256"  # S3 object metadata: the zip's digest, to skip re-uploading it
# Iceberg commits once per checkpoint: rows become visible up to one interval after they arrive,
# and every interval adds a snapshot and at least one file per table and writer. 60 s gives
# 1,440 commits a day per table (10 s, the local runs' interval, would give 8,640) for a
# freshness of about a minute. Not the properties' flink.checkpoint.interval: that is for local runs.
DEFAULT_CHECKPOINT_INTERVAL = "60s"

# Run options the service does not support (its Python guide): everything must be in the zip.
UNSUPPORTED_RUN_OPTIONS = ("pyModule", "pyExecutable", "pyRequirements")
# Statuses in which start / stop have nothing to do.
RUNNING_OR_STARTING = ("RUNNING", "STARTING", "AUTOSCALING")
STOPPED_OR_STOPPING = ("READY", "STOPPING", "FORCE_STOPPING")
LOOPBACK = re.compile(r"(^|[,\s/])(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)(:|$)")

APPLICATION_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
LOG_STREAM_ARN = re.compile(
    r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w#./-]{1,512}:log-stream:[^:*]{1,512}$"
)
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")


@dataclass
class AppSpec:
    """The application as the arguments and the properties file describe it."""

    name: str
    runtime: str
    role_arn: str
    bucket: str
    key: str
    property_groups: PropertyGroups
    checkpoint_interval_ms: int
    min_pause_ms: int
    parallelism: int
    parallelism_per_kpu: int
    auto_scaling: bool
    log_level: str
    metrics_level: str
    snapshots: bool
    log_stream_arn: str | None = None
    subnet_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)
    description: str = ""
    object_version: str | None = None  # set once the zip is in S3, when the bucket is versioned

    @property
    def partition(self) -> str:
        match = ROLE_ARN.match(self.role_arn)
        if match is None:  # build_spec checked --role-arn against ROLE_ARN
            raise ValueError(f"'{self.role_arn}' is not an IAM role ARN")
        return match.group(1)

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}"

    def property_group_list(self) -> list[dict[str, Any]]:
        return [{"PropertyGroupId": gid, "PropertyMap": dict(pmap)} for gid, pmap in self.property_groups.items()]


def runtime_values() -> list[str]:
    """RuntimeEnvironment values in the installed botocore's model of the service."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("kinesisanalyticsv2")
    return list(model.shape_for("RuntimeEnvironment").enum)


def bad_arg(option: str, problem: str, valid: str | None = None) -> ConfigError:
    return ConfigError("arguments", option, problem, valid)


def check_pattern(option: str, value: str, pattern: re.Pattern, valid: str) -> str:
    if not pattern.match(value):
        raise bad_arg(option, f"'{value}' is not valid", valid)
    return value


def id_list(option: str, value: str | None, pattern: re.Pattern, valid: str) -> list[str]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return [check_pattern(option, v, pattern, valid) for v in items]


def duration_ms(option: str, text: str, file: str = "arguments") -> int:
    value = parse_duration_ms(text)
    if value is None:
        raise ConfigError(file, option, f"'{text}' is not a duration", DURATION_EXAMPLES)
    return value


def validate_properties(path: Path) -> tuple[PropertyGroups, RuntimeSettings]:
    """Read and check the runtime properties for a deployed job; ConfigError names file and key."""
    groups = read_groups(path)
    file = str(path)
    if RUN_OPTIONS not in groups:
        raise ConfigError(
            file,
            RUN_OPTIONS,
            "missing: the service reads the job's entry points from this group",
            '{"python": "streaming_job.py", "jarfile": "lib/pyflink-dependencies.jar", '
            f'"pyFiles": "{BUNDLED_PYTHON_DIR}"}}',
        )
    run_options = groups[RUN_OPTIONS]
    for key in ("python", "jarfile"):
        if not run_options.get(key, "").strip():
            raise ConfigError(file, f"{RUN_OPTIONS}.{key}", "missing or empty")
    if not run_options["python"].endswith(".py"):
        raise ConfigError(file, f"{RUN_OPTIONS}.python", f"'{run_options['python']}' is not a .py file")
    for key in UNSUPPORTED_RUN_OPTIONS:
        if key in run_options:
            raise ConfigError(
                file,
                f"{RUN_OPTIONS}.{key}",
                "not supported by Managed Service for Apache Flink",
                "python, jarfile, pyFiles, pyArchives; bundle dependencies in the zip",
            )
    # The same checks the job makes when it starts, so a typo fails here rather than on the service.
    settings = settings_from_groups(groups, path, managed=True)
    if settings.catalog.catalog_type != "s3tables":
        raise ConfigError(
            file,
            f"{ICEBERG}.catalog.type",
            f"'{settings.catalog.catalog_type}' keeps the tables in a folder of the application; "
            "a deployed job needs the S3 Tables catalog",
            "s3tables",
        )
    if LOOPBACK.search(settings.kafka.bootstrap_servers):
        raise ConfigError(
            file,
            f"{KAFKA}.bootstrap.servers",
            f"'{settings.kafka.bootstrap_servers}' is this machine, not the MSK cluster",
            "the cluster's bootstrap brokers, e.g. b-1.<cluster>.kafka.<region>.amazonaws.com:9098",
        )
    if settings.kafka.auth != "iam":
        log.warning(
            "%s: kafka.auth=%s: the job connects to the brokers without IAM authentication", file, settings.kafka.auth
        )
    return groups, settings


def check_zip(zip_path: Path, run_options: dict[str, str], properties_file: str) -> None:
    """The files the run options name are in the zip, and bundled packages are on pyFiles."""
    if not zip_path.is_file():
        raise bad_arg("--zip", f"{zip_path} does not exist", "build it with `mvn package`")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise bad_arg("--zip", f"{zip_path} is not a zip file") from None

    def present(path: str) -> bool:
        path = path.strip().strip("/")
        return path in names or any(n.startswith(path + "/") for n in names)

    for key in ("python", "jarfile"):
        if run_options[key].strip() not in names:
            raise ConfigError(
                properties_file, f"{RUN_OPTIONS}.{key}", f"'{run_options[key]}' is not in {zip_path.name}"
            )
    for key in ("pyFiles", "pyArchives"):
        for entry in filter(None, (e.strip() for e in run_options.get(key, "").split(","))):
            path = entry.split("#", 1)[0]  # pyArchives entries may carry '#target_dir'
            if not present(path):
                raise ConfigError(properties_file, f"{RUN_OPTIONS}.{key}", f"'{path}' is not in {zip_path.name}")
    py_files = {e.strip().strip("/") for e in run_options.get("pyFiles", "").split(",")}
    if present(BUNDLED_PYTHON_DIR) and BUNDLED_PYTHON_DIR not in py_files:
        raise ConfigError(
            properties_file,
            f"{RUN_OPTIONS}.pyFiles",
            f"{zip_path.name} bundles Python packages under {BUNDLED_PYTHON_DIR}/ but pyFiles does not "
            "name that folder, so the job could not import them on the service",
            f'"pyFiles": "{BUNDLED_PYTHON_DIR}"',
        )


def build_spec(args: argparse.Namespace) -> AppSpec:
    """Check everything the deploy subcommand was given; raises ConfigError before any AWS call."""
    properties = Path(args.properties)
    groups, settings = validate_properties(properties)
    check_zip(Path(args.zip), groups[RUN_OPTIONS], str(properties))
    flink = settings.flink
    known_runtimes = runtime_values()
    if args.runtime not in known_runtimes:
        raise bad_arg(
            "--runtime",
            f"'{args.runtime}' is not a runtime the installed botocore knows",
            ", ".join(v for v in known_runtimes if v.startswith("FLINK")),
        )
    check_pattern("--role-arn", args.role_arn, ROLE_ARN, "arn:aws:iam::<account-id>:role/<role-name>")
    check_pattern("--bucket", args.bucket, BUCKET, "an S3 bucket name")
    if not args.key.strip() or args.key.startswith("/"):
        raise bad_arg("--key", f"'{args.key}' is not an S3 object key", "e.g. flink/managed-flink-app.zip")
    if args.log_stream_arn:
        check_pattern(
            "--log-stream-arn",
            args.log_stream_arn,
            LOG_STREAM_ARN,
            "arn:aws:logs:<region>:<account-id>:log-group:<group>:log-stream:<stream>",
        )
    subnets = id_list("--subnet-ids", args.subnet_ids, SUBNET, "subnet-0123abcd,subnet-4567ef01")
    groups_sg = id_list("--security-group-ids", args.security_group_ids, SECURITY_GROUP, "sg-0123abcd")
    if bool(subnets) != bool(groups_sg):
        raise bad_arg(
            "--subnet-ids/--security-group-ids",
            "give both or neither",
            "the subnets and security groups the application's network interfaces use to reach MSK",
        )
    checkpoint_ms = duration_ms("--checkpoint-interval", args.checkpoint_interval)
    parallelism = args.parallelism if args.parallelism is not None else flink.parallelism
    for option, value, low, high in (
        ("--parallelism", parallelism, 1, 10_000),
        ("--parallelism-per-kpu", args.parallelism_per_kpu, 1, 8),
    ):
        if not low <= value <= high:
            raise bad_arg(option, f"{value} is out of range", f"{low}..{high}")
    if checkpoint_ms < 1:
        raise bad_arg("--checkpoint-interval", "must be positive")
    if not args.log_stream_arn:
        log.warning("no --log-stream-arn: the application will not write logs to CloudWatch")
    if not subnets:
        log.warning(
            "no --subnet-ids/--security-group-ids: the application runs outside your VPC and cannot "
            "reach an MSK cluster's private brokers"
        )
    return AppSpec(
        name=args.application_name,
        runtime=args.runtime,
        role_arn=args.role_arn,
        bucket=args.bucket,
        key=args.key,
        property_groups=groups,
        checkpoint_interval_ms=checkpoint_ms,
        min_pause_ms=duration_ms("--min-pause-between-checkpoints", args.min_pause_between_checkpoints),
        parallelism=parallelism,
        parallelism_per_kpu=args.parallelism_per_kpu,
        auto_scaling=args.auto_scaling,
        log_level=args.log_level,
        metrics_level=args.metrics_level,
        snapshots=args.snapshots,
        log_stream_arn=args.log_stream_arn,
        subnet_ids=subnets,
        security_group_ids=groups_sg,
        description=args.description,
    )
