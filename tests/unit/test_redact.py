"""Nothing secret on screen: catalog options and Kafka client properties are shown redacted.

A properties file whose catalog options carry an access key, a secret access key and a
session token, and whose Kafka client properties carry a password inside sasl.jaas.config:
those values flow into the DDL the job runs (checked), yet neither ``--dry-run``'s output nor
a ``-v`` run's log shows them, while the options that are not secret stay readable.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from common.load.config import load_project
from common.load.properties import read_groups, settings_from_groups
from common.logs import RedactingFormatter
from common.ops.local_warehouse import open_table
from common.redact import REDACTED, is_secret_key, redact, redact_sql, redact_text, redact_value
from common.render.job_plan import build_plan
from sample_gen import bid_events, produce

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "access key id": "example-access-key-id-0001",
    "secret access key": "wJalrXUtnFEMI-example-secret",
    "session token": "FwoGZXIvYXdzEXAMPLEsessiontoken",
    "kafka password": "kafka-pa55word-example",
}
JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" '
    f'password="{SECRETS["kafka password"]}";'
)
JAAS_SHOWN = f'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password={REDACTED};'


def secret_properties(path: Path) -> Path:
    """The repository's properties plus credential-like catalog options and Kafka properties."""
    groups = read_groups(ROOT / "application_properties.json")
    groups["iceberg"].update(
        {
            "option.s3.access-key-id": SECRETS["access key id"],
            "option.s3.secret-access-key": SECRETS["secret access key"],
            "option.s3.session-token": SECRETS["session token"],
            "option.client.region": "eu-west-1",
        }
    )
    groups["kafka"].update({"property.sasl.jaas.config": JAAS, "property.client.dns.lookup": "use_all_dns_ips"})
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]))
    return path


def assert_nothing_secret(text: str) -> None:
    for what, value in SECRETS.items():
        assert value not in text, f"the {what} is on screen"


# --- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "s3.secret-access-key",
        "s3.access-key-id",
        "s3.session-token",
        "client.password",
        "ssl.truststore.password",
        "ssl.keystore.key",
        "basic.auth.user.info",
        "aws.secretAccessKey",
        "client.api_key",
        "gcs.oauth2.token",
        "private-key",
        "confluent.basic.auth.user.info",  # the registry property (status, deploy's dry run)
        "value.registry-avro.registry.basic-auth.user-info",  # the Avro source's option
        "idle-aware.registry.basic-auth.user-info",  # the idle-aware connector's, for Avro peers
    ],
)
def test_keys_that_name_a_credential_hide_their_whole_value(key):
    assert is_secret_key(key)
    assert redact_value(key, "anything at all") == REDACTED


@pytest.mark.parametrize(
    "key",
    [
        "client.region",
        "s3.endpoint",
        "warehouse",
        "bootstrap.servers",
        "catalog-impl",
        "sasl.mechanism",
        "security.protocol",
        "namespace",
        "value.registry-avro.registry.url",
        "value.registry-avro.registry.region",
    ],
)
def test_other_keys_keep_their_value(key):
    assert not is_secret_key(key)
    assert redact_value(key, "eu-west-1") == "eu-west-1"


def test_a_jaas_line_keeps_its_login_module_and_user_but_not_its_secrets():
    assert redact_value("sasl.jaas.config", JAAS) == JAAS_SHOWN
    assert (
        redact_text("Module required username='bob' password='p w';")
        == f"Module required username='bob' password={REDACTED};"
    )
    assert (
        redact_text(r'Module required username="u" password="p\"w;x";')
        == f'Module required username="u" password={REDACTED};'
    )
    assert (
        redact_text("Module required clientId=app clientSecret=abc123;")
        == f"Module required clientId=app clientSecret={REDACTED};"
    )
    msk_iam = "software.amazon.msk.auth.iam.IAMLoginModule required;"
    assert redact_value("properties.sasl.jaas.config", msk_iam) == msk_iam


def test_passwords_inside_urls_are_hidden():
    assert (
        redact_text("jdbc:postgresql://db:5432/x?user=u&password=pw1&ssl=true")
        == f"jdbc:postgresql://db:5432/x?user=u&password={REDACTED}&ssl=true"
    )
    assert redact_text("https://user:pw2@example.com/path") == f"https://user:{REDACTED}@example.com/path"
    assert redact_text("http://localhost:8081/jobs") == "http://localhost:8081/jobs"


