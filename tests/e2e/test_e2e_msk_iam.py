"""MSK IAM over TLS, end to end, against a broker that checks it (dev/kafka_local.sh --iam).

The local broker's SASL_SSL listener (localhost:9098, a certificate from a CA the script
made) verifies every client's SigV4 signature, AWS_MSK_IAM (the job's Java clients, signed
by aws-msk-iam-auth) and OAUTHBEARER (sample_gen, status and replay_dead_letters, signed by
aws-msk-iam-sasl-signer-python), and authorizes every request by IAM policy documents, one
per principal (dev/msk-iam). The job's role gets exactly the policy
`deploy.py iam-policy` generates for the workspace's topics and groups.

Proven here: the tools and the job (local run, parallelism 2) authenticate and the tables
equal what was sent; the job runs with exactly the generated policy, and each of its Kafka
statements is needed; and the failures a user meets stop the job before it starts (exit 3)
with the cause named: a wrong secret, a missing permission (the action and the resource),
no truststore for the private CA; an expired signature is refused (the broker says so).
The same path on the standalone cluster (flink run, Python 3.12, state on S3):
tests/e2e/test_e2e_cluster.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from common.deploy import iam_policy
from common.load.properties import RUN_OPTIONS
from common.ops.local_warehouse import open_table
from tests.support import reference_model as ref
from tests.support.e2e import consume_all
from tests.support.harness import IAM_REGION, ROOT, assert_same_rows, create_topics, make_workspace

EVENTS = 3000
MALFORMED = 0.02
JOB_STATEMENTS = ("ConnectToMskCluster", "ReadTopics", "UseConsumerGroups")
BROKER_LOG = ROOT / ".local" / "kafka" / "broker.log"


def job_policy(iam, ws) -> dict:
    """The generated execution-role policy for this workspace's topics and groups, on this cluster."""
    return iam_policy.policy_for(ws.config_dir, None, iam_policy.cluster_values(iam.cluster_arn))


def iam_properties(path, iam, ws, truststore: bool = True):
    kafka = {"bootstrap.servers": iam.bootstrap, "auth": "iam"}
    if truststore:
        kafka.update({"property.ssl.truststore.type": "PEM", "property.ssl.truststore.location": str(iam.ca)})
    groups = {
        RUN_OPTIONS: {"python": "streaming_job.py", "jarfile": "lib/pyflink-dependencies.jar", "pyFiles": "lib/python"},
        "kafka": kafka,
        "iceberg": {"catalog.type": "hadoop", "warehouse": str(ws.warehouse), "namespace": "sink"},
        "flink": {"checkpoint.interval": "2 s", "parallelism": "2"},
    }
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]))
    return path


def clean_env(identity_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "KAFKA_BOOTSTRAP_SERVERS"}
    return {**env, **identity_env}


def tool(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def run_job(ws, properties, identity_env, *args):
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "streaming_job.py"),
            "--config-dir",
            str(ws.config_dir),
            "--properties",
            str(properties),
            *args,
        ],
        cwd=ROOT,
        env=clean_env(identity_env),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def iam_run(tmp_path_factory, iam_broker, kafka_broker):
    """sample_gen through IAM, then the job (bounded) through IAM with exactly the generated policy."""
    base = tmp_path_factory.mktemp("iam")
    ws = make_workspace(base, kafka_broker)
    iam_broker.set_policies(
        {iam_broker.job.principal: job_policy(iam_broker, ws), iam_broker.tools.principal: iam_broker.tools_policy()}
    )
    records = base / "sent.jsonl"
    sent = tool(
        "sample_gen.py",
        "--config-dir",
        str(ws.config_dir),
        "--count",
        str(EVENTS),
        "--seed",
        "11",
        "--malformed",
        str(MALFORMED),
        "--malformed-kinds",
        "bad_json",
        "--records",
        str(records),
        "--progress",
        "none",
        "--bootstrap-servers",
        iam_broker.bootstrap,
        "--auth",
        "iam",
        "-X",
        f"ssl.ca.location={iam_broker.ca}",
        env=clean_env(iam_broker.tools.env()),
    )
    assert sent.returncode == 0, sent.stderr[-3000:]
    properties = iam_properties(base / "iam.json", iam_broker, ws)
    result = run_job(ws, properties, iam_broker.job.env(), "--bounded")
    assert result.returncode == 0, result.stderr[-5000:]
    return ws, iam_broker, properties, [json.loads(line) for line in records.read_text().splitlines()], result


