"""The deployable zip on a real Flink cluster, the service's way, and a TaskManager killed mid-stream.

The service's way: the driver runs on Python 3.12 with only PyFlink installed (.venv312, make
py312), so everything else comes from the zip's lib/python; the job reads MSK IAM over TLS
(the local broker's IAM listener, tests/e2e/test_e2e_msk_iam.py) with exactly the generated
policy; checkpoints and savepoints live in S3 (a moto server, through Flink's S3 plugin), and
the job is stopped with a savepoint there and restored from it before the final drain.

A standalone cluster from the Flink distribution inside the apache-flink package
(dev/flink_cluster.sh: a JobManager and two TaskManagers with one slot each, separate
JVMs, no Hadoop on their class path, checkpoints every 2 s, exponential-delay restarts). The zip
`mvn package` builds is unpacked and submitted with `flink run` exactly as the managed
service's run options name it (python, pyFiles, jarfile), at parallelism 2; the runtime
properties come from a file in the service's format (APP_PROPERTIES_FILE standing in for
/etc/flink/application_properties.json), and nothing else configures the job.

The job reads topics of 4 partitions, unbounded, as in production. The reference traffic
is produced in two parts: the first before the job starts; once the job has committed
rows, the rest is produced steadily while one TaskManager JVM is SIGKILLed. The job fails
over by itself (the cluster's restart strategy) once a new TaskManager has been started,
catches up, and is stopped with a draining savepoint (`flink stop --drain`), which closes
every open window and session. Every table then equals the reference model exactly:
nothing lost, nothing twice. docs/cluster.md.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from common.deploy import iam_policy
from common.load.properties import ENV_OVERRIDES, FLINK_GATEWAY_ENV, RUN_OPTIONS, locate, read_groups
from common.ops.local_warehouse import table_names
from sample_gen import bid_events, produce
from tests.support import reference_model as ref
from tests.support.e2e import CLUSTER_SCRIPT, ENVIRONMENT, SESSION_GAP_MS, table, unpack_zip
from tests.support.event_data import generate
from tests.support.harness import ROOT, assert_same_rows, free_port, make_workspace

PARTITIONS = 4  # more partitions than the job's 2 subtasks
PARALLELISM = 2
FIRST_PART = 0.4  # share of each topic produced before the job starts
SECOND_PART_S = 30  # the rest is produced steadily over about this long
KILL_AFTER_S = 5  # into the second part
TIMEOUT_S = 300
SKEWED_BIDS = 6000


@dataclass
class Cluster:
    env: dict[str, str]
    rest: str
    folder: Path
    iam: object = None  # the broker's MSK IAM listener (tests.conftest.IamBroker)
    moto: str = ""  # the S3 endpoint the cluster keeps its state in

    def script(self, *args: str, cwd: Path = ROOT, timeout: int = TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(CLUSTER_SCRIPT), *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def get(self, path: str):
        with urllib.request.urlopen(f"{self.rest}{path}", timeout=10) as response:
            return json.loads(response.read())

    def pids(self) -> list[int]:
        return [int(p) for f in (self.folder / "pid").glob("*.pid") for p in f.read_text().split()]


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


SERVICE_PYTHON = ROOT / ".venv312" / "bin" / "python"  # make py312: CPython 3.12 with PyFlink only
STATE_BUCKET = "flink-state"
STATE_DIR = f"s3://{STATE_BUCKET}/cluster-e2e"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, moto_server, iam_broker):
    """The service's way: the driver on Python 3.12 with only PyFlink installed (the zip brings
    the rest), checkpoints and savepoints in S3 (a moto server, through Flink's S3 plugin), and
    the job's AWS identity in the environment, as the service's execution role."""
    import boto3

    if not SERVICE_PYTHON.is_file():
        pytest.fail(f"{SERVICE_PYTHON} does not exist: make py312 (make test does)")
    folder = tmp_path_factory.mktemp("flink-cluster")
    rest_port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("AWS_")}
    env.update(iam_broker.job.env())
    boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=STATE_BUCKET)
    env.update(
        FLINK_CLUSTER_DIR=str(folder),
        FLINK_CLUSTER_REST_PORT=str(rest_port),
        FLINK_CLUSTER_RPC_PORT=str(free_port()),
        FLINK_CLUSTER_CHECKPOINT_INTERVAL="2 s",
        FLINK_CLUSTER_PYTHON=str(SERVICE_PYTHON),
        FLINK_CLUSTER_STATE_DIR=STATE_DIR,
        FLINK_CLUSTER_S3_ENDPOINT=moto_server,
        # must not reach the cluster: the script unsets them
        HADOOP_CLASSPATH="/nowhere/hadoop.jar",
        HADOOP_CONF_DIR="/nowhere",
    )
    c = Cluster(env, f"http://localhost:{rest_port}", folder)
    c.iam, c.moto = iam_broker, moto_server
    started = c.script("start")
    assert started.returncode == 0, started.stderr
    yield c
    c.script("stop")


def classpath(pid: int) -> str:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return args[args.index("-classpath") + 1]


def test_cluster_is_a_jobmanager_and_two_taskmanagers_without_hadoop(cluster):
    assert cluster.get("/overview")["taskmanagers"] == 2
    conf = yaml.safe_load((cluster.folder / "conf" / "config.yaml").read_text())
    # the driver's Python is the service's: 3.12 with PyFlink and its dependencies only (none of
    # the tools' packages): the job loads nothing else but what the zip brings
    assert conf["python.client.executable"] == str(SERVICE_PYTHON)
    version = subprocess.run(
        [str(SERVICE_PYTHON), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    assert version.stdout.strip() == "(3, 12)"
    for package in ("confluent_kafka", "rich", "pyiceberg", "moto"):
        assert subprocess.run([str(SERVICE_PYTHON), "-c", f"import {package}"], capture_output=True).returncode != 0
    assert conf["execution.checkpointing.dir"] == f"{STATE_DIR}/checkpoints"
    assert (cluster.folder / "plugins" / "s3-fs-hadoop").is_dir()
    pids = cluster.pids()
    assert len(pids) == 3 and all(alive(p) for p in pids)
    for pid in pids:
        assert "hadoop" not in classpath(pid).lower()
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        assert "HADOOP_CLASSPATH" not in environ and "HADOOP_CONF_DIR" not in environ
    again = cluster.script("start")  # idempotent: nothing new is started
    assert again.returncode == 0 and "already running" in again.stderr
    assert sorted(cluster.pids()) == sorted(pids)


def service_properties(path: Path, ws, iam) -> Path:
    """The application's runtime properties, in the service's format: MSK IAM over TLS, the
    brokers' private CA as the truststore; the job's role gets exactly the generated policy."""
    iam.set_policies(
        {
            iam.job.principal: iam_policy.policy_for(ws.config_dir, None, iam_policy.cluster_values(iam.cluster_arn)),
            iam.tools.principal: iam.tools_policy(),
        }
    )
    groups = {
        RUN_OPTIONS: {"python": "streaming_job.py", "jarfile": "lib/pyflink-dependencies.jar", "pyFiles": "lib/python"},
        "app": {"env": ENVIRONMENT},
        "kafka": {
            "bootstrap.servers": iam.bootstrap,
            "auth": "iam",
            "property.ssl.truststore.type": "PEM",
            "property.ssl.truststore.location": str(iam.ca),
        },
        "iceberg": {"catalog.type": "hadoop", "warehouse": str(ws.warehouse), "namespace": "sink"},
    }
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()], indent=2))
    return path


def submit(
    cluster: Cluster, app: Path, properties: Path, log: Path, *flink_options: str, program_args: tuple[str, ...] = ()
) -> str:
    """flink run, the way the service runs the application's run options; the job id."""
    run = read_groups(properties)[RUN_OPTIONS]
    env = {k: v for k, v in cluster.env.items() if k not in {*ENV_OVERRIDES, "APP_PROPERTIES_FILE"}}
    env["APP_PROPERTIES_FILE"] = str(properties)
    result = subprocess.run(
        [
            str(CLUSTER_SCRIPT),
            "flink",
            "run",
            "--detached",
            "--parallelism",
            str(PARALLELISM),
            *flink_options,
            "--python",
            run["python"],
            "--pyFiles",
            run["pyFiles"],
            "--jarfile",
            run["jarfile"],
            *program_args,
        ],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    output = result.stdout + result.stderr  # the CLI passes the driver's output on
    log.write_text(output)
    assert result.returncode == 0, output[-5000:]
    assert "TableEnvironment ready: Flink runs the job" in output  # no local mini cluster
    submitted = re.search(r"Job has been submitted with JobID (\w+)", output)
    assert submitted, output[-3000:]
    return submitted.group(1)


STARTED = time.monotonic()


def progress(what: str) -> None:
    """A timeline on stdout (pytest shows it when the test fails)."""
    print(f"{time.monotonic() - STARTED:7.1f} s  {what}", flush=True)


def wait_for(what: str, check, timeout: float = TIMEOUT_S, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            progress(what)
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def committed(ws, name: str) -> int:
    """Rows of a table committed so far (0 before its first commit)."""
    if not (ws.warehouse / "sink" / name / "metadata" / "version-hint.text").is_file():
        return 0
    return len(table(ws, name))


def split(traffic) -> tuple[dict[str, list[dict]], list[tuple[str, dict]]]:
    """The first part of each topic, and the rest merged across topics in event-time order
    (each topic keeps its own order), so no topic runs ahead of the others while produced."""
    first, rest = {}, []
    for key, events in traffic.topics().items():
        cut = int(len(events) * FIRST_PART)
        first[key] = events[:cut]
        rest.append([(e["timestamp_ms"], key, e) for e in events[cut:]])
    return first, [(key, e) for _, key, e in heapq.merge(*rest, key=lambda x: x[0])]


class SteadyProducer:
    """Produces the merged (topic key, event) pairs evenly over about `seconds`, one thread
    per topic (each with sample_gen's `produce`), each event at its turn in the merged order."""

    def __init__(self, ws, merged: list[tuple[str, dict]], seconds: float):
        self.ws, self.step = ws, seconds / max(len(merged), 1)
        self.turns: dict[str, list[tuple[int, dict]]] = {}
        for turn, (key, event) in enumerate(merged):
            self.turns.setdefault(key, []).append((turn, event))
        self.reports: dict[str, object] = {}
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._produce, args=(key,), daemon=True) for key in self.turns]

    def start(self) -> None:
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()

    def _paced(self, key: str):
        for turn, event in self.turns[key]:
            delay = self.started + turn * self.step - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield event

    def _produce(self, key: str) -> None:
        try:
            self.reports[key] = produce(self.ws.bootstrap, self.ws.topics[key], self._paced(key))
        except BaseException as exc:  # reported by join()
            self.errors.append(exc)

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)
        assert not self.errors, self.errors
        for key, turns in self.turns.items():
            report = self.reports[key]
            assert report.failed == 0 and report.delivered == len(turns), (key, report)