def test_nested_mappings_and_lists_are_redacted_and_the_input_is_untouched():
    groups = [{"PropertyGroupId": "iceberg", "PropertyMap": {"option.s3.session-token": "t0k", "namespace": "sink"}}]
    params = {"ApplicationName": "app", "PropertyGroups": groups, "Credentials": {"anything": "x"}, "Parallelism": 2}
    assert redact(params) == {
        "ApplicationName": "app",
        "Credentials": REDACTED,
        "Parallelism": 2,
        "PropertyGroups": [
            {"PropertyGroupId": "iceberg", "PropertyMap": {"option.s3.session-token": REDACTED, "namespace": "sink"}}
        ],
    }
    assert groups[0]["PropertyMap"]["option.s3.session-token"] == "t0k"
    assert redact_value("token", None) is None


def test_sql_options_are_redacted_with_their_quoting_intact():
    sql = (
        "CREATE CATALOG `c` WITH (\n  'warehouse' = 'file:/w',\n  's3.secret-access-key' = 'it''s secret',\n"
        "  'properties.sasl.jaas.config' = 'M required username=''u'' password=''p'';'\n)"
    )
    assert redact_sql(sql) == (
        "CREATE CATALOG `c` WITH (\n  'warehouse' = 'file:/w',\n"
        f"  's3.secret-access-key' = '{REDACTED}',\n"
        f"  'properties.sasl.jaas.config' = 'M required username=''u'' password={REDACTED};'\n)"
    )
    plain = "SELECT 'a' AS x FROM t WHERE y = 'b'"
    assert redact_sql(plain) == plain


def test_flink_error_messages_quoting_a_sinks_catalog_options_are_redacted():
    """Flink lists a table's options when it cannot create it; an Iceberg sink's options hold
    its catalog's as JSON ('src-catalog'), and every line we log passes the same rules."""
    message = (
        "ValidationException: Unable to create a sink for writing table 'iceberg.sink.t'.\n\n"
        "Table options are:\n\n'connector'='iceberg-portable-sink'\n"
        '\'src-catalog\'=\'{"catalog-name":"iceberg","catalog-props":{"s3.session-token":"tok\\"en",'
        '"client.region":"eu-west-1"}}\''
    )
    shown = (
        "ValidationException: Unable to create a sink for writing table 'iceberg.sink.t'.\n\n"
        "Table options are:\n\n'connector'='iceberg-portable-sink'\n"
        f'\'src-catalog\'=\'{{"catalog-name":"iceberg","catalog-props":{{"s3.session-token":"{REDACTED}",'
        '"client.region":"eu-west-1"}}\''
    )
    assert redact_sql(message) == shown
    record = logging.LogRecord("common.run.runner", logging.ERROR, __file__, 1, "job failed: %s", (message,), None)
    assert RedactingFormatter("%(message)s").format(record) == f"job failed: {shown}"
    try:
        raise RuntimeError('{"password": "pw"}')
    except RuntimeError:
        record = logging.LogRecord("common", logging.DEBUG, __file__, 1, "details", (), sys.exc_info())
    assert RedactingFormatter("%(message)s").format(record).endswith(f'RuntimeError: {{"password": "{REDACTED}"}}')


# --- where the values go, and what is shown -------------------------------------------------------


def test_the_secrets_reach_the_ddl_and_the_redacted_ddl_shows_everything_else(tmp_path):
    path = secret_properties(tmp_path / "properties.json")
    settings = settings_from_groups(read_groups(path), path, managed=False)
    ddl = "\n".join(build_plan(load_project(), settings.kafka, settings.catalog, bounded=True).ddl())
    assert all(value in ddl for value in SECRETS.values()), "the test's secrets must be in what the job runs"
    shown = redact_sql(ddl)
    assert_nothing_secret(shown)
    for option in (
        "'client.region' = 'eu-west-1'",
        f"'s3.session-token' = '{REDACTED}'",
        f"'s3.access-key-id' = '{REDACTED}'",
        "'properties.client.dns.lookup' = 'use_all_dns_ips'",
        f"'properties.sasl.jaas.config' = '{JAAS_SHOWN}'",
        "'properties.bootstrap.servers' = '127.0.0.1:9092'",
    ):
        assert option in shown
    assert shown.count(f"'properties.sasl.jaas.config' = '{JAAS_SHOWN}'") == len(load_project().topics_in_use())


