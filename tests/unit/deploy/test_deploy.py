"""deploy.py against a real AWS API server: moto in server mode, real HTTP, real boto3 clients.

What moto implements is tested for real: S3 upload, CreateApplication, DescribeApplication,
ListApplications (create, deploy twice, dry run, status, refusal of bad input). moto 5.2.5
answers UpdateApplication, StartApplication and StopApplication with HTTP 500 "not
implemented", so those calls go through botocore's Stubber instead: it checks every request
against the real service model (names, types, required members) and the test pins the exact
parameters. Tests using it say "Stubber" in their names.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import random
import re
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

import deploy
from common.load.properties import read_groups
from common.state.stable_ids import StateMap
from tests.support.harness import edited_config, free_port

ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
APP = "kafka-to-iceberg-test"
BUCKET = "code-bucket-test"
KEY = "flink/managed-flink-app.zip"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"]
SECURITY_GROUPS = ["sg-0a1b2c3d4e5f60718"]
BUILT_ZIP = ROOT / "target" / "managed-flink-app.zip"


# --- moto server: the moto_server fixture of tests/conftest.py ------------------------------


@pytest.fixture
def aws(moto_server, monkeypatch) -> dict[str, str]:
    """A fresh moto (reset per test) with the code bucket, and the environment that points at it."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).close()
    # AWS_REGION only (not AWS_DEFAULT_REGION): deploy.py must honour the SDKs' newer name too.
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_server,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    client("s3").create_bucket(Bucket=BUCKET)
    return env


def client(service: str):
    """A real boto3 client; AWS_ENDPOINT_URL (set by the aws fixture) sends it to moto."""
    return boto3.client(service, region_name=REGION)


# --- inputs -------------------------------------------------------------------------------------


@pytest.fixture
def account_id() -> str:
    return str(random.randrange(10**11, 10**12))


@pytest.fixture
def role_arn(account_id) -> str:
    return f"arn:aws:iam::{account_id}:role/flink-app-test"


@pytest.fixture
def log_stream_arn(account_id) -> str:
    return f"arn:aws:logs:{REGION}:{account_id}:log-group:/aws/flink/{APP}:log-stream:flink"


def deployed_groups(account_id: str, **changes: dict[str, str]) -> dict[str, dict[str, str]]:
    """The repository's properties, turned into what a deployment uses (MSK + IAM, S3 Tables)."""
    groups = read_groups(ROOT / "application_properties.json")
    groups["kinesis.analytics.flink.run.options"]["pyFiles"] = "lib/python"
    groups["kafka"].update(
        {"bootstrap.servers": f"b-1.test-cluster.abc123.c2.kafka.{REGION}.amazonaws.com:9098", "auth": "iam"}
    )
    groups["iceberg"].update(
        {"catalog.type": "s3tables", "warehouse": f"arn:aws:s3tables:{REGION}:{account_id}:bucket/lakehouse-test"}
    )
    groups["flink"].update({"checkpoint.interval": "10s", "parallelism": "2"})
    for gid, pmap in changes.items():
        groups.setdefault(gid, {}).update(pmap)
    return groups


def write_properties(path: Path, groups: dict[str, dict[str, str]]) -> Path:
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()], indent=2))
    return path


