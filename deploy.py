"""Deploy the job to Amazon Managed Service for Apache Flink (formerly Kinesis Data Analytics).

Subcommands:
  deploy  upload the zip `mvn package` built to S3, then create the application if it does
          not exist, or update it (code, properties, checkpointing, parallelism, monitoring,
          logging, VPC, role, runtime) if something differs; nothing changes when nothing
          differs, so running it twice is safe. It does not start the application.
  start   start the application (nothing to do when it is already running or starting).
  stop    stop it (nothing to do when it is already stopped).
  status  print the application's state and settings as JSON.
  table-maintenance  set the S3 Tables service's own maintenance (compaction, snapshot expiry,
          unreferenced file removal) of the job's tables and table bucket to match the job's
          table properties (common/s3tables_maintenance.py).
  iam-policy  print the execution role's policy for the topics and consumer groups of the
          config (and an environment's overlay), in any AWS partition (common/iam_policy.py).

The runtime properties come from a file in the format of application_properties.json (the
same shape the job reads locally), `kinesis.analytics.flink.run.options` included. The file,
the zip and every argument are checked before any AWS call. Parallelism defaults to the
file's `flink` group, which the job itself uses locally; the checkpoint interval does not (see
DEFAULT_CHECKPOINT_INTERVAL).

--dry-run makes only read-only calls (ListApplications, DescribeApplication, S3 HeadObject),
to find out what exists, and prints every call that would change something, with its
parameters, instead of making it.

AWS access comes from the usual boto3 chain (profile, environment, role); `--endpoint-url`
or $AWS_ENDPOINT_URL points the clients elsewhere (tests use a local moto server).

Exit codes: 0 ok, 1 an AWS call failed, 2 bad input (no AWS call was made).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import iam_policy, s3tables_maintenance  # noqa: E402
from common.config import CONFIG_DIR, parse_duration_ms  # noqa: E402
from common.deploy_state import PlanStep, map_key  # noqa: E402
from common.errors import ConfigError  # noqa: E402
from common.logs import RedactingFormatter  # noqa: E402
from common.redact import redact  # noqa: E402
from common.properties import (ICEBERG, KAFKA, RUN_OPTIONS, PropertyGroups, RuntimeSettings,  # noqa: E402
                               read_groups, settings_from_groups)

log = logging.getLogger("deploy")

EXIT_OK, EXIT_AWS_ERROR, EXIT_BAD_INPUT = 0, 1, 2


class ApplicationStateError(Exception):
    """The application is missing or did not reach the state asked for (exit 1, like an AWS error)."""

ROOT = Path(__file__).resolve().parent
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
    r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w#./-]{1,512}:log-stream:[^:*]{1,512}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")


# ---------------------------------------------------------------------------------------------
# What the application should look like, from the properties file and the arguments.
# ---------------------------------------------------------------------------------------------

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
        return ROLE_ARN.match(self.role_arn).group(1)

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
        raise ConfigError(file, option, f"'{text}' is not a duration", "e.g. 500ms, 10s, 1min, 1h")
    return value


def validate_properties(path: Path) -> tuple[PropertyGroups, RuntimeSettings]:
    """Read and check the runtime properties for a deployed job; ConfigError names file and key."""
    groups = read_groups(path)
    file = str(path)
    if RUN_OPTIONS not in groups:
        raise ConfigError(file, RUN_OPTIONS, "missing: the service reads the job's entry points from this group",
                          '{"python": "streaming_job.py", "jarfile": "lib/pyflink-dependencies.jar", '
                          f'"pyFiles": "{BUNDLED_PYTHON_DIR}"}}')
    run_options = groups[RUN_OPTIONS]
    for key in ("python", "jarfile"):
        if not run_options.get(key, "").strip():
            raise ConfigError(file, f"{RUN_OPTIONS}.{key}", "missing or empty")
    if not run_options["python"].endswith(".py"):
        raise ConfigError(file, f"{RUN_OPTIONS}.python", f"'{run_options['python']}' is not a .py file")
    for key in UNSUPPORTED_RUN_OPTIONS:
        if key in run_options:
            raise ConfigError(file, f"{RUN_OPTIONS}.{key}", "not supported by Managed Service for Apache Flink",
                              "python, jarfile, pyFiles, pyArchives; bundle dependencies in the zip")
    # The same checks the job makes when it starts, so a typo fails here rather than on the service.
    settings = settings_from_groups(groups, path, managed=True)
    if settings.catalog.catalog_type != "s3tables":
        raise ConfigError(file, f"{ICEBERG}.catalog.type",
                          f"'{settings.catalog.catalog_type}' keeps the tables in a folder of the application; "
                          "a deployed job needs the S3 Tables catalog", "s3tables")
    if LOOPBACK.search(settings.kafka.bootstrap_servers):
        raise ConfigError(file, f"{KAFKA}.bootstrap.servers",
                          f"'{settings.kafka.bootstrap_servers}' is this machine, not the MSK cluster",
                          "the cluster's bootstrap brokers, e.g. b-1.<cluster>.kafka.<region>.amazonaws.com:9098")
    if settings.kafka.auth != "iam":
        log.warning("%s: kafka.auth=%s: the job connects to the brokers without IAM authentication",
                    file, settings.kafka.auth)
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
            raise ConfigError(properties_file, f"{RUN_OPTIONS}.{key}",
                              f"'{run_options[key]}' is not in {zip_path.name}")
    for key in ("pyFiles", "pyArchives"):
        for entry in filter(None, (e.strip() for e in run_options.get(key, "").split(","))):
            path = entry.split("#", 1)[0]  # pyArchives entries may carry '#target_dir'
            if not present(path):
                raise ConfigError(properties_file, f"{RUN_OPTIONS}.{key}", f"'{path}' is not in {zip_path.name}")
    py_files = {e.strip().strip("/") for e in run_options.get("pyFiles", "").split(",")}
    if present(BUNDLED_PYTHON_DIR) and BUNDLED_PYTHON_DIR not in py_files:
        raise ConfigError(properties_file, f"{RUN_OPTIONS}.pyFiles",
                          f"{zip_path.name} bundles Python packages under {BUNDLED_PYTHON_DIR}/ but pyFiles does not "
                          "name that folder, so the job could not import them on the service",
                          f'"pyFiles": "{BUNDLED_PYTHON_DIR}"')


def build_spec(args: argparse.Namespace) -> AppSpec:
    """Check everything the deploy subcommand was given; raises ConfigError before any AWS call."""
    properties = Path(args.properties)
    groups, settings = validate_properties(properties)
    check_zip(Path(args.zip), groups[RUN_OPTIONS], str(properties))
    flink = settings.flink
    known_runtimes = runtime_values()
    if args.runtime not in known_runtimes:
        raise bad_arg("--runtime", f"'{args.runtime}' is not a runtime the installed botocore knows",
                      ", ".join(v for v in known_runtimes if v.startswith("FLINK")))
    check_pattern("--role-arn", args.role_arn, ROLE_ARN, "arn:aws:iam::<account-id>:role/<role-name>")
    check_pattern("--bucket", args.bucket, BUCKET, "an S3 bucket name")
    if not args.key.strip() or args.key.startswith("/"):
        raise bad_arg("--key", f"'{args.key}' is not an S3 object key", "e.g. flink/managed-flink-app.zip")
    if args.log_stream_arn:
        check_pattern("--log-stream-arn", args.log_stream_arn, LOG_STREAM_ARN,
                      "arn:aws:logs:<region>:<account-id>:log-group:<group>:log-stream:<stream>")
    subnets = id_list("--subnet-ids", args.subnet_ids, SUBNET, "subnet-0123abcd,subnet-4567ef01")
    groups_sg = id_list("--security-group-ids", args.security_group_ids, SECURITY_GROUP, "sg-0123abcd")
    if bool(subnets) != bool(groups_sg):
        raise bad_arg("--subnet-ids/--security-group-ids", "give both or neither",
                      "the subnets and security groups the application's network interfaces use to reach MSK")
    checkpoint_ms = duration_ms("--checkpoint-interval", args.checkpoint_interval)
    parallelism = args.parallelism if args.parallelism is not None else flink.parallelism
    for option, value, low, high in (("--parallelism", parallelism, 1, 10_000),
                                     ("--parallelism-per-kpu", args.parallelism_per_kpu, 1, 8)):
        if not low <= value <= high:
            raise bad_arg(option, f"{value} is out of range", f"{low}..{high}")
    if checkpoint_ms < 1:
        raise bad_arg("--checkpoint-interval", "must be positive")
    if not args.log_stream_arn:
        log.warning("no --log-stream-arn: the application will not write logs to CloudWatch")
    if not subnets:
        log.warning("no --subnet-ids/--security-group-ids: the application runs outside your VPC and cannot "
                    "reach an MSK cluster's private brokers")
    return AppSpec(
        name=args.application_name, runtime=args.runtime, role_arn=args.role_arn, bucket=args.bucket, key=args.key,
        property_groups=groups, checkpoint_interval_ms=checkpoint_ms,
        min_pause_ms=duration_ms("--min-pause-between-checkpoints", args.min_pause_between_checkpoints),
        parallelism=parallelism, parallelism_per_kpu=args.parallelism_per_kpu, auto_scaling=args.auto_scaling,
        log_level=args.log_level, metrics_level=args.metrics_level, snapshots=args.snapshots,
        log_stream_arn=args.log_stream_arn, subnet_ids=subnets, security_group_ids=groups_sg,
        description=args.description,
    )


# ---------------------------------------------------------------------------------------------
# Requests: what CreateApplication / UpdateApplication should carry.
# ---------------------------------------------------------------------------------------------

def code_location(spec: AppSpec) -> dict[str, str]:
    location = {"BucketARN": spec.bucket_arn, "FileKey": spec.key}
    if spec.object_version:
        location["ObjectVersion"] = spec.object_version
    return location


def flink_configuration(spec: AppSpec) -> dict[str, Any]:
    return {
        "CheckpointConfiguration": {"ConfigurationType": "CUSTOM", "CheckpointingEnabled": True,
                                    "CheckpointInterval": spec.checkpoint_interval_ms,
                                    "MinPauseBetweenCheckpoints": spec.min_pause_ms},
        "MonitoringConfiguration": {"ConfigurationType": "CUSTOM", "MetricsLevel": spec.metrics_level,
                                    "LogLevel": spec.log_level},
        "ParallelismConfiguration": {"ConfigurationType": "CUSTOM", "Parallelism": spec.parallelism,
                                     "ParallelismPerKPU": spec.parallelism_per_kpu,
                                     "AutoScalingEnabled": spec.auto_scaling},
    }


def create_request(spec: AppSpec) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "ApplicationCodeConfiguration": {"CodeContent": {"S3ContentLocation": code_location(spec)},
                                         "CodeContentType": "ZIPFILE"},
        "EnvironmentProperties": {"PropertyGroups": spec.property_group_list()},
        "FlinkApplicationConfiguration": flink_configuration(spec),
        "ApplicationSnapshotConfiguration": {"SnapshotsEnabled": spec.snapshots},
    }
    if spec.subnet_ids:
        configuration["VpcConfigurations"] = [{"SubnetIds": spec.subnet_ids,
                                               "SecurityGroupIds": spec.security_group_ids}]
    request: dict[str, Any] = {
        "ApplicationName": spec.name,
        "RuntimeEnvironment": spec.runtime,
        "ServiceExecutionRole": spec.role_arn,
        "ApplicationConfiguration": configuration,
    }
    if spec.description:
        request["ApplicationDescription"] = spec.description
    if spec.log_stream_arn:
        request["CloudWatchLoggingOptions"] = [{"LogStreamARN": spec.log_stream_arn}]
    return request


def update_request(spec: AppSpec, current: dict[str, Any], version_id: int,
                   code_changed: bool) -> tuple[dict[str, Any] | None, list[str]]:
    """The UpdateApplication request that makes `current` match `spec` (None if it already does),
    and what differs, in words."""
    config = current.get("ApplicationConfigurationDescription") or {}
    changes: list[str] = []
    update: dict[str, Any] = {}
    request: dict[str, Any] = {"ApplicationName": spec.name, "CurrentApplicationVersionId": version_id}

    code = (config.get("ApplicationCodeConfigurationDescription") or {}).get("CodeContentDescription") or {}
    location = code.get("S3ApplicationCodeLocationDescription") or {}
    wanted = code_location(spec)
    if {k: location.get(k) for k in wanted} != wanted:
        changes.append(f"code location s3://{spec.bucket}/{spec.key}")
    elif code_changed:
        changes.append("code (a new zip at the same location)")
    if changes:
        s3_update = {"BucketARNUpdate": spec.bucket_arn, "FileKeyUpdate": spec.key}
        if spec.object_version:
            s3_update["ObjectVersionUpdate"] = spec.object_version
        update["ApplicationCodeConfigurationUpdate"] = {"CodeContentTypeUpdate": "ZIPFILE",
                                                        "CodeContentUpdate": {"S3ContentLocationUpdate": s3_update}}

    current_groups = {g["PropertyGroupId"]: g["PropertyMap"] for g in
                      (config.get("EnvironmentPropertyDescriptions") or {}).get("PropertyGroupDescriptions") or []}
    if current_groups != spec.property_groups:
        differing = sorted(g for g in set(current_groups) | set(spec.property_groups)
                           if current_groups.get(g) != spec.property_groups.get(g))
        changes.append(f"runtime properties ({', '.join(differing)})")
        update["EnvironmentPropertyUpdates"] = {"PropertyGroups": spec.property_group_list()}

    flink = config.get("FlinkApplicationConfigurationDescription") or {}
    wanted_flink = flink_configuration(spec)
    flink_update: dict[str, Any] = {}
    for part in ("CheckpointConfiguration", "MonitoringConfiguration", "ParallelismConfiguration"):
        have = flink.get(part + "Description") or {}
        want = wanted_flink[part]
        differs = {k for k, v in want.items() if have.get(k) != v}
        if part == "ParallelismConfiguration" and differs == {"Parallelism"} and want["AutoScalingEnabled"]:
            # Auto scaling moves Parallelism itself; resetting it would restart the job for nothing.
            log.info("parallelism is %s (auto scaling), configured %s: left to auto scaling",
                     have.get("Parallelism"), want["Parallelism"])
            continue
        if differs:
            changes.append(f"{part[:-len('Configuration')].lower()} settings ({', '.join(sorted(differs))})")
            flink_update[part + "Update"] = {k + "Update": v for k, v in want.items()}
    if flink_update:
        update["FlinkApplicationConfigurationUpdate"] = flink_update

    snapshots = (config.get("ApplicationSnapshotConfigurationDescription") or {}).get("SnapshotsEnabled")
    if snapshots != spec.snapshots:
        changes.append(f"snapshots {'on' if spec.snapshots else 'off'}")
        update["ApplicationSnapshotConfigurationUpdate"] = {"SnapshotsEnabledUpdate": spec.snapshots}

    vpcs = config.get("VpcConfigurationDescriptions") or []
    if spec.subnet_ids and vpcs:
        vpc = vpcs[0]
        if (set(vpc.get("SubnetIds", [])) != set(spec.subnet_ids)
                or set(vpc.get("SecurityGroupIds", [])) != set(spec.security_group_ids)):
            changes.append("VPC subnets/security groups")
            update["VpcConfigurationUpdates"] = [{"VpcConfigurationId": vpc["VpcConfigurationId"],
                                                  "SubnetIdUpdates": spec.subnet_ids,
                                                  "SecurityGroupIdUpdates": spec.security_group_ids}]
    elif vpcs and not spec.subnet_ids:
        log.warning("the application has a VPC configuration and no --subnet-ids were given: left as it is")

    if update:
        request["ApplicationConfigurationUpdate"] = update
    if current.get("ServiceExecutionRole") != spec.role_arn:
        changes.append("service execution role")
        request["ServiceExecutionRoleUpdate"] = spec.role_arn
    if current.get("RuntimeEnvironment") != spec.runtime:
        changes.append(f"runtime {current.get('RuntimeEnvironment')} -> {spec.runtime}")
        request["RuntimeEnvironmentUpdate"] = spec.runtime
    logging_options = current.get("CloudWatchLoggingOptionDescriptions") or []
    if spec.log_stream_arn and logging_options and logging_options[0].get("LogStreamARN") != spec.log_stream_arn:
        changes.append("CloudWatch log stream")
        request["CloudWatchLoggingOptionUpdates"] = [{
            "CloudWatchLoggingOptionId": logging_options[0]["CloudWatchLoggingOptionId"],
            "LogStreamARNUpdate": spec.log_stream_arn}]
    return (request if changes else None), changes


# ---------------------------------------------------------------------------------------------
# Calling AWS (or, with --dry-run, printing the calls that would change something).
# ---------------------------------------------------------------------------------------------

@dataclass
class Clients:
    kinesisanalyticsv2: Any
    s3: Any
    s3tables: Any = None


def make_clients(region: str | None, endpoint_url: str | None) -> Clients:
    import boto3  # deferred: --help and input checks need no AWS SDK

    # botocore reads $AWS_DEFAULT_REGION and the profile; $AWS_REGION (the SDKs' newer name) too.
    session = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
    if not session.region_name:
        raise bad_arg("--region", "no region given", "pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    return Clients(kinesisanalyticsv2=session.client("kinesisanalyticsv2", endpoint_url=endpoint_url),
                   s3=session.client("s3", endpoint_url=endpoint_url),
                   s3tables=session.client("s3tables", endpoint_url=endpoint_url))


class Api:
    """Read-only calls always run; calls that change something are printed instead under --dry-run."""

    def __init__(self, clients: Clients, dry_run: bool, out: TextIO) -> None:
        self.clients = clients
        self.dry_run = dry_run
        self.out = out

    def read(self, service: str, method: str, **params: Any) -> Any:
        log.debug("%s.%s %s", service, method, redact(params))
        return getattr(getattr(self.clients, service), method)(**params)

    def change(self, service: str, operation: str, method: str, **params: Any) -> Any:
        if self.dry_run:  # property groups may carry credentials: shown redacted (common/redact.py)
            self.out.write(f"# would call {service}.{operation}\n{json.dumps(redact(params), indent=2)}\n")
            return None
        log.info("calling %s.%s", service, operation)
        return getattr(getattr(self.clients, service), method)(**params)

    def find_application(self, name: str) -> dict[str, Any] | None:
        """The application's description, or None if there is none of that name (ListApplications
        first: moto answers DescribeApplication for a missing name with a server error)."""
        paginator = self.clients.kinesisanalyticsv2.get_paginator("list_applications")
        for page in paginator.paginate():
            if any(s["ApplicationName"] == name for s in page.get("ApplicationSummaries", [])):
                return self.read("kinesisanalyticsv2", "describe_application",
                                 ApplicationName=name)["ApplicationDetail"]
        return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def upload_zip(api: Api, zip_path: Path, spec: AppSpec, sha256: str) -> bool:
    """Put the zip at s3://bucket/key unless that object already has its content; True if uploaded.
    Sets spec.object_version when the bucket keeps versions."""
    from botocore.exceptions import ClientError

    try:
        head = api.read("s3", "head_object", Bucket=spec.bucket, Key=spec.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        head = None
    if head and head.get("Metadata", {}).get(SHA256_METADATA) == sha256:
        spec.object_version = head.get("VersionId")
        log.info("s3://%s/%s already holds this zip (sha256 %s…): not uploaded", spec.bucket, spec.key, sha256[:12])
        return False
    api.change("s3", "PutObject", "upload_file", Filename=str(zip_path), Bucket=spec.bucket, Key=spec.key,
               ExtraArgs={"Metadata": {SHA256_METADATA: sha256}})
    if not api.dry_run:
        spec.object_version = api.read("s3", "head_object", Bucket=spec.bucket, Key=spec.key).get("VersionId")
        log.info("uploaded %s to s3://%s/%s%s", zip_path.name, spec.bucket, spec.key,
                 f" (version {spec.object_version})" if spec.object_version else "")
    return True


def deployed_code_key(current: dict[str, Any]) -> str | None:
    config = current.get("ApplicationConfigurationDescription") or {}
    code = (config.get("ApplicationCodeConfigurationDescription") or {}).get("CodeContentDescription") or {}
    return (code.get("S3ApplicationCodeLocationDescription") or {}).get("FileKey")


def deploy(api: Api, spec: AppSpec, zip_path: Path, force_code_update: bool = False,
           plan: PlanStep | None = None) -> None:
    """Upload, then create or update. With ``plan``: compare the zip's plan with the deployed
    one first (common/deploy_state.py): the zip gets the new state map, and an update gets
    the restore settings the diff calls for."""
    current = api.find_application(spec.name)
    restore, state_map = None, None
    if plan:
        zip_path, state_map, restore, _ = plan.prepare(
            api.clients.s3, spec.bucket, (current and deployed_code_key(current)) or spec.key, current is not None,
            zip_path)
    uploaded = upload_zip(api, zip_path, spec, sha256_of(zip_path)) or force_code_update
    if state_map and uploaded:
        api.change("s3", "PutObject", "put_object", Bucket=spec.bucket, Key=map_key(spec.key),
                   Body=state_map.to_json())
    if current is None:
        response = api.change("kinesisanalyticsv2", "CreateApplication", "create_application", **create_request(spec))
        if response:
            detail = response["ApplicationDetail"]
            log.info("created %s (%s, version %s, status %s)", detail["ApplicationARN"], detail["RuntimeEnvironment"],
                     detail["ApplicationVersionId"], detail["ApplicationStatus"])
        return

    version = current["ApplicationVersionId"]
    log.info("%s exists (status %s, version %s)", spec.name, current["ApplicationStatus"], version)
    # Logging and VPC settings an application was created without are added by calls of their own.
    if spec.log_stream_arn and not current.get("CloudWatchLoggingOptionDescriptions"):
        response = api.change("kinesisanalyticsv2", "AddApplicationCloudWatchLoggingOption",
                              "add_application_cloud_watch_logging_option", ApplicationName=spec.name,
                              CurrentApplicationVersionId=version,
                              CloudWatchLoggingOption={"LogStreamARN": spec.log_stream_arn})
        version = response["ApplicationVersionId"] if response else version + 1
    config = current.get("ApplicationConfigurationDescription") or {}
    if spec.subnet_ids and not config.get("VpcConfigurationDescriptions"):
        response = api.change("kinesisanalyticsv2", "AddApplicationVpcConfiguration",
                              "add_application_vpc_configuration", ApplicationName=spec.name,
                              CurrentApplicationVersionId=version,
                              VpcConfiguration={"SubnetIds": spec.subnet_ids,
                                                "SecurityGroupIds": spec.security_group_ids})
        version = response["ApplicationVersionId"] if response else version + 1

    request, changes = update_request(spec, current, version, uploaded)
    if request is None:
        if version == current["ApplicationVersionId"]:
            log.info("%s is up to date: nothing to change", spec.name)
        return
    if restore:
        request["RunConfigurationUpdate"] = restore
    log.info("updating %s: %s", spec.name, "; ".join(changes))
    if current["ApplicationStatus"] == "RUNNING":
        log.info("the application is running: the service restarts it with the new version")
    response = api.change("kinesisanalyticsv2", "UpdateApplication", "update_application", **request)
    if response:
        detail = response["ApplicationDetail"]
        log.info("updated %s to version %s (status %s)", spec.name, detail["ApplicationVersionId"],
                 detail["ApplicationStatus"])


def require_application(api: Api, name: str) -> dict[str, Any]:
    current = api.find_application(name)
    if current is None:
        raise ApplicationStateError(f"there is no application named '{name}' in this account and region")
    return current


def wait_for(api: Api, name: str, statuses: tuple[str, ...], timeout_s: float, interval_s: float,
             failed_if_back_to: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll DescribeApplication until the status is one of `statuses`. Returning to
    `failed_if_back_to` after another status (READY after STARTING: the start failed) is an error."""
    deadline = time.monotonic() + timeout_s
    moved = False
    while True:
        status = api.read("kinesisanalyticsv2", "describe_application",
                          ApplicationName=name)["ApplicationDetail"]["ApplicationStatus"]
        if status in statuses:
            log.info("%s is %s", name, status)
            return
        if status == failed_if_back_to and moved:
            raise ApplicationStateError(f"{name} went back to {status}: it did not reach {'/'.join(statuses)} "
                              "(the application's CloudWatch logs say why)")
        moved = moved or status != failed_if_back_to
        if time.monotonic() >= deadline:
            raise ApplicationStateError(f"{name} is still {status} after {timeout_s:.0f}s "
                                        f"(waiting for {'/'.join(statuses)})")
        log.info("%s is %s; waiting", name, status)
        sleep(interval_s)


