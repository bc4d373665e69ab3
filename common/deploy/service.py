"""Calling AWS (S3 for the zip, kinesisanalyticsv2 for the application) or, with --dry-run,
printing the calls that would change something; read-only calls are made either way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

from common.deploy.deploy_state import PlanStep, map_key
from common.deploy.requests import create_request, update_request
from common.deploy.spec import (
    RUNNING_OR_STARTING,
    SHA256_METADATA,
    STOPPED_OR_STOPPING,
    ApplicationStateError,
    AppSpec,
    bad_arg,
)
from common.redact import redact

log = logging.getLogger(__name__)


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
    return Clients(
        kinesisanalyticsv2=session.client("kinesisanalyticsv2", endpoint_url=endpoint_url),
        s3=session.client("s3", endpoint_url=endpoint_url),
        s3tables=session.client("s3tables", endpoint_url=endpoint_url),
    )


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
                return self.read("kinesisanalyticsv2", "describe_application", ApplicationName=name)[
                    "ApplicationDetail"
                ]
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
    api.change(
        "s3",
        "PutObject",
        "upload_file",
        Filename=str(zip_path),
        Bucket=spec.bucket,
        Key=spec.key,
        ExtraArgs={"Metadata": {SHA256_METADATA: sha256}},
    )
    if not api.dry_run:
        spec.object_version = api.read("s3", "head_object", Bucket=spec.bucket, Key=spec.key).get("VersionId")
        log.info(
            "uploaded %s to s3://%s/%s%s",
            zip_path.name,
            spec.bucket,
            spec.key,
            f" (version {spec.object_version})" if spec.object_version else "",
        )
    return True


def deployed_code_key(current: dict[str, Any]) -> str | None:
    config = current.get("ApplicationConfigurationDescription") or {}
    code = (config.get("ApplicationCodeConfigurationDescription") or {}).get("CodeContentDescription") or {}
    return (code.get("S3ApplicationCodeLocationDescription") or {}).get("FileKey")


def deploy(
    api: Api, spec: AppSpec, zip_path: Path, force_code_update: bool = False, plan: PlanStep | None = None
) -> None:
    """Upload, then create or update. With ``plan``: compare the zip's plan with the deployed
    one first (common/deploy/deploy_state.py): the zip gets the new state map, and an update gets
    the restore settings the diff calls for."""
    current = api.find_application(spec.name)
    restore, state_map = None, None
    if plan:
        zip_path, state_map, restore, _ = plan.prepare(
            api.clients.s3,
            spec.bucket,
            (current and deployed_code_key(current)) or spec.key,
            current is not None,
            zip_path,
        )
    uploaded = upload_zip(api, zip_path, spec, sha256_of(zip_path)) or force_code_update
    if state_map and uploaded:
        api.change("s3", "PutObject", "put_object", Bucket=spec.bucket, Key=map_key(spec.key), Body=state_map.to_json())
    if current is None:
        response = api.change("kinesisanalyticsv2", "CreateApplication", "create_application", **create_request(spec))
        if response:
            detail = response["ApplicationDetail"]
            log.info(
                "created %s (%s, version %s, status %s)",
                detail["ApplicationARN"],
                detail["RuntimeEnvironment"],
                detail["ApplicationVersionId"],
                detail["ApplicationStatus"],
            )
        return

    version = current["ApplicationVersionId"]
    log.info("%s exists (status %s, version %s)", spec.name, current["ApplicationStatus"], version)
    # Logging and VPC settings an application was created without are added by calls of their own.
    if spec.log_stream_arn and not current.get("CloudWatchLoggingOptionDescriptions"):
        response = api.change(
            "kinesisanalyticsv2",
            "AddApplicationCloudWatchLoggingOption",
            "add_application_cloud_watch_logging_option",
            ApplicationName=spec.name,
            CurrentApplicationVersionId=version,
            CloudWatchLoggingOption={"LogStreamARN": spec.log_stream_arn},
        )
        version = response["ApplicationVersionId"] if response else version + 1
    config = current.get("ApplicationConfigurationDescription") or {}
    if spec.subnet_ids and not config.get("VpcConfigurationDescriptions"):
        response = api.change(
            "kinesisanalyticsv2",
            "AddApplicationVpcConfiguration",
            "add_application_vpc_configuration",
            ApplicationName=spec.name,
            CurrentApplicationVersionId=version,
            VpcConfiguration={"SubnetIds": spec.subnet_ids, "SecurityGroupIds": spec.security_group_ids},
        )
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
        log.info(
            "updated %s to version %s (status %s)",
            spec.name,
            detail["ApplicationVersionId"],
            detail["ApplicationStatus"],
        )


def require_application(api: Api, name: str) -> dict[str, Any]:
    current = api.find_application(name)
    if current is None:
        raise ApplicationStateError(f"there is no application named '{name}' in this account and region")
    return current


def wait_for(
    api: Api,
    name: str,
    statuses: tuple[str, ...],
    timeout_s: float,
    interval_s: float,
    failed_if_back_to: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll DescribeApplication until the status is one of `statuses`. Returning to
    `failed_if_back_to` after another status (READY after STARTING: the start failed) is an error."""
    deadline = time.monotonic() + timeout_s
    moved = False
    while True:
        status = api.read("kinesisanalyticsv2", "describe_application", ApplicationName=name)["ApplicationDetail"][
            "ApplicationStatus"
        ]
        if status in statuses:
            log.info("%s is %s", name, status)
            return
        if status == failed_if_back_to and moved:
            raise ApplicationStateError(
                f"{name} went back to {status}: it did not reach {'/'.join(statuses)} "
                "(the application's CloudWatch logs say why)"
            )
        moved = moved or status != failed_if_back_to
        if time.monotonic() >= deadline:
            raise ApplicationStateError(
                f"{name} is still {status} after {timeout_s:.0f}s (waiting for {'/'.join(statuses)})"
            )
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
        run["ApplicationRestoreConfiguration"] = {
            "ApplicationRestoreType": "RESTORE_FROM_CUSTOM_SNAPSHOT",
            "SnapshotName": args.snapshot_name,
        }
    elif args.restore:
        run["ApplicationRestoreConfiguration"] = {
            "ApplicationRestoreType": {"latest": "RESTORE_FROM_LATEST_SNAPSHOT", "skip": "SKIP_RESTORE_FROM_SNAPSHOT"}[
                args.restore
            ]
        }
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
    api.change(
        "kinesisanalyticsv2",
        "StopApplication",
        "stop_application",
        ApplicationName=args.application_name,
        Force=args.force,
    )
    if args.wait and not api.dry_run:
        wait_for(api, args.application_name, ("READY",), args.wait, args.poll_interval)


def status_summary(detail: dict[str, Any]) -> dict[str, Any]:
    config = detail.get("ApplicationConfigurationDescription") or {}
    code = (config.get("ApplicationCodeConfigurationDescription") or {}).get("CodeContentDescription") or {}
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
        "PropertyGroups": sorted(
            g["PropertyGroupId"]
            for g in (config.get("EnvironmentPropertyDescriptions") or {}).get("PropertyGroupDescriptions", [])
        ),
        "LogStreamARNs": [o["LogStreamARN"] for o in detail.get("CloudWatchLoggingOptionDescriptions") or []],
        "Vpc": [
            {k: v[k] for k in ("VpcId", "SubnetIds", "SecurityGroupIds") if k in v}
            for v in config.get("VpcConfigurationDescriptions") or []
        ],
    }


def status(api: Api, args: argparse.Namespace) -> None:
    detail = {"ApplicationName": args.application_name, **require_application(api, args.application_name)}
    api.out.write(json.dumps(status_summary(detail), indent=2, default=str) + "\n")
