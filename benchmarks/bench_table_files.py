"""Benchmark: data files per table and their mean size after a live run, before and after.

Runs the shipped pipelines unbounded (parallelism 2, local broker, topics and warehouse of
their own) while sample_gen's live mode produces at a steady rate for --duration seconds,
twice:

- before: the old settings: checkpoints (and so Iceberg commits) every 10 s, the old table
  properties (format v2, Parquet, zstd: no metadata retention);
- after: the current table properties (common/render/iceberg_sinks.py) and deploy.py's managed default
  checkpoint interval (60 s); then scripts/maintain_tables.py with its defaults (the table's
  own target size and expiry properties), as an operator would run it.

After each run the job is stopped with a savepoint (its last commit), and the script prints per
table: data files, mean data file size, snapshots and metadata.json files. Figures, not a test.

    .venv/bin/python benchmarks/bench_table_files.py --rate 1000 --duration 300
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.logs import setup_logging  # noqa: E402
from common.ops.local_warehouse import open_table, table_names  # noqa: E402
from deploy import DEFAULT_CHECKPOINT_INTERVAL  # noqa: E402
from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, free_port, make_workspace  # noqa: E402

log = logging.getLogger("bench_table_files")
NAMESPACE = "sink"
OLD_TABLE_PROPERTIES = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
}
# The job with other table properties, without touching the product: the DDL reads this dict.
JOB_WITH_PROPERTIES = (
    "import json, runpy, sys; import common.render.iceberg_sinks as sinks; "
    "sinks.TABLE_PROPERTIES.clear(); sinks.TABLE_PROPERTIES.update(json.loads(sys.argv[1])); "
    "sys.argv = ['streaming_job.py'] + sys.argv[2:]; "
    "runpy.run_path('streaming_job.py', run_name='__main__')"
)


@dataclass
class TableFigures:
    data_files: int
    data_bytes: int
    snapshots: int
    metadata_files: int

    @property
    def mean_kib(self) -> float:
        return self.data_bytes / self.data_files / 1024 if self.data_files else 0.0


def figures(warehouse: Path) -> dict[str, TableFigures]:
    out = {}
    for name in table_names(str(warehouse), NAMESPACE):
        table = open_table(str(warehouse), NAMESPACE, name)
        files = list(table.scan().plan_files())
        metadata = warehouse / NAMESPACE / name / "metadata"
        out[name] = TableFigures(
            len(files),
            sum(f.file.file_size_in_bytes for f in files),
            len(table.metadata.snapshots),
            len(list(metadata.glob("v*.metadata.json"))),
        )
    return out


def print_figures(title: str, by_table: dict[str, TableFigures]) -> None:
    print(f"\n{title}")
    print(f"  {'table':<28} {'data files':>10} {'mean KiB':>9} {'snapshots':>9} {'metadata.json':>13}")
    for name, f in sorted(by_table.items()):
        print(f"  {name:<28} {f.data_files:>10} {f.mean_kib:>9.1f} {f.snapshots:>9} {f.metadata_files:>13}")
    total = TableFigures(
        *(
            sum(getattr(f, k) for f in by_table.values())
            for k in ("data_files", "data_bytes", "snapshots", "metadata_files")
        )
    )
    print(
        f"  {'all tables':<28} {total.data_files:>10} {total.mean_kib:>9.1f} {total.snapshots:>9} "
        f"{total.metadata_files:>13}",
        flush=True,
    )


def rest(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def live_run(label: str, base: Path, interval: str, properties: dict[str, str] | None, args) -> Path:
    """One unbounded run with live traffic; returns the warehouse once the job has stopped."""
    base.mkdir()
    ws = make_workspace(base, BOOTSTRAP)
    port = free_port()
    env = dict(
        os.environ,
        ICEBERG_WAREHOUSE=str(ws.warehouse),
        KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP,
        FLINK_CHECKPOINT_INTERVAL=interval,
        FLINK_CHECKPOINT_DIR=str(base / "checkpoints"),
        FLINK_REST_PORT=str(port),
        FLINK_PARALLELISM=str(args.parallelism),
    )
    job_args = ["--config-dir", str(ws.config_dir)]
    command = (
        [sys.executable, "-c", JOB_WITH_PROPERTIES, json.dumps(properties), *job_args]
        if properties
        else [sys.executable, str(ROOT / "streaming_job.py"), *job_args]
    )
    job = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(base / "job.log").open("w"))
    deadline = time.monotonic() + 600  # a loaded machine takes minutes to plan and start eight pipelines
    while not _running(port):
        if job.poll() is not None or time.monotonic() > deadline:
            job.kill()
            raise RuntimeError(f"{label}: the job did not start; see {base / 'job.log'}")
        time.sleep(1)
    log.info(
        "%s: job running (checkpoints every %s); producing %d records/s for %d s",
        label,
        interval,
        args.rate,
        args.duration,
    )
    subprocess.run(
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
        check=True,
    )
    time.sleep(10)  # let the last records reach the writers; the savepoint commits them
    job.send_signal(signal.SIGTERM)
    code = job.wait(300)
    if code != 0:
        raise RuntimeError(f"{label}: the job exited with {code}; see {base / 'job.log'}")
    return ws.warehouse


def _running(port: int) -> bool:
    try:
        return any(j["state"] == "RUNNING" for j in rest(port, "/jobs/overview")["jobs"])
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="records/s produced, all topics together")
    parser.add_argument("--duration", type=int, default=300, help="seconds of live traffic per run")
    parser.add_argument("--parallelism", type=int, default=2)
    args = parser.parse_args(argv)
    setup_logging()
    log.setLevel(logging.INFO)
    subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT)
    base = Path(tempfile.mkdtemp(prefix="bench-table-files-"))
    print(f"{args.rate} records/s for {args.duration} s per run, parallelism {args.parallelism}; work in {base}")

    before = live_run("before", base / "before", "10s", OLD_TABLE_PROPERTIES, args)
    print_figures("before: 10 s checkpoints, old table properties", figures(before))

    after = live_run("after", base / "after", DEFAULT_CHECKPOINT_INTERVAL, None, args)
    print_figures(f"after: {DEFAULT_CHECKPOINT_INTERVAL} checkpoints, current table properties", figures(after))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "maintain_tables.py")],
        cwd=ROOT,
        env=dict(os.environ, ICEBERG_WAREHOUSE=str(after)),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        log.error("maintain_tables.py exited with %s:\n%s", result.returncode, result.stderr[-3000:])
        return 1
    print_figures(
        f"after, then scripts/maintain_tables.py (defaults; {time.monotonic() - started:.0f} s)", figures(after)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