def start(api: Api, args: argparse.Namespace) -> None:
    current = require_application(api, args.application_name)
    if current["ApplicationStatus"] in RUNNING_OR_STARTING:
        log.info("%s is already %s: nothing to start", args.application_name, current["ApplicationStatus"])
        return
    params: dict[str, Any] = {"ApplicationName": args.application_name}
    run: dict[str, Any] = {}
    if args.snapshot_name:
        run["ApplicationRestoreConfiguration"] = {"ApplicationRestoreType": "RESTORE_FROM_CUSTOM_SNAPSHOT",
                                                  "SnapshotName": args.snapshot_name}
    elif args.restore:
        run["ApplicationRestoreConfiguration"] = {"ApplicationRestoreType": {
            "latest": "RESTORE_FROM_LATEST_SNAPSHOT", "skip": "SKIP_RESTORE_FROM_SNAPSHOT"}[args.restore]}
    if args.allow_non_restored_state:
        run["FlinkRunConfiguration"] = {"AllowNonRestoredState": True}
    if run:
        params["RunConfiguration"] = run
    api.change("kinesisanalyticsv2", "StartApplication", "start_application", **params)
    if args.wait and not api.dry_run:
        wait_for(api, args.application_name, ("RUNNING",), args.wait, args.poll_interval, failed_if_back_to="READY")


