"""Benchmark (not a test): the same bounded drain on the standalone cluster at parallelism 1 and 2.

One backlog, one cluster, one job run per parallelism, one after the other, and a table of
figures at the end:

    .venv/bin/python benchmarks/bench_scaling.py                   # 1,000,000 records, p = 1 then 2
    .venv/bin/python benchmarks/bench_scaling.py --count 20000 --keep

How it works
------------
1. The local broker (``dev/kafka_local.sh start``; a running broker is left alone) and
   fresh topics of this run, --partitions each (tests/conftest.py's ``make_workspace``: the
   shipped config with every topic and consumer group renamed).
2. One backlog: ``sample_gen.py`` with its default mix (every topic), ``--seed 7``,
   ``--count N``. Its manifest gives the records the broker confirmed per topic.
3. A cluster of this run: ``dev/flink_cluster.sh start`` with its own folder in the work
   folder (never .local/flink-cluster), free REST and RPC ports, max(2, highest parallelism)
   TaskManagers of 1 slot each; checkpoints in that folder, every
   $FLINK_CLUSTER_CHECKPOINT_INTERVAL (the script's default, 10 s).
4. A warm-up: one unmeasured run at the highest parallelism (every TaskManager's JVM loads and
   JIT-compiles the job's code once), unless --no-warmup.
5. Per parallelism p: target/managed-flink-app.zip unpacked once, with an overlay naming the
   fresh topics (tests/e2e/test_e2e_cluster.py's ``unpack_zip``), submitted as that test does:
   ``flink run --detached --parallelism p --python streaming_job.py --pyFiles lib/python
   --jarfile lib/pyflink-dependencies.jar --bounded``, the runtime properties in the service's
   format in $APP_PROPERTIES_FILE (this broker, a fresh warehouse per run). Then REST
   /jobs/<id> is polled until the job has ended.

Figures, per parallelism:
  seconds      the REST job's start-time -> end-time: from the JobManager receiving the job to
               FINISHED (the driver's planning and the jar upload come before; shown apart as
               "flink run s", the client's wall time)
  records/s    N / seconds
  speed-up     seconds of the first parallelism given (p=1 by default) / seconds of this one
  load         the 1-minute load average when the run starts (before flink run) and ends
  TM CPU s     user + system CPU of the cluster's TaskManager JVMs during the run (their
               /proc/<pid>/stat before and after): the work the job did, whatever the cores
  records/CPU-s  N / TM CPU s; the CPU a record costs at this parallelism
  p x CPU ratio  parallelism x (TM CPU s of the first run / TM CPU s of this one): the speed-up
               to expect where each subtask has a core of its own (a KPU's vCPU), if nothing but
               CPU limits it. On 2 shared cores the measured speed-up cannot show it: the
               JobManager, the TaskManagers, the broker and the client share them
Rows: every table's row count (its current snapshot's total-records) must be the same at every
parallelism, and each raw table must hold exactly the records delivered to its topic.

Exit codes: 0 rows check out, 1 they do not, 2 something failed (broker, backlog, cluster, a
job not FINISHED or timed out). On a shared machine the timings mean little: the load average
and the core count are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_decoder import delete_topics, iceberg_row_counts, load_average  # noqa: E402
from benchmarks.load_test import rest  # noqa: E402
from common.load.properties import APP, ENV_OVERRIDES, FLINK, ICEBERG, KAFKA, RUN_OPTIONS, read_groups  # noqa: E402
from common.logs import setup_logging  # noqa: E402
from tests.support.e2e import CLUSTER_SCRIPT, ENVIRONMENT, ZIP, unpack_zip  # noqa: E402
from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, JobWorkspace, free_port, make_workspace  # noqa: E402

log = logging.getLogger("bench_scaling")

SEED = 7
# Tables that hold one row per record of their topic (the default mix has no faults).
RAW_TABLES = {
    "bid_events_raw": "bid_events",
    "user_events_processed": "user_events",
    "order_events_enriched": "order_events",
}
ENDED = ("FINISHED", "FAILED", "CANCELED")
SUBMITTED = re.compile(r"Job has been submitted with JobID (\w+)")
MANAGED_RUN = "TableEnvironment ready: Flink runs the job"  # the driver made no local mini cluster
# Sources the zip's job is built from: a zip older than one of them is a stale build.
SOURCES = ("streaming_job.py", "common", "transformations", "config", "src/main")


class BenchError(RuntimeError):
    """Something did not run to the end: exit 2."""


@dataclass
class Run:
    parallelism: int
    folder: Path
    job_id: str = ""
    client_s: float = 0.0  # flink run's wall time
    seconds: float = 0.0  # REST start-time -> end-time
    load_start: str = ""
    load_end: str = ""
    tm_cpu_s: float = 0.0  # the TaskManagers' user + system CPU during the run
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ backlog


def produce_backlog(ws: JobWorkspace, count: int, manifest: Path) -> dict[str, int]:
    """One backlog to the workspace's topics; records the broker confirmed, per topic key."""
    log.info("producing %d records (seed %d) to %s", count, SEED, ", ".join(ws.topics.values()))
    started = time.monotonic()
    produced = subprocess.run(
        [
            sys.executable,
            str(ROOT / "sample_gen.py"),
            "--config-dir",
            str(ws.config_dir),
            "--count",
            str(count),
            "--seed",
            str(SEED),
            "--bootstrap-servers",
            ws.bootstrap,
            "--manifest",
            str(manifest),
            "--progress",
            "none",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if produced.returncode != 0:
        raise BenchError(f"sample_gen.py failed (exit {produced.returncode}):\n{produced.stderr[-3000:]}")
    delivered = {key: t["delivered"] for key, t in json.loads(manifest.read_text())["topics"].items()}
    log.info("produced in %.1f s: %s", time.monotonic() - started, ", ".join(f"{k} {n}" for k, n in delivered.items()))
    if sum(delivered.values()) != count:
        raise BenchError(f"the broker confirmed {sum(delivered.values())} records, not {count}")
    return delivered


# ------------------------------------------------------------------------------ cluster


def cluster_env(folder: Path, rest_port: int, taskmanagers: int) -> dict[str, str]:
    """The environment of flink_cluster.sh and flink run: a cluster of its own with local state;
    nothing that would override the properties file."""
    dropped = {
        *ENV_OVERRIDES,
        "APP_PROPERTIES_FILE",
        "PYTHONPATH",
        "FLINK_CLUSTER_STATE_DIR",
        "FLINK_CLUSTER_S3_ENDPOINT",
    }
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        FLINK_CLUSTER_DIR=str(folder),
        FLINK_CLUSTER_REST_PORT=str(rest_port),
        FLINK_CLUSTER_RPC_PORT=str(free_port()),
        FLINK_CLUSTER_TASKMANAGERS=str(taskmanagers),
        FLINK_CLUSTER_SLOTS="1",
    )
    return env


def cluster_script(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLUSTER_SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def check_zip() -> None:
    if not ZIP.is_file():
        raise BenchError(f"{ZIP} does not exist: build it with `mvn -B package` (or make jar)")
    built = ZIP.stat().st_mtime
    newer = [
        p
        for name in SOURCES
        for p in ([ROOT / name] if (ROOT / name).is_file() else (ROOT / name).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.stat().st_mtime > built
    ]
    if newer:
        log.warning(
            "%s is older than %d source file(s) (e.g. %s): it runs the last build, not the working tree",
            ZIP.relative_to(ROOT),
            len(newer),
            newer[0].relative_to(ROOT),
        )


def write_properties(path: Path, warehouse: Path) -> tuple[Path, str]:
    """application_properties.json in the service's format: this broker, this warehouse, the
    overlay of the fresh topics; no flink group (a run under Flink takes checkpoints and
    parallelism from the cluster and flink run). Returns the file and the sink namespace."""
    groups = read_groups(ROOT / "application_properties.json")
    groups[KAFKA].update({"bootstrap.servers": BOOTSTRAP, "auth": "none"})
    groups[ICEBERG].update({"catalog.type": "hadoop", "warehouse": str(warehouse)})
    groups[APP] = {"env": ENVIRONMENT}
    groups.pop(FLINK, None)
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()], indent=2))
    return path, groups[ICEBERG]["namespace"]