def s3_keys(cluster: Cluster, prefix: str) -> list[str]:
    """Keys under the cluster's state prefix in S3 (the moto server)."""
    import boto3

    env = cluster.env
    s3 = boto3.client(
        "s3",
        endpoint_url=cluster.moto,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    listed = s3.list_objects_v2(
        Bucket=STATE_BUCKET, Prefix=f"{STATE_DIR.removeprefix(f's3://{STATE_BUCKET}/')}/{prefix}"
    )
    return [o["Key"] for o in listed.get("Contents", [])]


def job_state(cluster: Cluster, job_id: str) -> str:
    return cluster.get(f"/jobs/{job_id}")["state"]


def all_tasks_running(cluster: Cluster, job_id: str) -> bool:
    job = cluster.get(f"/jobs/{job_id}")
    return job["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in job["vertices"])


def restarts(cluster: Cluster, job_id: str) -> int:
    metrics = cluster.get(f"/jobs/{job_id}/metrics?get=numRestarts")
    return int(metrics[0]["value"]) if metrics else 0


def test_zip_on_the_cluster_survives_a_killed_taskmanager_exactly_once(cluster, tmp_path, kafka_broker):
    ws = make_workspace(tmp_path, kafka_broker, partitions=PARTITIONS)
    traffic = generate(seed=2026)
    first, rest = split(traffic)
    for key, events in first.items():
        assert produce(ws.bootstrap, ws.topics[key], events).failed == 0

    app = unpack_zip(tmp_path / "app", ws)
    properties = service_properties(tmp_path / "application_properties.json", ws, cluster.iam)
    progress("submitting")
    job_id = submit(cluster, app, properties, tmp_path / "flink-run.log")
    progress(f"submitted job {job_id}")
    wait_for("the first commit", lambda: committed(ws, "bid_events_raw") > 0)
    assert cluster.get(f"/jobs/{job_id}/checkpoints")["counts"]["completed"] >= 1
    job = cluster.get(f"/jobs/{job_id}")
    assert job["state"] == "RUNNING"
    # -p 2 reached the job: sources and writers run 2 subtasks (Iceberg's committers run 1)
    assert {v["parallelism"] for v in job["vertices"] if v["name"].startswith("Source:")} == {PARALLELISM}

    producer = SteadyProducer(ws, rest, SECOND_PART_S)
    producer.start()
    time.sleep(KILL_AFTER_S)
    before_kill = committed(ws, "bid_events_raw")
    killed = cluster.script("kill-taskmanager")
    assert killed.returncode == 0, killed.stderr
    pid, resource_id = killed.stdout.split()
    progress(f"killed TaskManager {resource_id} (pid {pid}) with {before_kill} bids committed")
    assert not alive(int(pid))
    assert 0 < before_kill < len(traffic.bid_events), "the kill must come mid-stream"

    added = cluster.script("add-taskmanager")  # the cluster does not replace a lost TaskManager itself
    assert added.returncode == 0, added.stderr
    progress("new TaskManager registered")
    wait_for("the job to fail over", lambda: restarts(cluster, job_id) >= 1 and all_tasks_running(cluster, job_id))
    history = cluster.get(f"/jobs/{job_id}/exceptions")["exceptionHistory"]["entries"]
    progress("failover causes: " + "; ".join(f"{e.get('exceptionName')} ({e.get('taskManagerId')})" for e in history))
    assert any(resource_id in json.dumps(e) for e in history), "the failover names the killed TaskManager"

    producer.join(TIMEOUT_S)
    progress("second part produced")
    expected = {
        "bid_events_raw": len(traffic.bid_events),
        "user_events_processed": len(traffic.user_events),
        "order_events_enriched": len(traffic.order_events),
    }
    wait_for("every event committed", lambda: all(committed(ws, n) >= c for n, c in expected.items()), every=2)

    assert restarts(cluster, job_id) >= 1
    assert s3_keys(cluster, "checkpoints/"), "the checkpoints live in S3"

    # A savepoint in S3, and a new job from it (an update on the service): windows and sessions
    # still open carry over, offsets too (nothing twice, nothing lost).
    stopped = cluster.script("flink", "stop", job_id)
    assert stopped.returncode == 0, (stopped.stdout + stopped.stderr)[-3000:]
    savepoint = re.search(r"Savepoint completed\. Path: (\S+)", stopped.stdout).group(1)
    progress(f"stopped with a savepoint: {savepoint}")
    assert savepoint.startswith(f"{STATE_DIR}/savepoints/"), savepoint
    assert s3_keys(cluster, savepoint.removeprefix(f"{STATE_DIR}/") + "/_metadata")
    wait_for("the job to stop", lambda: job_state(cluster, job_id) == "FINISHED")
    job_id = submit(cluster, app, properties, tmp_path / "flink-run-restored.log", "--fromSavepoint", savepoint)
    progress(f"restored from the S3 savepoint as job {job_id}")
    wait_for("the restored job to run", lambda: all_tasks_running(cluster, job_id))

    # Unbounded, as in production: a draining stop-with-savepoint closes every window and session.
    stopped = cluster.script("flink", "stop", "--drain", job_id)
    progress("stopped with a draining savepoint")
    assert stopped.returncode == 0, (stopped.stdout + stopped.stderr)[-3000:]
    wait_for("the job to finish", lambda: job_state(cluster, job_id) == "FINISHED")

    assert_same_rows(ref.columns(table(ws, "bid_events_raw"), ref.RAW_COLUMNS), ref.bid_events_raw(traffic.bid_events))
    assert_same_rows(
        ref.columns(table(ws, "bid_events_hourly_agg"), ref.HOURLY_AGG_COLUMNS),
        ref.bid_events_hourly_agg(traffic.bid_events),
    )
    assert_same_rows(
        ref.columns(table(ws, "user_events_processed"), ref.USER_EVENTS_COLUMNS),
        ref.user_events_processed(traffic.user_events),
    )
    assert_same_rows(
        ref.columns(table(ws, "order_events_enriched"), ref.ORDER_COLUMNS),
        ref.order_events_enriched(traffic.order_events),
    )
    assert_same_rows(
        ref.columns(table(ws, "session_analytics"), ref.SESSION_COLUMNS),
        ref.session_analytics(traffic.bid_events, traffic.user_events, SESSION_GAP_MS),
    )
    for name in table_names(str(ws.warehouse), "sink"):
        if name.endswith("_late") or name == "dead_letters":
            assert table(ws, name) == [], name


def test_bounded_run_at_parallelism_2_commits_the_files_of_every_writer(cluster, tmp_path, kafka_broker):
    """Regression: one writer subtask ends its input long before the other, with checkpoints in
    between. Iceberg's v1 sink then committed only the last writer's end-of-input files (50 of
    6,000 rows lost, every run); the job writes through the SinkV2-based sink instead
    (common/run/flink_env.py)."""
    from confluent_kafka import Producer

    ws = make_workspace(tmp_path, kafka_broker, partitions=2)
    bids = list(bid_events(SKEWED_BIDS, seed=5))
    producer = Producer({"bootstrap.servers": ws.bootstrap})
    for i, bid in enumerate(bids):  # 50 bids to partition 0 (subtask 0), the rest to partition 1
        producer.produce(
            ws.topics["bid_events"],
            json.dumps(bid).encode(),
            str(bid["user_id"]).encode(),
            partition=0 if i < 50 else 1,
        )
    assert producer.flush(30) == 0
    app = unpack_zip(tmp_path / "app", ws)
    properties = service_properties(tmp_path / "application_properties.json", ws, cluster.iam)
    job_id = submit(
        cluster,
        app,
        properties,
        tmp_path / "flink-run.log",
        "-Dexecution.checkpointing.interval=300ms",
        program_args=("--bounded", "--only", "bid_events_raw"),
    )
    wait_for("the bounded job to end", lambda: job_state(cluster, job_id) in ("FINISHED", "FAILED", "CANCELED"))
    assert job_state(cluster, job_id) == "FINISHED"
    assert len(table(ws, "bid_events_raw")) == len(bids)


def test_launch_by_flink_means_flink_owns_the_job(tmp_path):
    """What the zip's driver decides from its environment (no cluster needed)."""
    props = tmp_path / "p.json"
    assert locate(str(props), env={FLINK_GATEWAY_ENV: "41234"}) == (props, True)
    assert locate(None, env={FLINK_GATEWAY_ENV: "41234", "APP_PROPERTIES_FILE": str(props)}) == (props, True)
    assert locate(None, env={"APP_PROPERTIES_FILE": str(props)}) == (props, False)


def test_stop_is_clean_and_idempotent(cluster):
    pids = cluster.pids()
    assert pids
    first = cluster.script("stop")
    assert first.returncode == 0, first.stderr
    assert not [p for p in pids if alive(p)], "a cluster JVM outlived stop"
    second = cluster.script("stop")
    assert second.returncode == 0 and "not running" in second.stderr
    assert cluster.script("status").returncode == 3
