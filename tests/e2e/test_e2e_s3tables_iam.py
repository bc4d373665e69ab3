"""The S3 Tables e2e with IAM enforced: the job's keys belong to a moto IAM user whose only
policy is exactly the generated execution-role policy (``deploy.py iam-policy``, filled for
account 123456789012, us-east-1 and the test's table bucket).

What moto 5.2.5 enforces by itself, measured: the SigV4 signature of a moto IAM user's key and
the user's policies (Allow, Deny, wildcards); for S3 objects the right action (GetObject for
GET and HEAD, PutObject for PUT and the multipart POSTs) on the object's ARN. For S3 Tables it
names the action right (s3tables:CreateNamespace, ...) but checks it against the resource
``*``, so a statement scoped to the table bucket never matches (CreateNamespace is denied under
exactly the generated policy); it fails every bodiless request (GetNamespace,
GetTableMetadataLocation, DeleteTable) with SignatureDoesNotMatch; and it authorizes a table's
files as s3:GetObject/PutObject on its own storage bucket, where AWS checks
s3tables:GetTableData/PutTableData on the table. Plain moto cannot run this job under the
generated policy at all, so the server is moto with those corrected, and one malformed answer
that made the catalog call DeleteTable (dev/moto_iam_server.py); moto's engine decides.

Covered: every s3tables call of the job and every object read and write of its Iceberg FileIO,
each by action and by resource (the bucket, or a table under ``/table/*``). Not covered: the
other statements (MSK IAM: tests/e2e/test_e2e_msk_iam.py; CloudWatch Logs, the VPC's network
interfaces and the code object are the service's own calls), conditions, KMS, and that moto's
table ARN ends in the table's name where AWS's ends in its id (``/table/*`` matches both).
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from common.deploy import iam_policy
from sample_gen import bid_events, produce
from tests.support import reference_model as ref
from tests.support.e2e import REGION, read_table, s3tables_properties
from tests.support.harness import ACCOUNT, ROOT, assert_same_rows, moto_process

TABLE_STATEMENT = "WriteIcebergTablesInTableBucket"
# Made-up values for the placeholders of the statements moto never sees (nothing real).
OTHER_VALUES = {
    "Partition": "aws",
    "Region": REGION,
    "AccountId": ACCOUNT,
    "CodeBucket": "code",
    "CodeKey": "app.zip",
    "MskClusterName": "msk",
    "MskClusterUuid": "uuid-1",
    "LogGroupName": "/aws/kinesis-analytics/app",
    "LogStreamName": "app",
}


@dataclass
class EnforcingMoto:
    """moto with IAM enforced from the first request after setup; `admin` may do anything."""

    url: str
    auth_log: Path
    admin: dict[str, str]

    def client(self, service: str, keys: dict[str, str]):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        )

    def user(self, name: str, policy: dict) -> dict[str, str]:
        """An IAM user whose only policy is `policy`: its keys as the job's environment."""
        iam = self.client("iam", self.admin)
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="execution-role", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_REGION": REGION,
        }

    def decisions(self, user: str) -> list[dict]:
        """moto's authorizations of `user`'s calls, in order: action, resource, allowed."""
        arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
        mine = [d for d in map(json.loads, self.auth_log.read_text().splitlines()) if d["principal"] == arn]
        return [{k: v for k, v in d.items() if k != "principal"} for d in mine]