def stop(api: Api, args: argparse.Namespace) -> None:
    current = require_application(api, args.application_name)
    if current["ApplicationStatus"] in STOPPED_OR_STOPPING:
        log.info("%s is already %s: nothing to stop", args.application_name, current["ApplicationStatus"])
        return
    api.change("kinesisanalyticsv2", "StopApplication", "stop_application",
               ApplicationName=args.application_name, Force=args.force)
    if args.wait and not api.dry_run:
        wait_for(api, args.application_name, ("READY",), args.wait, args.poll_interval)


def status_summary(detail: dict[str, Any]) -> dict[str, Any]:
    config = detail.get("ApplicationConfigurationDescription") or {}
    code = ((config.get("ApplicationCodeConfigurationDescription") or {}).get("CodeContentDescription") or {})
    location = code.get("S3ApplicationCodeLocationDescription") or {}
    flink = config.get("FlinkApplicationConfigurationDescription") or {}
    return {
        "ApplicationName": detail.get("ApplicationName"),
        "ApplicationARN": detail["ApplicationARN"],
        "ApplicationStatus": detail["ApplicationStatus"],
        "ApplicationVersionId": detail["ApplicationVersionId"],
        "RuntimeEnvironment": detail["RuntimeEnvironment"],
        "ServiceExecutionRole": detail.get("ServiceExecutionRole"),
        "Code": {k: location[k] for k in ("BucketARN", "FileKey", "ObjectVersion") if k in location},
        "Checkpoint": flink.get("CheckpointConfigurationDescription"),
        "Parallelism": flink.get("ParallelismConfigurationDescription"),
        "PropertyGroups": sorted(g["PropertyGroupId"] for g in (config.get("EnvironmentPropertyDescriptions")
                                                               or {}).get("PropertyGroupDescriptions", [])),
        "LogStreamARNs": [o["LogStreamARN"] for o in detail.get("CloudWatchLoggingOptionDescriptions") or []],
        "Vpc": [{k: v[k] for k in ("VpcId", "SubnetIds", "SecurityGroupIds") if k in v}
                for v in config.get("VpcConfigurationDescriptions") or []],
    }


