"""The fixtures of every test (registered by tests/conftest.py): the local broker, its IAM
listener, a workspace per test, a moto server per module."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from tests.support.harness import (
    BOOTSTRAP,
    IAM_BOOTSTRAP,
    IAM_DIR,
    KAFKA_FIXTURES,
    KAFKA_SCRIPT,
    ROOT,
    IamBroker,
    Identity,
    JobWorkspace,
    make_workspace,
    moto_process,
    write_json,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the broker (directly or through a fixture) is marked ``kafka`` by that
    fact, so the mark cannot drift from what the test does; ``jvm`` is set per module
    (``pytestmark``) where tests start PyFlink's JVM, Maven or a Flink cluster. ``make test-fast``
    runs the rest."""
    for item in items:
        if KAFKA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_broker() -> str:
    """The local broker, started by the project's script if it is not running, with its MSK IAM
    listener (``start --iam``: tests/e2e/test_e2e_msk_iam.py); the tests that need no auth use its
    plaintext listener.

    Tests stay independent through topics of their own (see ``workspace``), so a broker that
    is already up (another test session, the demo) is shared rather than wiped.
    """
    subprocess.run([str(KAFKA_SCRIPT), "start", "--iam"], check=True, cwd=ROOT)
    return BOOTSTRAP


@pytest.fixture(scope="session")
def iam_broker(kafka_broker) -> IamBroker:
    """Two identities (the job's role, the tools' role) on the IAM listener; the files the
    broker had are put back afterwards."""
    props = (ROOT / ".local" / "kafka" / "server.properties").read_text()
    cluster_arn = next(line.split("=", 1)[1] for line in props.splitlines() if line.startswith("msk.iam.cluster.arn="))
    job = Identity("flink-job", "LOCALJOB" + uuid.uuid4().hex[:12].upper(), uuid.uuid4().hex + uuid.uuid4().hex)
    tools = Identity("test-traffic", "LOCALTOOLS" + uuid.uuid4().hex[:10].upper(), uuid.uuid4().hex)
    saved = {name: (IAM_DIR / name).read_bytes() for name in ("credentials.json", "policy.json")}
    write_json(
        IAM_DIR / "credentials.json",
        {i.access_key_id: {"secretAccessKey": i.secret_access_key, "principal": i.principal} for i in (job, tools)},
    )
    broker = IamBroker(IAM_BOOTSTRAP, IAM_DIR / "ca.pem", cluster_arn, job, tools)
    broker.set_policies({tools.principal: broker.tools_policy()})
    yield broker
    for name, content in saved.items():
        tmp = IAM_DIR / f"{name}.tmp"
        tmp.write_bytes(content)
        os.replace(tmp, IAM_DIR / name)


@pytest.fixture
def workspace(tmp_path, kafka_broker) -> JobWorkspace:
    return make_workspace(tmp_path, kafka_broker)


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory) -> str:
    """A real AWS API server (moto in server mode) on a free localhost port, for one test module."""
    with moto_process("moto.server", tmp_path_factory.mktemp("moto") / "moto_server.log") as url:
        yield url
