"""The execution role's policy: generated from the config, in every partition, for every overlay.

A role that misses a topic or consumer group fails only on the service (at the first read or
offset commit), so these tests check, with IAM's own wildcard rules, that every topic and group
name the config and each overlay produce is granted, and nothing else.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from common.deploy import iam_policy
from common.load.config import CONFIG_DIR, OVERLAYS_DIR, load_project

ROOT = Path(__file__).resolve().parents[3]
MADE_UP_ACCOUNT = "0" * 12
REGIONS = {"aws": "eu-west-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
ENVIRONMENTS = [None, *sorted(p.stem for p in (CONFIG_DIR / OVERLAYS_DIR).glob("*.yaml"))]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy.py"), "iam-policy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def resources(policy: dict) -> list[str]:
    return [
        r for s in policy["Statement"] for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]


def filled(partition: str) -> dict[str, str]:
    """Made-up values for every placeholder (no real account)."""
    return {
        "Partition": partition,
        "Region": REGIONS[partition],
        "AccountId": MADE_UP_ACCOUNT,
        "CodeBucket": "code",
        "CodeKey": "app.zip",
        "MskClusterName": "msk",
        "MskClusterUuid": "uuid-1",
        "TableBucketName": "tables",
        "LogGroupName": "/aws/flink/app",
        "LogStreamName": "app",
    }


def msk_arn(values: dict[str, str], kind: str, name: str) -> str:
    return (
        f"arn:{values['Partition']}:kafka:{values['Region']}:{values['AccountId']}:{kind}/"
        f"{values['MskClusterName']}/{values['MskClusterUuid']}/{name}"
    )


def test_the_committed_policy_is_the_generated_one():
    """iam/execution-role-policy.json cannot drift from config/topics.yaml: regenerate it with
    `deploy.py iam-policy > iam/execution-role-policy.json`."""
    assert iam_policy.POLICY_FILE.read_text() == iam_policy.policy_text(iam_policy.policy_for())
    assert run_cli().stdout == iam_policy.POLICY_FILE.read_text()


def test_the_committed_policy_is_a_template_for_any_partition_without_account_values():
    text = iam_policy.POLICY_FILE.read_text()
    policy = json.loads(text)
    assert policy["Version"] == "2012-10-17"
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(iam_policy.PLACEHOLDERS)
    assert not re.search(r"\d{12}", text), "no account ids in the committed policy"
    assert "arn:aws" not in text, "no hard-coded partition"
    assert all(r == "*" or r.startswith("arn:${Partition}:") for r in resources(policy))
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert all(f"${{{name}}}" in docs for name in iam_policy.PLACEHOLDERS), "docs/deploy.md lists every placeholder"
    for statement in policy["Statement"]:
        actions = statement["Action"]
        assert all("*" not in action for action in actions), statement["Sid"]
        if statement["Resource"] == "*":  # only Describe calls, which take no resource
            assert all(a.startswith("ec2:Describe") for a in actions), statement["Sid"]


@pytest.mark.parametrize("partition", iam_policy.PARTITIONS)
def test_every_arn_is_in_the_chosen_partition(partition):
    result = run_cli("--partition", partition, "--region", REGIONS[partition])
    assert result.returncode == 0, result.stderr
    policy = json.loads(result.stdout)
    assert "${Partition}" not in result.stdout and "${Region}" not in result.stdout
    arns = [r for r in resources(policy) if r != "*"]
    assert arns and all(
        r.startswith(f"arn:{partition}:") and f":{REGIONS[partition]}:" in r or r.startswith(f"arn:{partition}:s3:::")
        for r in arns
    )


def test_the_region_decides_the_partition():
    assert [iam_policy.partition_of(r) for r in ("us-east-1", "cn-northwest-1", "us-gov-east-1")] == [
        "aws",
        "aws-cn",
        "aws-us-gov",
    ]
    assert json.loads(run_cli("--region", "cn-north-1").stdout)["Statement"][0]["Resource"].startswith("arn:aws-cn:")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("partition", iam_policy.PARTITIONS)
def test_every_topic_and_group_of_the_environment_is_granted_and_nothing_else(environment, partition):
    values = filled(partition)
    policy = iam_policy.policy_for(environment=environment, values=values)
    topics = [t for t in load_project(CONFIG_DIR, environment).topics.values() if t.enabled]
    assert topics
    for topic in topics:
        for action in ("kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"):
            assert iam_policy.allowed(policy, action, msk_arn(values, "topic", topic.topic_name)), topic.topic_name
        for action in ("kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"):
            assert iam_policy.allowed(policy, action, msk_arn(values, "group", topic.consumer_group)), topic.key
        assert not iam_policy.allowed(policy, "kafka-cluster:WriteData", msk_arn(values, "topic", topic.topic_name))
    assert not iam_policy.allowed(policy, "kafka-cluster:ReadData", msk_arn(values, "topic", "other-topic"))
    assert not iam_policy.allowed(policy, "kafka-cluster:AlterGroup", msk_arn(values, "group", "other-group"))
    other_partition = next(p for p in iam_policy.PARTITIONS if p != partition)
    assert not iam_policy.allowed(
        policy,
        "kafka-cluster:ReadData",
        msk_arn({**values, "Partition": other_partition}, "topic", topics[0].topic_name),
    )


def test_a_new_overlay_is_covered_without_editing_anything(tmp_path):
    """An environment added later (here 'prod', renaming topics and groups) gets its own names."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / OVERLAYS_DIR / "prod.yaml").write_text(
        yaml.safe_dump(
            {
                "kafka_topics": {
                    "bid_events": {"topic_name": "prod.bids.v2", "consumer_group": "prod-bids"},
                    "order_events": {"consumer_group": "prod-orders"},
                }
            }
        )
    )
    result = run_cli("--config-dir", str(config), "--environment", "prod", "--partition", "aws-us-gov")
    assert result.returncode == 0, result.stderr
    values = filled("aws-us-gov")
    policy = iam_policy.fill(json.loads(result.stdout), values)
    granted = {r.rsplit("/", 1)[1] for r in resources(policy) if ":kafka:" in r and "/uuid-1/" in r}
    assert granted == {
        "prod.bids.v2",
        "user-events",
        "order-events",  # topics
        "prod-bids",
        "flink-user-consumer",
        "prod-orders",
    }  # groups
    assert iam_policy.allowed(policy, "kafka-cluster:ReadData", msk_arn(values, "topic", "prod.bids.v2"))
    assert not iam_policy.allowed(policy, "kafka-cluster:ReadData", msk_arn(values, "topic", "bid-events"))