def write_zip(path: Path, revision: str = "1") -> Path:
    """A small stand-in for target/managed-flink-app.zip with the paths the run options name."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("streaming_job.py", f"# revision {revision}\n")
        archive.writestr("lib/pyflink-dependencies.jar", b"PK\x05\x06" + bytes(18))
        archive.writestr("lib/python/yaml/__init__.py", "")
    return path


@pytest.fixture
def inputs(tmp_path, account_id):
    properties = write_properties(tmp_path / "deploy_properties.json", deployed_groups(account_id))
    return properties, write_zip(tmp_path / "app.zip")


def deploy_args(properties: Path, zip_path: Path, role_arn: str, log_stream_arn: str, *extra: str) -> list[str]:
    return [
        "deploy",
        "--application-name",
        APP,
        "--properties",
        str(properties),
        "--zip",
        str(zip_path),
        "--bucket",
        BUCKET,
        "--key",
        KEY,
        "--role-arn",
        role_arn,
        "--log-stream-arn",
        log_stream_arn,
        "--subnet-ids",
        ",".join(SUBNETS),
        "--security-group-ids",
        ",".join(SECURITY_GROUPS),
        "--parallelism-per-kpu",
        "2",
        *extra,
    ]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """deploy.py as a user runs it: its own process, AWS settings from the environment only."""
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )


def moto_application() -> dict:
    return client("kinesisanalyticsv2").describe_application(ApplicationName=APP)["ApplicationDetail"]


def moto_applications() -> list[str]:
    return [s["ApplicationName"] for s in client("kinesisanalyticsv2").list_applications()["ApplicationSummaries"]]


def moto_objects() -> list[str]:
    return [o["Key"] for o in client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


# --- against moto -------------------------------------------------------------------------------


def test_deploy_creates_the_application_as_requested(aws, inputs, role_arn, log_stream_arn):
    properties, zip_path = inputs
    result = run_cli(*deploy_args(properties, zip_path, role_arn, log_stream_arn))
    assert result.returncode == 0, result.stderr

    head = client("s3").head_object(Bucket=BUCKET, Key=KEY)
    assert head["Metadata"]["sha256"] == hashlib.sha256(zip_path.read_bytes()).hexdigest()

    app = moto_application()
    assert app["RuntimeEnvironment"] == "FLINK-2_2"
    assert app["ServiceExecutionRole"] == role_arn
    config = app["ApplicationConfigurationDescription"]
    code = config["ApplicationCodeConfigurationDescription"]
    assert code["CodeContentType"] == "ZIPFILE"
    assert code["CodeContentDescription"]["S3ApplicationCodeLocationDescription"] == {
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "FileKey": KEY,
    }
    stored = {
        g["PropertyGroupId"]: g["PropertyMap"]
        for g in config["EnvironmentPropertyDescriptions"]["PropertyGroupDescriptions"]
    }
    assert stored == read_groups(properties)  # every group, run options included
    assert stored["kinesis.analytics.flink.run.options"] == {
        "python": "streaming_job.py",
        "jarfile": "lib/pyflink-dependencies.jar",
        "pyFiles": "lib/python",
    }
    flink = config["FlinkApplicationConfigurationDescription"]
    assert flink["CheckpointConfigurationDescription"] == {
        "ConfigurationType": "CUSTOM",
        "CheckpointingEnabled": True,
        "CheckpointInterval": 60_000,  # deploy.py's default; the properties' 10s is for local runs
        "MinPauseBetweenCheckpoints": 5_000,
    }
    parallelism = flink["ParallelismConfigurationDescription"]
    assert (
        parallelism["ConfigurationType"],
        parallelism["Parallelism"],
        parallelism["ParallelismPerKPU"],
        parallelism["AutoScalingEnabled"],
    ) == ("CUSTOM", 2, 2, True)  # flink.parallelism = 2
    assert flink["MonitoringConfigurationDescription"] == {
        "ConfigurationType": "CUSTOM",
        "MetricsLevel": "APPLICATION",
        "LogLevel": "INFO",
    }
    assert config["ApplicationSnapshotConfigurationDescription"] == {"SnapshotsEnabled": True}
    [vpc] = config["VpcConfigurationDescriptions"]
    assert (vpc["SubnetIds"], vpc["SecurityGroupIds"]) == (SUBNETS, SECURITY_GROUPS)
    assert [o["LogStreamARN"] for o in app["CloudWatchLoggingOptionDescriptions"]] == [log_stream_arn]


def test_checkpoint_interval_argument_sets_the_managed_interval(aws, inputs, role_arn, log_stream_arn):
    properties, zip_path = inputs
    result = run_cli(*deploy_args(properties, zip_path, role_arn, log_stream_arn), "--checkpoint-interval", "2min")
    assert result.returncode == 0, result.stderr
    checkpoint = moto_application()["ApplicationConfigurationDescription"]["FlinkApplicationConfigurationDescription"][
        "CheckpointConfigurationDescription"
    ]
    assert checkpoint["CheckpointInterval"] == 120_000


def test_deploy_twice_is_safe(aws, inputs, role_arn, log_stream_arn):
    properties, zip_path = inputs
    args = deploy_args(properties, zip_path, role_arn, log_stream_arn)
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    uploaded_at = client("s3").head_object(Bucket=BUCKET, Key=KEY)["LastModified"]

    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    assert "already holds this zip" in second.stderr
    assert "up to date: nothing to change" in second.stderr
    assert moto_applications() == [APP]
    assert moto_application()["ApplicationVersionId"] == 1
    assert client("s3").head_object(Bucket=BUCKET, Key=KEY)["LastModified"] == uploaded_at


def test_dry_run_prints_the_create_call_and_changes_nothing(aws, inputs, role_arn, log_stream_arn):
    properties, zip_path = inputs
    result = run_cli(*deploy_args(properties, zip_path, role_arn, log_stream_arn), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "# would call s3.PutObject" in result.stdout
    create = result.stdout.split("# would call kinesisanalyticsv2.CreateApplication\n", 1)[1]
    request = json.loads(create)
    assert request["RuntimeEnvironment"] == "FLINK-2_2"
    assert request["ApplicationConfiguration"]["ApplicationCodeConfiguration"]["CodeContent"] == {
        "S3ContentLocation": {"BucketARN": f"arn:aws:s3:::{BUCKET}", "FileKey": KEY}
    }
    assert moto_applications() == []
    assert moto_objects() == []


def test_dry_run_and_debug_log_show_property_groups_redacted(aws, tmp_path, account_id, role_arn, log_stream_arn):
    """Property groups may carry credentials: the dry run prints them hidden, -v logs none."""
    secret = "dry-run-example-secret-value"
    groups = deployed_groups(
        account_id, iceberg={"option.s3.secret-access-key": secret, "option.client.region": REGION}
    )
    properties = write_properties(tmp_path / "secret.json", groups)
    result = run_cli(
        *deploy_args(properties, write_zip(tmp_path / "app.zip"), role_arn, log_stream_arn), "--dry-run", "-v"
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    create = json.loads(result.stdout.split("# would call kinesisanalyticsv2.CreateApplication\n", 1)[1])
    shown = {
        g["PropertyGroupId"]: g["PropertyMap"]
        for g in create["ApplicationConfiguration"]["EnvironmentProperties"]["PropertyGroups"]
    }
    assert shown["iceberg"]["option.s3.secret-access-key"] == "****"
    assert shown["iceberg"]["option.client.region"] == REGION
    assert shown["kafka"] == groups["kafka"]


def test_dry_run_of_a_changed_deployment_prints_the_update(aws, tmp_path, inputs, account_id, role_arn, log_stream_arn):
    properties, zip_path = inputs
    assert run_cli(*deploy_args(properties, zip_path, role_arn, log_stream_arn)).returncode == 0
    changed = write_properties(tmp_path / "changed.json", deployed_groups(account_id, iceberg={"namespace": "sink_v2"}))
    result = run_cli(*deploy_args(changed, zip_path, role_arn, log_stream_arn), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "PutObject" not in result.stdout  # the same zip is in S3 already
    update = json.loads(result.stdout.split("# would call kinesisanalyticsv2.UpdateApplication\n", 1)[1])
    assert update == {
        "ApplicationName": APP,
        "CurrentApplicationVersionId": 1,
        "ApplicationConfigurationUpdate": {
            "EnvironmentPropertyUpdates": {
                "PropertyGroups": [{"PropertyGroupId": g, "PropertyMap": m} for g, m in read_groups(changed).items()]
            }
        },
    }
    stored = {
        g["PropertyGroupId"]: g["PropertyMap"]
        for g in moto_application()["ApplicationConfigurationDescription"]["EnvironmentPropertyDescriptions"][
            "PropertyGroupDescriptions"
        ]
    }
    assert stored["iceberg"]["namespace"] == "sink"  # unchanged: a dry run


def test_status_reports_the_application(aws, inputs, role_arn, log_stream_arn):
    properties, zip_path = inputs
    assert run_cli(*deploy_args(properties, zip_path, role_arn, log_stream_arn)).returncode == 0
    result = run_cli("status", "--application-name", APP)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["ApplicationName"] == APP
    assert status["ApplicationStatus"] == "STARTING"  # what moto reports after create
    assert status["RuntimeEnvironment"] == "FLINK-2_2"
    assert status["Code"] == {"BucketARN": f"arn:aws:s3:::{BUCKET}", "FileKey": KEY}
    assert status["Vpc"][0]["SubnetIds"] == SUBNETS


def test_status_of_a_missing_application_is_an_aws_error(aws):
    result = run_cli("status", "--application-name", "no-such-app")
    assert result.returncode == 1
    assert "no application named 'no-such-app'" in result.stderr


@pytest.mark.jvm
def test_the_built_zip_deploys(aws, tmp_path, account_id, role_arn, log_stream_arn):
    """`mvn package` + deploy.py take a checkout to a created application (here in moto)."""
    if not BUILT_ZIP.is_file():
        pytest.fail(f"{BUILT_ZIP} does not exist: build it with `mvn package` (make test does) before the tests")
    properties = write_properties(tmp_path / "deploy_properties.json", deployed_groups(account_id))
    result = run_cli(*deploy_args(properties, BUILT_ZIP, role_arn, log_stream_arn), timeout=600)  # plans the job
    assert result.returncode == 0, result.stderr
    uploaded = client("s3").get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    state_map = client("s3").get_object(Bucket=BUCKET, Key=f"{KEY}.state-ids.json")["Body"].read().decode()
    with zipfile.ZipFile(io.BytesIO(uploaded)) as archive:  # the built zip plus the plan's state map
        assert archive.read("state-ids.json").decode() == state_map
        with zipfile.ZipFile(BUILT_ZIP) as built:
            assert sorted(archive.namelist()) == sorted([*built.namelist(), "state-ids.json"])
    assert "big_bids" not in state_map and '"bid_events_aggregated"' in state_map
    assert moto_application()["RuntimeEnvironment"] == "FLINK-2_2"


def test_unreachable_aws_is_an_aws_error(monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = run_cli("status", "--application-name", APP)
    assert result.returncode == 1
    assert "Could not connect to the endpoint URL" in result.stderr


BROKEN = {
    "not JSON": ("{not json", "not valid JSON"),
    "no jarfile": (
        {"kinesis.analytics.flink.run.options": {"python": "streaming_job.py"}},
        "kinesis.analytics.flink.run.options.jarfile: missing or empty",
    ),
    "local catalog": ({"iceberg": {"catalog.type": "hadoop"}}, "iceberg.catalog.type"),
    "loopback brokers": ({"kafka": {"bootstrap.servers": "127.0.0.1:9092"}}, "kafka.bootstrap.servers"),
    "bad auth": ({"kafka": {"auth": "iamm"}}, "did you mean 'iam'?"),
    "pyFiles missing": (
        {"kinesis.analytics.flink.run.options": {"pyFiles": ""}},
        "bundles Python packages under lib/python/ but pyFiles does not name that folder",
    ),
    "jar not in zip": (
        {"kinesis.analytics.flink.run.options": {"jarfile": "lib/other.jar"}},
        "'lib/other.jar' is not in app.zip",
    ),
    "unsupported run option": (
        {"kinesis.analytics.flink.run.options": {"pyRequirements": "requirements.txt"}},
        "not supported by Managed Service for Apache Flink",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_properties_are_refused_before_any_api_call(aws, tmp_path, account_id, role_arn, log_stream_arn, case):
    change, message = BROKEN[case]
    path = tmp_path / "broken.json"
    if isinstance(change, str):
        path.write_text(change)
    else:
        groups = deployed_groups(account_id)
        for gid, pmap in change.items():
            groups[gid].update(pmap)
            if case == "no jarfile":
                groups[gid].pop("jarfile")
        write_properties(path, groups)
    result = run_cli(*deploy_args(path, write_zip(tmp_path / "app.zip"), role_arn, log_stream_arn))
    assert result.returncode == 2, result.stderr
    assert "bad input" in result.stderr and str(path) in result.stderr and message in result.stderr
    assert moto_applications() == []  # moto got no CreateApplication
    assert moto_objects() == []  # and no upload


def test_bad_input_is_refused_even_with_aws_unreachable(tmp_path, account_id, role_arn, log_stream_arn, monkeypatch):
    """Exit 2, not 1: the check comes before the first call, which would fail here."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_REGION", REGION)
    properties = write_properties(tmp_path / "p.json", deployed_groups(account_id, flink={"parallelism": "zero"}))
    result = run_cli(*deploy_args(properties, write_zip(tmp_path / "app.zip"), role_arn, log_stream_arn))
    assert result.returncode == 2
    assert "flink.parallelism: 'zero' is not a positive integer" in result.stderr


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--role-arn", "arn:aws:iam::123:role/x", "--role-arn: 'arn:aws:iam::123:role/x' is not valid"),
        ("--subnet-ids", "subnet-nothex", "--subnet-ids: 'subnet-nothex' is not valid"),
        ("--log-stream-arn", "my-log-stream", "--log-stream-arn: 'my-log-stream' is not valid"),
        ("--runtime", "FLINK-9_9", "'FLINK-9_9' is not a runtime the installed botocore knows"),
        ("--checkpoint-interval", "soon", "--checkpoint-interval: 'soon' is not a duration"),
    ],
)
def test_bad_arguments_are_refused(aws, inputs, role_arn, log_stream_arn, option, value, message):
    properties, zip_path = inputs
    args = deploy_args(properties, zip_path, role_arn, log_stream_arn)
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert moto_applications() == []