def status(api: Api, args: argparse.Namespace) -> None:
    detail = {"ApplicationName": args.application_name, **require_application(api, args.application_name)}
    api.out.write(json.dumps(status_summary(detail), indent=2, default=str) + "\n")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--application-name", required=True, help="the Managed Flink application's name")
    common.add_argument("--region", help="AWS region (default: $AWS_REGION / $AWS_DEFAULT_REGION / the profile's)")
    common.add_argument("--endpoint-url", help="send the API calls here instead of AWS (default: $AWS_ENDPOINT_URL)")
    common.add_argument("--dry-run", action="store_true",
                        help="make only read-only calls; print the calls that would change something instead")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    parser = argparse.ArgumentParser(
        prog="deploy.py", description="Deploy the job to Amazon Managed Service for Apache Flink and run it.",
        epilog="Exit codes: 0 ok, 1 an AWS call failed, 2 bad input (no AWS call was made). See docs/deploy.md.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{deploy,start,stop,status,table-maintenance,iam-policy}")

    d = commands.add_parser("deploy", parents=[common], help="upload the zip; create or update the application",
                            description="Upload the zip and create the application, or update it where it differs.")
    d.add_argument("--properties", required=True,
                   help="runtime properties, in the format of application_properties.json (run options included)")
    d.add_argument("--zip", default=str(DEFAULT_ZIP), help="the zip `mvn package` built (default: %(default)s)")
    d.add_argument("--bucket", required=True, help="S3 bucket for the code")
    d.add_argument("--key", default="flink/managed-flink-app.zip", help="S3 key for the zip (default: %(default)s)")
    d.add_argument("--role-arn", required=True, help="the application's service execution role")
    d.add_argument("--runtime", default=RUNTIME, help="runtime environment (default: %(default)s)")
    d.add_argument("--description", default="Kafka -> Iceberg streaming job (config-driven PyFlink)")
    d.add_argument("--log-stream-arn", help="CloudWatch Logs stream for the application's logs "
                   "(arn:aws:logs:<region>:<account-id>:log-group:<group>:log-stream:<stream>)")
    d.add_argument("--log-level", default="INFO", choices=("INFO", "WARN", "ERROR", "DEBUG"))
    d.add_argument("--metrics-level", default="APPLICATION", choices=("APPLICATION", "TASK", "OPERATOR", "PARALLELISM"))
    d.add_argument("--subnet-ids", help="comma-separated subnets with a route to the MSK brokers")
    d.add_argument("--security-group-ids", help="comma-separated security groups the brokers accept")
    d.add_argument("--parallelism", type=int, help="default: flink.parallelism of the properties file")
    d.add_argument("--parallelism-per-kpu", type=int, default=1, help="1..8 (default: %(default)s)")
    d.add_argument("--auto-scaling", action=argparse.BooleanOptionalAction, default=True,
                   help="let the service scale parallelism with load (default: on)")
    d.add_argument("--checkpoint-interval", default=DEFAULT_CHECKPOINT_INTERVAL,
                   help="how often the service checkpoints, and so how often Iceberg commits (default: %(default)s; "
                   "the properties' flink.checkpoint.interval is for local runs)")
    d.add_argument("--min-pause-between-checkpoints", default="5s", help="default: %(default)s")
    d.add_argument("--force-code-update", action="store_true",
                   help="point the application at the zip again even if nothing seems changed (an unversioned "
                   "bucket, after an update that failed once the zip was uploaded)")
    d.add_argument("--allow-state-loss", nargs="+", default=[], metavar="PIPELINE",
                   help="accept that these changed pipelines restart without their state (the plan diff, printed "
                   "first, says which changes drop state); without it such a deployment is refused")
    d.add_argument("--snapshots", action=argparse.BooleanOptionalAction, default=True,
                   help="take a snapshot when the application stops or is updated (default: on)")

    s = commands.add_parser("start", parents=[common], help="start the application")
    restore = s.add_mutually_exclusive_group()
    restore.add_argument("--restore", choices=("latest", "skip"),
                         help="restore from the latest snapshot, or skip restoring (default: the service's)")
    restore.add_argument("--snapshot-name", help="restore from this snapshot")
    s.add_argument("--allow-non-restored-state", action="store_true",
                   help="start even if some snapshot state matches no operator of the new job")

    t = commands.add_parser("stop", parents=[common], help="stop the application (takes a snapshot if enabled)")
    t.add_argument("--force", action="store_true", help="stop without a snapshot")

    for sub in (s, t):
        sub.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                         help="wait up to SECONDS for RUNNING (start) / READY (stop); default: do not wait")
        sub.add_argument("--poll-interval", type=float, default=10, metavar="SECONDS", help=argparse.SUPPRESS)

    commands.add_parser("status", parents=[common], help="print the application's state and settings as JSON")

    m = commands.add_parser("table-maintenance", help="configure S3 Tables' own maintenance of the job's tables",
                            description="Set the S3 Tables service's compaction and snapshot management of each "
                            "table of the config, and the table bucket's unreferenced file removal, to match the "
                            "job's table properties. Tables the job has not created yet are skipped (run it again "
                            "after the first start). Safe to repeat: only what differs is changed.")
    m.add_argument("--properties", required=True, help="runtime properties (the table bucket ARN and namespace)")
    m.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="folder with the pipelines (default: %(default)s)")
    m.add_argument("--region", help="AWS region (default: $AWS_REGION / $AWS_DEFAULT_REGION / the profile's)")
    m.add_argument("--endpoint-url", help="send the API calls here instead of AWS (default: $AWS_ENDPOINT_URL)")
    m.add_argument("--dry-run", action="store_true", help="make only read calls; print the changes instead")
    m.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    table_defaults = s3tables_maintenance.from_table_properties()
    m.add_argument("--target-file-size-mb", type=int, default=table_defaults.target_file_size_mb,
                   help="compaction target, 64..512 (default: %(default)s, write.target-file-size-bytes)")
    m.add_argument("--min-snapshots", type=int, default=table_defaults.min_snapshots_to_keep,
                   help="snapshots always kept (default: %(default)s, history.expire.min-snapshots-to-keep)")
    m.add_argument("--max-snapshot-age-hours", type=int, default=table_defaults.max_snapshot_age_hours,
                   help="older snapshots expire (default: %(default)s, history.expire.max-snapshot-age-ms)")
    m.add_argument("--unreferenced-days", type=int, default=table_defaults.unreferenced_days,
                   help="bucket: unreferenced files become noncurrent after this (default: %(default)s)")
    m.add_argument("--noncurrent-days", type=int, default=table_defaults.noncurrent_days,
                   help="bucket: noncurrent files are deleted after this (default: %(default)s)")

    i = commands.add_parser("iam-policy", help="print the execution role's policy (JSON) for the config's topics",
                            description="Print the execution role's policy: the topics and consumer groups of the "
                            "config (after the environment's overlay), every ARN in the chosen partition. Values "
                            "not given stay ${Name} placeholders for envsubst (docs/deploy.md). No AWS call.")
    i.add_argument("--environment", help="apply config/overlays/ENVIRONMENT.yaml (default: topics.yaml as it is)")
    i.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml (default: %(default)s)")
    i.add_argument("--partition", help="aws, aws-cn or aws-us-gov (default: the --region's, else left as ${Partition})")
    i.add_argument("--region", help="fills ${Region} (and the partition, unless --partition is given)")
    i.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.command == "iam-policy":
        if args.partition is not None:
            check_pattern("--partition", args.partition, iam_policy.PARTITION_NAME, ", ".join(iam_policy.PARTITIONS))
    elif args.command != "table-maintenance":
        check_pattern("--application-name", args.application_name, APPLICATION_NAME, "1-128 of a-z A-Z 0-9 _ . -")
    return args


