"""Benchmark (not a test): the peer side by side: Kafka Connect + Iceberg's sink vs the job's raw pipeline.

One command, backlogs of several sizes, two consumers of each, one after the other (never at the
same time: the machine has two cores), each into a fresh local Hadoop-catalog warehouse; a table
of figures per size and the marginal cost between the smallest and the largest size:

    .venv/bin/python benchmarks/bench_peer.py                                # 1M and 3M records
    .venv/bin/python benchmarks/bench_peer.py --records 1000000 3000000 10000000
    .venv/bin/python benchmarks/bench_peer.py --rate 20000 --duration 180    # steady rate instead
    .venv/bin/python benchmarks/bench_peer.py --records 3000000 --profile    # where the CPU goes
    .venv/bin/python benchmarks/bench_peer.py --records 50000 --keep

Why several sizes: one size mixes the fixed cost (JVM start, planning, JIT compilation, the
first commit) into the per-record cost. Between two sizes far apart the fixed cost cancels out:
(records_big - records_small) / (CPU_big - CPU_small) is what a steady stream pays per record,
the figure that decides the bill on the managed service (a KPU is one vCPU). The steady mode
measures that bill directly: each side unbounded on a topic fed at --rate for --duration s, its
process tree's CPU from --warmup s in to the last record, per million records produced then.

--profile: each side's JVM records a JFR file (Java samples every 10 ms) and every thread's CPU
is read from /proc; printed per side: CPU by thread role (task threads, JIT compilers, GC, the
planner, Python), the Java samples by stage (Kafka fetch, decode, Parquet, ...) and the top
frames by self time (benchmarks/cpu_profile.py).

How it works
------------
1. The local broker (``dev/kafka_local.sh start``, which honours $KAFKA_PORT and
   $KAFKA_CONTROLLER_PORT; or an already running broker named by --bootstrap-servers). A
   fresh topic for the bid events (--partitions) and a 1-partition control topic for the
   sink, with names of this run only (confluent-kafka's admin client).
2. The backlog: ``sample_gen.py --topics bid_events --seed 1 --count N --records FILE`` into
   that topic (a copy of config/topics.yaml renames it). FILE, every record the broker
   confirmed, is what both tables are checked against.
3. The job: ``streaming_job.py --bounded --only bid_events_raw`` with a copy of
   application_properties.json (this broker, a warehouse of its own, parallelism 1; the
   shipped checkpoint interval and table properties). It ends when it has read the topic up
   to the offsets it found at start and committed.
4. The peer table, made here with pyiceberg (the sink's auto-create would type every JSON
   integer as long): the job's bid_events_raw as it was just created, its columns, types and
   table properties, less the two columns Connect cannot compute (``ingestion_time``,
   ``event_date``); partitioned by ``day(event_time)``, Iceberg's form of the job's
   ``event_date`` partitions. Single message transform ReplaceField renames ``timestamp_ms``
   to ``event_time``; the sink turns the epoch millis into the timestamp.
5. The peer: Kafka Connect standalone (``org.apache.kafka.connect.cli.ConnectStandalone``,
   the JVM options of Kafka's connect-standalone.sh) with ``IcebergSinkConnector``,
   tasks.max 1, ``iceberg.control.commit.interval-ms`` (--commit-interval-ms, 5 s), the Hadoop
   catalog. Its jars come through Maven from dev/peer/pom.xml (the versions are pinned
   there) into .local/peer/libs, once per pom. Connect's ``offset.flush.interval.ms`` is set
   to --offset-flush-ms (1 s): with nothing left to read, the sink task waits in its
   consumer's poll until the next offset flush and only then answers the coordinator's
   commit request; with Connect's default (60 s) such requests time out
   (``iceberg.control.commit.timeout-ms``, 30 s) and are re-sent, and the last commit comes a
   minute or two late. Connect is stopped (SIGTERM) once the table holds N rows.

Figures, per side:
  start -> all committed   wall time from launching the process (streaming_job.py / the
                           JVM) to the commit of the snapshot whose total-records reaches N
                           (the snapshot's own timestamp-ms, from the table metadata)
  drain                    from the pipeline's start (the job's "submitted job" line;
                           Connect's "Sink task finished initialization and start") to
                           that commit; drain rate = N / drain
  CPU s                    user + system CPU of the process tree from start to exit
                           (getrusage of children: this process is a child subreaper, so the
                           PyFlink JVM that outlives streaming_job.py is counted too)
  data files, data bytes   total-data-files and total-files-size of the current snapshot
Rows: both tables are read back (pyiceberg) and must hold exactly the multiset of the records
sent (event_name, user_id, city_id, platform, session_id, event time in ms, bid_amount):
exit 1 if either does not, 2 if a side failed or timed out.

On a shared machine the timings mean little: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cpu_profile

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = ROOT / "dev" / "kafka_local.sh"
POM = ROOT / "dev" / "peer" / "pom.xml"
PEER_HOME = ROOT / ".local" / "peer"
LIBS = PEER_HOME / "libs"
LIBS_STAMP = LIBS / ".fetched"

log = logging.getLogger("bench_peer")

NAMESPACE = "sink"
JOB_TABLE = "bid_events_raw"
PEER_TABLE = "bid_events_raw_peer"
PIPELINE = "bid_events_raw"
TOPIC_KEY = "bid_events"
CONNECTOR = "iceberg-peer"
# Columns of the job's table the peer cannot fill (computed by the job's SQL).
JOB_ONLY_COLUMNS = ("ingestion_time", "event_date")
# A row as both tables hold it, in the records' terms: event time as epoch millis.
ROW_FIELDS = ("event_name", "user_id", "city_id", "platform", "session_id", "timestamp_ms", "bid_amount")
# Environment variables that would override the properties file written for the job.
JOB_ENV_OVERRIDES = (
    "APP_PROPERTIES_FILE",
    "APP_ENV",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_AUTH",
    "ICEBERG_CATALOG_TYPE",
    "ICEBERG_WAREHOUSE",
    "ICEBERG_NAMESPACE",
    "FLINK_CHECKPOINT_INTERVAL",
    "FLINK_PARALLELISM",
    "FLINK_CHECKPOINT_DIR",
    "FLINK_REST_PORT",
)
# The job's own log lines (logging's default asctime, local time).
JOB_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ [\w.]+: (.*)$", re.M)
# Kafka's bin/connect-standalone.sh and kafka-run-class.sh defaults.
CONNECT_JVM_OPTS = (
    "-Xms256M",
    "-Xmx2G",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
)
CONNECT_TASK_STARTED = "Sink task finished initialization and start"
# A task that threw stays dead while the worker runs on: stop waiting for rows at once.
CONNECT_TASK_DIED = "Task threw an uncaught and unrecoverable exception"
POLL_S = 0.25
PR_SET_CHILD_SUBREAPER = 36


class BenchError(RuntimeError):
    """A side did not run to the end: exit 2."""


@dataclass
class Side:
    name: str
    started: float = 0.0  # epoch seconds: process launched
    drain_started: float | None = None  # the pipeline's start, from its log
    committed: float | None = None  # commit of the snapshot that reached N records
    exited: float | None = None
    cpu_s: float = 0.0
    snapshots: int = 0
    data_files: int = 0
    data_bytes: int = 0
    rows: int = 0
    check: list[str] = field(default_factory=list)  # problems; empty = rows check out
    notes: list[str] = field(default_factory=list)
    profile: str = ""  # with --profile: where its CPU went (cpu_profile.format_profile)


# ------------------------------------------------------------------------------ processes


def become_subreaper() -> None:
    """Orphaned descendants (PyFlink's gateway JVM outlives streaming_job.py) are re-parented to
    this process, so waiting for them adds their CPU time to getrusage(RUSAGE_CHILDREN)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log.warning(
            "prctl(PR_SET_CHILD_SUBREAPER) failed (errno %d): CPU of orphaned processes is not counted",
            ctypes.get_errno(),
        )


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reap_orphans(timeout_s: float = 60) -> None:
    """Wait for every remaining descendant (re-parented here); kill what is left after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            continue
        if time.monotonic() > deadline:
            for pid in own_children():
                log.warning("process %d still running %.0f s after its parent: killing it", pid, timeout_s)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.1)


def own_children() -> list[int]:
    me, out = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                out.append(int(stat.parent.name))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    log.debug("running %s", " ".join(map(str, cmd)))
    result = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, **kwargs)
    if result.returncode != 0:
        raise BenchError(f"{what} failed (exit {result.returncode}):\n{(result.stderr or result.stdout)[-3000:]}")
    return result


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ------------------------------------------------------------------------------ broker, topics


def start_broker() -> tuple[str, bool]:
    """Start the local broker if needed; (bootstrap, whether this run started it)."""
    was_running = subprocess.run([str(KAFKA_SCRIPT), "status"], cwd=ROOT, capture_output=True).returncode == 0
    result = run([str(KAFKA_SCRIPT), "start"], "dev/kafka_local.sh start")
    found = re.findall(r"answering on (\S+?:\d+)", result.stderr)
    bootstrap = found[-1] if found else f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}"
    log.info("local broker %s on %s", "was running" if was_running else "started", bootstrap)
    return bootstrap, not was_running


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 4})
    futures = admin.create_topics([NewTopic(t, num_partitions=n, replication_factor=1) for t, n in topics.items()])
    for future in futures.values():
        future.result(30)


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 4})
    for topic, future in admin.delete_topics(topics, operation_timeout=30).items():
        try:
            future.result(30)
        except Exception as exc:  # noqa: BLE001 - clean-up only
            log.warning("could not delete topic %s: %s", topic, exc)


# ------------------------------------------------------------------------------ workspace


def write_config_dir(folder: Path, suffix: str) -> dict[str, str]:
    """config/ with every topic and consumer group renamed for this run; {key: topic name}."""
    import yaml

    folder.mkdir(parents=True)
    doc = yaml.safe_load((ROOT / "config" / "topics.yaml").read_text())
    names = {}
    for key, topic in doc["kafka_topics"].items():
        topic["topic_name"] = names[key] = f"{topic['topic_name']}-peer-{suffix}"
        topic["consumer_group"] = f"{topic['consumer_group']}-peer-{suffix}"
    (folder / "topics.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    shutil.copy(ROOT / "config" / "transformations.yaml", folder / "transformations.yaml")
    return names


def fresh_topics(args, base: Path, bootstrap: str, suffix: str) -> tuple[Path, str, str]:
    """base/config renamed for this run, its bid topic and the sink's control topic created;
    (config folder, topic, control topic)."""
    config_dir = base / "config"
    topic = write_config_dir(config_dir, suffix)[TOPIC_KEY]
    control_topic = f"iceberg-control-peer-{suffix}"
    create_topics(bootstrap, {topic: args.partitions, control_topic: 1})
    log.info("topics %s (%d partitions) and %s (control); work folder %s", topic, args.partitions, control_topic, base)
    return config_dir, topic, control_topic


def write_job_properties(path: Path, bootstrap: str, warehouse: Path, checkpoints: Path) -> Path:
    groups = json.loads((ROOT / "application_properties.json").read_text())
    for group in groups:
        props = group["PropertyMap"]
        if group["PropertyGroupId"] == "kafka":
            props.update({"bootstrap.servers": bootstrap, "auth": "none"})
        elif group["PropertyGroupId"] == "iceberg":
            props.update({"catalog.type": "hadoop", "warehouse": str(warehouse), "namespace": NAMESPACE})
        elif group["PropertyGroupId"] == "flink":
            props.update({"checkpoint.dir": checkpoints.as_uri(), "rest.port": str(free_port()), "parallelism": "1"})
    path.write_text(json.dumps(groups, indent=2))
    return path


def produce(args, config_dir: Path, bootstrap: str, records_file: Path, base: Path) -> int:
    started = time.monotonic()
    run(
        [
            sys.executable,
            str(ROOT / "sample_gen.py"),
            "--config-dir",
            str(config_dir),
            "--topics",
            TOPIC_KEY,
            "--count",
            str(args.records),
            "--seed",
            str(args.seed),
            "--bootstrap-servers",
            bootstrap,
            "--records",
            str(records_file),
            "--manifest",
            str(base / "manifest.json"),
            "--progress",
            "none",
            "-q",
        ],
        "sample_gen.py",
    )
    with records_file.open("rb") as f:
        sent = sum(1 for _ in f)
    log.info("produced %d records in %.1f s", sent, time.monotonic() - started)
    if sent != args.records:
        raise BenchError(f"sample_gen.py sent {sent} records, not {args.records}")
    return sent


# ------------------------------------------------------------------------------ tables


def table_dir(warehouse: Path, table: str) -> Path:
    return warehouse / NAMESPACE / table


def current_metadata(warehouse: Path, table: str) -> dict | None:
    """The Hadoop catalog's current metadata.json of a table, or None (not there yet, or mid-commit)."""
    metadata = table_dir(warehouse, table) / "metadata"
    try:
        version = (metadata / "version-hint.text").read_text().strip()
        return json.loads((metadata / f"v{version}.metadata.json").read_text())
    except (OSError, ValueError):
        return None


def first_snapshot_with(meta: dict, records: int) -> dict | None:
    """The first snapshot (in commit order) whose total-records reached `records`."""
    for snap in sorted(meta.get("snapshots", []), key=lambda s: s.get("sequence-number", 0)):
        if int(snap.get("summary", {}).get("total-records", 0)) >= records:
            return snap
    return None


def fill_table_figures(side: Side, warehouse: Path, table: str, records: int) -> None:
    meta = current_metadata(warehouse, table)
    if meta is None:
        raise BenchError(f"{side.name}: no table {NAMESPACE}.{table} in {warehouse}")
    side.snapshots = len(meta.get("snapshots", []))
    current = next((s for s in meta.get("snapshots", []) if s["snapshot-id"] == meta.get("current-snapshot-id")), None)
    summary = current["summary"] if current else {}
    side.rows = int(summary.get("total-records", 0))
    side.data_files = int(summary.get("total-data-files", 0))
    side.data_bytes = int(summary.get("total-files-size", 0))
    reached = first_snapshot_with(meta, records)
    if reached:
        side.committed = reached["timestamp-ms"] / 1000


def open_table(warehouse: Path, table: str):
    from pyiceberg.table import StaticTable

    metadata = table_dir(warehouse, table) / "metadata"
    version = (metadata / "version-hint.text").read_text().strip()
    return StaticTable.from_metadata(str(metadata / f"v{version}.metadata.json"))


def create_peer_table(job_warehouse: Path, peer_warehouse: Path) -> list[str]:
    """The peer's table from the job's: same columns and types (less JOB_ONLY_COLUMNS), same table
    properties, partitioned by day(event_time). Written as the Hadoop catalog lays a table out
    (metadata/v1.metadata.json and version-hint.text). Returns the peer's columns."""
    from pyiceberg.io.pyarrow import PyArrowFileIO
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.serializers import ToOutputFile
    from pyiceberg.table.metadata import new_table_metadata
    from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
    from pyiceberg.transforms import DayTransform

    job = open_table(job_warehouse, JOB_TABLE)
    fields = [f for f in job.schema().fields if f.name not in JOB_ONLY_COLUMNS]
    schema = Schema(*fields, schema_id=0)
    event_time = schema.find_field("event_time")
    spec = PartitionSpec(
        PartitionField(source_id=event_time.field_id, field_id=1000, transform=DayTransform(), name="event_time_day")
    )
    location = table_dir(peer_warehouse, PEER_TABLE)
    metadata = new_table_metadata(
        schema=schema,
        partition_spec=spec,
        sort_order=UNSORTED_SORT_ORDER,
        location=location.as_uri(),
        properties=dict(job.properties),
    )
    (location / "metadata").mkdir(parents=True)
    ToOutputFile.table_metadata(metadata, PyArrowFileIO().new_output(str(location / "metadata" / "v1.metadata.json")))
    (location / "metadata" / "version-hint.text").write_text("1")
    log.info(
        "peer table %s.%s: %s; partitioned by day(event_time); properties of the job's table",
        NAMESPACE,
        PEER_TABLE,
        ", ".join(f"{f.name} {f.field_type}" for f in fields),
    )
    return [f.name for f in fields]


# ------------------------------------------------------------------------------ row checks


def record_row(value: dict) -> tuple:
    return tuple(value.get(k) for k in ROW_FIELDS)


def expected_rows(records_file: Path) -> collections.Counter:
    rows: collections.Counter = collections.Counter()
    with records_file.open("rb") as f:
        for line in f:
            record = json.loads(line)
            value = record["value"]
            if isinstance(value, str):
                value = json.loads(value)
            rows[record_row(value)] += 1
    return rows


def table_rows(warehouse: Path, table: str) -> collections.Counter:
    """The table's rows as record tuples (event_time back to epoch millis)."""
    import pyarrow as pa

    arrow = (
        open_table(warehouse, table)
        .scan(selected_fields=tuple(f for f in ROW_FIELDS if f != "timestamp_ms") + ("event_time",))
        .to_arrow()
    )
    unit = arrow.schema.field("event_time").type.unit
    per_ms = {"us": 1000, "ms": 1, "ns": 1_000_000, "s": None}[unit]
    micros = arrow.column("event_time").cast(pa.int64()).to_pylist()
    columns = {name: arrow.column(name).to_pylist() for name in ROW_FIELDS if name != "timestamp_ms"}
    columns["timestamp_ms"] = [None if v is None else (v * 1000 if per_ms is None else v // per_ms) for v in micros]
    return collections.Counter(zip(*(columns[name] for name in ROW_FIELDS)))


def check_rows(side: Side, expected: collections.Counter, warehouse: Path, table: str) -> None:
    actual = table_rows(warehouse, table)
    n_expected, n_actual = sum(expected.values()), sum(actual.values())
    if n_actual != n_expected:
        side.check.append(f"{n_actual} rows, {n_expected} records")
    missing, extra = expected - actual, actual - expected
    if missing:
        side.check.append(f"{sum(missing.values())} records missing, e.g. {next(iter(missing))}")
    if extra:
        side.check.append(f"{sum(extra.values())} rows not among the records, e.g. {next(iter(extra))}")
    digest = hashlib.sha256(repr(sorted(actual.items(), key=repr)).encode()).hexdigest()[:12] if not side.check else "-"
    log.info(
        "%s: %d rows read back: %s (digest %s)",
        side.name,
        n_actual,
        "the records exactly" if not side.check else "; ".join(side.check),
        digest,
    )


# ------------------------------------------------------------------------------ the job


def log_time(stamp: str) -> float:
    return time.mktime(time.strptime(stamp[:19], "%Y-%m-%d %H:%M:%S")) + int(stamp[20:]) / 1000


def profile_text(name: str, threads: cpu_profile.ThreadCpu, recording: Path) -> str:
    try:
        jfr = cpu_profile.jfr_summary(recording) if recording.is_file() else None
    except (subprocess.CalledProcessError, ValueError, KeyError) as exc:
        log.warning("%s: cannot read %s: %s", name, recording, exc)
        jfr = None
    return cpu_profile.format_profile(name, threads, jfr)


def job_command(
    base: Path, config_dir: Path, bootstrap: str, warehouse: Path, bounded: bool, recording: Path | None
) -> tuple[list[str], dict[str, str]]:
    """streaming_job.py on the raw pipeline alone, this broker, a warehouse of its own, p = 1."""
    properties = write_job_properties(base / "job-properties.json", bootstrap, warehouse, base / "checkpoints")
    env = {k: v for k, v in os.environ.items() if k not in JOB_ENV_OVERRIDES}
    if recording:
        # the archive of class-data sharing is keyed on the JVM options: without it, no archive is written
        env |= {"JVM_ARGS": " ".join(cpu_profile.jfr_options(recording)), "STREAMING_JOB_CDS": "off"}
    command = [sys.executable, str(ROOT / "streaming_job.py"), "--properties", str(properties)]
    command += ["--config-dir", str(config_dir), *(["--bounded"] if bounded else []), "--only", PIPELINE]
    return command, env


def run_job(args, base: Path, config_dir: Path, bootstrap: str, warehouse: Path) -> Side:
    side = Side("job")
    recording = base / "job.jfr"
    command, env = job_command(base, config_dir, bootstrap, warehouse, True, recording if args.profile else None)
    job_log = base / "job.log"
    log.info("job: %s", " ".join(command[1:]))
    threads = cpu_profile.ThreadCpu(os.getpid()).start() if args.profile else None
    cpu_before = children_cpu_s()
    side.started = time.time()
    with job_log.open("w") as stderr:
        job = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        try:
            code = job.wait(args.timeout)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
            reap_orphans(30)
            raise BenchError(f"job: not done after {args.timeout} s; see {job_log}") from None
    side.exited = time.time()
    reap_orphans()
    side.cpu_s = children_cpu_s() - cpu_before
    if threads:
        threads.stop()
        side.profile = profile_text("job", threads, recording)
    text = job_log.read_text(errors="replace")
    if code != 0:
        raise BenchError(f"job: exit {code}; last lines of {job_log}:\n{text[-3000:]}")
    for stamp, message in JOB_LOG_LINE.findall(text):
        if message.startswith("submitted job"):
            side.drain_started = log_time(stamp)
    finished = re.search(r"finished in ([\d.]+) s", text)
    if finished:
        side.notes.append(f"job's own 'finished in' {finished.group(1)} s")
    fill_table_figures(side, warehouse, JOB_TABLE, args.records)
    log.info(
        "job: exit 0 after %.1f s, %d rows in %d snapshot(s)", side.exited - side.started, side.rows, side.snapshots
    )
    return side


# ------------------------------------------------------------------------------ the peer


def pom_hash() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def ensure_peer_libs() -> None:
    """Kafka Connect, the Iceberg sink and what they need, through Maven, once per pom."""
    if LIBS_STAMP.is_file() and LIBS_STAMP.read_text().strip() == pom_hash():
        return
    if not shutil.which("mvn"):
        raise BenchError("mvn (Maven) is needed to fetch Kafka Connect and the Iceberg sink")
    log.info("fetching Kafka Connect and the Iceberg sink with Maven into %s ...", LIBS.relative_to(ROOT))
    tmp = PEER_HOME / "libs.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    PEER_HOME.mkdir(parents=True, exist_ok=True)
    run(
        [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
        ],
        "Maven (dev/peer/pom.xml)",
    )
    shutil.rmtree(LIBS, ignore_errors=True)
    tmp.rename(LIBS)
    LIBS_STAMP.write_text(pom_hash())


def write_properties(path: Path, props: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def write_connect_files(
    args, base: Path, bootstrap: str, topic: str, control_topic: str, warehouse: Path, suffix: str
) -> tuple[Path, Path, Path, Path]:
    folder = base / "connect"
    folder.mkdir()
    # The sink reads the worker's file (the second argument of the command line) for its own
    # Kafka clients (control topic, coordinator): bootstrap.servers has to be in it.
    worker = write_properties(
        folder / "worker.properties",
        {
            "bootstrap.servers": bootstrap,
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "offset.storage.file.filename": str(folder / "connect.offsets"),
            "offset.flush.interval.ms": str(args.offset_flush_ms),
            "listeners": f"http://127.0.0.1:{free_port()}",
            "plugin.discovery": "only_scan",
        },
    )
    sink = write_properties(
        folder / "sink.properties",
        {
            "name": f"{CONNECTOR}-{suffix}",
            "connector.class": "org.apache.iceberg.connect.IcebergSinkConnector",
            "tasks.max": "1",
            "topics": topic,
            "iceberg.tables": f"{NAMESPACE}.{PEER_TABLE}",
            "iceberg.tables.auto-create-enabled": "false",
            "iceberg.tables.evolve-schema-enabled": "false",
            "iceberg.catalog": "iceberg",
            "iceberg.catalog.type": "hadoop",
            "iceberg.catalog.warehouse": warehouse.as_uri(),
            "iceberg.control.topic": control_topic,
            "iceberg.control.commit.interval-ms": str(args.commit_interval_ms),
            "transforms": "event_time",
            "transforms.event_time.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
            "transforms.event_time.renames": "timestamp_ms:event_time",
        },
    )
    log4j = folder / "log4j2.properties"
    log4j.write_text(
        "\n".join(
            [
                "status = warn",
                "appender.file.type = File",
                "appender.file.name = FILE",
                f"appender.file.fileName = {folder / 'connect.log'}",
                "appender.file.layout.type = PatternLayout",
                # epoch millis: the drain's start is read from this log
                "appender.file.layout.pattern = %d{UNIX_MILLIS} %p [%t] %m (%c)%n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.file.ref = FILE",
                "logger.reflections.name = org.reflections",
                "logger.reflections.level = error",
                "",
            ]
        )
    )
    return worker, sink, log4j, folder / "connect.log"


def task_died(connect_log: Path) -> str | None:
    """The error of a sink task that died (and its first cause), from Connect's log; None if none did."""
    try:
        with connect_log.open(errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines):
        if CONNECT_TASK_DIED in line:
            causes = [x.strip() for x in lines[i + 1 : i + 200] if x.startswith(("Caused by:", "java.", "org."))]
            return (causes[0] if causes else line.split(CONNECT_TASK_DIED, 1)[1].strip(" .:"))[:300]
    return None


def peer_command(
    args,
    base: Path,
    bootstrap: str,
    topic: str,
    control_topic: str,
    warehouse: Path,
    suffix: str,
    recording: Path | None,
) -> tuple[list[str], Path]:
    """Kafka Connect standalone with the sink; the command and Connect's log file."""
    worker, sink, log4j, connect_log = write_connect_files(
        args, base, bootstrap, topic, control_topic, warehouse, suffix
    )
    command = [
        "java",
        *CONNECT_JVM_OPTS,
        *(cpu_profile.jfr_options(recording) if recording else []),
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{LIBS}/*",
        "org.apache.kafka.connect.cli.ConnectStandalone",
        str(worker),
        str(sink),
    ]
    log.info(
        "peer: Kafka Connect standalone, %s -> %s.%s (commit every %d ms, offset flush every %d ms)",
        topic,
        NAMESPACE,
        PEER_TABLE,
        args.commit_interval_ms,
        args.offset_flush_ms,
    )
    return command, connect_log


def current_rows(meta: dict | None) -> int:
    if not meta:
        return 0
    current = meta.get("current-snapshot-id")
    return next(
        (int(s["summary"].get("total-records", 0)) for s in meta.get("snapshots", []) if s["snapshot-id"] == current), 0
    )


def wait_rows(
    name: str, process: subprocess.Popen, warehouse: Path, table: str, records: int, timeout: float, died
) -> None:
    """Until a snapshot of the table holds `records` rows; BenchError if the process exits, died()
    names a failure, or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    rows = -1
    while True:
        meta = current_metadata(warehouse, table)
        if meta and first_snapshot_with(meta, records):
            return
        if current_rows(meta) != rows:
            rows = current_rows(meta)
            if rows:
                log.info("%s: %d rows committed", name, rows)
        if process.poll() is not None:
            raise BenchError(f"{name}: exited ({process.returncode}) with {rows} rows committed")
        failure = died()
        if failure:
            raise BenchError(f"{name}: {failure} with {rows} rows committed")
        if time.monotonic() > deadline:
            raise BenchError(f"{name}: {rows} of {records} rows committed after {timeout} s")
        time.sleep(POLL_S)


def stop(name: str, process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            log.warning("%s: still running 60 s after SIGTERM: killing it", name)
            process.kill()
            process.wait()


def sink_failure(connect_log: Path):
    def died() -> str | None:
        reason = task_died(connect_log)
        return f"the sink task died: {reason}" if reason else None

    return died


def run_peer(args, base: Path, bootstrap: str, topic: str, control_topic: str, warehouse: Path, suffix: str) -> Side:
    side = Side("peer")
    recording = base / "peer.jfr"
    command, connect_log = peer_command(
        args, base, bootstrap, topic, control_topic, warehouse, suffix, recording if args.profile else None
    )
    out = base / "connect" / "connect.out"
    threads = cpu_profile.ThreadCpu(os.getpid()).start() if args.profile else None
    cpu_before = children_cpu_s()
    side.started = time.time()
    with out.open("w") as stdout:
        connect = subprocess.Popen(
            command, cwd=base / "connect", stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT
        )
    try:
        wait_rows("peer", connect, warehouse, PEER_TABLE, args.records, args.timeout, sink_failure(connect_log))
    except BenchError as exc:
        raise BenchError(f"{exc}; see {connect_log} and {out}") from None
    finally:
        stop("peer", connect)
        side.exited = time.time()
        reap_orphans(10)
        side.cpu_s = children_cpu_s() - cpu_before
        if threads:
            threads.stop()
            side.profile = profile_text("peer", threads, recording)
    text = connect_log.read_text(errors="replace") if connect_log.is_file() else ""
    for line in text.splitlines():
        if CONNECT_TASK_STARTED in line:
            side.drain_started = int(line.split(" ", 1)[0]) / 1000
            break
    errors = sum(1 for line in text.splitlines() if line.split(" ", 2)[1:2] == ["ERROR"])
    if errors:
        side.notes.append(f"{errors} ERROR line(s) in Connect's log")
    fill_table_figures(side, warehouse, PEER_TABLE, args.records)
    log.info(
        "peer: %d rows in %d snapshot(s); Connect stopped (exit %s)", side.rows, side.snapshots, connect.returncode
    )
    return side


# ------------------------------------------------------------------------------ steady rate


@dataclass
class Steady:
    name: str
    records: int = 0  # produced in the measured window
    window_s: float = 0.0
    cpu_s: float = 0.0  # of the side's process tree in the window
    sent: int = 0  # produced in all
    check: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    @property
    def cpu_s_per_million(self) -> float:
        return self.cpu_s / self.records * 1e6 if self.records else float("nan")


def run_steady_side(args, name: str, base: Path, bootstrap: str, suffix: str, job_warehouse: Path | None) -> Steady:
    """One side, unbounded, on a fresh topic fed at --rate for --duration s: CPU of its process
    tree between --warmup s after the first record and the last record, per record produced then."""
    result = Steady(name)
    base, suffix = base / f"steady-{name}", f"{suffix}-steady-{name}"
    config_dir, topic, control_topic = fresh_topics(args, base, bootstrap, suffix)
    result.topics = [topic, control_topic]
    warehouse = base / "warehouse"
    if name == "job":
        command, env = job_command(base, config_dir, bootstrap, warehouse, False, None)
        cwd, table, died = ROOT, JOB_TABLE, (lambda: None)
        output = base / "job.log"
    else:
        assert job_warehouse is not None
        create_peer_table(job_warehouse, warehouse)
        command, connect_log = peer_command(args, base, bootstrap, topic, control_topic, warehouse, suffix, None)
        cwd, table, env, died = base / "connect", PEER_TABLE, None, sink_failure(connect_log)
        output = base / "connect" / "connect.out"
    records_file = base / "records.jsonl"
    with output.open("w") as out:
        side = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        time.sleep(args.steady_start_s)  # the side is up and polling before the first record
        log.info("%s: producing %d records/s for %d s", name, args.rate, args.duration)
        producer = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "sample_gen.py"),
                "--config-dir",
                str(config_dir),
                "--topics",
                TOPIC_KEY,
                "--rate",
                str(args.rate),
                "--duration",
                str(args.duration),
                "--seed",
                str(args.seed),
                "--bootstrap-servers",
                bootstrap,
                "--records",
                str(records_file),
                "--progress",
                "none",
                "-q",
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        time.sleep(args.warmup)
        cpu_start, window_start = cpu_profile.tree_cpu_s(side.pid), time.time()
        if producer.wait() != 0:
            raise BenchError(f"{name}: sample_gen.py exited {producer.returncode}")
        cpu_end, window_end = cpu_profile.tree_cpu_s(side.pid), time.time()
        result.cpu_s, result.window_s = cpu_end - cpu_start, window_end - window_start
        stamps = [json.loads(json.loads(line)["value"])["timestamp_ms"] / 1000 for line in records_file.open()]
        result.sent = len(stamps)
        result.records = sum(1 for t in stamps if window_start <= t <= window_end)
        wait_rows(name, side, warehouse, table, result.sent, args.timeout, died)
    finally:
        stop(name, side)
        reap_orphans(30)
    check_rows(result, expected_rows(records_file), warehouse, table)
    log.info(
        "%s: %.1f CPU s for the %d records of a %.0f s window", name, result.cpu_s, result.records, result.window_s
    )
    return result


def run_steady(args, base: Path, bootstrap: str, suffix: str) -> list[Steady]:
    job = run_steady_side(args, "job", base, bootstrap, suffix, None)
    results = [job]
    if not args.job_only:
        results.append(run_steady_side(args, "peer", base, bootstrap, suffix, base / "steady-job" / "warehouse"))
    return results


def steady_report(results: list[Steady], args) -> str:
    lines = [
        f"steady rate: {args.rate:,} records/s for {args.duration} s (event time = the wall clock), "
        f"measured from {args.warmup} s in to the last record"
    ]
    for r in results:
        lines.append(
            f"  {r.name:<4}  {r.cpu_s:,.1f} CPU s for {r.records:,} records in {r.window_s:,.0f} s: "
            f"{r.cpu_s_per_million:,.2f} CPU s per million records, {r.cpu_s / r.window_s:.2f} cores; "
            f"rows {'OK' if not r.check else 'FAIL'} ({r.sent:,} sent)"
        )
        lines += [f"  {r.name}: {note}" for note in r.check]
    if len(results) == 2:
        lines.append(
            f"  job / peer, records per CPU-second: {results[1].cpu_s_per_million / results[0].cpu_s_per_million:.2f}"
        )
    lines.append(f"load average at the end: {load_average()}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ report


def report(sides: list[Side], records: int, args, peer_columns: list[str]) -> str:
    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:,.1f}"

    def rate(n: float, s: float | None) -> str:
        return "-" if not s else f"{n / s:,.0f}"

    rows = [("records", [f"{records:,}" for _ in sides])]
    rows.append(("start -> all committed (s)", [secs(s.committed - s.started if s.committed else None) for s in sides]))
    rows.append(("start -> process exit (s)", [secs(s.exited - s.started if s.exited else None) for s in sides]))
    drains = [s.committed - s.drain_started if s.committed and s.drain_started else None for s in sides]
    rows.append(("drain: pipeline start -> committed (s)", [secs(d) for d in drains]))
    rows.append(("drain rate (records/s)", [rate(records, d) for d in drains]))
    rows.append(("CPU s (process tree, start to exit)", [f"{s.cpu_s:,.1f}" for s in sides]))
    rows.append(("records per CPU-second", [rate(records, s.cpu_s) for s in sides]))
    rows.append(("commits (snapshots)", [str(s.snapshots) for s in sides]))
    rows.append(("data files", [str(s.data_files) for s in sides]))
    rows.append(("data bytes", [f"{s.data_bytes:,}" for s in sides]))
    rows.append(
        ("bytes per data file", [f"{s.data_bytes / s.data_files:,.0f}" if s.data_files else "-" for s in sides])
    )
    rows.append(("rows check", ["OK" if not s.check else "FAIL" for s in sides]))
    titles = {"job": f"job ({PIPELINE}, p=1)", "peer": "peer (Connect + Iceberg sink)"}
    width = max(len(r[0]) for r in rows)
    cols = [max(len(titles[s.name]), *(len(r[1][i]) for r in rows)) for i, s in enumerate(sides)]
    lines = [f"{'':<{width}}  " + "  ".join(f"{titles[s.name]:>{cols[i]}}" for i, s in enumerate(sides))]
    lines += [
        f"{label:<{width}}  " + "  ".join(f"{v:>{cols[i]}}" for i, v in enumerate(values)) for label, values in rows
    ]
    lines.append("")
    lines.append(
        f"backlog: sample_gen --topics {TOPIC_KEY} --seed {args.seed}, {records:,} records, "
        f"{args.partitions} partition(s); load average at the end: {load_average()}"
    )
    lines.append(
        f"peer: tasks.max 1, iceberg.control.commit.interval-ms {args.commit_interval_ms}, "
        f"offset.flush.interval.ms {args.offset_flush_ms}; table columns {', '.join(peer_columns)}, "
        f"partitioned by day(event_time)"
    )
    for s in sides:
        for note in s.notes + s.check:
            lines.append(f"{s.name}: {note}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main


def run_size(args, base: Path, bootstrap: str, suffix: str) -> tuple[list[Side], list[str]]:
    """One backlog of args.records on fresh topics, drained by each side; prints its table."""
    base, suffix = base / f"records-{args.records}", f"{suffix}-{args.records}"
    config_dir, topic, control_topic = fresh_topics(args, base, bootstrap, suffix)
    records_file = base / "records.jsonl"
    records = produce(args, config_dir, bootstrap, records_file, base)

    job_warehouse, peer_warehouse = base / "warehouse-job", base / "warehouse-peer"
    sides = [run_job(args, base, config_dir, bootstrap, job_warehouse)]
    peer_columns = create_peer_table(job_warehouse, peer_warehouse)
    if not args.job_only:
        sides.append(run_peer(args, base, bootstrap, topic, control_topic, peer_warehouse, suffix))

    log.info("checking rows against the %d records sent", records)
    expected = expected_rows(records_file)
    check_rows(sides[0], expected, job_warehouse, JOB_TABLE)
    if not args.job_only:
        check_rows(sides[1], expected, peer_warehouse, PEER_TABLE)
    print("\n" + report(sides, records, args, peer_columns), flush=True)
    for side in sides:
        if side.profile:
            print("\n" + side.profile, flush=True)
    return sides, [topic, control_topic]


def marginal_report(results: list[tuple[int, list[Side]]]) -> str:
    """Per side, the cost of the records between the smallest and the largest size: start-up and
    commit timers cancel out, what is left is what a steady stream pays per record."""
    (small, at_small), (big, at_big) = results[0], results[-1]
    extra = big - small
    lines = [f"marginal: the {extra:,} records between {small:,} and {big:,}"]
    for a, b in zip(at_small, at_big):
        cpu = b.cpu_s - a.cpu_s
        drain_a = a.committed - a.drain_started if a.committed and a.drain_started else None
        drain_b = b.committed - b.drain_started if b.committed and b.drain_started else None
        drain = f"{drain_b - drain_a:,.1f} s more drain" if drain_a and drain_b else "drain -"
        per_cpu = f"{extra / cpu:,.0f} records per CPU-second" if cpu > 0 else "- records per CPU-second"
        fixed = a.cpu_s - small * cpu / extra if cpu > 0 else float("nan")
        lines.append(
            f"  {a.name:<4}  {cpu:,.1f} CPU s more, {per_cpu}; {drain}; "
            f"fixed cost about {fixed:,.1f} CPU s (CPU at {small:,} less its marginal share)"
        )
    if len(at_big) == 2 and all(b.cpu_s > a.cpu_s for a, b in zip(at_small, at_big)):
        job_cpu, peer_cpu = (b.cpu_s - a.cpu_s for a, b in zip(at_small, at_big))
        lines.append(f"  job / peer, records per CPU-second: {peer_cpu / job_cpu:.2f}")
    lines.append(f"load average at the end: {load_average()}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="See the module docstring (How it works). Exit codes: 0 both tables "
        "hold exactly the records, 1 a table does not, 2 a side failed.",
    )
    parser.add_argument(
        "--records",
        type=int,
        nargs="+",
        default=[1_000_000, 3_000_000],
        help="bid events in the backlog, one run of each side per size (default 1,000,000 and 3,000,000); "
        "with two sizes or more, the marginal cost between the smallest and the largest is printed",
    )
    parser.add_argument("--partitions", type=int, default=2, help="partitions of the fresh topic (default 2)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp folder (warehouses, logs, records) and the topics; leave a broker this run started running",
    )
    parser.add_argument("--seed", type=int, default=1, help="sample_gen's seed (default 1)")
    parser.add_argument(
        "--commit-interval-ms",
        type=int,
        default=5000,
        help="the sink's iceberg.control.commit.interval-ms (default 5000)",
    )
    parser.add_argument(
        "--offset-flush-ms",
        type=int,
        default=1000,
        help="Connect's offset.flush.interval.ms (default 1000; Connect's own default is 60000)",
    )
    parser.add_argument("--bootstrap-servers", help="use this running broker instead of dev/kafka_local.sh start")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds each side may take (default 1800)")
    parser.add_argument(
        "--rate",
        type=int,
        default=0,
        help="steady mode instead of backlogs: each side unbounded on a topic fed at this many records/s",
    )
    parser.add_argument("--duration", type=int, default=180, help="steady mode: seconds of production (default 180)")
    parser.add_argument(
        "--warmup", type=int, default=60, help="steady mode: seconds of production before CPU is counted (default 60)"
    )
    parser.add_argument(
        "--steady-start-s",
        type=float,
        default=30,
        help="steady mode: seconds from a side's launch to the first record (default 30)",
    )
    parser.add_argument(
        "--job-only",
        action="store_true",
        help="run the job's side only (while cutting its cost)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record each side's JVM with JFR and its threads' CPU from /proc; print where the CPU went",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if min(args.records) < 1 or args.partitions < 1:
        parser.error("--records and --partitions must be positive")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    base = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    suffix = uuid.uuid4().hex[:8]
    bootstrap, started_broker, topics = args.bootstrap_servers, False, []
    try:
        ensure_peer_libs()
        if not bootstrap:
            bootstrap, started_broker = start_broker()
        # after the broker's start: the broker is nobody's orphan of ours
        become_subreaper()
        if args.rate:
            steady = run_steady(args, base, bootstrap, suffix)
            topics += [topic for side in steady for topic in side.topics]
            print("\n" + steady_report(steady, args), flush=True)
            return 0 if all(not side.check for side in steady) else 1
        results: list[tuple[int, list[Side]]] = []
        for size in sorted(args.records):
            sides, topics_made = run_size(
                argparse.Namespace(**{**vars(args), "records": size}), base, bootstrap, suffix
            )
            topics += topics_made
            results.append((size, sides))
        if len(results) > 1:
            print("\n" + marginal_report(results), flush=True)
        return 0 if all(not side.check for _, sides in results for side in sides) else 1
    except BenchError as exc:
        log.error("%s", exc)
        return 2
    finally:
        if args.keep:
            log.info("kept %s (topics %s)", base, ", ".join(topics) or "-")
        else:
            if topics:
                delete_topics(bootstrap, topics)
            shutil.rmtree(base, ignore_errors=True)
            if started_broker:
                subprocess.run([str(KAFKA_SCRIPT), "stop"], cwd=ROOT, capture_output=True)
                log.info("stopped the local broker this run started")


if __name__ == "__main__":
    sys.exit(main())