def test_sample_gen_sends_through_iam_over_tls(iam_run):
    ws, _, _, sent, _ = iam_run
    by_topic = defaultdict(Counter)
    for r in sent:
        by_topic[r["topic_name"]][(r["partition"], r["key"].encode(), r["value"].encode())] += 1
    landed = consume_all(ws.bootstrap, list(ws.topics.values()))
    assert {t: Counter(landed[t]) for t in by_topic} == dict(by_topic)
    assert sum(map(len, landed.values())) == EVENTS


def good(sent, topic: str) -> list[dict]:
    return [json.loads(r["value"]) for r in sent if r["topic_name"] == topic and r["fault"] != "malformed"]


def test_the_job_reads_through_iam_with_exactly_the_generated_policy(iam_run):
    ws, _, _, sent, result = iam_run
    assert "Kafka access checked" in result.stderr
    tables = {
        name: open_table(str(ws.warehouse), "sink", name).scan().to_arrow().to_pylist()
        for name in ("bid_events_raw", "user_events_processed", "order_events_enriched", "dead_letters")
    }
    assert_same_rows(
        ref.columns(tables["bid_events_raw"], ref.RAW_COLUMNS), ref.bid_events_raw(good(sent, ws.topics["bid_events"]))
    )
    assert_same_rows(
        ref.columns(tables["user_events_processed"], ref.USER_EVENTS_COLUMNS),
        ref.user_events_processed(good(sent, ws.topics["user_events"])),
    )
    assert_same_rows(
        ref.columns(tables["order_events_enriched"], ref.ORDER_COLUMNS),
        ref.order_events_enriched(good(sent, ws.topics["order_events"])),
    )
    malformed = Counter((r["topic_name"], r["value"].encode()) for r in sent if r["fault"] == "malformed")
    assert malformed, "the traffic must hold malformed records"
    assert Counter((d["topic"], d["raw_value"]) for d in tables["dead_letters"]) == malformed


def test_status_reads_the_lag_through_iam(iam_run):
    ws, iam, properties, sent, _ = iam_run
    status = tool(
        "scripts/status.py",
        "--json",
        "--properties",
        str(properties),
        "--config-dir",
        str(ws.config_dir),
        "--max-staleness",
        "1d",
        env=clean_env(iam.tools.env()),
    )
    assert status.returncode in (0, 3), status.stderr[-3000:]
    lag = json.loads(status.stdout)["lag"]
    assert lag["error"] is None, lag["error"]
    ends = Counter((r["topic_name"], r["partition"]) for r in sent)
    assert {(p["topic"], p["partition"]): p["high_watermark"] for p in lag["partitions"]} == dict(ends)


def test_replay_dead_letters_through_iam(iam_run, kafka_broker):
    ws, iam, properties, sent, _ = iam_run
    bids = ws.topics["bid_events"]
    target = f"{bids}-replayed"
    create_topics(kafka_broker, [target], 1)
    replay = tool(
        "scripts/replay_dead_letters.py",
        "--properties",
        str(properties),
        "--topic",
        bids,
        "--to-topic",
        target,
        env=clean_env(iam.tools.env()),
    )
    assert replay.returncode == 0, replay.stderr[-3000:]
    expected = sorted(r["value"].encode() for r in sent if r["topic_name"] == bids and r["fault"] == "malformed")
    assert expected
    assert sorted(value for _, _, value in consume_all(kafka_broker, [target])[target]) == expected


# --- what a user meets: each stops the job before it starts, with the cause -------------------


def failed_access(result) -> str:
    assert result.returncode == 3, (result.returncode, result.stderr[-4000:])
    assert "Job has been submitted" not in result.stderr and "job failed" not in result.stderr
    return "\n".join(line for line in result.stderr.splitlines() if "Kafka access:" in line)