def print_iam_policy(args: argparse.Namespace, out: TextIO) -> None:
    values = {"Region": args.region} if args.region else {}
    partition = args.partition or (iam_policy.partition_of(args.region) if args.region else None)
    if partition:
        values["Partition"] = partition
    out.write(iam_policy.policy_text(iam_policy.policy_for(args.config_dir, args.environment, values)))


def maintenance_inputs(args: argparse.Namespace) -> tuple[str, str, list[str], s3tables_maintenance.MaintenanceSettings]:
    """Table bucket ARN, namespace, the job's tables and the settings; ConfigError before any AWS call."""
    from common.config import load_project
    from common.dead_letters import DEAD_LETTER_TABLE

    _, settings = validate_properties(Path(args.properties))
    low, high = s3tables_maintenance.COMPACTION_MB_RANGE
    if not low <= args.target_file_size_mb <= high:
        raise bad_arg("--target-file-size-mb", f"{args.target_file_size_mb} is out of range", f"{low}..{high}")
    for option in ("min_snapshots", "max_snapshot_age_hours", "unreferenced_days", "noncurrent_days"):
        if getattr(args, option) < 1:
            raise bad_arg("--" + option.replace("_", "-"), f"{getattr(args, option)} is not positive", "1 or more")
    project = load_project(args.config_dir, settings.environment)
    tables = [p.sink_table for p in project.pipelines] + [DEAD_LETTER_TABLE]
    return settings.catalog.warehouse, settings.catalog.namespace, tables, s3tables_maintenance.MaintenanceSettings(
        args.target_file_size_mb, args.min_snapshots, args.max_snapshot_age_hours, args.unreferenced_days,
        args.noncurrent_days)


