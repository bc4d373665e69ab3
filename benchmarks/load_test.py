"""Load test (a benchmark, not a pass/fail test): does the job keep up with a steady stream?

Runs the shipped pipelines (unbounded, local broker, a throw-away warehouse and topics of its
own) while sample_gen.py produces at a steady rate for --duration seconds, and every
--every seconds prints the consumer lag per topic (end offsets minus the offsets the job
committed at its last checkpoint) and the latest checkpoint's duration and size (Flink's
REST API). After the generator stops it waits for the lag to drain, prints a summary, and
stops the job with a savepoint.

    .venv/bin/python benchmarks/load_test.py --rate 2000 --duration 300
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.logs import setup_logging  # noqa: E402
from common.ops.event_time_status import FlinkRest  # noqa: E402
from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, free_port, make_workspace  # noqa: E402

log = logging.getLogger("load_test")


@dataclass
class Sample:
    elapsed_s: float
    lag: dict[str, int]
    checkpoints_completed: int
    last_checkpoint_ms: int | None
    last_checkpoint_bytes: int | None


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    checkpoint_ms: list[int] = field(default_factory=list)


def consumer_lag(topics: dict, admin, probe, ends_total: dict[str, int] | None = None) -> dict[str, int]:
    """topic -> sum over partitions of (end offset - committed offset of the job's group);
    `ends_total`, if given, receives topic -> sum of end offsets (records on the topic)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    lag = {}
    for t in topics.values():
        name = t["topic_name"]
        partitions = probe.list_topics(name, timeout=10).topics[name].partitions
        ends = {p: probe.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1] for p in partitions}
        committed = {p: 0 for p in partitions}
        for result in admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(t["consumer_group"])]).values():
            for tp in result.result().topic_partitions:
                if tp.offset >= 0:
                    committed[tp.partition] = tp.offset
        lag[name] = sum(ends[p] - committed[p] for p in partitions)
        if ends_total is not None:
            ends_total[name] = sum(ends.values())
    return lag


def rest(port: int, path: str) -> dict:
    return FlinkRest(f"http://127.0.0.1:{port}", timeout_s=5).get(path)


def checkpoint_stats(port: int) -> tuple[int, int | None, int | None, list[int]]:
    """(completed count, last duration ms, last size bytes, durations of recent checkpoints)."""
    jobs = [j for j in rest(port, "/jobs/overview")["jobs"] if j["state"] == "RUNNING"]
    if not jobs:
        return 0, None, None, []
    stats = rest(port, f"/jobs/{jobs[0]['jid']}/checkpoints")
    latest = (stats.get("latest") or {}).get("completed") or {}
    history = [h["end_to_end_duration"] for h in stats.get("history", []) if h.get("status") == "COMPLETED"]
    return (stats["counts"]["completed"], latest.get("end_to_end_duration"), latest.get("checkpointed_size"), history)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000, help="records/s produced, all topics together")
    parser.add_argument("--duration", type=int, default=300, help="seconds of steady production")
    parser.add_argument("--checkpoint-interval", default="10s")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--drain-timeout", type=int, default=180, help="seconds to wait for the lag to drain")
    args = parser.parse_args(argv)
    setup_logging()
    logging.getLogger("load_test").setLevel(logging.INFO)

    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient

    subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT)
    base = Path(tempfile.mkdtemp(prefix="load-test-"))
    ws = make_workspace(base, BOOTSTRAP)
    topics = yaml.safe_load((ws.config_dir / "topics.yaml").read_text())["kafka_topics"]
    port = free_port()
    env = dict(
        os.environ,
        ICEBERG_WAREHOUSE=str(ws.warehouse),
        KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP,
        FLINK_CHECKPOINT_INTERVAL=args.checkpoint_interval,
        FLINK_CHECKPOINT_DIR=str(base / "checkpoints"),
        FLINK_REST_PORT=str(port),
    )
    job = subprocess.Popen(
        [sys.executable, str(ROOT / "streaming_job.py"), "--config-dir", str(ws.config_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(base / "job.log").open("w"),
    )
    # wait for the job to run before producing, so the lag measures processing, not start-up
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if any(j["state"] == "RUNNING" for j in rest(port, "/jobs/overview")["jobs"]):
                break
        except OSError:
            pass
        time.sleep(1)
    else:
        log.error("the job did not start; see %s", base / "job.log")
        job.kill()
        return 1

    generator = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "sample_gen.py"),
            "--config-dir",
            str(ws.config_dir),
            "--rate",
            str(args.rate),
            "--duration",
            str(args.duration),
            "--live",
            "--progress",
            "none",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(base / "generator.log").open("w"),
    )
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    probe = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "load-test-probe"})
    run = Run()
    started = time.monotonic()
    print(
        f"rate {args.rate}/s for {args.duration}s, checkpoints every {args.checkpoint_interval}; "
        f"job log {base / 'job.log'}"
    )
    print(f"{'t (s)':>6} {'lag total':>10}  {'lag per topic':<48} {'ckpts':>5} {'last ckpt ms':>12} {'size KiB':>9}")
    drained_at = None
    while True:
        time.sleep(args.every)
        elapsed = time.monotonic() - started
        lag = consumer_lag(topics, admin, probe)
        completed, last_ms, size, history = checkpoint_stats(port)
        run.checkpoint_ms = history or run.checkpoint_ms
        run.samples.append(Sample(elapsed, lag, completed, last_ms, size))
        per_topic = " ".join(f"{n.rsplit('-', 1)[0]}={v}" for n, v in lag.items())
        print(
            f"{elapsed:6.0f} {sum(lag.values()):10d}  {per_topic:<48} {completed:5d} "
            f"{last_ms if last_ms is not None else '-':>12} {(size or 0) / 1024:9.1f}",
            flush=True,
        )
        if job.poll() is not None:
            log.error("the job ended early; see %s", base / "job.log")
            break
        if generator.poll() is not None:
            if sum(lag.values()) == 0:
                drained_at = elapsed
                break
            if elapsed > args.duration + args.drain_timeout:
                break

    on_topics: dict[str, int] = {}
    consumer_lag(topics, admin, probe, on_topics)
    produced = sum(on_topics.values())
    during = [s for s in run.samples if s.elapsed_s <= args.duration]
    lags = [sum(s.lag.values()) for s in during]
    print("\nsummary")
    print(
        f"  produced {produced} records in {args.duration}s = {produced / args.duration:.0f}/s "
        f"(asked {args.rate}/s; generator exit code {generator.poll()})"
    )
    if lags:
        print(
            f"  consumer lag while producing: max {max(lags)}, median {statistics.median(lags):.0f}, "
            f"last {lags[-1]} records"
        )
    if run.checkpoint_ms:
        print(
            f"  checkpoint duration (last {len(run.checkpoint_ms)}): median {statistics.median(run.checkpoint_ms):.0f} ms,"
            f" max {max(run.checkpoint_ms)} ms"
        )
    if drained_at is not None:
        print(
            f"  lag back to 0 at t={drained_at:.0f}s ({drained_at - args.duration:.0f}s after the generator stopped)"
            " -> the job keeps up"
        )
    else:
        print("  lag did not drain -> the job does NOT keep up at this rate")
    os.kill(job.pid, signal.SIGTERM)
    try:
        job.wait(120)
    except subprocess.TimeoutExpired:
        job.kill()
    probe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
