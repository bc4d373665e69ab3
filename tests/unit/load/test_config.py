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


# --- value formats: Avro through a schema registry, Debezium change events (CDC) ---------------


def with_examples() -> tuple[dict, dict]:
    """The shipped YAML plus the pipeline guide's Avro topic, CDC topic and CDC pipeline
    (docs/adding_a_pipeline.md, "Avro topics and CDC topics"), as written there."""
    from tests.e2e.test_adding_pipeline import examples

    topics, pipes = shipped()
    blocks = examples()
    topics["kafka_topics"].update(yaml.safe_load(blocks["avro topics.yaml"]))
    topics["kafka_topics"].update(yaml.safe_load(blocks["cdc topics.yaml"]))
    pipes["transformations"] += yaml.safe_load(blocks["cdc transformations.yaml"])
    return topics, pipes


def refusal(tmp_path: Path, edit, file: str = "topics.yaml") -> str:
    """The error of the guide's examples after edit(topics, pipelines), without its file:line:
    every refusal starts with the file and the line of the key."""
    topics, pipes = with_examples()
    edit(topics["kafka_topics"], pipes["transformations"])
    config_dir = write_config(tmp_path, topics, pipes)
    with pytest.raises(ConfigError) as err:
        load_project(config_dir)
    where, line, rest = str(err.value).split(":", 2)
    assert where == str(config_dir / file) and line.isdigit(), str(err.value)
    return rest.strip()


def test_the_guides_avro_and_cdc_examples_load_as_written(tmp_path):
    from common.load.config import RegistryConfig

    project = load_project(write_config(tmp_path, *with_examples()))
    avro, cdc = project.topics["bids_avro"], project.topics["customers_cdc"]
    assert (avro.format, avro.registry, avro.primary_key) == (
        "avro",
        RegistryConfig(kind="glue", registry_name="shop", subject="bids-avro"),
        (),
    )
    assert (avro.event_time.field, avro.event_time.field_type) == ("ts", "BIGINT NOT NULL")
    assert (cdc.format, cdc.registry, cdc.primary_key) == ("debezium-json", None, ("id",))
    assert (cdc.event_time.field, cdc.event_time.field_type, cdc.event_time.max_out_of_orderness_ms) == (
        "ts_ms",
        "BIGINT",
        5000,
    )
    assert dict(cdc.schema) == {"id": "BIGINT NOT NULL", "name": "STRING NOT NULL", "email": "STRING", "tier": "INT"}
    customers = next(p for p in project.pipelines if p.name == "customers")
    assert (customers.topics, customers.sql.primary_key, customers.sql.partition_by) == (
        ("customers_cdc",),
        ("id",),
        ("bucket(4, id)",),
    )
    # a topic without format: is JSON, as before
    assert {t.format for k, t in project.topics.items() if k not in ("bids_avro", "customers_cdc")} == {"json"}
    assert all(t.registry is None and t.primary_key == () for t in load_project().topics.values())


@pytest.mark.parametrize(
    "registry, expected",
    [
        ({"type": "glue"}, ("glue", "default-registry", "bids-avro")),
        ({"type": "glue", "registry_name": "shop", "subject": "bids"}, ("glue", "shop", "bids")),
        ({"type": "confluent"}, ("confluent", "default-registry", "bids-avro-value")),
        ({"type": "confluent", "subject": "shop.bids-value"}, ("confluent", "default-registry", "shop.bids-value")),
    ],
)
def test_a_registry_block_and_its_defaults(tmp_path, registry, expected):
    """Glue: registry default-registry, schema name = the topic name; Confluent: subject
    <topic>-value (its TopicNameStrategy)."""
    topics, pipes = with_examples()
    topics["kafka_topics"]["bids_avro"]["registry"] = registry
    found = load_project(write_config(tmp_path, topics, pipes)).topics["bids_avro"].registry
    assert (found.kind, found.registry_name, found.subject) == expected


def test_the_registry_defaults_follow_an_overlays_topic_name(tmp_path):
    topics, pipes = with_examples()
    topics["kafka_topics"]["bids_avro"]["registry"] = {"type": "confluent"}
    config_dir = write_config(tmp_path, topics, pipes)
    (config_dir / "overlays").mkdir()
    (config_dir / "overlays" / "prod.yaml").write_text("kafka_topics:\n  bids_avro:\n    topic_name: prod.bids-avro\n")
    assert load_project(config_dir, environment="prod").topics["bids_avro"].registry.subject == "prod.bids-avro-value"


