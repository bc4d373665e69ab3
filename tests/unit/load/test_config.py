"""Load phase: the YAML contract, and errors that name the file, the key and what is valid."""

import json
from pathlib import Path

import pytest
import yaml

from common.durations import describe_seconds, parse_duration_ms
from common.errors import ConfigError
from common.load.config import CONFIG_DIR, load_project


def write_config(tmp_path: Path, topics=None, transformations=None) -> Path:
    t = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text()) if topics is None else topics
    p = (
        yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text())
        if transformations is None
        else transformations
    )
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(t, sort_keys=False))
    (tmp_path / "transformations.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    return tmp_path


def shipped():
    return (
        yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text()),
        yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text()),
    )


def test_shipped_config_loads():
    project = load_project()
    bid = project.topics["bid_events"]
    assert bid.topic_name == "bid-events"
    assert bid.source_table == "kafka_bid_events"
    assert bid.event_time.field == "timestamp_ms"
    assert bid.event_time.max_out_of_orderness_ms == 5000
    assert dict(bid.schema)["bid_amount"] == "DOUBLE"
    assert project.pipelines[0].name == "bid_events_raw"


@pytest.mark.parametrize(
    "text,ms",
    [
        ("5s", 5000),
        ("500 ms", 500),
        ("2 min", 120_000),
        ("1h", 3_600_000),
        ("10 seconds", 10_000),
        ("five", None),
        ("5", None),
    ],
)
def test_durations(text, ms):
    assert parse_duration_ms(text) == ms


def expect_error(tmp_path, topics, pipelines, file, needle):
    config_dir = write_config(tmp_path, topics, pipelines)
    with pytest.raises(ConfigError) as err:
        load_project(config_dir)
    assert str(err.value).startswith(str(config_dir / file))
    assert needle in str(err.value)


def test_unknown_topic_key_suggests_the_right_one(tmp_path):
    topics, pipes = shipped()
    topics["kafka_topics"]["bid_events"]["startup_mod"] = topics["kafka_topics"]["bid_events"].pop("startup_mode")
    expect_error(
        tmp_path,
        topics,
        pipes,
        "topics.yaml",
        "kafka_topics.bid_events.startup_mod: unknown key; did you mean 'startup_mode'?",
    )


def test_bad_startup_mode(tmp_path):
    topics, pipes = shipped()
    topics["kafka_topics"]["user_events"]["startup_mode"] = "earliest"
    expect_error(
        tmp_path,
        topics,
        pipes,
        "topics.yaml",
        "kafka_topics.user_events.startup_mode: 'earliest' is not a startup mode; did you mean 'earliest-offset'?",
    )


def test_watermark_field_must_exist_and_be_a_time(tmp_path):
    topics, pipes = shipped()
    topics["kafka_topics"]["bid_events"]["event_time"]["field"] = "platform"
    expect_error(
        tmp_path,
        topics,
        pipes,
        "topics.yaml",
        "kafka_topics.bid_events.event_time.field: 'platform' has type STRING, not a time type",
    )


@pytest.mark.parametrize(
    "release,idle,needle",
    [
        ("soon", None, "'soon' is not a duration"),
        ("20s", None, "'20s' is not longer than the idle timeout (30000 ms)"),
        ("5 min", "0s", "'5 min' is not longer than the idle timeout (0s (never idle))"),
    ],
)
def test_release_after_must_be_a_duration_longer_than_the_idle_timeout(tmp_path, release, idle, needle):
    topics, pipes = shipped()
    event_time = topics["kafka_topics"]["user_events"]["event_time"]
    event_time["release_after"] = release
    if idle is not None:
        event_time["idle_timeout"] = idle
    expect_error(tmp_path, topics, pipes, "topics.yaml", f"kafka_topics.user_events.event_time.release_after: {needle}")


def test_release_after_is_off_unless_set(tmp_path):
    topics, pipes = shipped()
    topics["kafka_topics"]["user_events"]["event_time"]["release_after"] = "15 min"
    project = load_project(write_config(tmp_path, topics, pipes))
    assert project.topics["user_events"].event_time.release_after_ms == 900_000
    assert project.topics["bid_events"].event_time.release_after_ms == 0


def test_pipeline_source_topic_must_exist(tmp_path):
    topics, pipes = shipped()
    pipes["transformations"][0]["source_topic"] = "bid_event"
    expect_error(
        tmp_path,
        topics,
        pipes,
        "transformations.yaml",
        "source_topic: 'bid_event' is not a topic in topics.yaml; did you mean 'bid_events'?",
    )


def test_duplicate_pipeline_names(tmp_path):
    topics, pipes = shipped()
    twin = dict(pipes["transformations"][0], sink_table="other")
    pipes["transformations"].append(twin)
    expect_error(
        tmp_path,
        topics,
        pipes,
        "transformations.yaml",
        f"transformations[{len(pipes['transformations']) - 1}].name: 'bid_events_raw' is already used by pipeline 'bid_events_raw'",
    )


def test_all_disabled(tmp_path):
    topics, pipes = shipped()
    for p in pipes["transformations"]:
        p["enabled"] = False
    expect_error(tmp_path, topics, pipes, "transformations.yaml", "every pipeline is disabled")


def test_yaml_syntax_error_gives_the_line(tmp_path):
    write_config(tmp_path)
    (tmp_path / "topics.yaml").write_text("kafka_topics:\n  bid_events: [\n")
    with pytest.raises(ConfigError, match=r"topics.yaml: line \d+, column \d+: not valid YAML"):
        load_project(tmp_path)


# --- metadata: the Kafka metadata a topic's view gives its pipelines (opt-in) ---


