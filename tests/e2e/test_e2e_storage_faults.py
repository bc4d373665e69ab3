"""Faults below the tables (issue 28, item 5): the object store flaky, then unreachable, with the
table's own maintenance committing beside the running job.

The job runs unbounded on S3 Tables (moto in server mode), ``bid_events_raw`` and the hourly
aggregate only, checkpoints (and so Iceberg commits) every 2 s, and every S3 and S3 Tables request
it makes goes through tests/support/storage_fault_proxy.py. Bids are produced in parts while:

(a) the store is flaky for a spell: 25 % of requests answered 503 SlowDown, 500 or reset, 15 %
    delayed 1-5 s, every other commit's answer lost after moto applied it. The job rides it out:
    no restart.
(m) the table is maintained beside the job as S3 Tables does it (moto does not): compaction and
    snapshot expiry, committed through the production catalog with the project's maintenance
    engine (tests/support/S3TablesMaintenance.java), while the job keeps committing.
(b) the store is unreachable (connections refused) for 30 s, 15 checkpoint intervals. The test
    gives the storage clients 7 retries instead of the shipped 12 (at most 13 s of backoff
    instead of 30 to 100 s), so that the outage always outlasts them: the checkpoint's upload
    fails, the job fails over while the store is still unreachable (closing its writers then
    used to kill the TaskManager), and must recover by itself once the store is back: the same
    job, running, restarted from its checkpoints, no TaskManager lost. With the shipped retries
    the same outage is usually ridden out without a failover (docs/deploy.md, "Storage outages").

Then the job is stopped with a draining savepoint, and the raw table and the hourly aggregate must
equal tests/support/reference_model.py: each bid once (a lost commit answer wrote nothing twice), every
window exact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from typing import Callable

import pytest

from common.kafka_client import produce
from sample_gen import bid_events
from scripts.maintain_tables import flink_home, java_command, jvm_options
from tests.support import reference_model as ref
from tests.support.e2e import CREDENTIALS, read_table, s3tables_properties, table_bucket
from tests.support.harness import ROOT, assert_same_rows, free_port
from tests.support.storage_fault_proxy import Faults, StorageFaultProxy

pytestmark = pytest.mark.jvm

PIPELINES = ("bid_events_raw", "bid_events_aggregated")
PART = 200  # bids per part; five parts
FLAKY_S = 24
OUTAGE_S = 30
DEADLINE_S = 150  # for the job to commit what was sent, after each fault
RETAIN_LAST = 2  # fewer than the service keeps (10), so that a short run expires some; the newest
#                 snapshot the job committed is kept whatever this says (TableMaintenance)
NAMESPACE = "sink"
# Retries of the job's S3 and S3 Tables clients in this test (catalog options; see the docstring).
# Still enough for the flaky spell: a request fails only after 8 failed attempts in a row.
TEST_RETRIES = {"option.s3.retry.num-retries": "7", "option.s3tables.retry.num-retries": "7"}


class Run:
    """The running job and where to look at it: its tables (read from moto, never through the
    proxy), its REST API and its logs."""

    def __init__(self, ws, job: subprocess.Popen, s3tables, arn: str, moto: str, rest_port: int) -> None:
        self.ws, self.job, self.s3tables, self.arn, self.moto = ws, job, s3tables, arn, moto
        self.rest = f"http://127.0.0.1:{rest_port}"

    @property
    def log(self) -> str:
        return (self.ws.warehouse.parent / "job.log").read_text()

    def rows(self, table: str = "bid_events_raw") -> list[dict]:
        try:
            return read_table(self.s3tables, self.arn, self.moto, CREDENTIALS, table)[1]
        except Exception:  # not created yet, or a metadata file replaced while read: read again later
            return []

    def get(self, path: str):
        with urllib.request.urlopen(self.rest + path, timeout=10) as answer:
            return json.loads(answer.read())

    def job_id(self) -> str:
        jobs = self.get("/jobs")["jobs"]
        assert len(jobs) == 1, jobs
        return jobs[0]["id"]

    def state(self, job_id: str) -> str:
        return self.get(f"/jobs/{job_id}")["state"]

    def failovers(self, job_id: str) -> list[str]:
        """The job's failovers, oldest first, from its exception history (the numRestarts metric
        the REST API answers may be one refresh old)."""
        entries = self.get(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
        return [e["exceptionName"] for e in reversed(entries)]

    def flink_log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.ws.warehouse.parent / "flink-log").glob("*.log"))

    def wait_until(self, done: Callable[[], bool], what: Callable[[], str], deadline_s: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + deadline_s
        while not done():
            assert self.job.poll() is None, "the job stopped:\n" + self.log[-5000:]
            assert time.monotonic() < deadline, f"after {deadline_s:.0f}s: {what()}\n" + self.log[-3000:]
            time.sleep(2)

    def wait_for_rows(self, count: int, deadline_s: float = DEADLINE_S) -> None:
        seen: list[int] = [0]

        def done() -> bool:
            seen[0] = len(self.rows())
            return seen[0] >= count

        self.wait_until(done, lambda: f"{seen[0]} of {count} bids committed", deadline_s)


def send(ws, bids: list[dict]) -> None:
    assert produce(ws.bootstrap, ws.topics["bid_events"], bids).failed == 0


def send_spread(ws, bids: list[dict], batches: int, seconds: float) -> None:
    """`bids` in `batches` batches over about `seconds`: commits keep coming during a spell."""
    size = -(-len(bids) // batches)
    for start in range(0, len(bids), size):
        send(ws, bids[start : start + size])
        time.sleep(seconds / batches)


def maintain(arn: str, endpoint: str, table: str) -> dict:
    """Compaction and snapshot expiry on a table of the bucket (tests/support/S3TablesMaintenance.java),
    with the JVM that scripts/maintain_tables.py starts for the local warehouse."""
    class_path = os.pathsep.join([str(ROOT / "target" / "pyflink-dependencies.jar"), str(flink_home() / "lib" / "*")])
    result = subprocess.run(
        [
            java_command(),
            *jvm_options(),
            "-cp",
            class_path,
            str(ROOT / "tests" / "support" / "S3TablesMaintenance.java"),
            arn,
            endpoint,
            NAMESPACE,
            table,
            str(RETAIN_LAST),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **CREDENTIALS},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_job_rides_out_a_flaky_then_unreachable_object_store(workspace, moto_server, tmp_path, monkeypatch):
    s3tables, arn = table_bucket(moto_server, tmp_path, monkeypatch, "faults")
    bids = list(bid_events(5 * PART, seed=28))
    parts = [bids[i : i + PART] for i in range(0, len(bids), PART)]
    rest_port = free_port()
    env = {
        **CREDENTIALS,
        "ICEBERG_WAREHOUSE": arn,
        "FLINK_CHECKPOINT_INTERVAL": "2s",
        "FLINK_REST_PORT": str(rest_port),
        "FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
        "FLINK_LOG_DIR": str(tmp_path / "flink-log"),
    }

    with StorageFaultProxy(moto_server, log_file=tmp_path / "proxy.log") as proxy:
        props = tmp_path / "s3tables.json"
        s3tables_properties(props, arn, proxy.url)
        groups = json.loads(props.read_text())
        next(g for g in groups if g["PropertyGroupId"] == "iceberg")["PropertyMap"].update(TEST_RETRIES)
        props.write_text(json.dumps(groups))
        send(workspace, parts[0])
        job = workspace.start_job("--drain", "--only", *PIPELINES, "--properties", str(props), env=env)
        run = Run(workspace, job, s3tables, arn, moto_server, rest_port)
        try:
            run.wait_for_rows(PART)
            job_id = run.job_id()

            # (a) a flaky spell: errors, resets, delays, lost commit answers; ridden out, no restart
            proxy.set_faults(Faults.flaky(seed=28))
            send_spread(workspace, parts[1], batches=6, seconds=FLAKY_S)
            proxy.set_faults(Faults.none())
            run.wait_for_rows(2 * PART)
            flaky = dict(proxy.stats)
            for kind in ("503", "500", "reset", "delay", "commit lose-answer"):
                assert flaky.get(kind, 0) > 0, f"no '{kind}' injected: {flaky}"
            assert run.failovers(job_id) == [], "the flaky spell made the job fail over"

            # (m) compaction and snapshot expiry committed beside the job, which keeps committing
            producer = threading.Thread(target=send_spread, args=(workspace, parts[2], 8, 16))
            producer.start()
            try:
                report = maintain(arn, moto_server, "bid_events_raw")
            finally:
                producer.join()
            assert report["rewrite"]["files_rewritten"] > report["rewrite"]["files_written"] > 0, report
            assert report["expire"]["snapshots_expired"] > 0, report
            run.wait_for_rows(3 * PART)

            # (b) unreachable for longer than the clients retry: the job fails over, and recovers by itself
            send(workspace, parts[3][: PART // 2])
            time.sleep(2)
            proxy.unreachable("refuse")
            unreachable_at = time.monotonic()
            send(workspace, parts[3][PART // 2 :])
            time.sleep(OUTAGE_S - (time.monotonic() - unreachable_at))
            proxy.reachable()
            back_at = time.monotonic()
            send(workspace, parts[4])
            run.wait_for_rows(5 * PART)
            recovered_s = time.monotonic() - back_at
            failovers = run.failovers(job_id)
            print(
                f"storage unreachable {OUTAGE_S}s: {len(failovers)} failover(s) {failovers}, every bid "
                f"committed {recovered_s:.0f}s after it was back; proxy: {dict(proxy.stats)}"
            )
            assert "FATAL" not in run.flink_log(), "a TaskManager failed fatally"
            assert failovers, "the outage outlasted the retries, yet the job did not fail over"
            assert run.job_id() == job_id and run.state(job_id) == "RUNNING"
        finally:
            job.send_signal(signal.SIGTERM)
            code = job.wait(timeout=180)
        assert code == 0, run.log[-5000:]

    def table(name: str) -> list[dict]:
        return read_table(s3tables, arn, moto_server, CREDENTIALS, name)[1]

    assert_same_rows(ref.columns(table("bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(bids))
    assert_same_rows(
        ref.columns(table("bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS), ref.bid_events_hourly_agg(bids)
    )
    assert table("dead_letters") == []