FORMAT_REFUSALS = {
    "unknown format": (
        lambda t, p: t["bid_events"].update(format="protobuf"),
        "kafka_topics.bid_events.format: 'protobuf' is not a value format (valid: json, avro, debezium-json, debezium-avro)",
    ),
    "format near miss": (
        lambda t, p: t["bid_events"].update(format="debezium"),
        "kafka_topics.bid_events.format: 'debezium' is not a value format; did you mean 'debezium-json'? "
        "(valid: json, avro, debezium-json, debezium-avro)",
    ),
    "avro without registry": (
        lambda t, p: t["bids_avro"].pop("registry"),
        "kafka_topics.bids_avro.registry: an Avro topic needs registry: {type: glue | confluent} "
        "(valid: type: glue or type: confluent)",
    ),
    "registry on a json topic": (
        lambda t, p: t["bid_events"].update(registry={"type": "glue"}),
        "kafka_topics.bid_events.registry: registry is for Avro topics; this topic's format is json "
        "(valid: format: avro or debezium-avro)",
    ),
    "registry on a cdc topic": (
        lambda t, p: t["customers_cdc"].update(registry={"type": "glue"}),
        "kafka_topics.customers_cdc.registry: registry is for Avro topics; this topic's format is debezium-json "
        "(valid: format: avro or debezium-avro)",
    ),
    "unknown registry type": (
        lambda t, p: t["bids_avro"]["registry"].update(type="glu"),
        "kafka_topics.bids_avro.registry.type: 'glu' is not a schema registry; did you mean 'glue'? "
        "(valid: glue, confluent)",
    ),
    "registry without type": (
        lambda t, p: t["bids_avro"]["registry"].pop("type"),
        "kafka_topics.bids_avro.registry.type: missing required key",
    ),
    "unknown registry key": (
        lambda t, p: t["bids_avro"]["registry"].update(subjct="bids"),
        "kafka_topics.bids_avro.registry.subjct: unknown key; did you mean 'subject'? "
        "(valid: type, registry_name, subject)",
    ),
    "registry_name with confluent": (
        lambda t, p: t["bids_avro"]["registry"].update(type="confluent"),
        "kafka_topics.bids_avro.registry.registry_name: registry_name is for AWS Glue; "
        "a Confluent-compatible registry has subjects only (valid: subject)",
    ),
    "primary_key missing on a cdc topic": (
        lambda t, p: t["customers_cdc"].pop("primary_key"),
        "kafka_topics.customers_cdc.primary_key: a Debezium topic needs primary_key: the columns that identify "
        "a row (its table's key) (valid: e.g. [id])",
    ),
    "primary_key on a json topic": (
        lambda t, p: t["bid_events"].update(primary_key=["user_id"]),
        "kafka_topics.bid_events.primary_key: primary_key is for CDC topics; this topic's format is json "
        "(valid: format: debezium-json or debezium-avro)",
    ),
    "primary_key on an avro topic": (
        lambda t, p: t["bids_avro"].update(primary_key=["bid_id"]),
        "kafka_topics.bids_avro.primary_key: primary_key is for CDC topics; this topic's format is avro "
        "(valid: format: debezium-json or debezium-avro)",
    ),
    "primary_key column not in the schema": (
        lambda t, p: t["customers_cdc"].update(primary_key=["idd"]),
        "kafka_topics.customers_cdc.primary_key[0]: 'idd' is not in the schema; did you mean 'id'? "
        "(valid: id, name, email, tier)",
    ),
    "primary_key column twice": (
        lambda t, p: t["customers_cdc"].update(primary_key=["id", "id"]),
        "kafka_topics.customers_cdc.primary_key[1]: 'id' is listed twice in primary_key",
    ),
    "primary_key not a list": (
        lambda t, p: t["customers_cdc"].update(primary_key="id"),
        "kafka_topics.customers_cdc.primary_key: expected a list of columns of the schema, found 'id' (str)",
    ),
    "cdc event time another field": (
        lambda t, p: t["customers_cdc"]["event_time"].update(field="tier"),
        "kafka_topics.customers_cdc.event_time.field: 'tier': a Debezium topic's event time is its envelope's "
        "ts_ms (valid: leave field out, or ts_ms)",
    ),
    "avro event time still needs its field": (
        lambda t, p: t["bids_avro"]["event_time"].pop("field"),
        "kafka_topics.bids_avro.event_time.field: missing required key",
    ),
}


@pytest.mark.parametrize("edit, message", FORMAT_REFUSALS.values(), ids=FORMAT_REFUSALS.keys())
def test_format_registry_and_primary_key_refusals_name_file_line_key_and_what_is_valid(tmp_path, edit, message):
    assert refusal(tmp_path, edit) == message


@pytest.mark.parametrize("field", [None, "ts_ms"])
def test_a_cdc_topics_event_time_is_the_envelopes_ts_ms(tmp_path, field):
    topics, pipes = with_examples()
    if field:
        topics["kafka_topics"]["customers_cdc"]["event_time"]["field"] = field
    event_time = load_project(write_config(tmp_path, topics, pipes)).topics["customers_cdc"].event_time
    assert (event_time.field, event_time.field_type) == ("ts_ms", "BIGINT")


def test_debezium_avro_is_a_cdc_topic_through_a_registry(tmp_path):
    """debezium-avro: a registry like avro, a primary key and the envelope's ts_ms like debezium-json."""
    from common.load.config import RegistryConfig

    def avro_cdc(topics, _pipes):
        topics["customers_cdc"].update(format="debezium-avro", registry={"type": "confluent"})

    topics, pipes = with_examples()
    avro_cdc(topics["kafka_topics"], pipes)
    cdc = load_project(write_config(tmp_path, topics, pipes)).topics["customers_cdc"]
    assert (cdc.format, cdc.registry, cdc.primary_key, cdc.event_time.field) == (
        "debezium-avro",
        RegistryConfig(kind="confluent", registry_name="default-registry", subject="shop.public.customers-value"),
        ("id",),
        "ts_ms",
    )

    def without_registry(topics, _pipes):
        topics["customers_cdc"]["format"] = "debezium-avro"

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert refusal(tmp_path / "a", without_registry).startswith(
        "kafka_topics.customers_cdc.registry: an Avro topic needs registry"
    )

    def without_key(topics, _pipes):
        topics["customers_cdc"].update(format="debezium-avro", registry={"type": "glue"})
        del topics["customers_cdc"]["primary_key"]

    assert refusal(tmp_path / "b", without_key).startswith(
        "kafka_topics.customers_cdc.primary_key: a Debezium topic needs primary_key"
    )
