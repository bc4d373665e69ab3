"""Benchmark (not a test): start-up cost as the YAML grows, and where every second goes.

For each pipeline count (default 10, 25, 50) it writes a config folder whose
transformations.yaml holds that many SQL-only pipelines, generated from the shipped
transformer pipelines (raw copies, hourly windows, late checks, sessions over two topics:
each shipped pipeline's view, SELECT, sink schema, partitioning and key, rendered with
placeholders), round-robin, each with its own name and sink table. By default every copy
also gets a filter of its own (`timestamp_ms <> -k`, never false), so the planner cannot
merge identical copies into one node (``--identical`` keeps them identical). They read three
throw-away topics on the shared local broker (created here; the broker is never reset), and
every run gets a fresh warehouse and checkpoint folder.

Per count it measures, one run each (the machine is shared: the load average is printed):
  validate   wall time of ``streaming_job.py --validate`` (process start to exit)
  running    process start -> the job is RUNNING with all its tasks running, for an
             unbounded local run (``flink.rest.port`` in a properties file; the REST API's
             /jobs/overview is polled every 0.1 s), then SIGTERM (stop with a savepoint);
             with the job's own log lines: TableEnvironment ready, submitted.

``--profile N`` also runs the job for N pipelines in a harness process (this file with
``--child``) that wraps the job's functions and PyFlink's calls with timers and reports
where the seconds between process start and RUNNING (``--profile-bounded``: and the end of a
bounded run, with the record summary) go: imports, JVM start, TableEnvironment, each kind of
DDL, the plan check, the statement set's explain, the submit. Nested timers are exclusive
(a phase's figure excludes the phases inside it).

    .venv/bin/python benchmarks/bench_startup.py                       # 10 / 25 / 50
    .venv/bin/python benchmarks/bench_startup.py --counts 50 --profile 50 --profile-bounded
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench_startup")

DEFAULT_COUNTS = (10, 25, 50)
RUNNING_TIMEOUT_S = 300
STOP_TIMEOUT_S = 120
POLL_S = 0.1
# The job's own progress lines (common/run/flink_env.py, common/run/runner.py), with logging's asctime.
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ [\w.]+: (.*)$", re.M)
MARKS = {"env_ready": "TableEnvironment ready", "submitted": "submitted job"}
# Env variables that would override the properties file the benchmark writes.
OVERRIDDEN = (
    "APP_PROPERTIES_FILE",
    "ICEBERG_WAREHOUSE",
    "ICEBERG_CATALOG_TYPE",
    "KAFKA_BOOTSTRAP_SERVERS",
    "FLINK_REST_PORT",
    "FLINK_CHECKPOINT_DIR",
    "FLINK_PARALLELISM",
    "FLINK_CHECKPOINT_INTERVAL",
    "APP_ENV",
)


def broker_answers(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=2):
        return True
    return False


def wait_for_quiet(max_load: float | None, max_wait_s: float) -> None:
    """Wait (at most max_wait_s) until the 1-minute load average is below max_load: the machine is shared."""
    if max_load is None:
        return
    deadline = time.monotonic() + max_wait_s
    while float(load_average()) >= max_load and time.monotonic() < deadline:
        time.sleep(10)
    if float(load_average()) >= max_load:
        log.warning("load %s is still above %s: measuring anyway", load_average(), max_load)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 1)[0]


# ---------------------------------------------------------------- the generated configuration


def pipeline_templates() -> list[dict[str, Any]]:
    """The shipped pipelines as SQL-only entries (placeholders instead of table names)."""
    from common.load.config import CONFIG_DIR, build_transformer, load_project
    from common.load.transformer import SourceTables

    project = load_project(CONFIG_DIR, None)
    templates = []
    for p in project.pipelines:
        t = build_transformer(p)
        sources = SourceTables(
            primary_topic=p.source_topic, by_topic={k: f"{{sources.{k}}}" for k in p.topics}, view="{view}"
        )
        entry: dict[str, Any] = {
            "name": p.name,
            "source_topic": p.source_topic,
            "topics": list(p.topics),
            "sink_table": p.sink_table,
            "sink_schema": dict(t.get_sink_schema()),
            "sql": t.get_select_sql(sources).strip(),
        }
        view = t.get_view_sql(sources)
        if view:
            entry["view_sql"] = view.strip()
        if t.get_partition_by():
            entry["partition_by"] = list(t.get_partition_by())
        if t.get_primary_key():
            entry["primary_key"] = list(t.get_primary_key())
        templates.append(entry)
    return templates


_SOURCE_PLACEHOLDER = re.compile(r"\{sources\.(\w+)\}")


def generate_pipelines(templates: list[dict[str, Any]], count: int, distinct: bool) -> list[dict[str, Any]]:
    """`count` transformations.yaml entries, round-robin over the templates."""
    entries = []
    for i in range(count):
        t = templates[i % len(templates)]
        prefix = f"p{i + 1:02d}_"

        def own(sql: str, k: int = i + 1) -> str:
            # A filter that is never false but differs per copy: the planner cannot share the node.
            return (
                _SOURCE_PLACEHOLDER.sub(
                    lambda m: f"(SELECT * FROM {{sources.{m.group(1)}}} WHERE `timestamp_ms` <> -{k})", sql
                )
                if distinct
                else sql
            )

        entry: dict[str, Any] = {"name": prefix + t["name"], "enabled": True, "source_topic": t["source_topic"]}
        extra = [f"kafka_{topic}" for topic in t["topics"] if topic != t["source_topic"]]
        if extra:
            entry["additional_sources"] = extra
        entry.update(
            {
                "sink_table": prefix + t["sink_table"],
                "description": f"benchmark copy of {t['name']}",
                "sink_schema": t["sink_schema"],
            }
        )
        for key in ("partition_by", "primary_key"):
            if key in t:
                entry[key] = t[key]
        if "view_sql" in t:
            entry["view_sql"] = own(t["view_sql"])
        entry["sql"] = t["sql"] if "view_sql" in t else own(t["sql"])
        entries.append(entry)
    return entries


class _LiteralDumper:
    """YAML with SQL as block literals (readable when a run fails)."""

    @staticmethod
    def dump(doc: Any) -> str:
        import yaml

        class Dumper(yaml.SafeDumper):
            pass

        def text(dumper, value: str):
            style = "|" if "\n" in value else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

        Dumper.add_representer(str, text)
        return yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=200)


def write_config(folder: Path, topics_yaml: Path, pipelines: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(topics_yaml, folder / "topics.yaml")
    (folder / "transformations.yaml").write_text(_LiteralDumper.dump({"transformations": pipelines}))
    return folder


def write_properties(path: Path, bootstrap: str, warehouse: Path, checkpoints: Path, rest_port: int) -> Path:
    groups = json.loads((ROOT / "application_properties.json").read_text())
    for group in groups:
        props = group["PropertyMap"]
        if group["PropertyGroupId"] == "kafka":
            props["bootstrap.servers"] = bootstrap
        elif group["PropertyGroupId"] == "iceberg":
            props.update({"catalog.type": "hadoop", "warehouse": str(warehouse)})
        elif group["PropertyGroupId"] == "flink":
            props.update({"checkpoint.dir": checkpoints.as_uri(), "rest.port": str(rest_port), "parallelism": "1"})
    path.write_text(json.dumps(groups, indent=2))
    return path


def java_opts_env(extra: str) -> dict[str, str]:
    """FLINK_ENV_JAVA_OPTS for PyFlink's JVM: its configured options (which the variable replaces) + extra."""
    from pyflink import pyflink_gateway_server as gateway

    env = dict(os.environ)
    gateway.prepare_environment_variables(env)
    env.pop("FLINK_ENV_JAVA_OPTS", None)
    return {"FLINK_ENV_JAVA_OPTS": " ".join([*gateway.get_jvm_opts(env), *extra.split()])}


