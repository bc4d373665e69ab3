"""The S3 Tables service's own maintenance of the job's tables, set to match the job's table properties.

S3 Tables maintains every table itself, on by default: compaction (per table; target file size
64-512 MB, default 512), snapshot management (per table; expires snapshots older than
maxSnapshotAgeHours, default 120, keeping at least minSnapshotsToKeep, default 1) and
unreferenced file removal (per table bucket; files no snapshot references are marked noncurrent
after unreferencedDays, default 3, and deleted nonCurrentDays later, default 10). It ignores the
Iceberg `history.expire.*` table properties, and it turns snapshot management OFF for a table whose
metadata asks for a longer retention than its maintenance configuration: the job's tables carry
`history.expire.min-snapshots-to-keep = 10`, more than the service's default of 1. So the
configuration is derived from common.render.iceberg_sinks.TABLE_PROPERTIES, one source for both: the same
target file size, the same age and count. Used by `deploy.py table-maintenance`.

Why a minimum of 10 snapshots and not 1: Iceberg's Flink committer finds, on restore, the last
checkpoint it committed in the newest snapshot it made; if that snapshot has been expired it
commits the restored checkpoint's files again. The service cannot be told to keep that snapshot
(the local maintenance command does), so it is kept by count and age.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common.render.iceberg_sinks import TABLE_PROPERTIES

log = logging.getLogger(__name__)

MIB = 1024 * 1024
HOUR_MS = 3_600_000
COMPACTION_MB_RANGE = (64, 512)  # what PutTableMaintenanceConfiguration accepts
COMPACTION = "icebergCompaction"
SNAPSHOTS = "icebergSnapshotManagement"
UNREFERENCED = "icebergUnreferencedFileRemoval"


@dataclass(frozen=True)
class MaintenanceSettings:
    target_file_size_mb: int
    min_snapshots_to_keep: int
    max_snapshot_age_hours: int
    unreferenced_days: int = 3
    noncurrent_days: int = 10

    def table_values(self) -> dict[str, dict[str, Any]]:
        """The `value` of PutTableMaintenanceConfiguration, per type."""
        return {
            COMPACTION: {
                "status": "enabled",
                "settings": {COMPACTION: {"targetFileSizeMB": self.target_file_size_mb, "strategy": "auto"}},
            },
            SNAPSHOTS: {
                "status": "enabled",
                "settings": {
                    SNAPSHOTS: {
                        "minSnapshotsToKeep": self.min_snapshots_to_keep,
                        "maxSnapshotAgeHours": self.max_snapshot_age_hours,
                    }
                },
            },
        }

    def bucket_values(self) -> dict[str, dict[str, Any]]:
        """The `value` of PutTableBucketMaintenanceConfiguration, per type."""
        return {
            UNREFERENCED: {
                "status": "enabled",
                "settings": {
                    UNREFERENCED: {"unreferencedDays": self.unreferenced_days, "nonCurrentDays": self.noncurrent_days}
                },
            }
        }


def from_table_properties(properties: dict[str, str] = TABLE_PROPERTIES) -> MaintenanceSettings:
    """The service's settings that match what the job's CREATE TABLE writes into each table."""
    low, high = COMPACTION_MB_RANGE
    target_mb = int(properties["write.target-file-size-bytes"]) // MIB
    age_ms = int(properties["history.expire.max-snapshot-age-ms"])
    return MaintenanceSettings(
        target_file_size_mb=min(max(target_mb, low), high),
        min_snapshots_to_keep=int(properties["history.expire.min-snapshots-to-keep"]),
        max_snapshot_age_hours=max(1, -(-age_ms // HOUR_MS)),
    )


def differs(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """True unless the current configuration already has every wanted status and setting."""
    if not current or current.get("status") != wanted["status"]:
        return True
    have = current.get("settings") or {}
    return any(
        (have.get(kind) or {}).get(k) != v for kind, settings in wanted["settings"].items() for k, v in settings.items()
    )


def configure(api: Any, bucket_arn: str, namespace: str, tables: list[str], settings: MaintenanceSettings) -> list[str]:
    """Make the bucket's and each existing table's maintenance match `settings`; changes nothing
    that already matches. `api`: deploy.Api (reads always, changes printed under --dry-run).
    Returns the tables that do not exist yet (the job creates them when it first starts)."""
    client = api.clients.s3tables
    bucket = api.read("s3tables", "get_table_bucket_maintenance_configuration", tableBucketARN=bucket_arn)
    for kind, value in settings.bucket_values().items():
        if differs((bucket.get("configuration") or {}).get(kind), value):
            api.change(
                "s3tables",
                "PutTableBucketMaintenanceConfiguration",
                "put_table_bucket_maintenance_configuration",
                tableBucketARN=bucket_arn,
                type=kind,
                value=value,
            )
        else:
            log.info("table bucket: %s already as configured", kind)
    missing = []
    for table in tables:
        try:
            current = api.read(
                "s3tables",
                "get_table_maintenance_configuration",
                tableBucketARN=bucket_arn,
                namespace=namespace,
                name=table,
            )
        except client.exceptions.NotFoundException:
            missing.append(table)
            continue
        for kind, value in settings.table_values().items():
            if differs((current.get("configuration") or {}).get(kind), value):
                api.change(
                    "s3tables",
                    "PutTableMaintenanceConfiguration",
                    "put_table_maintenance_configuration",
                    tableBucketARN=bucket_arn,
                    namespace=namespace,
                    name=table,
                    type=kind,
                    value=value,
                )
            else:
                log.info("%s.%s: %s already as configured", namespace, table, kind)
    if missing:
        log.warning(
            "no table %s in %s yet (the job creates its tables when it starts): run this again then",
            ", ".join(f"{namespace}.{t}" for t in missing),
            bucket_arn,
        )
    return missing