@pytest.fixture(scope="module")
def moto_iam(tmp_path_factory) -> EnforcingMoto:
    """dev/moto_iam_server.py on a free port: an admin user is made without auth, then
    enforcement is switched on (moto's /moto-api/reset-auth with 0 unauthenticated requests)."""
    logs = tmp_path_factory.mktemp("moto_iam")
    auth_log = logs / "decisions.jsonl"
    with moto_process(
        str(ROOT / "dev" / "moto_iam_server.py"), logs / "moto_server.log", env={"MOTO_AUTH_LOG": str(auth_log)}
    ) as url:
        iam = boto3.client(
            "iam", endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        iam.create_user(UserName="admin")
        iam.put_user_policy(
            UserName="admin",
            PolicyName="all",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        request = urllib.request.Request(
            f"{url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request, timeout=10).close()
        yield EnforcingMoto(
            url, auth_log, {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        )


def generated_policy(bucket: str) -> dict:
    """`deploy.py iam-policy`'s policy for this table bucket."""
    return iam_policy.policy_for(values={**OTHER_VALUES, "TableBucketName": bucket})


def without_action(policy: dict, action: str) -> dict:
    """The policy with one action taken out of the table statement."""
    for statement in policy["Statement"]:
        if statement["Sid"] == TABLE_STATEMENT:
            statement["Action"].remove(action)
    return policy


def table_statement(policy: dict) -> dict:
    """The policy's S3 Tables statement (the one moto can check)."""
    return next(s for s in policy["Statement"] if s["Sid"] == TABLE_STATEMENT)


def run_as(workspace, moto: EnforcingMoto, tmp_path, bucket: str, policy: dict, events: list[dict]):
    """The job (bounded, bid_events_raw) into a new table bucket with the keys of a user that has
    only `policy`: (completed process, bucket ARN, the user's name, its keys)."""
    arn = moto.client("s3tables", moto.admin).create_table_bucket(name=bucket)["arn"]
    user = f"job-{bucket}"
    keys = moto.user(user, policy)
    props = tmp_path / "s3tables.json"
    s3tables_properties(props, arn, moto.url)
    assert produce(workspace.bootstrap, workspace.topics["bid_events"], events).failed == 0
    result = workspace.run_job(
        "--bounded", "--only", "bid_events_raw", "--properties", str(props), env={**keys, "ICEBERG_WAREHOUSE": arn}
    )
    return result, arn, user, keys


def bucket_name() -> str:
    return f"tables-{uuid.uuid4().hex[:8]}"


def test_the_generated_policy_is_enough_and_every_table_action_in_it_is_used(workspace, moto_iam, tmp_path):
    events = list(bid_events(300, seed=23))
    bucket = bucket_name()
    policy = generated_policy(bucket)
    result, arn, user, keys = run_as(workspace, moto_iam, tmp_path, bucket, policy, events)
    assert result.returncode == 0, result.stderr[-5000:]

    admin = moto_iam.client("s3tables", moto_iam.admin)
    tables = {t["name"] for t in admin.list_tables(tableBucketARN=arn, namespace="sink")["tables"]}
    assert tables == {"bid_events_raw", "dead_letters"}
    table, rows = read_table(admin, arn, moto_iam.url, moto_iam.admin)
    assert_same_rows(ref.columns(rows, ref.RAW_COLUMNS), ref.bid_events_raw(events))

    decisions = moto_iam.decisions(user)
    assert [d for d in decisions if not d["allowed"]] == []
    assert {d["action"] for d in decisions} == set(table_statement(policy)["Action"])
    tables_arn = {f"{arn}/table/{name}" for name in tables}
    assert {d["resource"] for d in decisions} == {arn, *tables_arn}

    # Beyond the policy, the same keys are refused: another bucket, an action it does not grant,
    # and the files of another bucket's table.
    job = moto_iam.client("s3tables", keys)
    other = admin.create_table_bucket(name=f"other-{bucket}")["arn"]
    admin.create_namespace(tableBucketARN=other, namespace=["sink"])
    admin.create_table(tableBucketARN=other, namespace="sink", name="t", format="ICEBERG")
    with pytest.raises(ClientError, match=r"not authorized to perform: s3tables:GetNamespace"):
        job.get_namespace(tableBucketARN=other, namespace="sink")
    with pytest.raises(ClientError, match=r"not authorized to perform: s3tables:DeleteTable"):
        job.delete_table(tableBucketARN=arn, namespace="sink", name="dead_letters")
    storage = admin.get_table(tableBucketARN=other, namespace="sink", name="t")["warehouseLocation"]
    s3 = moto_iam.client("s3", keys)
    with pytest.raises(ClientError, match=r"AccessDenied"):
        s3.put_object(Bucket=storage.split("/")[2], Key="metadata/x.json", Body=b"{}")
    mine = table.metadata_location.split("/")
    assert s3.head_object(Bucket=mine[2], Key="/".join(mine[3:]))["ContentLength"] > 0
    assert moto_iam.decisions(user)[len(decisions) :] == [
        {"action": "s3tables:GetNamespace", "resource": other, "allowed": False},
        {"action": "s3tables:DeleteTable", "resource": f"{arn}/table/dead_letters", "allowed": False},
        {"action": "s3tables:PutTableData", "resource": f"{other}/table/t", "allowed": False},
        {"action": "s3tables:GetTableData", "resource": f"{arn}/table/bid_events_raw", "allowed": True},
    ]


def test_without_put_table_data_the_job_cannot_create_its_first_table(workspace, moto_iam, tmp_path):
    """Enforcement is real: one action less and the run stops at the first object it writes,
    the new table's first metadata file: exit 2 (nothing ran), the job naming the DDL it could
    not run, and S3's 403 in Flink's log. (Not on the console: the JVM's copy of that ERROR
    line, copied to the job's stderr by a drain thread, was missing once in about 20 runs.)"""
    bucket = bucket_name()
    policy = without_action(generated_policy(bucket), "s3tables:PutTableData")
    result, arn, user, _ = run_as(workspace, moto_iam, tmp_path, bucket, policy, list(bid_events(20, seed=24)))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-5000:]
    assert (
        "bad configuration: generated DDL: CREATE TABLE IF NOT EXISTS `s3_tables`.`sink`.`bid_events_raw`: "
        "TableException: Could not execute CreateTable" in output
    ), output[-5000:]
    assert "; caused by S3Exception: Access Denied" in output, output[-5000:]  # the job's own line names it
    flink_log = Path(re.search(r"Flink's log: (\S+)", output).group(1)).read_text()
    assert "S3Exception: Access Denied (Service: S3, Status Code: 403" in flink_log
    assert [d for d in moto_iam.decisions(user) if not d["allowed"]] == [
        {"action": "s3tables:PutTableData", "resource": f"{arn}/table/bid_events_raw", "allowed": False}
    ]
