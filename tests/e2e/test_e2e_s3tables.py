"""The production catalog for real: S3 Tables (software.amazon.s3tables.iceberg.S3TablesCatalog)
with Iceberg's S3FileIO, pointed at moto in server mode (the S3 Tables control plane and S3),
through catalog options from the runtime properties. The job creates its tables in the table
bucket and commits; pyiceberg reads them back from moto's S3, and scripts/status.py reports
them through the same catalog."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import boto3

from sample_gen import bid_events, produce
from tests.support import reference_model as ref
from tests.support.e2e import CREDENTIALS, REGION, read_table, s3tables_properties, table_bucket
from tests.support.harness import ROOT, assert_same_rows


def test_job_writes_to_s3_tables_through_the_production_catalog(workspace, moto_server, tmp_path, monkeypatch):
    s3tables, arn = table_bucket(moto_server, tmp_path, monkeypatch, "tables")
    props = tmp_path / "s3tables.json"
    s3tables_properties(props, arn, moto_server)
    events = list(bid_events(300, seed=21))
    assert produce(workspace.bootstrap, workspace.topics["bid_events"], events).failed == 0

    result = workspace.run_job(
        "--bounded",
        "--only",
        "bid_events_raw",
        "--properties",
        str(props),
        env={**CREDENTIALS, "ICEBERG_WAREHOUSE": arn},
    )
    assert result.returncode == 0, result.stderr[-5000:]

    tables = {t["name"] for t in s3tables.list_tables(tableBucketARN=arn, namespace="sink")["tables"]}
    assert tables == {"bid_events_raw", "dead_letters"}
    table, rows = read_table(s3tables, arn, moto_server, CREDENTIALS)
    assert_same_rows(ref.columns(rows, ref.RAW_COLUMNS), ref.bid_events_raw(events))

    check_status(workspace, props, arn, moto_server, table, rows)


def check_status(workspace, props, arn: str, endpoint: str, table, rows: list[dict]) -> None:
    """scripts/status.py on the S3 Tables catalog: its figures against the table's rows, its
    metadata and the Parquet objects in moto's S3; a secret catalog option is not shown."""
    groups = json.loads(props.read_text())
    for group in groups:
        if group["PropertyGroupId"] == "iceberg":
            group["PropertyMap"]["option.s3.secret-access-key"] = "hunter2-not-shown"
    shown = props.with_name("status.json")
    shown.write_text(json.dumps(groups))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "status.py"),
            "--json",
            "--max-staleness",
            "1d",
            "--only",
            "bid_events_raw",
            "--properties",
            str(shown),
            "--config-dir",
            str(workspace.config_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **CREDENTIALS, "ICEBERG_WAREHOUSE": arn, "KAFKA_BOOTSTRAP_SERVERS": workspace.bootstrap},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["catalog"]["options"]["s3.secret-access-key"] == "****"
    assert report["catalog"]["options"]["s3tables.endpoint"] == endpoint

    raw, letters = report["tables"]
    snapshot = table.current_snapshot()
    paths = [e.data_file.file_path for m in snapshot.manifests(table.io) for e in m.fetch_manifest_entry(table.io)]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)  # a table bucket lists no objects: HEAD each
    sizes = [s3.head_object(Bucket=path.split("/")[2], Key=path.split("/", 3)[3])["ContentLength"] for path in paths]
    committed = dt.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, dt.timezone.utc)
    assert (raw["name"], raw["rows"], raw["snapshots"], raw["data_files"], raw["total_file_bytes"]) == (
        "bid_events_raw",
        len(rows),
        len(table.metadata.snapshots),
        len(paths),
        sum(sizes),
    )
    assert raw["last_commit"] == committed.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    newest = max(r["event_time"] for r in rows)
    assert raw["newest_event_time"] == newest.isoformat(timespec="milliseconds") + "Z"
    assert (letters["name"], letters["rows"], letters["error"]) == ("dead_letters", 0, None)
    assert report["dead_letters"]["total"] == 0 and report["stale_tables"] == []
    assert {p["topic"] for p in report["lag"]["partitions"]} == {workspace.topics["bid_events"]}
