"""Benchmark (not a test): how fresh are the tables under steady live traffic?

Freshness of a row = the commit that made it visible through the catalog (its snapshot's
``timestamp-ms``) minus the table's freshness column (common/render/metrics.py's one rule:
``event_time`` for the raw tables, ``window_end`` / ``session_end`` for windows and sessions).
``sample_gen.py --live`` stamps every event with the wall clock at sending, so for the raw
tables this is "event produced -> row visible"; for a window it is "window closed in event
time -> row visible", which includes the watermark's out-of-orderness by design.

How it works: the local broker, fresh topics and a warehouse of this run (tests/conftest.py's
workspace: the shipped config, renamed); the job unbounded (``--only`` some pipelines, or all),
local, with the given checkpoint interval; once it is RUNNING, ``sample_gen.py --live --rate R
--duration D``; when the generator has stopped and the job's consumer lag is 0, one more
interval and a little, then SIGTERM (stop with a savepoint; open windows stay open). Then, per
table, every snapshot committed before the stop: the data files it added (manifest entries of
that snapshot, status ADDED) and their freshness column, read with pyarrow.

Prints, per table: rows, commits, and p50 / p99 / max of the freshness in seconds, beside the
goal (raw: one checkpoint interval + 2 s; windows: out-of-orderness + one interval + 2 s). Then
where a row's time goes, from the checkpoints the job's REST API reported during the run (each
Iceberg snapshot names its checkpoint: ``flink.max-committed-checkpoint-id``): until the
checkpoint that carried it was triggered (the interval, and the time to reach the job), the
checkpoint itself (trigger -> last acknowledgement: barriers through, writers' files closed),
and the commit (last acknowledgement -> snapshot committed: the checkpoint finalised, then the
Iceberg commit).

    .venv/bin/python benchmarks/bench_freshness.py --rate 10000 --duration 180 --checkpoint-interval 10s
    .venv/bin/python benchmarks/bench_freshness.py --rate 50000 --only bid_events_raw --topics bid_events
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load_test import consumer_lag, rest  # noqa: E402
from common.cli import ExitCode  # noqa: E402
from common.durations import parse_duration_ms  # noqa: E402
from common.logs import setup_logging  # noqa: E402
from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, free_port, make_workspace  # noqa: E402

log = logging.getLogger("bench_freshness")

NAMESPACE = "sink"  # application_properties.json's iceberg.namespace, which the workspace keeps
SLACK_S = 2.0
# The shipped windows are hourly and the sessions close after a long gap: a few minutes of live
# traffic close none. This pipeline of the benchmark's own (appended to its copy of the config)
# closes a tumbling window every --window seconds, so window freshness is measured too.
WINDOW_PIPELINE = "bench_bid_windows"


def window_pipeline(seconds: int) -> dict:
    return {
        "name": WINDOW_PIPELINE,
        "source_topic": "bid_events",
        "sink_table": WINDOW_PIPELINE,
        "description": f"bids per {seconds} s tumbling window (bench_freshness.py)",
        "sink_schema": {
            "window_start": "TIMESTAMP(3)",
            "window_end": "TIMESTAMP(3)",
            "bids": "BIGINT",
            "window_date": "DATE",
        },
        "partition_by": ["window_date"],
        "view_sql": "SELECT * FROM {source}",
        "sql": (
            "SELECT window_start, window_end, COUNT(*) AS bids, CAST(window_start AS DATE) AS window_date\n"
            f"FROM TABLE(TUMBLE(TABLE {{view}}, DESCRIPTOR(event_time), INTERVAL '{seconds}' SECOND))\n"
            "GROUP BY window_start, window_end"
        ),
    }


def add_window_pipeline(config_dir: Path, seconds: int) -> None:
    path = config_dir / "transformations.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["transformations"].append(window_pipeline(seconds))
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@dataclass
class TableFreshness:
    table: str
    column: str | None
    rows: int
    commits: int
    seconds: list[float]
    # per row: (until the trigger, trigger -> last ack, last ack -> commit), where the snapshot's
    # checkpoint was seen in the REST history
    parts: list[tuple[float, float, float]] = field(default_factory=list)

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile (q in 0..1) of the freshness, in seconds."""
        return nearest_rank(sorted(self.seconds), q) if self.seconds else None