def test_a_wrong_secret_stops_the_job_before_it_starts(iam_run):
    ws, iam, properties, _, _ = iam_run
    result = run_job(ws, properties, iam.job.env(secret="not-" + iam.job.secret_access_key))
    errors = failed_access(result)
    assert "authentication failed at localhost:9098" in errors and "Access denied" in errors, errors
    assert "signature does not match" in errors, errors


def test_no_truststore_for_the_private_ca_names_the_setting(iam_run, tmp_path):
    ws, iam, _, _, _ = iam_run
    result = run_job(ws, iam_properties(tmp_path / "p.json", iam, ws, truststore=False), iam.job.env())
    errors = failed_access(result)
    assert "TLS handshake with localhost:9098 failed" in errors, errors
    assert "kafka.property.ssl.truststore.location" in errors, errors


@pytest.mark.parametrize(
    "sid,action,kind",
    [
        ("ConnectToMskCluster", None, None),
        ("ReadTopics", "kafka-cluster:DescribeTopic", "topic"),
        ("UseConsumerGroups", "kafka-cluster:DescribeGroup", "group"),
    ],
)
def test_each_kafka_statement_of_the_generated_policy_is_needed(iam_run, sid, action, kind):
    ws, iam, properties, _, _ = iam_run
    policy = job_policy(iam, ws)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    iam.set_policies({iam.job.principal: policy, iam.tools.principal: iam.tools_policy()})
    try:
        errors = failed_access(run_job(ws, properties, iam.job.env()))
    finally:
        iam.set_policies({iam.job.principal: job_policy(iam, ws), iam.tools.principal: iam.tools_policy()})
    if action is None:  # no Connect: nothing at all may be done
        assert "not authorized" in errors or "Access denied" in errors, errors
    else:
        assert f"the role needs {action} on {kind}" in errors, errors
    log = BROKER_LOG.read_text(errors="replace")
    assert f"DENIED principal={iam.job.principal}" in log


@pytest.mark.parametrize("action,kind", [("kafka-cluster:ReadData", "topic"), ("kafka-cluster:AlterGroup", "group")])
def test_each_kafka_action_the_job_uses_is_checked(iam_run, action, kind):
    """ReadData and AlterGroup come with DescribeTopic and DescribeGroup in their statements: take
    out only the one action, and the check names it."""
    ws, iam, properties, _, _ = iam_run
    policy = job_policy(iam, ws)
    for s in policy["Statement"]:
        if action in s["Action"]:
            s["Action"] = [a for a in s["Action"] if a != action]
    iam.set_policies({iam.job.principal: policy, iam.tools.principal: iam.tools_policy()})
    try:
        errors = failed_access(run_job(ws, properties, iam.job.env()))
    finally:
        iam.set_policies({iam.job.principal: job_policy(iam, ws), iam.tools.principal: iam.tools_policy()})
    assert f"the role needs {action} on {kind}" in errors, errors


def test_an_expired_signature_is_refused(iam_run, monkeypatch):
    """A token signed an hour ago (its 15 minutes are over), sent by confluent-kafka as sample_gen does."""
    import botocore.auth
    from confluent_kafka import KafkaException, Producer

    from common.kafka_client import MskTokenProvider

    _, iam, _, _, _ = iam_run
    for key, value in iam.tools.env().items():
        monkeypatch.setenv(key, value)
    an_hour_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: an_hour_ago)
    provider = MskTokenProvider(IAM_REGION)
    token, _ = provider()
    errors: list[str] = []
    producer = Producer(
        {
            "bootstrap.servers": iam.bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "OAUTHBEARER",
            "ssl.ca.location": str(iam.ca),
            "oauth_cb": lambda _config: (token, dt.datetime.now().timestamp() + 600),
            "error_cb": lambda err: errors.append(str(err)),
        }
    )
    with pytest.raises(KafkaException) as refused:
        producer.list_topics(timeout=10)
    producer.poll(1)  # serves error_cb
    said = " ".join([str(refused.value), *errors])
    assert "Authentication" in said or "SASL" in said or "authentication" in said, said
    log = BROKER_LOG.read_text(errors="replace")
    assert "expired" in log
