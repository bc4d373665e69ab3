"""The maintenance command beside a running job: nothing lost, nothing doubled, fewer files.

The job runs unbounded (bid_events_raw only, parallelism 2, a checkpoint, and so an Iceberg
commit, every second) while bids are produced in small batches: the table collects many small
files. scripts/maintain_tables.py then compacts it and expires its snapshots while the job keeps
writing and the producer keeps sending. Afterwards more bids are sent, the job must commit them
(it did not fail on a conflict), and once it is stopped the table must hold every bid exactly once.
The operations without Flink (dry runs, orphan files, expiry rules) are JUnit tests
(src/test/java/.../maintenance/TableMaintenanceTest.java).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from common.kafka_client import produce
from common.ops.local_warehouse import open_table, read_rows
from tests.support import reference_model as ref
from tests.support.e2e import NAMESPACE
from tests.support.event_data import generate
from tests.support.harness import ROOT, assert_same_rows

TABLE = "bid_events_raw"
BATCH = 15  # bids per produced batch
MIN_FILES = 12  # small files the table must have before maintenance
MIN_SNAPSHOTS = 6  # and commits
DEADLINE_S = 180


def retried(read, *args):
    """A read of the table while the job and the maintenance commit: a metadata or data file it
    planned with may be gone a moment later (expired, or an old metadata version deleted)."""
    for _ in range(10):
        try:
            return read(*args)
        except OSError:  # FileNotFoundError included: the table does not exist yet, or a file went
            time.sleep(0.3)
    return read(*args)


def snapshots(ws) -> list:
    return list(open_table(str(ws.warehouse), NAMESPACE, TABLE).metadata.snapshots)


def live_files(ws) -> set[str]:
    return {task.file.file_path for task in open_table(str(ws.warehouse), NAMESPACE, TABLE).scan().plan_files()}


def data_files(ws) -> int:
    return len(live_files(ws))


def rows(ws) -> list[dict]:
    return read_rows(str(ws.warehouse), NAMESPACE, TABLE)


def table_exists(ws) -> bool:
    return (ws.warehouse / NAMESPACE / TABLE / "metadata" / "version-hint.text").is_file()


class Producer(threading.Thread):
    """Sends the bids in batches, one batch every `pause_s`, until told to stop (or out of bids)."""

    def __init__(self, ws, bids: list[dict], pause_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.ws, self.bids, self.pause_s = ws, bids, pause_s
        self.sent = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while self.sent < len(self.bids) and not self.halt.is_set():
            batch = self.bids[self.sent : self.sent + BATCH]
            report = produce(self.ws.bootstrap, self.ws.topics["bid_events"], batch)
            assert report.failed == 0 and report.delivered == len(batch)
            self.sent += len(batch)
            time.sleep(self.pause_s)


def wait_until(condition, what, job) -> None:
    """Poll `condition` until true; `what()` says what was missing."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert job.poll() is None, "the job stopped"
        assert time.monotonic() < deadline, f"after {DEADLINE_S}s: {what()}"
        time.sleep(1)


def test_maintenance_beside_a_running_job(workspace):
    ws = workspace
    bids = generate(seed=77, users=20, days=3).bid_events
    assert len(bids) > 3000  # more than the producer can send in the test's time: it is still sending
    job = ws.start_job("--only", TABLE, env={"FLINK_PARALLELISM": "2", "FLINK_CHECKPOINT_INTERVAL": "1s"})
    producer = Producer(ws, bids[:-200])
    try:
        wait_until(lambda: table_exists(ws), lambda: "the job created no table", job)
        producer.start()
        wait_until(
            lambda: retried(data_files, ws) >= MIN_FILES and len(retried(snapshots, ws)) >= MIN_SNAPSHOTS,
            lambda: f"{retried(data_files, ws)} data files, {len(retried(snapshots, ws))} snapshots",
            job,
        )
        before = retried(snapshots, ws)
        files_before = retried(live_files, ws)
        started_ms = int(time.time() * 1000)
        assert producer.is_alive()  # still sending while the maintenance runs

        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "maintain_tables.py"),
                "--table",
                TABLE,
                "--expire-older-than",
                "0s",
                "--retain-last",
                "2",
                "--json",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "ICEBERG_WAREHOUSE": str(ws.warehouse)},
        )
        assert result.returncode == 0, result.stderr + result.stdout
        [report] = [json.loads(line) for line in result.stdout.splitlines()]
        finished_ms = int(time.time() * 1000)
        assert job.poll() is None, "the job stopped during maintenance"

        rewrite, expire = report["rewrite"], report["expire"]
        assert rewrite["committed"] is True
        assert rewrite["files_rewritten"] >= MIN_FILES
        days = len({ref.utc(b["timestamp_ms"]).date() for b in bids})
        assert 1 <= rewrite["files_written"] <= days  # at most one per day partition (all far below 128 MiB)
        # the job keeps adding files meanwhile (a commit a second): count what became of the old ones
        still_live = files_before & retried(live_files, ws)
        assert len(still_live) <= days  # only a day partition's lone file is left as it was
        assert len(still_live) + rewrite["files_written"] < len(files_before)
        assert report["before"]["snapshots"] >= MIN_SNAPSHOTS
        # every snapshot older than the run was eligible: at most one of them is left (the rewrite
        # and, at most, one job commit are the two newest)
        left = [s for s in retried(snapshots, ws) if s.timestamp_ms < started_ms]
        assert len(left) <= 1, left
        assert expire["snapshots_expired"] >= len(before) - 2
        assert expire["retained_at_least"] == 2

        producer.halt.set()
        producer.join(60)
        rest = bids[producer.sent :]
        report_rest = produce(ws.bootstrap, ws.topics["bid_events"], rest)
        assert report_rest.failed == 0 and report_rest.delivered == len(rest)
        wait_until(
            lambda: len(retried(rows, ws)) >= len(bids), lambda: f"{len(retried(rows, ws))}/{len(bids)} rows", job
        )
        later = [s for s in retried(snapshots, ws) if s.timestamp_ms > finished_ms]
        assert any("flink.job-id" in s.summary for s in later), "the job made no commit after the maintenance"
    finally:
        producer.halt.set()
        job.send_signal(signal.SIGTERM)
        code = job.wait(timeout=120)
    assert code == 0, (ws.warehouse.parent / "job.log").read_text()[-5000:]
    assert_same_rows(ref.columns(retried(rows, ws), ref.RAW_COLUMNS), ref.bid_events_raw(bids))


def run_maintenance(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "maintain_tables.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_orphan_removal_refuses_an_age_a_writer_may_still_commit(tmp_path):
    result = run_maintenance("--remove-orphans-older-than", "30min", env={"ICEBERG_WAREHOUSE": str(tmp_path)})
    assert result.returncode == 2
    assert "--remove-orphans-older-than: '30min' is too young" in result.stderr


def test_s3_tables_is_left_to_the_service(tmp_path):
    arn = f"arn:aws:s3tables:us-east-1:{'0' * 12}:bucket/b"  # a made-up account
    result = run_maintenance("--dry-run", env={"ICEBERG_CATALOG_TYPE": "s3tables", "ICEBERG_WAREHOUSE": arn})
    assert result.returncode == 2
    assert "S3 Tables maintains its own tables (configure it with `deploy.py table-maintenance`)" in result.stderr