def nearest_rank(ordered: list[float], q: float) -> float:
    """The nearest-rank quantile (q in 0..1) of sorted, non-empty values."""
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))]


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def wait_running(port: int, job: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if job.poll() is not None:
            raise RuntimeError(f"the job exited ({job.returncode}) before running")
        try:
            for j in rest(port, "/jobs/overview")["jobs"]:
                if j["state"] == "RUNNING" and j["tasks"]["running"] == j["tasks"]["total"]:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the job did not reach RUNNING")


class CheckpointWatch:
    """Polls the job's checkpoint history while it runs (the REST API keeps only the last few):
    checkpoint id -> (trigger ms, last acknowledgement ms) of each completed checkpoint."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.completed: dict[int, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _poll(self) -> None:
        while not self._stop.wait(1.0):
            try:
                for job in rest(self.port, "/jobs/overview")["jobs"]:
                    if job["state"] != "RUNNING":
                        continue
                    for h in rest(self.port, f"/jobs/{job['jid']}/checkpoints").get("history", []):
                        if h.get("status") == "COMPLETED":
                            self.completed[h["id"]] = (h["trigger_timestamp"], h["latest_ack_timestamp"])
            except (OSError, ValueError, KeyError):
                pass  # the job is starting or stopping


def added_files(table, snapshot) -> list[str]:
    """Data files the snapshot itself added (not those it carried over)."""
    paths = []
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if entry.snapshot_id == snapshot.snapshot_id and entry.status.name == "ADDED":
                paths.append(entry.data_file.file_path)
    return paths


def table_freshness(
    warehouse: Path, name: str, before_ms: int, checkpoints: dict[int, tuple[int, int]]
) -> TableFreshness:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from common.ops.local_warehouse import open_table
    from common.ops.table_status import event_time_column

    table = open_table(str(warehouse), NAMESPACE, name)
    column = event_time_column(table.schema())
    result = TableFreshness(name, column, 0, 0, [])
    for snapshot in table.snapshots():
        if snapshot.timestamp_ms > before_ms:
            continue
        files = added_files(table, snapshot)
        if not files:
            continue
        result.commits += 1
        checkpoint_id = (
            snapshot.summary.additional_properties.get("flink.max-committed-checkpoint-id")
            if snapshot.summary
            else None
        )
        trigger_ack = checkpoints.get(int(checkpoint_id)) if checkpoint_id else None
        for path in files:
            local = path.removeprefix("file:")
            if column is None:
                result.rows += pq.read_metadata(local).num_rows
                continue
            values = pq.read_table(local, columns=[column]).column(column)
            per_ms = {"s": 0.001, "ms": 1, "us": 1000, "ns": 1_000_000}[values.type.unit]
            millis = [None if v is None else v / per_ms for v in values.cast(pa.int64()).to_pylist()]
            result.rows += len(millis)
            result.seconds.extend((snapshot.timestamp_ms - m) / 1000 for m in millis if m is not None)
            if trigger_ack:
                trigger, ack = trigger_ack
                result.parts.extend(
                    ((trigger - m) / 1000, (ack - trigger) / 1000, (snapshot.timestamp_ms - ack) / 1000)
                    for m in millis
                    if m is not None
                )
    return result


def out_of_orderness_s(config_dir: Path) -> float:
    """The largest declared max_out_of_orderness of the topics (the windows' watermark delay)."""
    topics = yaml.safe_load((config_dir / "topics.yaml").read_text())["kafka_topics"]
    delays = [
        parse_duration_ms(t.get("event_time", {}).get("max_out_of_orderness", "0 s")) or 0 for t in topics.values()
    ]
    return max(delays, default=0) / 1000


def run(args: argparse.Namespace) -> int:
    interval_s = (parse_duration_ms(args.checkpoint_interval) or 0) / 1000
    if interval_s <= 0:
        log.error("--checkpoint-interval %r: a duration such as 10s or 1 min", args.checkpoint_interval)
        return ExitCode.BAD_INPUT
    subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT)
    base = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    ws = make_workspace(base, BOOTSTRAP, partitions=args.partitions)
    if args.window:
        add_window_pipeline(ws.config_dir, args.window)
    topics = yaml.safe_load((ws.config_dir / "topics.yaml").read_text())["kafka_topics"]
    if args.topics:
        topics = {k: v for k, v in topics.items() if k in args.topics}
    port = free_port()
    env = dict(
        os.environ,
        ICEBERG_WAREHOUSE=str(ws.warehouse),
        KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP,
        FLINK_CHECKPOINT_INTERVAL=args.checkpoint_interval,
        FLINK_CHECKPOINT_DIR=str(base / "checkpoints"),
        FLINK_REST_PORT=str(port),
        FLINK_PARALLELISM=str(args.parallelism),
    )
    job_cmd = [sys.executable, str(ROOT / "streaming_job.py"), "--config-dir", str(ws.config_dir)]
    if args.only:
        job_cmd += ["--only", *args.only, *([WINDOW_PIPELINE] if args.window else [])]
    load_before = load_average()
    job = subprocess.Popen(job_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(base / "job.log").open("w"))
    watch = CheckpointWatch(port)
    try:
        wait_running(port, job)
        watch.start()
        log.info("job running; producing %d records/s for %d s (log: %s)", args.rate, args.duration, base / "job.log")
        gen_cmd = [
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
        ]
        if args.topics:
            gen_cmd += ["--topics", *args.topics]
        subprocess.run(
            gen_cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=(base / "generator.log").open("w")
        )
        load_during = load_average()
        from confluent_kafka import Consumer
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        probe = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "bench-freshness-probe"})
        deadline = time.monotonic() + args.drain_timeout
        while sum(consumer_lag(topics, admin, probe).values()) > 0 and time.monotonic() < deadline:
            time.sleep(1)
        lag = sum(consumer_lag(topics, admin, probe).values())
        probe.close()
        time.sleep(interval_s + SLACK_S)  # the last records' commit
        stop_ms = int(time.time() * 1000)
    finally:
        watch.stop()
        if job.poll() is None:
            os.kill(job.pid, signal.SIGTERM)
            try:
                job.wait(180)
            except subprocess.TimeoutExpired:
                job.kill()
    from common.ops.local_warehouse import table_names

    results = [
        table_freshness(ws.warehouse, name, stop_ms, watch.completed)
        for name in sorted(table_names(str(ws.warehouse), NAMESPACE))
    ]
    report(results, args, interval_s, out_of_orderness_s(ws.config_dir), lag, load_before, load_during)
    return ExitCode.OK if lag == 0 else ExitCode.CHECK_FAILED