# --- UpdateApplication / StartApplication / StopApplication: botocore Stubber ----------------------
# moto does not implement these; the Stubber validates each request against the service model.


@pytest.fixture
def stubbed(aws):
    """A kinesisanalyticsv2 client whose calls are answered by a Stubber (validated against the
    service model), with a real S3 client on moto beside it."""
    kda = client("kinesisanalyticsv2")
    with Stubber(kda) as stub:
        yield stub, deploy.Clients(kinesisanalyticsv2=kda, s3=client("s3"))
        stub.assert_no_pending_responses()


APP_ACCOUNT = str(random.randrange(10**11, 10**12))


def summary(detail: dict) -> dict:
    return {
        "ApplicationSummaries": [
            {
                k: detail[k]
                for k in (
                    "ApplicationName",
                    "ApplicationARN",
                    "ApplicationStatus",
                    "ApplicationVersionId",
                    "RuntimeEnvironment",
                )
            }
        ]
    }


def application_detail(status: str = "READY", version: int = 1) -> dict:
    return {
        "ApplicationName": APP,
        "ApplicationARN": f"arn:aws:kinesisanalytics:{REGION}:{APP_ACCOUNT}:application/{APP}",
        "RuntimeEnvironment": "FLINK-2_2",
        "ApplicationStatus": status,
        "ApplicationVersionId": version,
    }