@pytest.mark.jvm
def test_dry_run_and_its_debug_log_show_no_secret(tmp_path):
    path = secret_properties(tmp_path / "properties.json")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "streaming_job.py"),
            "--dry-run",
            "-v",
            "--properties",
            str(path),
            "--only",
            "bid_events_raw",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_nothing_secret(result.stdout + result.stderr)
    assert f"'properties.sasl.jaas.config' = '{JAAS_SHOWN}'" in result.stdout
    assert "'properties.client.dns.lookup' = 'use_all_dns_ips'" in result.stdout
    assert "executing DDL:" in result.stderr and f"password={REDACTED}" in result.stderr  # -v shows the DDL, redacted


@pytest.mark.jvm
def test_a_verbose_bounded_run_shows_no_secret_and_no_library_notice(tmp_path, workspace):
    """The real job, -v, with the secret properties: the catalog DDL it logs at debug keeps
    its region and hides its keys. Its console also has none of the library notices the
    project's log configuration keeps out (common/logs.py), and tells where the web UI is."""
    events = list(bid_events(200, seed=3))
    assert produce(workspace.bootstrap, workspace.topics["bid_events"], events).failed == 0
    result = workspace.run_job(
        "--bounded",
        "-v",
        "--properties",
        str(secret_properties(tmp_path / "properties.json")),
        "--only",
        "bid_events_raw",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    console = result.stdout + result.stderr
    assert_nothing_secret(console)
    assert "'client.region' = 'eu-west-1'" in console and f"'s3.secret-access-key' = '{REDACTED}'" in console
    assert f"'properties.sasl.jaas.config' = '{JAAS_SHOWN}'" in console
    assert "INFO common.run.flink_env: Flink web UI: http://localhost:" in console
    for notice in ("apache_beam", "BigQuery", "CodecPool", "Unknown module: jdk.proxy2"):
        assert notice not in console, notice
    assert len(open_table(str(workspace.warehouse), "sink", "bid_events_raw").scan().to_arrow()) == len(events)


def test_the_registry_user_info_reaches_the_ddl_but_never_the_dry_runs_output(tmp_path, capsys):
    """An Avro topic through a Confluent-compatible registry with basic auth: its user info
    ("user:password") is an option of the source the job runs, and --dry-run's printer
    (common/run/job.py: print_dry_run) shows every option of it but that one."""
    import yaml

    from common.load.config import CONFIG_DIR
    from common.run.job import print_dry_run
    from tests.e2e.test_adding_pipeline import examples

    user_info = "avro-writer:regi5try-pa55word"
    topics = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text())
    avro = yaml.safe_load(examples()["avro topics.yaml"])
    avro["bids_avro"]["registry"] = {"type": "confluent"}
    topics["kafka_topics"].update(avro)
    pipes = yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text())
    pipes["transformations"].append(
        {
            "name": "bids_avro_rows",
            "source_topic": "bids_avro",
            "sink_table": "bids_avro_rows",
            "sink_schema": {"bid_id": "STRING", "amount": "DOUBLE", "ts": "BIGINT"},
            "sql": "SELECT `bid_id`, `amount`, `ts` FROM {source}",
        }
    )
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    (config_dir / "transformations.yaml").write_text(yaml.safe_dump(pipes, sort_keys=False))
    groups = read_groups(ROOT / "application_properties.json")
    groups["registry"] = {"confluent.url": "https://registry.example:8081", "confluent.basic.auth.user.info": user_info}
    settings = settings_from_groups(groups, tmp_path / "properties.json", managed=False)
    plan = build_plan(load_project(config_dir), settings.kafka, settings.catalog, bounded=False)
    ddl = "\n".join(plan.ddl())
    assert f"'value.registry-avro.registry.basic-auth.user-info' = '{user_info}'" in ddl, "the job must get it"

    print_dry_run(plan, "== Optimized Physical Plan ==\n")  # what streaming_job.py --dry-run prints
    shown = capsys.readouterr().out
    assert user_info.split(":")[1] not in shown
    assert f"'value.registry-avro.registry.basic-auth.user-info' = '{REDACTED}'" in shown
    assert "'value.registry-avro.registry.url' = 'https://registry.example:8081'" in shown
    assert "'value.registry-avro.registry' = 'confluent'" in shown
    # every option that carries it is hidden, however many sources carry it
    assert shown.count(f"user-info' = '{REDACTED}'") == ddl.count(f"user-info' = '{user_info}'")
    assert redact(groups)["registry"] == {
        "confluent.url": "https://registry.example:8081",
        "confluent.basic.auth.user.info": REDACTED,
    }
    # a password put in the URL instead is hidden too
    assert redact_sql("'registry.url' = 'https://avro-writer:pw9@registry.example:8081'") == (
        f"'registry.url' = 'https://avro-writer:{REDACTED}@registry.example:8081'"
    )