def test_bad_input_is_refused():
    unknown = run_cli("--environment", "nowhere")
    assert unknown.returncode == 2 and "no overlay for environment 'nowhere'" in unknown.stderr
    bad = run_cli("--partition", "gcp")
    assert bad.returncode == 2 and "--partition: 'gcp' is not valid (valid: aws, aws-cn, aws-us-gov)" in bad.stderr


def test_iam_resource_matching_follows_iam_wildcards():
    assert iam_policy.matches("arn:aws:s3tables:r:1:bucket/b/table/*", "arn:aws:s3tables:r:1:bucket/b/table/t1")
    assert iam_policy.matches("a?c", "abc") and not iam_policy.matches("a?c", "abbc")
    assert not iam_policy.matches("arn:aws:kafka:r:1:topic/c/u/bid-events", "arn:aws:kafka:r:1:topic/c/u/bid-events2")
    assert not iam_policy.matches("a.c", "abc")  # a dot is a dot


def test_avro_topics_through_glue_add_only_their_registries_schema_lookups(tmp_path):
    """The Avro decoder calls glue:GetSchemaVersion: granted on the registries the topics name, and
    only when a topic reads through Glue (the shipped config: no such statement)."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    doc = yaml.safe_load((config / "topics.yaml").read_text())
    bids, users = doc["kafka_topics"]["bid_events"], doc["kafka_topics"]["user_events"]
    bids.update(format="avro", registry={"type": "glue", "registry_name": "shop"})
    users.update(format="avro", registry={"type": "confluent"})
    (config / "topics.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    policy = iam_policy.policy_for(
        config, None, {"Partition": "aws", "Region": "eu-west-1", "AccountId": MADE_UP_ACCOUNT}
    )
    glue = [s for s in policy["Statement"] if any(a.startswith("glue:") for a in s["Action"])]
    assert glue == [
        {
            "Sid": "ReadWritersSchemasFromGlueRegistry",
            "Effect": "Allow",
            "Action": ["glue:GetSchemaVersion"],
            "Resource": [
                f"arn:aws:glue:eu-west-1:{MADE_UP_ACCOUNT}:registry/shop",
                f"arn:aws:glue:eu-west-1:{MADE_UP_ACCOUNT}:schema/shop/*",
            ],
        }
    ]
    shipped = iam_policy.policy_for(CONFIG_DIR, None, {})
    assert not [s for s in shipped["Statement"] if any(a.startswith("glue:") for a in s["Action"])]