def run_main(args: list[str], clients: deploy.Clients) -> tuple[int, str]:
    out = io.StringIO()
    return deploy.main(args, clients=clients, out=out), out.getvalue()


def test_update_with_a_new_code_version_via_stubber(stubbed, tmp_path, inputs, account_id, role_arn, log_stream_arn):
    """Created for real in moto (versioned bucket); then a new zip and a changed property: the
    upload is real, the UpdateApplication request is checked by the Stubber, parameter by parameter."""
    stub, clients = stubbed
    s3 = client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    properties, zip_path = inputs
    assert run_cli(*deploy_args(properties, zip_path, role_arn, log_stream_arn)).returncode == 0
    created = {"ApplicationName": APP, **moto_application()}  # moto leaves ApplicationName out
    # moto's "fakechecksum" is no valid CodeMD5 (the model wants 128 characters): drop it.
    del created["ApplicationConfigurationDescription"]["ApplicationCodeConfigurationDescription"][
        "CodeContentDescription"
    ]["CodeMD5"]
    first_version = s3.head_object(Bucket=BUCKET, Key=KEY)["VersionId"]
    assert (
        created["ApplicationConfigurationDescription"]["ApplicationCodeConfigurationDescription"][
            "CodeContentDescription"
        ]["S3ApplicationCodeLocationDescription"]["ObjectVersion"]
        == first_version
    )

    new_zip = write_zip(tmp_path / "app-v2.zip", revision="2")
    changed = write_properties(tmp_path / "changed.json", deployed_groups(account_id, iceberg={"namespace": "sink_v2"}))
    stub.add_response("list_applications", summary(created))
    stub.add_response("describe_application", {"ApplicationDetail": created}, {"ApplicationName": APP})
    expected = {
        "ApplicationName": APP,
        "CurrentApplicationVersionId": 1,
        "ApplicationConfigurationUpdate": {
            "ApplicationCodeConfigurationUpdate": {
                "CodeContentTypeUpdate": "ZIPFILE",
                "CodeContentUpdate": {
                    "S3ContentLocationUpdate": {
                        "BucketARNUpdate": f"arn:aws:s3:::{BUCKET}",
                        "FileKeyUpdate": KEY,
                        "ObjectVersionUpdate": ANY,
                    }
                },
            },  # S3 assigns it on upload; checked below
            "EnvironmentPropertyUpdates": {
                "PropertyGroups": [{"PropertyGroupId": g, "PropertyMap": m} for g, m in read_groups(changed).items()]
            },
        },
    }
    stub.add_response("update_application", {"ApplicationDetail": {**application_detail("READY", 2)}}, expected)
    sent = []
    clients.kinesisanalyticsv2.meta.events.register(
        "provide-client-params.kinesis-analytics-v2.UpdateApplication", lambda params, **_: sent.append(params)
    )

    code, _ = run_main(deploy_args(changed, new_zip, role_arn, log_stream_arn), clients)
    assert code == 0
    new_version = s3.head_object(Bucket=BUCKET, Key=KEY)["VersionId"]
    assert new_version != first_version
    assert (
        sent[0]["ApplicationConfigurationUpdate"]["ApplicationCodeConfigurationUpdate"]["CodeContentUpdate"][
            "S3ContentLocationUpdate"
        ]["ObjectVersionUpdate"]
        == new_version
    )
    assert s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == new_zip.read_bytes()


