"""What tests and benchmarks share: the local broker's script, isolated topics and config
(a workspace per test), running the job, comparing rows, free ports, moto processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

KAFKA_SCRIPT = ROOT / "dev" / "kafka_local.sh"
BOOTSTRAP = "127.0.0.1:9092"
PARTITIONS = 2
JOB_TIMEOUT_S = 600


KAFKA_FIXTURES = {"kafka_broker", "iam_broker", "workspace"}


IAM_DIR = ROOT / ".local" / "kafka" / "iam"
IAM_BOOTSTRAP = "localhost:9098"
IAM_REGION = "us-east-1"
ACCOUNT = "123456789012"  # AWS's documentation account id: nothing real


@dataclass(frozen=True)
class Identity:
    """An AWS identity the local IAM broker knows: its keys, and the environment that signs with them."""

    name: str
    access_key_id: str
    secret_access_key: str

    @property
    def principal(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.name}"

    def env(self, secret: str | None = None) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret or self.secret_access_key,
            "AWS_REGION": IAM_REGION,
            "AWS_DEFAULT_REGION": IAM_REGION,
        }


@dataclass
class IamBroker:
    """The broker's MSK IAM listener, whose credentials and policies a test sets (the broker
    re-reads both files when they change)."""

    bootstrap: str
    ca: Path
    cluster_arn: str
    job: Identity
    tools: Identity

    def arn(self, kind: str, name: str) -> str:
        """The ARN of a topic, group or transactional-id of this cluster."""
        return self.cluster_arn.replace(":cluster/", f":{kind}/") + f"/{name}"

    def set_policies(self, by_principal: dict[str, dict]) -> None:
        write_json(IAM_DIR / "policy.json", by_principal)

    def tools_policy(self) -> dict:
        """What the test-traffic tools need: produce (idempotent), describe, read, offsets."""
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "kafka-cluster:Connect",
                        "kafka-cluster:DescribeCluster",
                        "kafka-cluster:WriteDataIdempotently",
                    ],
                    "Resource": self.cluster_arn,
                },
                {
                    "Effect": "Allow",
                    "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:ReadData"],
                    "Resource": self.arn("topic", "*"),
                },
                {"Effect": "Allow", "Action": ["kafka-cluster:DescribeGroup"], "Resource": self.arn("group", "*")},
            ],
        }


def write_json(path: Path, doc) -> None:
    """Replace a file the broker watches in one step (it never reads half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass
class JobWorkspace:
    """Config with topics unique to one test, and a warehouse of its own."""

    bootstrap: str
    config_dir: Path
    warehouse: Path
    topics: dict[str, str]  # topic key -> Kafka topic name

    def run_job(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "ICEBERG_WAREHOUSE": str(self.warehouse),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, str(ROOT / "streaming_job.py"), "--config-dir", str(self.config_dir), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=JOB_TIMEOUT_S,
        )

    def start_job(self, *args: str, env: dict[str, str] | None = None, log_name: str = "job.log") -> subprocess.Popen:
        """The job in the background (unbounded runs); its output goes to <warehouse>/../<log_name>.
        Stop it with SIGTERM: a local run then stops with a savepoint and exits."""
        env = {
            **os.environ,
            "ICEBERG_WAREHOUSE": str(self.warehouse),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            **(env or {}),
        }
        log = (self.warehouse.parent / log_name).open("w")
        return subprocess.Popen(
            [sys.executable, str(ROOT / "streaming_job.py"), "--config-dir", str(self.config_dir), *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def edit_topics(self, edit) -> None:
        """Change this workspace's topics.yaml: edit(doc) mutates the parsed document."""
        path = self.config_dir / "topics.yaml"
        doc = yaml.safe_load(path.read_text())
        edit(doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def create_topics(bootstrap: str, names: list[str], partitions: int = PARTITIONS) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names])
    for future in futures.values():
        future.result(30)


def make_workspace(
    base: Path,
    bootstrap: str,
    partitions: int = PARTITIONS,
    watermark_emit: str | None = None,
    config: Path = ROOT / "config",
) -> JobWorkspace:
    """The shipped config (or the one in ``config``), with every topic and consumer group renamed
    for one test only."""
    config_dir = base / "config"
    config_dir.mkdir()
    suffix = uuid.uuid4().hex[:8]
    topics_doc = yaml.safe_load((config / "topics.yaml").read_text())
    names = {}
    for key, topic in topics_doc["kafka_topics"].items():
        topic["topic_name"] = names[key] = f"{topic['topic_name']}-{suffix}"
        topic["consumer_group"] = f"{topic['consumer_group']}-{suffix}"
        if watermark_emit:
            topic["event_time"]["emit"] = watermark_emit
    (config_dir / "topics.yaml").write_text(yaml.safe_dump(topics_doc, sort_keys=False))
    (config_dir / "transformations.yaml").write_text((config / "transformations.yaml").read_text())
    create_topics(bootstrap, list(names.values()), partitions)
    return JobWorkspace(bootstrap=bootstrap, config_dir=config_dir, warehouse=base / "warehouse", topics=names)


def assert_same_rows(actual: list[tuple], expected: list[tuple], rel: float = 1e-9) -> None:
    """Same multiset of rows; floats equal within `rel` (aggregates sum in another order)."""
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"

    def key(row: tuple) -> tuple:
        return tuple((0, "") if v is None else (1, round(v, 6)) if isinstance(v, float) else (1, v) for v in row)

    for got, want in zip(sorted(actual, key=key), sorted(expected, key=key)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if isinstance(w, float):
                assert g == pytest.approx(w, rel=rel), f"{got} != {want}"
            else:
                assert g == w, f"{got} != {want}"


MOTO_START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_process(launcher: str, log_file: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """moto's server (``moto.server``, run as a module) or a launcher file of it (a path, e.g.
    dev/moto_iam_server.py) on a free localhost port: its URL once it answers; stopped on exit."""
    port = free_port()
    command = [launcher] if launcher.endswith(".py") else ["-m", launcher]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *command, "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    with stopped_on_exit(process):
        wait_until_answering(process, urllib.request.Request(f"{url}/moto-api/"), launcher, log_file)
        yield url


def wait_until_answering(
    process: subprocess.Popen,
    probe: urllib.request.Request,
    name: str,
    log_file: Path,
    timeout_s: float = MOTO_START_TIMEOUT_S,
) -> None:
    """Until a local service answers the probe; the test fails, with its log, if it exits or stays silent."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log_file.read_text()}")
        try:
            urllib.request.urlopen(probe, timeout=2).close()
            return
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"{name} did not answer within {timeout_s:g}s:\n{log_file.read_text()}")
            time.sleep(0.1)


@contextmanager
def stopped_on_exit(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """The process, terminated (killed if it lingers) when the block ends."""
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def edited_config(base: Path) -> Path:
    """The shipped config with a session gap of 20 minutes (the session window's state cannot be
    kept) and order_events_enriched removed: the plan-diff tests' edit."""
    config = base / "config"
    config.mkdir(parents=True)
    (config / "topics.yaml").write_text((ROOT / "config" / "topics.yaml").read_text())
    doc = yaml.safe_load((ROOT / "config" / "transformations.yaml").read_text())
    doc["transformations"] = [p for p in doc["transformations"] if p["name"] != "order_events_enriched"]
    for p in doc["transformations"]:
        if p["name"] == "session_analytics":
            p["options"]["session_gap"] = "20 min"
    (config / "transformations.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return config