def job_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in OVERRIDDEN}


# ---------------------------------------------------------------- measured runs


def run_validate(config_dir: Path, properties: Path) -> float:
    started = time.time()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "streaming_job.py"),
            "--validate",
            "--config-dir",
            str(config_dir),
            "--properties",
            str(properties),
        ],
        cwd=ROOT,
        env=job_env(),
        capture_output=True,
        text=True,
        timeout=RUNNING_TIMEOUT_S,
    )
    wall = time.time() - started
    if result.returncode != 0:
        raise RuntimeError(f"--validate exited {result.returncode}:\n{result.stdout}{result.stderr[-3000:]}")
    return wall


def jobs_overview(port: int) -> list[dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/jobs/overview", timeout=2) as response:
            return json.load(response)["jobs"]
    except (urllib.error.URLError, OSError, ValueError):
        return []


def wait_running(port: int, process: subprocess.Popen, timeout_s: float) -> tuple[float, dict[str, Any]]:
    """(epoch seconds when the job and all its tasks were running, the job's overview)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the job exited with {process.returncode} before it was running")
        for job in jobs_overview(port):
            tasks = job.get("tasks", {})
            if job.get("state") == "RUNNING" and tasks.get("total") and tasks.get("running") == tasks.get("total"):
                return time.time(), job
        time.sleep(POLL_S)
    raise RuntimeError(f"the job was not running within {timeout_s} s")


def logged_at(text: str) -> dict[str, float]:
    """Epoch seconds of the job's marked log lines (asctime is local time, millisecond resolution)."""
    marks: dict[str, float] = {}
    for stamp, message in LOG_LINE.findall(text):
        for mark, prefix in MARKS.items():
            if message.startswith(prefix) and mark not in marks:
                marks[mark] = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return marks


@dataclasses.dataclass
class RunTimes:
    running_s: float
    env_ready_s: float | None
    submitted_s: float | None
    stop_s: float
    tasks: int
    load: str


def run_until_running(
    command: list[str], properties: Path, port: int, log_path: Path, extra_env: dict[str, str] | None = None
) -> RunTimes:
    """Start the job, wait until it and all its tasks run, then SIGTERM it (savepoint) and wait."""
    load = load_average()
    with log_path.open("w") as out:
        started = time.time()
        process = subprocess.Popen(
            [*command, "--properties", str(properties)],
            cwd=ROOT,
            env={**job_env(), **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            running_at, job = wait_running(port, process, RUNNING_TIMEOUT_S)
        except Exception:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            sys.stderr.write(log_path.read_text()[-3000:])
            raise
        stop_started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        stop_s = time.monotonic() - stop_started
    marks = logged_at(log_path.read_text())
    since = {k: v - started for k, v in marks.items()}
    return RunTimes(
        running_at - started, since.get("env_ready"), since.get("submitted"), stop_s, job["tasks"]["total"], load
    )


# ---------------------------------------------------------------- the profiling harness (--child)


class PhaseTimer:
    """Exclusive wall time per phase: a phase's time excludes the phases running inside it."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[Any]] = []  # [name, started, nested seconds]
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str):
        frame = [name, time.perf_counter(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            spent = time.perf_counter() - frame[1]
            with self._lock:
                self.totals[name] = self.totals.get(name, 0.0) + spent - frame[2]
                self.calls[name] = self.calls.get(name, 0) + 1
            if self._stack:
                self._stack[-1][2] += spent

    def wrap(self, owner: Any, attribute: str, name: str | Callable[..., str]) -> None:
        """Time every call of owner.attribute (a module function or a class method), if it exists."""
        original = getattr(owner, attribute, None)
        if original is None:
            log.warning("not profiled: %s.%s does not exist", getattr(owner, "__name__", owner), attribute)
            return

        @functools.wraps(original)
        def timed(*args, **kwargs):
            with self.phase(name(*args, **kwargs) if callable(name) else name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


def ddl_kind(_t_env, statement: str, *_rest) -> str:
    """Which kind of statement an execute_sql call runs."""
    head = statement.lstrip()[:200].upper()
    if head.startswith("CREATE CATALOG"):
        return "DDL: CREATE CATALOG"
    if head.startswith("CREATE DATABASE"):
        return "DDL: CREATE DATABASE (namespace)"
    if head.startswith("CREATE TEMPORARY VIEW"):
        return "DDL: views (good records, pipeline views)"
    if head.startswith("CREATE TABLE IF NOT EXISTS"):
        return "DDL: Iceberg sink tables"
    if head.startswith("CREATE TABLE"):
        return "DDL: Kafka source tables"
    return "execute_sql: other statements (record summary query, ALTER, ...)"


# ---------------------------------------------------------------- cuts, tried in the harness only

CUTS = {
    "one-parse": "parse each pipeline's SELECT once: the Table of the column check goes into the statement set "
    "(add_insert) instead of add_insert_sql re-parsing the INSERT",
    "no-summary": "no record summary after a bounded run (its batch environment and batch job)",
}


def apply_cuts(cuts: list[str]) -> None:
    """Monkeypatch the job's run path with each cut, to measure what it would save (this process only)."""
    from common.run import plan_check, record_summary, runner

    if "one-parse" in cuts:
        original_check = plan_check.check_pipelines

        def statement_set(t_env, plan):
            stmt_set = t_env.create_statement_set()
            for pipeline in plan.pipelines:
                if not pipeline.queries:
                    stmt_set.add_insert_sql(pipeline.insert_sql)
                    continue
                tables = [plan_check._sql_query(t_env, pipeline, query) for query in pipeline.queries]
                if pipeline.sink_schema:
                    plan_check.check_columns(pipeline, plan_check._schema(tables[-1]))
                # Same names in the same order as the sink (checked above): the positional insert is the same.
                stmt_set.add_insert(pipeline.sink_path, tables[-1])
            return stmt_set

        def check_pipelines(t_env, plan, optimize):
            if optimize:  # the failure diagnosis still plans each pipeline alone
                original_check(t_env, plan, optimize)

        runner.statement_set = statement_set
        plan_check.check_pipelines = check_pipelines
    if "no-summary" in cuts:
        record_summary.summarize = lambda settings, topics: {}


def child_main(args: argparse.Namespace) -> int:
    """Run streaming_job.main in this process with timers around its phases; write them as JSON."""
    timer = PhaseTimer()
    process_started = args.started
    out: dict[str, Any] = {"phases": [], "marks": {}}

    def mark(name: str) -> None:
        out["marks"][name] = time.time() - process_started

    mark("harness_main")
    with timer.phase("Python: project imports (streaming_job, yaml, config)"):
        import streaming_job
    with timer.phase("Python: PyFlink imports"):
        import pyflink.table  # noqa: F401
        from pyflink.table import StatementSet, Table, TableEnvironment

        from common.run import flink_env, plan_check, record_summary, runner
    with timer.phase("JVM start (PyFlink gateway)"):
        from pyflink.java_gateway import get_gateway

        from common.run import class_sharing

        class_sharing.use_class_sharing(write=True)  # as create_table_env does, before the JVM starts
        get_gateway()
    mark("gateway_up")
    timer.wrap(streaming_job, "load_project", "load YAML (config.load_project)")
    timer.wrap(streaming_job, "build_plan", "render SQL (job_plan.build_plan)")
    timer.wrap(flink_env, "create_table_env", "TableEnvironment creation")
    timer.wrap(TableEnvironment, "execute_sql", ddl_kind)
    timer.wrap(TableEnvironment, "sql_query", "plan check: sql_query per pipeline query")
    timer.wrap(TableEnvironment, "create_statement_set", "statement set: create")
    timer.wrap(StatementSet, "add_insert_sql", "statement set: add_insert_sql per pipeline")
    timer.wrap(StatementSet, "explain", "statement set: explain (CHANGELOG_MODE), whole job")
    timer.wrap(StatementSet, "compile_plan", "statement set: compile_plan, whole job")
    timer.wrap(StatementSet, "execute", "submit: StatementSet.execute (plans again, mini cluster, job)")
    timer.wrap(Table, "explain", "plan check: explain per pipeline (failure path)")
    timer.wrap(runner, "check_changelog", "changelog check (Python)")
    timer.wrap(plan_check, "check_columns", "plan check: column check (py4j types)")
    timer.wrap(record_summary, "summarize", "record summary (batch env + batch job)")
    apply_cuts(args.cut or [])
    timer.wrap(runner, "statement_set", "runner.statement_set: other")
    for module, attribute, label in (
        ("common.run.sink_evolution", "evolve_sinks", "schema evolution (catalog reads)"),
        ("common.run.compiled_plan", "compile_plan", "compiled_plan.compile_plan"),
        ("common.run.compiled_plan", "execute_plan", "submit: compiled_plan.execute_plan"),
    ):
        with contextlib.suppress(ImportError):
            timer.wrap(__import__(module, fromlist=[attribute]), attribute, label)
    timer.wrap(runner, "execute", "runner.execute: wait for the job (until SIGTERM / end)")
    submits = [(StatementSet, "execute")]
    with contextlib.suppress(ImportError):
        from common.state import state_restore

        submits.append((state_restore, "execute_plan"))
    for owner, attribute in submits:
        if hasattr(owner, attribute):
            original = getattr(owner, attribute)

            def submit_and_mark(*a, _original=original, **k):
                mark("submit_called")
                result = _original(*a, **k)
                mark("submitted")
                return result

            setattr(owner, attribute, submit_and_mark)
    code = 1
    try:
        with timer.phase("streaming_job.main: other (Python glue, logging)"):
            code = streaming_job.main(args.job_args)
    finally:
        mark("main_returned")
        out["code"] = code
        out["phases"] = [{"phase": n, "seconds": round(s, 3), "calls": timer.calls[n]} for n, s in timer.totals.items()]
        Path(args.out).write_text(json.dumps(out, indent=2))
    return code


# Flink's own log lines (PyFlink's JVM, log4j with local-time stamps) that mark the submit.
JVM_MILESTONES = (
    ("mini cluster starting", "Starting Flink Mini Cluster"),
    ("mini cluster started", "Flink Mini Cluster started successfully"),
    ("job graph received", "Received job submission"),
    ("job RUNNING (scheduler)", "switched from state CREATED to RUNNING"),
    ("first task deploying", "Deploying "),
)
_JVM_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def jvm_milestones(log_dir: Path, started: float) -> dict[str, float]:
    """Seconds from process start to each milestone's first log line, and to the last task RUNNING."""
    found: dict[str, float] = {}
    for path in sorted(log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            stamp = _JVM_STAMP.match(line)
            if not stamp:
                continue
            at = dt.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() - started
            for name, text in JVM_MILESTONES:
                if name not in found and text in line:
                    found[name] = at
            if "switched from INITIALIZING to RUNNING" in line and "ExecutionGraph" in line:
                found["last task RUNNING"] = at
    return found


def run_profile(
    workdir: Path, config_dir: Path, bootstrap: str, bounded: bool, cuts: list[str], extra_env: dict[str, str] | None
) -> dict[str, Any]:
    """The job under the harness: phases, and process start -> RUNNING (or -> the end, bounded)."""
    from tests.support.harness import free_port

    tag = "-".join(["bounded" if bounded else "unbounded", *cuts])
    port = free_port()
    properties = write_properties(
        workdir / f"profile-{tag}.json", bootstrap, workdir / f"wh-profile-{tag}", workdir / f"ckpt-profile-{tag}", port
    )
    out = workdir / f"profile-{tag}-phases.json"
    job_args = ["--config-dir", str(config_dir), "--properties", str(properties), *(["--bounded"] if bounded else [])]
    load = load_average()
    started = time.time()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--started",
        repr(started),
        "--out",
        str(out),
        *(f"--cut={c}" for c in cuts),
        "--",
        *job_args,
    ]
    log_path = workdir / f"profile-{tag}.log"
    jvm_logs = workdir / f"profile-{tag}-jvm-log"  # Flink's own log (PyFlink's JVM), with timestamps
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**job_env(), **(extra_env or {}), "FLINK_LOG_DIR": str(jvm_logs)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            if bounded:
                process.wait(RUNNING_TIMEOUT_S)
                end, running = time.time() - started, None
            else:
                running_at, _job = wait_running(port, process, RUNNING_TIMEOUT_S)
                end, running = None, running_at - started
                process.send_signal(signal.SIGTERM)
                process.wait(STOP_TIMEOUT_S)
        except Exception:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    if process.returncode != 0:
        raise RuntimeError(f"profiled job exited {process.returncode}:\n{log_path.read_text()[-3000:]}")
    result = json.loads(out.read_text())
    result.update(
        {
            "running_s": running,
            "end_s": end,
            "load": load,
            "cuts": cuts,
            "bounded": bounded,
            "jvm": jvm_milestones(jvm_logs, started),
        }
    )
    return result


WAITED = "runner.execute: wait for the job (until SIGTERM / end)"


def print_profile(result: dict[str, Any]) -> None:
    marks, bounded = result["marks"], result["bounded"]
    title = "bounded, empty topics" if bounded else "unbounded"
    cuts = f"; cuts: {', '.join(result['cuts'])}" if result["cuts"] else ""
    print(f"\nprofile ({title}{cuts}; load {result['load']}): exclusive seconds per phase")
    print(f"{'phase':72} {'s':>6} {'calls':>5}")
    print(f"{'process start -> harness main (interpreter, site)':72} {marks['harness_main']:6.2f}")
    for row in sorted(result["phases"], key=lambda p: -p["seconds"]):
        if row["phase"] == WAITED and not bounded:
            continue  # after RUNNING: the job runs until SIGTERM
        print(f"{row['phase']:72} {row['seconds']:6.2f} {row['calls']:5d}")
    if result["running_s"] is not None and "submitted" in marks:
        print(
            f"{'submit returned -> job RUNNING with all tasks running (REST poll)':72} "
            f"{result['running_s'] - marks['submitted']:6.2f}"
        )
        print(f"{'= process start -> RUNNING':72} {result['running_s']:6.2f}")
    if result["end_s"] is not None:
        print(f"{'= process start -> exit':72} {result['end_s']:6.2f}")
    timeline = {
        "submit called": marks.get("submit_called"),
        **result["jvm"],
        "submit returned": marks.get("submitted"),
        "RUNNING (REST poll)": result["running_s"],
    }
    print(
        "  timeline of the submit, seconds from process start: "
        + ", ".join(
            f"{name} {at:.1f}"
            for name, at in sorted(((n, a) for n, a in timeline.items() if a is not None), key=lambda item: item[1])
        )
    )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="Exit codes: 0 ok, 1 a run failed.")
    parser.add_argument("--counts", type=int, nargs="+", default=list(DEFAULT_COUNTS), help="pipeline counts")
    parser.add_argument(
        "--identical",
        action="store_true",
        help="copies without their own filter (the planner may merge identical copies)",
    )
    parser.add_argument("--skip-validate", action="store_true")
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--profile", type=int, metavar="N", help="also profile the run with N pipelines")
    parser.add_argument("--profile-bounded", action="store_true", help="with --profile: a bounded run too")
    parser.add_argument(
        "--cut",
        action="append",
        choices=sorted(CUTS),
        help="with --profile: also profile with this cut applied in the harness (repeatable): "
        + "; ".join(f"{k}: {v}" for k, v in CUTS.items()),
    )
    parser.add_argument(
        "--java-opts",
        help="extra options for the job's JVM (FLINK_ENV_JAVA_OPTS; "
        "the class-data-sharing archive is the job's own: STREAMING_JOB_CDS=off measures without)",
    )
    parser.add_argument(
        "--max-load",
        type=float,
        help="before each run, wait until the 1-minute load average is below this (shared machine)",
    )
    parser.add_argument("--max-wait", type=float, default=900, help="with --max-load: wait at most this long (s)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("job_args", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    from common.logs import setup_logging
    from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, free_port, make_workspace

    setup_logging()
    if not broker_answers(BOOTSTRAP):  # a running shared broker is used as it is (never reset)
        subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    workdir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    extra_env = java_opts_env(args.java_opts) if args.java_opts else None
    try:
        workspace = make_workspace(workdir, BOOTSTRAP)  # three fresh topics, the shipped config
        templates = pipeline_templates()
        counts = sorted(set(args.counts) | ({args.profile} if args.profile else set()))
        configs = {
            n: write_config(
                workdir / f"config-{n}",
                workspace.config_dir / "topics.yaml",
                generate_pipelines(templates, n, distinct=not args.identical),
            )
            for n in counts
        }
        rows = []
        for n in args.counts:
            wait_for_quiet(args.max_load, args.max_wait)
            validate_load = load_average()
            validate = (
                None
                if args.skip_validate
                else run_validate(
                    configs[n],
                    write_properties(
                        workdir / f"validate-{n}.json",
                        BOOTSTRAP,
                        workdir / f"wh-v-{n}",
                        workdir / f"ckpt-v-{n}",
                        free_port(),
                    ),
                )
            )
            run = None
            if not args.skip_run:
                wait_for_quiet(args.max_load, args.max_wait)
                port = free_port()
                props = write_properties(
                    workdir / f"run-{n}.json", BOOTSTRAP, workdir / f"wh-{n}", workdir / f"ckpt-{n}", port
                )
                run = run_until_running(
                    [sys.executable, str(ROOT / "streaming_job.py"), "--config-dir", str(configs[n])],
                    props,
                    port,
                    workdir / f"run-{n}.log",
                    extra_env,
                )
            log.info("%d pipelines: validate %s s, running %s", n, validate and f"{validate:.1f}", run)
            rows.append((n, validate, validate_load, run))
        print(
            f"\nstart-up, one run each ({'identical' if args.identical else 'distinct'} copies of the shipped "
            "pipelines + dead letters; seconds from process start)"
        )
        print(
            f"{'pipelines':>9} {'--validate':>10} {'load':>5} {'env ready':>9} {'submitted':>9} {'RUNNING':>8} "
            f"{'tasks':>5} {'stop':>6} {'load':>5}"
        )
        for n, validate, validate_load, run in rows:
            cells = [f"{validate:10.1f} {validate_load:>5}" if validate else f"{'-':>10} {'':>5}"]
            if run:
                cells += [
                    f"{run.env_ready_s or float('nan'):9.1f}",
                    f"{run.submitted_s or float('nan'):9.1f}",
                    f"{run.running_s:8.1f}",
                    f"{run.tasks:5d}",
                    f"{run.stop_s:6.1f}",
                    f"{run.load:>5}",
                ]
            print(f"{n:9d} " + " ".join(cells))
        if args.profile:
            summary = []
            for bounded in (False, True) if args.profile_bounded else (False,):
                cuts_here = [c for c in args.cut or [] if bounded or c != "no-summary"]  # a summary is bounded-only
                # Bounded runs differ from unbounded ones by the summary only: that cut alone, then all of them.
                singles = [[c] for c in cuts_here if not bounded or c == "no-summary"]
                for cuts in [[]] + singles + ([cuts_here] if len(cuts_here) > 1 else []):
                    wait_for_quiet(args.max_load, args.max_wait)
                    result = run_profile(workdir, configs[args.profile], BOOTSTRAP, bounded, cuts, extra_env)
                    print_profile(result)
                    summary.append(result)
            print(
                f"\n{args.profile} pipelines under the harness, one run each: process start -> "
                "RUNNING (unbounded) or -> exit (bounded, empty topics)"
            )
            for result in summary:
                label = ("bounded " if result["bounded"] else "unbounded ") + ("+".join(result["cuts"]) or "as is")
                figure = result["end_s"] if result["bounded"] else result["running_s"]
                print(f"  {label:50} {figure:6.1f} s  (load {result['load']})")
    finally:
        if args.keep:
            log.info("kept %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
