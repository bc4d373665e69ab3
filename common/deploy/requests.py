"""The requests CreateApplication and UpdateApplication carry, from a spec (and, for an update,
what the service describes): pure, so each field is tested without AWS.
"""

from __future__ import annotations

import logging
from typing import Any

from common.deploy.spec import AppSpec

log = logging.getLogger(__name__)


def code_location(spec: AppSpec) -> dict[str, str]:
    location = {"BucketARN": spec.bucket_arn, "FileKey": spec.key}
    if spec.object_version:
        location["ObjectVersion"] = spec.object_version
    return location


def flink_configuration(spec: AppSpec) -> dict[str, Any]:
    return {
        "CheckpointConfiguration": {
            "ConfigurationType": "CUSTOM",
            "CheckpointingEnabled": True,
            "CheckpointInterval": spec.checkpoint_interval_ms,
            "MinPauseBetweenCheckpoints": spec.min_pause_ms,
        },
        "MonitoringConfiguration": {
            "ConfigurationType": "CUSTOM",
            "MetricsLevel": spec.metrics_level,
            "LogLevel": spec.log_level,
        },
        "ParallelismConfiguration": {
            "ConfigurationType": "CUSTOM",
            "Parallelism": spec.parallelism,
            "ParallelismPerKPU": spec.parallelism_per_kpu,
            "AutoScalingEnabled": spec.auto_scaling,
        },
    }


def create_request(spec: AppSpec) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "ApplicationCodeConfiguration": {
            "CodeContent": {"S3ContentLocation": code_location(spec)},
            "CodeContentType": "ZIPFILE",
        },
        "EnvironmentProperties": {"PropertyGroups": spec.property_group_list()},
        "FlinkApplicationConfiguration": flink_configuration(spec),
        "ApplicationSnapshotConfiguration": {"SnapshotsEnabled": spec.snapshots},
    }
    if spec.subnet_ids:
        configuration["VpcConfigurations"] = [
            {"SubnetIds": spec.subnet_ids, "SecurityGroupIds": spec.security_group_ids}
        ]
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


def update_request(
    spec: AppSpec, current: dict[str, Any], version_id: int, code_changed: bool
) -> tuple[dict[str, Any] | None, list[str]]:
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
        update["ApplicationCodeConfigurationUpdate"] = {
            "CodeContentTypeUpdate": "ZIPFILE",
            "CodeContentUpdate": {"S3ContentLocationUpdate": s3_update},
        }

    current_groups = {
        g["PropertyGroupId"]: g["PropertyMap"]
        for g in (config.get("EnvironmentPropertyDescriptions") or {}).get("PropertyGroupDescriptions") or []
    }
    if current_groups != spec.property_groups:
        differing = sorted(
            g
            for g in set(current_groups) | set(spec.property_groups)
            if current_groups.get(g) != spec.property_groups.get(g)
        )
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
            log.info(
                "parallelism is %s (auto scaling), configured %s: left to auto scaling",
                have.get("Parallelism"),
                want["Parallelism"],
            )
            continue
        if differs:
            changes.append(f"{part[: -len('Configuration')].lower()} settings ({', '.join(sorted(differs))})")
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
        if set(vpc.get("SubnetIds", [])) != set(spec.subnet_ids) or set(vpc.get("SecurityGroupIds", [])) != set(
            spec.security_group_ids
        ):
            changes.append("VPC subnets/security groups")
            update["VpcConfigurationUpdates"] = [
                {
                    "VpcConfigurationId": vpc["VpcConfigurationId"],
                    "SubnetIdUpdates": spec.subnet_ids,
                    "SecurityGroupIdUpdates": spec.security_group_ids,
                }
            ]
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
        request["CloudWatchLoggingOptionUpdates"] = [
            {
                "CloudWatchLoggingOptionId": logging_options[0]["CloudWatchLoggingOptionId"],
                "LogStreamARNUpdate": spec.log_stream_arn,
            }
        ]
    return (request if changes else None), changes