def report(
    results: list[TableFreshness],
    args,
    interval_s: float,
    disorder_s: float,
    lag: int,
    load_before: str,
    load_during: str,
) -> None:
    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    print(
        f"\nrate {args.rate}/s for {args.duration} s ({args.rate * args.duration:,} records"
        f"{', topics ' + ' '.join(args.topics) if args.topics else ''}), checkpoints every {args.checkpoint_interval}, "
        f"parallelism {args.parallelism}, {args.partitions} partitions; pipelines: {' '.join(args.only or ['all'])}"
    )
    print(
        f"load average before: {load_before}; at the generator's end: {load_during}; now: {load_average()}; "
        f"lag at the end: {lag}"
    )
    print(
        f"{'table':<32} {'column':<14} {'rows':>9} {'commits':>7} {'p50 s':>7} {'p99 s':>7} {'max s':>7} {'goal s':>7}"
    )
    for r in results:
        windowed = r.column in ("window_end", "session_end")
        goal = interval_s + SLACK_S + (disorder_s if windowed else 0)
        print(
            f"{r.table:<32} {r.column or '-':<14} {r.rows:>9,} {r.commits:>7} {fmt(r.quantile(0.5)):>7} "
            f"{fmt(r.quantile(0.99)):>7} {fmt(max(r.seconds) if r.seconds else None):>7} {goal:>7.1f}"
        )
    print("\nwhere the time goes, mean / p99 of each part in seconds (rows whose checkpoint was seen):")
    print(f"{'table':<32} {'rows':>9} {'until trigger':>15} {'checkpoint':>13} {'ack -> commit':>15}")
    for r in results:
        if not r.parts:
            continue
        cells = []
        for i in range(3):
            values = sorted(p[i] for p in r.parts)
            cells.append(f"{sum(values) / len(values):.2f} / {nearest_rank(values, 0.99):.2f}")
        print(f"{r.table:<32} {len(r.parts):>9,} {cells[0]:>15} {cells[1]:>13} {cells[2]:>15}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rate", type=int, default=10_000, help="records/s produced, all topics together")
    parser.add_argument("--duration", type=int, default=180, help="seconds of steady production")
    parser.add_argument(
        "--checkpoint-interval", default="10s", help="the job's (10s local default, 60s on the service)"
    )
    parser.add_argument("--only", nargs="+", metavar="PIPELINE", help="run only these pipelines (default: all)")
    parser.add_argument("--topics", nargs="+", metavar="KEY", help="produce to these topics only (default: all)")
    parser.add_argument(
        "--window",
        type=int,
        default=10,
        metavar="SECONDS",
        help=f"add {WINDOW_PIPELINE}, a tumbling window of this many seconds over bid_events (0: none)",
    )
    parser.add_argument("--partitions", type=int, default=2, help="partitions of each fresh topic")
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("--drain-timeout", type=int, default=300, help="seconds to wait for the lag to reach 0")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