def test_metadata_is_off_by_default_and_kept_in_one_order(tmp_path):
    assert all(t.metadata == () for t in load_project().topics.values())
    topics, pipes = shipped()
    topics["kafka_topics"]["bid_events"]["metadata"] = ["headers", "key", "timestamp"]
    topics["kafka_topics"]["user_events"]["metadata"] = []
    project = load_project(write_config(tmp_path, topics, pipes))
    assert project.topics["bid_events"].metadata == ("key", "timestamp", "headers")
    assert project.topics["user_events"].metadata == ()


@pytest.mark.parametrize(
    "metadata,needle",
    [
        (["key", "ofset"], "metadata[1]: 'ofset' is not Kafka metadata a pipeline can read; did you mean 'offset'?"),
        (["key", "key"], "metadata[1]: 'key' is listed twice in metadata"),
        (["partition"], "metadata[0]: kafka_partition is always in the view: leave 'partition' out"),
        ("key", "metadata: expected a list of Kafka metadata (key, offset, timestamp, headers), found 'key'"),
        ([{"key": True}], "metadata[0]: expected a non-empty string"),
    ],
)
def test_metadata_errors_name_the_file_the_key_and_the_valid_values(tmp_path, metadata, needle):
    topics, pipes = shipped()
    topics["kafka_topics"]["order_events"]["metadata"] = metadata
    expect_error(tmp_path, topics, pipes, "topics.yaml", f"kafka_topics.order_events.{needle}")


def test_metadata_columns_are_reserved_in_topic_schemas(tmp_path):
    topics, pipes = shipped()
    topics["kafka_topics"]["order_events"]["schema"]["kafka_key_text"] = "STRING"
    expect_error(
        tmp_path,
        topics,
        pipes,
        "topics.yaml",
        "kafka_topics.order_events.schema.kafka_key_text: 'kafka_key_text' is a column the source adds itself",
    )


# --- environments: config/overlays/<env>.yaml over topics.yaml, chosen by $APP_ENV / app.env ---

PROD_OVERLAY = """\
kafka_topics:
  bid_events:
    topic_name: prod.bid-events
    consumer_group: prod-flink-bid
  order_events:
    startup_mode: timestamp
    startup_timestamp_ms: 1767225600000
"""


def with_overlay(tmp_path: Path) -> Path:
    config_dir = write_config(tmp_path)
    (config_dir / "overlays").mkdir()
    (config_dir / "overlays" / "prod.yaml").write_text(PROD_OVERLAY)
    return config_dir


def test_overlay_wins_over_topics_yaml_for_its_environment_only(tmp_path):
    config_dir = with_overlay(tmp_path)
    base, prod = load_project(config_dir), load_project(config_dir, environment="prod")
    assert (base.topics["bid_events"].topic_name, base.topics["bid_events"].consumer_group) == (
        "bid-events",
        "flink-bid-consumer",
    )
    assert (prod.topics["bid_events"].topic_name, prod.topics["bid_events"].consumer_group) == (
        "prod.bid-events",
        "prod-flink-bid",
    )
    assert (prod.topics["order_events"].startup_mode, prod.topics["order_events"].startup_timestamp_ms) == (
        "timestamp",
        1767225600000,
    )
    assert prod.topics["user_events"] == base.topics["user_events"]  # not in the overlay: unchanged
    assert prod.topics["bid_events"].schema == base.topics["bid_events"].schema
    assert (base.environment, prod.environment) == (None, "prod")


def test_environment_is_app_env_over_the_app_env_property(tmp_path):
    from common.load.properties import LOCAL_PROPERTIES, load_settings, read_groups

    groups = read_groups(LOCAL_PROPERTIES)
    groups["app"] = {"env": "staging"}
    props = tmp_path / "props.json"
    props.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()]))
    assert load_settings(str(props), env={}).environment == "staging"
    assert load_settings(str(props), env={"APP_ENV": "prod"}).environment == "prod"
    assert load_settings(str(LOCAL_PROPERTIES), env={}).environment is None  # no overlay by default


def test_every_shipped_overlay_loads():
    overlays = sorted((CONFIG_DIR / "overlays").glob("*.yaml"))
    assert overlays
    for overlay in overlays:
        project = load_project(CONFIG_DIR, environment=overlay.stem)
        assert project.topics["bid_events"].topic_name.startswith(f"{overlay.stem}.")


@pytest.mark.jvm
def test_job_uses_the_overlay_and_the_namespace_of_its_environment(tmp_path, monkeypatch, capsys):
    """The whole rule, through the CLI: APP_ENV picks the overlay (topics, groups); the namespace
    is iceberg.namespace, which $ICEBERG_NAMESPACE overrides; the pipeline YAML is untouched."""
    import streaming_job

    config_dir = with_overlay(tmp_path)
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("ICEBERG_NAMESPACE", "prod_sink")
    assert streaming_job.main(["--dry-run", "--config-dir", str(config_dir), "--only", "bid_events_raw"]) == 0
    out = capsys.readouterr().out
    assert "'topic' = 'prod.bid-events'" in out and "'properties.group.id' = 'prod-flink-bid'" in out
    assert "CREATE TABLE IF NOT EXISTS `iceberg`.`prod_sink`.`bid_events_raw`" in out


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (None, "-"),
        (-3, "0 s"),
        (42.4, "42 s"),
        (59.6, "60 s"),
        (60, "1.0 min"),
        (240, "4.0 min"),
        (9000, "2.5 h"),
        (3 * 86400, "3.0 d"),
    ],
)
def test_an_age_is_shown_in_one_way_everywhere(seconds, shown):
    assert describe_seconds(seconds) == shown