def test_update_adds_logging_and_vpc_then_updates_via_stubber(stubbed, inputs, role_arn, log_stream_arn):
    """An application created without logging and VPC gets them through their own calls, each
    with the version id the previous call returned."""
    stub, clients = stubbed
    properties, zip_path = inputs
    client("s3").upload_file(
        str(zip_path),
        BUCKET,
        KEY,
        ExtraArgs={"Metadata": {"sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest()}},
    )
    spec_groups = read_groups(properties)
    current = {
        **application_detail("RUNNING", 7),
        "ServiceExecutionRole": role_arn,
        "ApplicationConfigurationDescription": {
            "ApplicationCodeConfigurationDescription": {
                "CodeContentType": "ZIPFILE",
                "CodeContentDescription": {
                    "S3ApplicationCodeLocationDescription": {"BucketARN": f"arn:aws:s3:::{BUCKET}", "FileKey": KEY}
                },
            },
            "EnvironmentPropertyDescriptions": {
                "PropertyGroupDescriptions": [{"PropertyGroupId": g, "PropertyMap": m} for g, m in spec_groups.items()]
            },
            "FlinkApplicationConfigurationDescription": {
                "CheckpointConfigurationDescription": {
                    "ConfigurationType": "DEFAULT",
                    "CheckpointingEnabled": True,
                    "CheckpointInterval": 60000,
                    "MinPauseBetweenCheckpoints": 5000,
                },
                "MonitoringConfigurationDescription": {
                    "ConfigurationType": "CUSTOM",
                    "MetricsLevel": "APPLICATION",
                    "LogLevel": "INFO",
                },
                "ParallelismConfigurationDescription": {
                    "ConfigurationType": "CUSTOM",
                    "Parallelism": 2,
                    "ParallelismPerKPU": 2,
                    "AutoScalingEnabled": True,
                },
            },
            "ApplicationSnapshotConfigurationDescription": {"SnapshotsEnabled": True},
        },
    }
    stub.add_response("list_applications", summary(current))
    stub.add_response("describe_application", {"ApplicationDetail": current}, {"ApplicationName": APP})
    stub.add_response(
        "add_application_cloud_watch_logging_option",
        {"ApplicationARN": current["ApplicationARN"], "ApplicationVersionId": 8},
        {
            "ApplicationName": APP,
            "CurrentApplicationVersionId": 7,
            "CloudWatchLoggingOption": {"LogStreamARN": log_stream_arn},
        },
    )
    stub.add_response(
        "add_application_vpc_configuration",
        {"ApplicationARN": current["ApplicationARN"], "ApplicationVersionId": 9},
        {
            "ApplicationName": APP,
            "CurrentApplicationVersionId": 8,
            "VpcConfiguration": {"SubnetIds": SUBNETS, "SecurityGroupIds": SECURITY_GROUPS},
        },
    )
    stub.add_response(
        "update_application",
        {"ApplicationDetail": application_detail("UPDATING", 10)},
        {
            "ApplicationName": APP,
            "CurrentApplicationVersionId": 9,
            "ApplicationConfigurationUpdate": {
                "FlinkApplicationConfigurationUpdate": {
                    "CheckpointConfigurationUpdate": {
                        "ConfigurationTypeUpdate": "CUSTOM",
                        "CheckpointingEnabledUpdate": True,
                        "CheckpointIntervalUpdate": 60_000,
                        "MinPauseBetweenCheckpointsUpdate": 5_000,
                    }
                }
            },
        },
    )
    code, _ = run_main(deploy_args(properties, zip_path, role_arn, log_stream_arn), clients)
    assert code == 0


def test_start_via_stubber(stubbed):
    stub, clients = stubbed
    stub.add_response("list_applications", summary(application_detail("READY")))
    stub.add_response(
        "describe_application", {"ApplicationDetail": application_detail("READY")}, {"ApplicationName": APP}
    )
    stub.add_response(
        "start_application",
        {},
        {
            "ApplicationName": APP,
            "RunConfiguration": {
                "ApplicationRestoreConfiguration": {"ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"}
            },
        },
    )
    for status in ("STARTING", "RUNNING"):  # --wait polls until RUNNING
        stub.add_response(
            "describe_application", {"ApplicationDetail": application_detail(status)}, {"ApplicationName": APP}
        )
    code, _ = run_main(
        ["start", "--application-name", APP, "--restore", "latest", "--wait", "60", "--poll-interval", "0"], clients
    )
    assert code == 0


def test_start_that_falls_back_to_ready_fails_via_stubber(stubbed, caplog):
    stub, clients = stubbed
    stub.add_response("list_applications", summary(application_detail("READY")))
    stub.add_response(
        "describe_application", {"ApplicationDetail": application_detail("READY")}, {"ApplicationName": APP}
    )
    stub.add_response("start_application", {}, {"ApplicationName": APP})
    for status in ("READY", "STARTING", "READY"):  # not started yet, starting, then failed
        stub.add_response(
            "describe_application", {"ApplicationDetail": application_detail(status)}, {"ApplicationName": APP}
        )
    code, _ = run_main(["start", "--application-name", APP, "--wait", "60", "--poll-interval", "0"], clients)
    assert code == 1
    assert "went back to READY" in caplog.text


def test_start_when_running_changes_nothing_via_stubber(stubbed):
    stub, clients = stubbed
    stub.add_response("list_applications", summary(application_detail("RUNNING")))
    stub.add_response(
        "describe_application", {"ApplicationDetail": application_detail("RUNNING")}, {"ApplicationName": APP}
    )
    code, _ = run_main(["start", "--application-name", APP], clients)
    assert code == 0  # and no StartApplication: the Stubber would fail on an unexpected call


def test_start_refused_by_the_service_is_an_aws_error_via_stubber(stubbed, caplog):
    stub, clients = stubbed
    stub.add_response("list_applications", summary(application_detail("UPDATING")))
    stub.add_response(
        "describe_application", {"ApplicationDetail": application_detail("UPDATING")}, {"ApplicationName": APP}
    )
    stub.add_client_error(
        "start_application",
        "ResourceInUseException",
        "Application is UPDATING",
        expected_params={"ApplicationName": APP},
    )
    code, _ = run_main(["start", "--application-name", APP], clients)
    assert code == 1
    assert "ResourceInUseException: Application is UPDATING" in caplog.text


def test_stop_via_stubber(stubbed):
    stub, clients = stubbed
    stub.add_response("list_applications", summary(application_detail("RUNNING")))
    stub.add_response(
        "describe_application", {"ApplicationDetail": application_detail("RUNNING")}, {"ApplicationName": APP}
    )
    stub.add_response("stop_application", {}, {"ApplicationName": APP, "Force": False})
    for status in ("STOPPING", "READY"):
        stub.add_response(
            "describe_application", {"ApplicationDetail": application_detail(status)}, {"ApplicationName": APP}
        )
    code, _ = run_main(["stop", "--application-name", APP, "--wait", "60", "--poll-interval", "0"], clients)
    assert code == 0


def test_stop_dry_run_prints_the_call_via_stubber(stubbed):
    stub, clients = stubbed
    stub.add_response("list_applications", summary(application_detail("RUNNING")))
    stub.add_response(
        "describe_application", {"ApplicationDetail": application_detail("RUNNING")}, {"ApplicationName": APP}
    )
    code, out = run_main(["stop", "--application-name", APP, "--force", "--dry-run"], clients)
    assert code == 0
    assert json.loads(out.split("# would call kinesisanalyticsv2.StopApplication\n", 1)[1]) == {
        "ApplicationName": APP,
        "Force": True,
    }


# The execution role's policy: tests/unit/deploy/test_iam_policy.py.


# --- table-maintenance: S3 Tables' own maintenance ---------------------------------------------------
# moto 5.2.5 implements no s3tables maintenance call (Get/Put Table[Bucket]MaintenanceConfiguration):
# the Stubber checks each request against the service model and the test pins its parameters.


def job_tables() -> list[str]:
    from common.load.config import load_project

    return [p.sink_table for p in load_project().pipelines] + ["dead_letters"]


def maintenance_value(kind: str, **settings) -> dict:
    return {"status": "enabled", "settings": {kind: settings}}


SERVICE_DEFAULTS = {  # what a new table reports before anyone configures it
    "icebergCompaction": maintenance_value("icebergCompaction", targetFileSizeMB=512, strategy="auto"),
    "icebergSnapshotManagement": maintenance_value(
        "icebergSnapshotManagement", minSnapshotsToKeep=1, maxSnapshotAgeHours=120
    ),
}
WANTED = {  # from common.render.iceberg_sinks.TABLE_PROPERTIES: 128 MiB target, 10 snapshots, 1 day
    "icebergCompaction": maintenance_value("icebergCompaction", targetFileSizeMB=128, strategy="auto"),
    "icebergSnapshotManagement": maintenance_value(
        "icebergSnapshotManagement", minSnapshotsToKeep=10, maxSnapshotAgeHours=24
    ),
}
UNREFERENCED = maintenance_value("icebergUnreferencedFileRemoval", unreferencedDays=3, nonCurrentDays=10)


@pytest.fixture
def s3tables_stub(aws):
    s3tables = client("s3tables")
    with Stubber(s3tables) as stub:
        yield stub, deploy.Clients(kinesisanalyticsv2=client("kinesisanalyticsv2"), s3=client("s3"), s3tables=s3tables)
        stub.assert_no_pending_responses()


def test_table_maintenance_matches_the_table_properties_via_stubber(s3tables_stub, inputs, account_id):
    """Bucket already as wanted: left alone. The first table does not exist yet: skipped. Every
    other table still has the service's defaults: both of its configurations are set."""
    stub, clients = s3tables_stub
    properties, _ = inputs
    bucket = f"arn:aws:s3tables:{REGION}:{account_id}:bucket/lakehouse-test"
    stub.add_response(
        "get_table_bucket_maintenance_configuration",
        {"tableBucketARN": bucket, "configuration": {"icebergUnreferencedFileRemoval": UNREFERENCED}},
        {"tableBucketARN": bucket},
    )
    first, *others = job_tables()
    stub.add_client_error(
        "get_table_maintenance_configuration",
        "NotFoundException",
        http_status_code=404,
        expected_params={"tableBucketARN": bucket, "namespace": "sink", "name": first},
    )
    for table in others:
        where = {"tableBucketARN": bucket, "namespace": "sink", "name": table}
        stub.add_response(
            "get_table_maintenance_configuration",
            {"tableARN": f"{bucket}/table/{table}", "configuration": SERVICE_DEFAULTS},
            where,
        )
        for kind in ("icebergCompaction", "icebergSnapshotManagement"):
            stub.add_response("put_table_maintenance_configuration", {}, {**where, "type": kind, "value": WANTED[kind]})
    code, _ = run_main(["table-maintenance", "--properties", str(properties)], clients)
    assert code == 0


def test_table_maintenance_dry_run_prints_what_differs_via_stubber(s3tables_stub, inputs, account_id):
    stub, clients = s3tables_stub
    properties, _ = inputs
    bucket = f"arn:aws:s3tables:{REGION}:{account_id}:bucket/lakehouse-test"
    stub.add_response(
        "get_table_bucket_maintenance_configuration",
        {"tableBucketARN": bucket, "configuration": {}},
        {"tableBucketARN": bucket},
    )
    for table in job_tables():
        stub.add_response(
            "get_table_maintenance_configuration",
            {"tableARN": f"{bucket}/table/{table}", "configuration": WANTED},
            {"tableBucketARN": bucket, "namespace": "sink", "name": table},
        )
    code, out = run_main(["table-maintenance", "--properties", str(properties), "--dry-run"], clients)
    assert code == 0
    head, body = out.split("\n", 1)
    assert head == "# would call s3tables.PutTableBucketMaintenanceConfiguration"
    assert json.loads(body) == {
        "tableBucketARN": bucket,
        "type": "icebergUnreferencedFileRemoval",
        "value": UNREFERENCED,
    }


def test_table_maintenance_refuses_a_target_the_service_does_not_take(inputs):
    properties, _ = inputs
    result = run_cli("table-maintenance", "--properties", str(properties), "--target-file-size-mb", "1024")
    assert result.returncode == 2
    assert "--target-file-size-mb: 1024 is out of range (valid: 64..512)" in result.stderr


# --- the plan diff across deployments (common/deploy/deploy_state.py) -------------------------------------


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, tuple[Path, StateMap]]:
    """The job's real state maps (compiled by streaming_job.py --dry-run) of the shipped config and
    of the edit, as a deployment of each would make them."""
    from common.deploy.deploy_state import compile_with_job

    base = tmp_path_factory.mktemp("plans")
    properties = write_properties(base / "p.json", deployed_groups("123456789012"))
    shipped = compile_with_job(ROOT / "config", properties, None)
    edited = edited_config(base / "edited")
    return {"shipped": (ROOT / "config", shipped), "edited": (edited, compile_with_job(edited, properties, shipped))}


def zip_with_config(path: Path, config: Path) -> Path:
    write_zip(path)
    with zipfile.ZipFile(path, "a") as archive:
        for name in ("topics.yaml", "transformations.yaml"):
            archive.writestr(f"config/{name}", (config / name).read_text())
    return path


@pytest.mark.jvm
def test_deploys_carry_the_state_map_and_pick_the_restore_settings_via_stubber(
    stubbed, plans, monkeypatch, caplog, tmp_path, inputs, role_arn, log_stream_arn
):
    """Created in moto with the shipped config: the zip and S3 carry its state map. Then the edit
    (a changed session window, a removed pipeline) is refused until the loss is named; named, the
    update restores the latest snapshot and allows the removed pipeline's state to go unclaimed."""
    from common.deploy import deploy_state

    def compiled(config: Path, _properties: Path, previous):
        name = "edited" if "20 min" in (config / "transformations.yaml").read_text() else "shipped"
        assert (previous is None) == (name == "shipped")
        return plans[name][1]

    monkeypatch.setattr(deploy_state, "compile_with_job", compiled)
    stub, clients = stubbed
    s3 = client("s3")
    properties, _ = inputs
    first = zip_with_config(tmp_path / "v1.zip", plans["shipped"][0])
    code, _ = run_main(
        deploy_args(properties, first, role_arn, log_stream_arn),
        deploy.Clients(kinesisanalyticsv2=client("kinesisanalyticsv2"), s3=s3),
    )
    assert code == 0
    shipped_map = plans["shipped"][1].to_json()
    with zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())) as uploaded:
        assert uploaded.read("state-ids.json").decode() == shipped_map
    assert s3.get_object(Bucket=BUCKET, Key=f"{KEY}.state-ids.json")["Body"].read().decode() == shipped_map

    created = {"ApplicationName": APP, **moto_application()}
    del created["ApplicationConfigurationDescription"]["ApplicationCodeConfigurationDescription"][
        "CodeContentDescription"
    ]["CodeMD5"]
    second = zip_with_config(tmp_path / "v2.zip", plans["edited"][0])
    for _ in range(3):
        stub.add_response("list_applications", summary(created))
        stub.add_response("describe_application", {"ApplicationDetail": created}, {"ApplicationName": APP})
    with caplog.at_level(logging.INFO, logger="common.deploy.deploy_state"):
        code, printed = run_main(
            deploy_args(
                properties, second, role_arn, log_stream_arn, "--dry-run", "--allow-state-loss", "session_analytics"
            ),
            clients,
        )
    assert code == 0  # --dry-run: the diff and the calls it would make, nothing changed
    assert re.search(r"plan: session_analytics\s+changed \(state dropped: window-aggregate#", caplog.text)
    assert re.search(r"plan: order_events_enriched\s+removed", caplog.text)
    assert re.search(r"plan: bid_events_aggregated\s+kept with its state", caplog.text)
    assert '"AllowNonRestoredState": true' in printed and "RESTORE_FROM_LATEST_SNAPSHOT" in printed
    assert s3.get_object(Bucket=BUCKET, Key=f"{KEY}.state-ids.json")["Body"].read().decode() == shipped_map
    code, _ = run_main(deploy_args(properties, second, role_arn, log_stream_arn), clients)
    assert code == 2  # refused: no UpdateApplication (the Stubber has no answer for one)
    assert s3.get_object(Bucket=BUCKET, Key=f"{KEY}.state-ids.json")["Body"].read().decode() == shipped_map

    expected_run = {
        "ApplicationRestoreConfiguration": {"ApplicationRestoreType": "RESTORE_FROM_LATEST_SNAPSHOT"},
        "FlinkRunConfiguration": {"AllowNonRestoredState": True},
    }
    stub.add_response(
        "update_application",
        {"ApplicationDetail": application_detail("READY", 2)},
        {
            "ApplicationName": APP,
            "CurrentApplicationVersionId": 1,
            "ApplicationConfigurationUpdate": ANY,
            "RunConfigurationUpdate": expected_run,
        },
    )
    code, _ = run_main(
        deploy_args(properties, second, role_arn, log_stream_arn, "--allow-state-loss", "session_analytics"), clients
    )
    assert code == 0
    edited_map = plans["edited"][1].to_json()
    assert s3.get_object(Bucket=BUCKET, Key=f"{KEY}.state-ids.json")["Body"].read().decode() == edited_map