def taskmanager_cpu_s(cluster_dir: Path) -> float:
    """User + system CPU seconds, so far, of the cluster's running TaskManager JVMs (their pid files)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid_file in (cluster_dir / "pid").glob("*taskexecutor.pid"):
        for pid in pid_file.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # not running
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def run_job(run: Run, env: dict[str, str], rest_port: int, app: Path, timeout: float) -> str:
    """flink run of the unpacked zip at run.parallelism, bounded; waits for the job's end. The namespace."""
    run.folder.mkdir()
    properties, namespace = write_properties(run.folder / "application_properties.json", run.folder / "warehouse")
    options = read_groups(properties)[RUN_OPTIONS]
    command = [
        str(CLUSTER_SCRIPT),
        "flink",
        "run",
        "--detached",
        "--parallelism",
        str(run.parallelism),
        "--python",
        options["python"],
        "--pyFiles",
        options["pyFiles"],
        "--jarfile",
        options["jarfile"],
        "--bounded",
    ]
    run.load_start = load_average()
    log.info("p=%d: flink run (load %s)", run.parallelism, run.load_start)
    cpu_before = taskmanager_cpu_s(Path(env["FLINK_CLUSTER_DIR"]))
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=app,
        env={**env, "APP_PROPERTIES_FILE": str(properties)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    run.client_s = time.monotonic() - started
    output = result.stdout + result.stderr  # the CLI passes the driver's output on
    (run.folder / "flink-run.log").write_text(output)
    submitted = SUBMITTED.search(output)
    if result.returncode != 0 or not submitted:
        raise BenchError(f"p={run.parallelism}: flink run failed (exit {result.returncode}):\n{output[-3000:]}")
    if MANAGED_RUN not in output:
        raise BenchError(f"p={run.parallelism}: the driver did not run under Flink; see {run.folder / 'flink-run.log'}")
    run.job_id = submitted.group(1)
    log.info("p=%d: job %s submitted after %.1f s; waiting for it to end", run.parallelism, run.job_id, run.client_s)

    deadline = time.monotonic() + timeout
    while (job := rest(rest_port, f"/jobs/{run.job_id}"))["state"] not in ENDED:
        if time.monotonic() > deadline:
            raise BenchError(f"p={run.parallelism}: job {run.job_id} still {job['state']} after {timeout:.0f} s")
        time.sleep(1)
    run.load_end = load_average()
    run.tm_cpu_s = taskmanager_cpu_s(Path(env["FLINK_CLUSTER_DIR"])) - cpu_before
    if job["state"] != "FINISHED":
        raise BenchError(f"p={run.parallelism}: job {run.job_id} ended {job['state']}; see the cluster's logs")
    run.seconds = (job["end-time"] - job["start-time"]) / 1000
    sources = {v["parallelism"] for v in job["vertices"] if v["name"].startswith("Source:")}
    if sources != {run.parallelism}:
        raise BenchError(f"p={run.parallelism}: the sources ran at parallelism {sorted(sources)}")
    if job.get("timestamps", {}).get("RESTARTING"):
        run.notes.append("the job restarted (a failover): its time includes the restart")
    log.info("p=%d: FINISHED in %.1f s (load %s)", run.parallelism, run.seconds, run.load_end)
    return namespace


# ------------------------------------------------------------------------------ checks, report


def check_rows(runs: list[Run], delivered: dict[str, int]) -> list[str]:
    """Problems: a table whose count differs between parallelisms, a raw table != its topic's records."""
    first, problems = runs[0], []
    for run in runs[1:]:
        for table in sorted(first.rows.keys() | run.rows.keys()):
            if first.rows.get(table) != run.rows.get(table):
                problems.append(
                    f"{table}: {run.rows.get(table)} rows at p={run.parallelism}, "
                    f"{first.rows.get(table)} at p={first.parallelism}"
                )
    for run in runs:
        for table, key in RAW_TABLES.items():
            if run.rows.get(table) != delivered[key]:
                problems.append(
                    f"{table} at p={run.parallelism}: {run.rows.get(table)} rows, "
                    f"{delivered[key]} records on topic {key}"
                )
    return problems


def report(
    runs: list[Run],
    count: int,
    delivered: dict[str, int],
    args: argparse.Namespace,
    taskmanagers: int,
    checkpoints: str,
    problems: list[str],
) -> str:
    base = runs[0].seconds
    lines = [
        f"backlog: {count:,} records ({', '.join(f'{k} {n:,}' for k, n in delivered.items())}), "
        f"sample_gen seed {SEED}, {args.partitions} partitions per topic; bounded",
        f"cluster: {taskmanagers} TaskManagers x 1 slot, checkpoints every {checkpoints}; "
        f"machine: {os.cpu_count()} cores",
        "seconds: the job on the cluster, REST start-time -> end-time (FINISHED); flink run s: the client "
        "(planning, jar upload); load: 1-min load average at the run's start / end",
        "",
        f"{'parallelism':>11} {'seconds':>8} {'records/s':>10} {'speed-up':>9} {'flink run s':>12} "
        f"{'load start':>11} {'load end':>9} {'TM CPU s':>9} {'records/CPU-s':>14} {'p x CPU ratio':>14}",
    ]
    for run in runs:
        per_cpu = f"{count / run.tm_cpu_s:,.0f}" if run.tm_cpu_s else "-"
        projected = f"{run.parallelism * runs[0].tm_cpu_s / run.tm_cpu_s:.2f}" if run.tm_cpu_s else "-"
        lines.append(
            f"{run.parallelism:>11} {run.seconds:>8.1f} {count / run.seconds:>10,.0f} "
            f"{base / run.seconds:>9.2f} {run.client_s:>12.1f} {run.load_start.split()[0]:>11} "
            f"{run.load_end.split()[0]:>9} {run.tm_cpu_s:>9.1f} {per_cpu:>14} {projected:>14}"
        )
    lines += ["", f"{'rows':<28}" + "".join(f"{f'p={r.parallelism}':>10}" for r in runs) + f"{'records':>10}"]
    for table in sorted({t for r in runs for t in r.rows}):
        expected = f"{delivered[RAW_TABLES[table]]:,}" if table in RAW_TABLES else ""
        lines.append(
            f"{table:<28}"
            + "".join(f"{r.rows.get(table, '-'):>10,}" if table in r.rows else f"{'-':>10}" for r in runs)
            + f"{expected:>10}"
        )
    lines.append("")
    lines += [f"p={r.parallelism}: {note}" for r in runs for note in r.notes]
    lines += [f"rows WRONG: {p}" for p in problems] or ["rows: OK (equal at every parallelism; raw tables = records)"]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="records, all topics together (default 1000000)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of each fresh topic (default 4)")
    parser.add_argument(
        "--parallelism",
        type=int,
        nargs="+",
        default=[1, 2],
        metavar="P",
        help="job parallelisms, run in this order; speed-up is against the first (default 1 2)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds each run may take (default 1800)")
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the unmeasured first run on every TaskManager (their JVMs then start cold)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the work folder (logs, warehouses, the cluster's folder), the topics and the cluster running",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.count < 1 or args.partitions < 1 or min(args.parallelism) < 1:
        parser.error("--count, --partitions and --parallelism must be positive")
    setup_logging(args.verbose)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("pyiceberg").setLevel(logging.WARNING)

    base = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    rest_port, taskmanagers = free_port(), max(2, *args.parallelism)
    env = cluster_env(base / "flink-cluster", rest_port, taskmanagers)
    ws = None
    try:
        check_zip()
        subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT)  # leaves a running broker alone
        ws = make_workspace(base, BOOTSTRAP, partitions=args.partitions)
        delivered = produce_backlog(ws, args.count, base / "manifest.json")
        log.info(
            "starting the cluster: %d TaskManagers x 1 slot, REST http://localhost:%d, folder %s",
            taskmanagers,
            rest_port,
            base / "flink-cluster",
        )
        started = cluster_script(env, "start")
        if started.returncode != 0:
            raise BenchError(f"dev/flink_cluster.sh start failed:\n{started.stderr[-3000:]}")
        app = unpack_zip(base / "app", ws)
        if args.warmup:
            # Every TaskManager JVM starts cold: the first run on it pays for class loading and the
            # JIT, so a p=1 run on one cold JVM and a p=2 run on a warm and a cold one differ by
            # that, not by parallelism. One unmeasured run on every TaskManager first.
            warm = Run(taskmanagers, base / "0-warmup")
            run_job(warm, env, rest_port, app, args.timeout)
            log.info(
                "warm-up at p=%d: %.1f s, TaskManager CPU %.1f s (not measured)",
                warm.parallelism,
                warm.seconds,
                warm.tm_cpu_s,
            )
        runs = []
        for i, p in enumerate(args.parallelism, 1):
            run = Run(p, base / f"{i}-p{p}")
            namespace = run_job(run, env, rest_port, app, args.timeout)
            run.rows = iceberg_row_counts(run.folder, namespace)
            log.info("p=%d rows: %s", p, ", ".join(f"{t} {n}" for t, n in run.rows.items()))
            runs.append(run)
        problems = check_rows(runs, delivered)
        checkpoints = env.get("FLINK_CLUSTER_CHECKPOINT_INTERVAL", "10 s")
        print(report(runs, sum(delivered.values()), delivered, args, taskmanagers, checkpoints, problems), flush=True)
        return 1 if problems else 0
    except (BenchError, subprocess.SubprocessError, OSError) as exc:
        log.error("%s", exc)
        return 2
    finally:
        if args.keep:
            log.info(
                "kept %s (topics %s); the cluster still runs: FLINK_CLUSTER_DIR=%s dev/flink_cluster.sh stop",
                base,
                ", ".join(ws.topics.values()) if ws else "-",
                base / "flink-cluster",
            )
        else:
            stopped = cluster_script(env, "stop")
            if stopped.returncode != 0:
                log.warning("dev/flink_cluster.sh stop failed: %s", stopped.stderr[-2000:])
            if ws:
                delete_topics(ws.bootstrap, list(ws.topics.values()))
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
