"""Runtime properties: file location rules, env overrides, typed settings, clear errors."""

import dataclasses
import json
from pathlib import Path

import pytest

from common.errors import ConfigError
from common.load.properties import (
    APP_DIR,
    LOCAL_PROPERTIES,
    MANAGED_PROPERTIES,
    RegistrySettings,
    apply_env,
    load_settings,
    locate,
    read_groups,
    settings_from_groups,
)

FAKE_ACCOUNT = "0" * 12  # a made-up account id


def write_props(path: Path, groups: dict[str, dict[str, str]]) -> Path:
    path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]))
    return path


def shipped_groups() -> dict[str, dict[str, str]]:
    return read_groups(LOCAL_PROPERTIES)


def test_shipped_properties_are_local_defaults():
    settings = load_settings(str(LOCAL_PROPERTIES), env={})
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.kafka.auth == "none"
    assert settings.kafka.max_record_bytes == 1_048_576
    assert settings.catalog.catalog_type == "hadoop"
    assert settings.catalog.warehouse == (APP_DIR / ".local" / "warehouse").as_uri()
    assert settings.catalog.namespace == "sink"
    assert settings.jarfile == "lib/pyflink-dependencies.jar"
    assert settings.managed is False


def test_run_options_name_the_job_and_the_jar():
    run = shipped_groups()["kinesis.analytics.flink.run.options"]
    assert run == {"python": "streaming_job.py", "jarfile": "lib/pyflink-dependencies.jar", "pyFiles": "lib/python"}


def test_locate_order(tmp_path):
    explicit = tmp_path / "x.json"
    assert locate(str(explicit), env={"APP_PROPERTIES_FILE": "/other.json"}) == (explicit, False)
    assert locate(None, env={"APP_PROPERTIES_FILE": "/other.json"}) == (Path("/other.json"), False)
    expected = (MANAGED_PROPERTIES, True) if MANAGED_PROPERTIES.exists() else (LOCAL_PROPERTIES, False)
    assert locate(None, env={}) == expected


def test_environment_overrides_win(tmp_path):
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "b-1:9098",
        "KAFKA_AUTH": "iam",
        "ICEBERG_NAMESPACE": "prod",
        "ICEBERG_CATALOG_TYPE": "s3tables",
        "ICEBERG_WAREHOUSE": f"arn:aws:s3tables:eu-west-1:{FAKE_ACCOUNT}:bucket/b",
    }
    settings = load_settings(str(LOCAL_PROPERTIES), env=env)
    assert settings.kafka.bootstrap_servers == "b-1:9098"
    assert settings.kafka.auth == "iam"
    assert settings.catalog.namespace == "prod"
    assert settings.catalog.catalog_type == "s3tables"
    assert settings.catalog.warehouse == env["ICEBERG_WAREHOUSE"]


def test_apply_env_does_not_mutate_input():
    groups = shipped_groups()
    apply_env(groups, {"ICEBERG_NAMESPACE": "other"})
    assert groups["iceberg"]["namespace"] == "sink"


@pytest.mark.parametrize(
    "group,key,value,needle",
    [
        ("kafka", "auth", "sasl", "kafka.auth: 'sasl' is not allowed (valid: none, iam)"),
        ("kafka", "max.record.bytes", "-5", "kafka.max.record.bytes: '-5' is not a positive integer"),
        ("iceberg", "catalog.type", "glue", "iceberg.catalog.type: 'glue' is not allowed"),
        ("flink", "parallelism", "zero", "flink.parallelism: 'zero' is not a positive integer"),
        ("kafka", "bootstrap.servers", " ", "kafka.bootstrap.servers: missing or empty"),
    ],
)
def test_bad_values_are_named(tmp_path, group, key, value, needle):
    groups = shipped_groups()
    groups[group][key] = value
    path = write_props(tmp_path / "p.json", groups)
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={})
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_s3tables_needs_a_table_bucket_arn(tmp_path):
    groups = shipped_groups()
    groups["iceberg"].update({"catalog.type": "s3tables", "warehouse": "s3://bucket/path"})
    with pytest.raises(ConfigError, match="iceberg.warehouse: 's3://bucket/path' is not a table bucket ARN"):
        settings_from_groups(groups, tmp_path / "p.json", managed=True)


def test_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(ConfigError, match=r"bad.json: line 1: not valid JSON"):
        read_groups(bad)
    bad.write_text('{"kafka": {}}')
    with pytest.raises(ConfigError, match="expected a list of property groups"):
        read_groups(bad)
    with pytest.raises(ConfigError, match=r"missing.json: \(file\): not found"):
        read_groups(tmp_path / "missing.json")


