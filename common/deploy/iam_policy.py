"""The service execution role's policy, made from the config it has to cover.

The topics and consumer groups the job reads come from config/topics.yaml and, per
environment, an overlay (config/overlays/<env>.yaml may rename both: common/load/config.py). A
hand-kept policy drifts from them, and a role that misses one fails only on the service, at
its first read or offset commit. So the policy is generated: ``deploy.py iam-policy
[--environment ENV] [--partition P]`` prints it, and iam/execution-role-policy.json is that
output for the default environment (tests/unit/deploy/test_iam_policy.py keeps the two equal).

Every ARN starts with ``arn:${Partition}:``, so one template serves every AWS partition (aws,
aws-cn, aws-us-gov). Account-specific values stay ``${Name}`` placeholders, filled by
``envsubst`` (docs/deploy.md) or by ``values``; nothing account-specific is committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from common.load.config import CONFIG_DIR, load_topics
from common.load.properties import APP_DIR

PLACEHOLDERS = (
    "Partition",
    "AccountId",
    "Region",
    "CodeBucket",
    "CodeKey",
    "MskClusterName",
    "MskClusterUuid",
    "TableBucketName",
    "LogGroupName",
    "LogStreamName",
)
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
PARTITION_NAME = re.compile(r"^aws(-[a-z]+)*$")
POLICY_FILE = APP_DIR / "iam" / "execution-role-policy.json"

_ARN = "arn:${Partition}:"
_MSK = _ARN + "kafka:${Region}:${AccountId}:%s/${MskClusterName}/${MskClusterUuid}"
_S3TABLES = _ARN + "s3tables:${Region}:${AccountId}:bucket/${TableBucketName}"
_LOGS = _ARN + "logs:${Region}:${AccountId}:log-group:"
_EC2 = _ARN + "ec2:${Region}:${AccountId}:"


def partition_of(region: str) -> str:
    """The partition a region belongs to (cn-north-1 -> aws-cn, us-gov-west-1 -> aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


CLUSTER_ARN = re.compile(
    r"^arn:(?P<Partition>aws(-[a-z]+)*):kafka:(?P<Region>[a-z0-9-]+):(?P<AccountId>\d{12}):"
    r"cluster/(?P<MskClusterName>[A-Za-z0-9-]+)/(?P<MskClusterUuid>[A-Za-z0-9-]+)$"
)


def cluster_values(cluster_arn: str) -> dict[str, str]:
    """The placeholders an MSK cluster ARN fills (Partition, Region, AccountId, cluster name and uuid)."""
    match = CLUSTER_ARN.match(cluster_arn)
    if not match:
        raise ValueError(
            f"not an MSK cluster ARN: {cluster_arn!r} "
            "(valid: arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>)"
        )
    return {k: v for k, v in match.groupdict().items() if k[0].isupper()}


def kafka_names(config_dir: Path = CONFIG_DIR, environment: str | None = None) -> tuple[list[str], list[str]]:
    """(topic names, consumer groups) of every enabled topic, after the environment's overlay, in
    topics.yaml order. Enabled topics, not only those enabled pipelines read: enabling a
    pipeline (or adding one to a running deployment) then needs no new role."""
    topics = [t for t in load_topics(config_dir, environment).values() if t.enabled]
    return list(dict.fromkeys(t.topic_name for t in topics)), list(dict.fromkeys(t.consumer_group for t in topics))


def glue_registries(config_dir: Path = CONFIG_DIR, environment: str | None = None) -> list[str]:
    """The AWS Glue Schema Registries the enabled Avro topics read their writers' schemas from."""
    topics = [t for t in load_topics(config_dir, environment).values() if t.enabled]
    return list(dict.fromkeys(t.registry.registry_name for t in topics if t.registry and t.registry.kind == "glue"))


def statement(sid: str, actions: list[str], resources: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def execution_role_policy(
    topics: Iterable[str], groups: Iterable[str], registries: Iterable[str] = ()
) -> dict[str, Any]:
    """The least-privilege policy of the job's role, placeholders left in."""
    policy = _policy(topics, groups)
    glue = [
        f"{_ARN}glue:${{Region}}:${{AccountId}}:{kind}/{name}{tail}"
        for name in registries
        for kind, tail in (("registry", ""), ("schema", "/*"))
    ]
    if glue:  # Avro topics through Glue: the decoder looks a writer's schema up by its version id
        policy["Statement"].append(statement("ReadWritersSchemasFromGlueRegistry", ["glue:GetSchemaVersion"], glue))
    return policy


def _policy(topics: Iterable[str], groups: Iterable[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            statement(
                "ReadApplicationCode", ["s3:GetObject", "s3:GetObjectVersion"], _ARN + "s3:::${CodeBucket}/${CodeKey}"
            ),
            statement(
                "ConnectToMskCluster", ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], _MSK % "cluster"
            ),
            statement(
                "ReadTopics",
                ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                [f"{_MSK % 'topic'}/{name}" for name in topics],
            ),
            # The sources commit their offsets to these groups on every checkpoint.
            statement(
                "UseConsumerGroups",
                ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
                [f"{_MSK % 'group'}/{name}" for name in groups],
            ),
            statement(
                "WriteIcebergTablesInTableBucket",
                [
                    "s3tables:GetNamespace",
                    "s3tables:CreateNamespace",
                    "s3tables:CreateTable",
                    "s3tables:GetTableMetadataLocation",
                    "s3tables:UpdateTableMetadataLocation",
                    "s3tables:GetTableData",
                    "s3tables:PutTableData",
                ],
                [_S3TABLES, _S3TABLES + "/table/*"],
            ),
            statement("FindLogGroup", ["logs:DescribeLogGroups"], _LOGS + "*"),
            statement("FindLogStream", ["logs:DescribeLogStreams"], _LOGS + "${LogGroupName}:log-stream:*"),
            statement("WriteLogs", ["logs:PutLogEvents"], _LOGS + "${LogGroupName}:log-stream:${LogStreamName}"),
            # Describe actions take no resource.
            statement(
                "DescribeVpcForNetworkInterfaces",
                [
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeNetworkInterfaces",
                ],
                "*",
            ),
            statement(
                "ManageNetworkInterfacesInVpc",
                ["ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
                [_EC2 + "network-interface/*", _EC2 + "subnet/*", _EC2 + "security-group/*"],
            ),
        ],
    }


def fill(policy: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """The policy with the given placeholders replaced (the others stay ``${Name}``)."""
    text = json.dumps(policy)
    for name, value in values.items():
        text = text.replace("${%s}" % name, json.dumps(value)[1:-1])
    return json.loads(text)


def policy_text(policy: dict[str, Any]) -> str:
    """The policy as the committed file holds it."""
    return json.dumps(policy, indent=2) + "\n"


def policy_for(
    config_dir: Path = CONFIG_DIR, environment: str | None = None, values: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The policy for one environment's topics and groups, with ``values`` filled in."""
    topics, groups = kafka_names(config_dir, environment)
    return fill(execution_role_policy(topics, groups, glue_registries(config_dir, environment)), values or {})


def matches(pattern: str, arn: str) -> bool:
    """IAM's resource matching: ``*`` any run of characters, ``?`` one, the rest literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def allowed(policy: Mapping[str, Any], action: str, arn: str) -> bool:
    """True when an Allow statement of the policy grants ``action`` on ``arn``."""
    for stmt in policy["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
        if (
            stmt["Effect"] == "Allow"
            and any(matches(a, action) for a in actions)
            and any(matches(r, arn) for r in resources)
        ):
            return True
    return False
