"""Exactly once under failure: kill the whole job process three times mid-stream, resume each
time from the latest checkpoint, and prove every table equals the reference model: each raw
event exactly once, every aggregate and session exactly as if nothing had happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common.ops.local_warehouse import read_rows
from common.state.checkpoints import completed_checkpoints
from sample_gen import produce
from tests.support import reference_model as ref
from tests.support.event_data import generate
from tests.support.harness import ROOT, assert_same_rows, make_workspace

KILLS = 3
RUN_TIMEOUT_S = 300


def start_job(ws, checkpoint_dir: Path, log: Path, restore: bool) -> subprocess.Popen:
    """The job in its own process group (Python + its JVM), checkpointing every second."""
    env = dict(
        os.environ,
        ICEBERG_WAREHOUSE=str(ws.warehouse),
        KAFKA_BOOTSTRAP_SERVERS=ws.bootstrap,
        FLINK_CHECKPOINT_INTERVAL="1s",
        FLINK_CHECKPOINT_DIR=str(checkpoint_dir),
    )
    args = [sys.executable, str(ROOT / "streaming_job.py"), "--config-dir", str(ws.config_dir), "--bounded"]
    if restore:
        args += ["--restore", "latest"]
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True
    )


def kill_after_next_checkpoint(proc: subprocess.Popen, checkpoint_dir: Path) -> bool:
    """SIGKILL the job's process group as soon as it completes a new checkpoint.
    False if the job ended by itself first."""
    before = set(completed_checkpoints(str(checkpoint_dir)))
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if set(completed_checkpoints(str(checkpoint_dir))) - before:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("no checkpoint completed in time")


def wait_until_caught_up(ws, proc: subprocess.Popen, traffic) -> None:
    """Until the one-row-per-event tables hold every produced event (committed by checkpoints).

    (The consumer group's committed offsets cannot tell: a bounded split that reached its end
    is no longer tracked, so its last offsets are never committed.)"""
    expected = {
        "bid_events_raw": len(traffic.bid_events),
        "user_events_processed": len(traffic.user_events),
        "order_events_enriched": len(traffic.order_events),
    }
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the job ended before it caught up"
        if all(len(table(ws, name)) >= n for name, n in expected.items()):
            return
        time.sleep(1)
    raise AssertionError("the restored job did not catch up in time")


def table(ws, name: str) -> list[dict]:
    return read_rows(str(ws.warehouse), "sink", name)


def test_three_kills_and_restores_lose_nothing_and_duplicate_nothing(tmp_path, kafka_broker):
    ws = make_workspace(tmp_path, kafka_broker)
    traffic = generate(seed=77, users=120)
    for key, events in traffic.topics().items():
        assert produce(ws.bootstrap, ws.topics[key], events).failed == 0
    checkpoint_dir = tmp_path / "checkpoints"

    kills = 0
    for run in range(KILLS):
        proc = start_job(ws, checkpoint_dir, tmp_path / f"run{run}.log", restore=run > 0)
        if not kill_after_next_checkpoint(proc, checkpoint_dir):
            break
        kills += 1
        # a kill mid-stream: the raw table holds only part of the events so far
        raw_so_far = len(table(ws, "bid_events_raw")) if (ws.warehouse / "sink" / "bid_events_raw").exists() else 0
        assert raw_so_far < len(traffic.bid_events), (tmp_path / f"run{run}.log").read_text()[-3000:]
    assert kills == KILLS, "the job finished before it could be killed three times: produce more events"

    # A restored bounded run does not end by itself (flink-connector-kafka 5.0.0-2.2 never
    # signals the end of its splits after a restore): once it has caught up, SIGTERM stops it
    # with a draining savepoint, which emits the remaining windows and sessions.
    final = start_job(ws, checkpoint_dir, tmp_path / "final.log", restore=True)
    try:
        wait_until_caught_up(ws, final, traffic)
        os.kill(final.pid, signal.SIGTERM)
        assert final.wait(RUN_TIMEOUT_S) == 0, (tmp_path / "final.log").read_text()[-5000:]
    finally:
        if final.poll() is None:
            os.killpg(final.pid, signal.SIGKILL)

    assert_same_rows(ref.columns(table(ws, "bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(traffic.bid_events))
    assert_same_rows(
        ref.columns(table(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS),
        ref.bid_events_hourly_agg(traffic.bid_events),
    )
    assert_same_rows(
        ref.columns(table(ws, "session_analytics"), ref.SESSION_COLUMNS),
        ref.session_analytics(traffic.bid_events, traffic.user_events, 30 * 60_000),
    )
    assert len(table(ws, "user_events_processed")) == len(traffic.user_events)
    assert len(table(ws, "order_events_enriched")) == len(traffic.order_events)
    assert table(ws, "dead_letters") == []