def test_old_max_record_chars_key_is_still_read_as_bytes(tmp_path):
    groups = shipped_groups()
    del groups["kafka"]["max.record.bytes"]
    groups["kafka"]["max.record.chars"] = "5000"
    path = write_props(tmp_path / "p.json", groups)
    assert load_settings(str(path), env={}).kafka.max_record_bytes == 5000
    assert load_settings(str(path), env={"KAFKA_MAX_RECORD_BYTES": "7"}).kafka.max_record_bytes == 7
    assert load_settings(str(path), env={"KAFKA_MAX_RECORD_CHARS": "9"}).kafka.max_record_bytes == 9


# --- the registry group: where Avro topics' schema registries are -------------------------------


def test_without_a_registry_group_nothing_is_set():
    assert load_settings(str(LOCAL_PROPERTIES), env={}).kafka.registry == RegistrySettings()
    assert "registry" not in shipped_groups()


def test_the_registry_group_is_read(tmp_path):
    groups = shipped_groups()
    groups["registry"] = {
        "confluent.url": " https://registry.example:8081 ",
        "confluent.basic.auth.user.info": "writer:pa55",
        "glue.region": "eu-west-1",
        "glue.endpoint": "http://127.0.0.1:5000",
    }
    assert load_settings(str(write_props(tmp_path / "p.json", groups)), env={}).kafka.registry == RegistrySettings(
        confluent_url="https://registry.example:8081",
        confluent_user_info="writer:pa55",
        glue_region="eu-west-1",
        glue_endpoint="http://127.0.0.1:5000",
    )
    groups["registry"] = {"glue.region": "  ", "confluent.url": ""}  # blank is unset
    assert load_settings(str(write_props(tmp_path / "p.json", groups)), env={}).kafka.registry == RegistrySettings()


@pytest.mark.parametrize(
    "var, value, field",
    [
        ("SCHEMA_REGISTRY_URL", "http://localhost:8081", "confluent_url"),
        ("SCHEMA_REGISTRY_USER_INFO", "ci:secret", "confluent_user_info"),
        ("GLUE_REGISTRY_REGION", "us-east-2", "glue_region"),
        ("GLUE_REGISTRY_ENDPOINT", "http://127.0.0.1:5000", "glue_endpoint"),
    ],
)
def test_each_registry_env_override_wins_over_the_file(tmp_path, var, value, field):
    groups = shipped_groups()
    groups["registry"] = {
        "confluent.url": "https://file.example",
        "confluent.basic.auth.user.info": "file:user",
        "glue.region": "eu-west-1",
        "glue.endpoint": "https://glue.file.example",
    }
    path = str(write_props(tmp_path / "p.json", groups))
    from_file = load_settings(path, env={}).kafka.registry
    assert load_settings(path, env={var: value}).kafka.registry == dataclasses.replace(from_file, **{field: value})
    # and with no registry group in the file at all
    assert getattr(load_settings(str(LOCAL_PROPERTIES), env={var: value}).kafka.registry, field) == value


@pytest.mark.parametrize(
    "key, suggestion",
    [
        ("confluent.ur", "confluent.url"),
        ("glue.regin", "glue.region"),
        ("confluent.user.info", "confluent.basic.auth.user.info"),
        ("timeout", None),
    ],
)
def test_an_unknown_registry_key_is_refused_with_did_you_mean(tmp_path, key, suggestion):
    groups = shipped_groups()
    groups["registry"] = {key: "x"}
    path = write_props(tmp_path / "p.json", groups)
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={})
    hint = f"; did you mean '{suggestion}'?" if suggestion else ""
    assert str(err.value) == (
        f"{path}: registry.{key}: unknown key{hint} "
        "(valid: confluent.url, confluent.basic.auth.user.info, glue.region, glue.endpoint)"
    )


@pytest.mark.parametrize("url", ["registry:8081", "ftp://registry.example", "http://", "https:// x", "//registry"])
def test_a_registry_url_that_is_not_http_is_refused(tmp_path, url):
    groups = shipped_groups()
    groups["registry"] = {"confluent.url": url}
    path = write_props(tmp_path / "p.json", groups)
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), env={})
    assert str(err.value) == (
        f"{path}: registry.confluent.url: '{url}' is not an http(s) URL (valid: e.g. https://registry:8081)"
    )
    with pytest.raises(ConfigError, match="registry.confluent.url: 'registry:8081' is not an http"):
        load_settings(str(LOCAL_PROPERTIES), env={"SCHEMA_REGISTRY_URL": "registry:8081"})