def main(argv: list[str] | None = None, clients: Clients | None = None, out: TextIO | None = None) -> int:
    """Run one subcommand; `clients` lets tests pass boto3 clients of their own (e.g. stubbed)."""
    out = out or sys.stdout
    try:
        args = parse_args(argv)
    except ConfigError as exc:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        log.error("bad input: %s", exc)
        return EXIT_BAD_INPUT
    handler = logging.StreamHandler(sys.stderr)  # every line redacted (common/redact.py)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
    # Even with -v: botocore's debug lines carry whole request bodies (the property groups, secrets too).
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.command == "iam-policy":
        try:
            print_iam_policy(args, out)
        except ConfigError as exc:
            log.error("bad input: %s", exc)
            return EXIT_BAD_INPUT
        return EXIT_OK
    try:
        spec = build_spec(args) if args.command == "deploy" else None
        maintenance = maintenance_inputs(args) if args.command == "table-maintenance" else None
        api = Api(clients or make_clients(args.region, args.endpoint_url), args.dry_run, out)
    except ConfigError as exc:
        log.error("bad input: %s", exc)
        return EXIT_BAD_INPUT

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if args.command == "deploy":
            deploy(api, spec, Path(args.zip), args.force_code_update,
                   PlanStep(Path(args.properties), tuple(args.allow_state_loss)))
        elif args.command == "start":
            start(api, args)
        elif args.command == "stop":
            stop(api, args)
        elif args.command == "table-maintenance":
            s3tables_maintenance.configure(api, *maintenance)
        else:
            status(api, args)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        log.error("AWS error in %s: %s: %s", exc.operation_name, error.get("Code"), error.get("Message"))
        return EXIT_AWS_ERROR
    except (BotoCoreError, ApplicationStateError) as exc:
        log.error("%s", exc)
        return EXIT_AWS_ERROR
    except ConfigError as exc:  # the plan diff refused the deployment: nothing was changed
        log.error("refused: %s", exc)
        return EXIT_BAD_INPUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
