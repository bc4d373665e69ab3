"""Validation before anything runs: every bad config names the file, line, key, what was found
and what is valid. Load-phase cases need no JVM; plan-check cases plan against a throw-away
catalog in this process (no Kafka, no warehouse)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from common.errors import ConfigError
from common.load.config import CONFIG_DIR, load_project, split_nullability
from common.load.flink_types import FlinkTypeError, parse_type
from common.load.properties import CatalogSettings, KafkaSettings
from common.render.job_plan import build_plan
from common.run.plan_check import column_problems

ROOT = Path(__file__).resolve().parents[3]
TOPICS = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text())
PIPES = yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text())
LOCAL_KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:9092", auth="none", max_record_bytes=1_048_576)
LOCAL_CATALOG = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")


class BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (SQL) as `|` blocks, the way people write them."""


BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def write(config_dir: Path, topics: dict | None = None, pipes: dict | None = None) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, doc in (("topics.yaml", topics or TOPICS), ("transformations.yaml", pipes or PIPES)):
        (config_dir / name).write_text(yaml.dump(doc, Dumper=BlockDumper, sort_keys=False))
    return config_dir


def load_error(config_dir: Path, environment: str | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        load_project(config_dir, environment)
    return str(err.value)


def edited(edit) -> tuple[dict, dict]:
    """Copies of the shipped YAML documents after edit(topics, pipes)."""
    topics, pipes = copy.deepcopy(TOPICS), copy.deepcopy(PIPES)
    edit(topics["kafka_topics"], pipes["transformations"])
    return topics, pipes


def sql_pipeline(**overrides) -> dict:
    """A valid SQL-only pipeline over order_events."""
    pipeline = {
        "name": "orders_sql",
        "source_topic": "order_events",
        "sink_table": "orders_sql",
        "sink_schema": {"order_id": "STRING", "amount": "DOUBLE", "order_date": "DATE"},
        "partition_by": ["order_date"],
        "sql": "SELECT `order_id`, `quantity` * `price` AS `amount`, CAST(`event_time` AS DATE) AS `order_date`\n"
        "FROM {source}\n",
    }
    pipeline.update(overrides)
    return {k: v for k, v in pipeline.items() if v is not None}


# --- load phase: each case edits the shipped YAML and names what the message must say --------------


def _set(mapping: dict, key: str, value):
    mapping[key] = value


CASES = {
    "missing key": (
        lambda t, p: t["bid_events"].pop("consumer_group"),
        "topics.yaml:",
        "kafka_topics.bid_events.consumer_group: missing required key",
    ),
    "unknown pipeline key": (
        lambda t, p: p[0].update(sink_tabel=p[0].pop("sink_table")),
        "transformations.yaml:",
        "unknown key; did you mean 'sink_table'?",
    ),
    "enabled not a bool": (
        lambda t, p: _set(p[1], "enabled", "yes"),
        "transformations.yaml:",
        "transformations[1] (bid_events_aggregated).enabled: expected true or false, found 'yes' (str)",
    ),
    "topic name a number": (
        lambda t, p: _set(t["bid_events"], "topic_name", 2024),
        "topics.yaml:",
        "topic_name: expected a non-empty string, found 2024 (int); quote it",
    ),
    "schema a list": (
        lambda t, p: _set(t["user_events"], "schema", ["user_id BIGINT"]),
        "topics.yaml:",
        "kafka_topics.user_events.schema: expected a non-empty mapping of column: TYPE, "
        "found ['user_id BIGINT'] (list)",
    ),
    "misspelt type": (
        lambda t, p: _set(t["bid_events"]["schema"], "platform", "VARCHR(10)"),
        "topics.yaml:",
        "kafka_topics.bid_events.schema.platform: 'VARCHR(10)' is not a Flink SQL type: "
        "unknown type VARCHR; did you mean 'VARCHAR'?",
    ),
    "decimal precision": (
        lambda t, p: _set(t["order_events"]["schema"], "price", "DECIMAL(40, 2)"),
        "topics.yaml:",
        "'DECIMAL(40, 2)' is not a Flink SQL type: DECIMAL precision must be 1 to 38, found 40",
    ),
    "unclosed array": (
        lambda t, p: _set(t["order_events"]["schema"], "product_id", "ARRAY<STRING"),
        "topics.yaml:",
        "'ARRAY<STRING' is not a Flink SQL type: expected '>' at the end",
    ),
    "startup mode": (
        lambda t, p: _set(t["bid_events"], "startup_mode", "latest"),
        "topics.yaml:",
        "startup_mode: 'latest' is not a startup mode; did you mean 'latest-offset'? "
        "(valid: earliest-offset, latest-offset, group-offsets, timestamp)",
    ),
    "timestamp mode without value": (
        lambda t, p: _set(t["bid_events"], "startup_mode", "timestamp"),
        "topics.yaml:",
        "kafka_topics.bid_events.startup_timestamp_ms: startup_mode "
        "timestamp needs startup_timestamp_ms (epoch millis), found nothing",
    ),
    "empty topic name": (
        lambda t, p: _set(t["user_events"], "topic_name", " "),
        "topics.yaml:",
        "kafka_topics.user_events.topic_name: expected a non-empty string, found ' '",
    ),
    "bad kafka topic name": (
        lambda t, p: _set(t["user_events"], "topic_name", "user events"),
        "topics.yaml:",
        "'user events' is not a valid Kafka topic name",
    ),
    "wrong source_table": (
        lambda t, p: _set(p[0], "source_table", "kafka_bids"),
        "transformations.yaml:",
        "source_table: 'kafka_bids' is not the source table of topic 'bid_events' (valid: kafka_bid_events)",
    ),
    "unknown additional source": (
        lambda t, p: _set(p[5], "additional_sources", ["kafka_user_event"]),
        "transformations.yaml:",
        "additional_sources[0]: 'kafka_user_event' is not a source table; did you mean 'kafka_user_events'?",
    ),
    "unknown source topic": (
        lambda t, p: _set(p[3], "source_topic", "user_event"),
        "transformations.yaml:",
        "'user_event' is not a topic in topics.yaml; did you mean 'user_events'?",
    ),
    "two pipelines one sink": (
        lambda t, p: _set(p[1], "sink_table", "bid_events_raw"),
        "transformations.yaml:",
        "transformations[1].sink_table: "
        "'bid_events_raw' is already used by pipeline 'bid_events_raw': "
        "two pipelines cannot write one table",
    ),
    "sink named like a source": (
        lambda t, p: _set(p[0], "sink_table", "kafka_bid_events"),
        "transformations.yaml:",
        "'kafka_bid_events' is the name of the source table of topic 'bid_events'; choose another sink name",
    ),
    "unsafe sink name": (
        lambda t, p: _set(p[0], "sink_table", "bid-events-raw"),
        "transformations.yaml:",
        "sink_table: 'bid-events-raw' is not a safe SQL identifier "
        "(valid: letters, digits and _, not starting with a digit)",
    ),
    "unsafe column name": (
        lambda t, p: _set(t["bid_events"]["schema"], "user id", "BIGINT"),
        "topics.yaml:",
        "schema.user id: 'user id' is not a safe SQL identifier",
    ),
    "watermark field missing": (
        lambda t, p: _set(t["bid_events"]["event_time"], "field", "timestamp"),
        "topics.yaml:",
        "event_time.field: 'timestamp' is not in the schema; did you mean 'timestamp_ms'?",
    ),
    "watermark field not a time": (
        lambda t, p: _set(t["order_events"]["event_time"], "field", "price"),
        "topics.yaml:",
        "'price' has type DOUBLE, not a time type: no watermark possible "
        "(valid: BIGINT (epoch millis), TIMESTAMP(p), TIMESTAMP_LTZ(p))",
    ),
    "event time range not an instant": (
        lambda t, p: _set(t["bid_events"]["event_time"], "valid_from", "last year"),
        "topics.yaml:",
        "event_time.valid_from: 'last year' is not an ISO-8601 instant with a zone (valid: e.g. 2020-01-01T00:00:00Z)",
    ),
    "event time range without a zone": (
        lambda t, p: _set(t["bid_events"]["event_time"], "valid_until", "2030-01-01 00:00:00"),
        "topics.yaml:",
        "event_time.valid_until: '2030-01-01 00:00:00' is not an ISO-8601 instant with a zone",
    ),
    "event time range reversed": (
        lambda t, p: _set(t["bid_events"]["event_time"], "valid_until", "1999-01-01T00:00:00Z"),
        "topics.yaml:",
        "event_time.valid_until: valid_until 1999-01-01T00:00:00Z is not after valid_from 2000-01-01T00:00:00Z",
    ),
    "type the decoder cannot read": (
        lambda t, p: _set(t["bid_events"]["schema"], "zoned", "TIMESTAMP(3) WITH TIME ZONE"),
        "topics.yaml:",
        "schema.zoned: TIMESTAMP(3) WITH TIME ZONE: the record decoder has "
        "no JSON reading for this type (valid: one of TINYINT, ",
    ),
    "idle timeout not a duration": (
        lambda t, p: _set(t["bid_events"]["event_time"], "idle_timeout", "soon"),
        "topics.yaml:",
        "event_time.idle_timeout: 'soon' is not a duration (valid: e.g. 30s, 2 min; 0s never marks a partition idle)",
    ),
    "raw_text column in schema": (
        lambda t, p: _set(t["bid_events"]["schema"], "raw_text", "STRING"),
        "topics.yaml:",
        "'raw_text' is a column the source adds itself",
    ),
    "event_time column in schema": (
        lambda t, p: _set(t["bid_events"]["schema"], "event_time", "TIMESTAMP(3)"),
        "topics.yaml:",
        "kafka_topics.bid_events.schema.event_time: 'event_time' is a "
        "column the source adds itself (the event time computed from "
        "event_time.field): rename this field",
    ),
    "pipeline on a disabled topic": (
        lambda t, p: _set(t["order_events"], "enabled", False),
        "transformations.yaml:",
        "(order_events_enriched).source_topic: reads topic(s) "
        "order_events, disabled in topics.yaml (enabled: false): "
        "the pipeline has no enabled source",
    ),
    "all disabled": (
        lambda t, p: [_set(x, "enabled", False) for x in p],
        "transformations.yaml:",
        "transformations: every pipeline is disabled: the job would do nothing",
    ),
    "missing module": (
        lambda t, p: _set(p[0], "name", "bid_events_rawx"),
        "transformations.yaml:",
        "cannot import module transformations.bid_events_rawx: there is no transformations/bid_events_rawx.py",
    ),
    "missing class": (
        lambda t, p: _set(p[0], "transformer_class", "BidEventsRawTransformr"),
        "transformations.yaml:",
        "module transformations.bid_events_raw has no class "
        "BidEventsRawTransformr; did you mean 'BidEventsRawTransformer'?",
    ),
    "class and sql": (
        lambda t, p: _set(p[0], "sql", "SELECT 1"),
        "transformations.yaml:",
        "give either transformer_class (a Python class) or sql / sql_file (SQL-only), not both",
    ),
    "no route": (
        lambda t, p: p[0].pop("transformer_class"),
        "transformations.yaml:",
        "transformer_class: missing: give transformer_class (a class in "
        "transformations/<name>.py) or sql / sql_file (SQL-only)",
    ),
    "sink schema with a class": (
        lambda t, p: _set(p[0], "sink_schema", {"a": "INT"}),
        "transformations.yaml:",
        "'sink_schema' does not go with transformer_class",
    ),
    "sql without sink schema": (
        lambda t, p: p.append(sql_pipeline(sink_schema=None)),
        "transformations.yaml:",
        "(orders_sql).sink_schema: missing: a SQL-only pipeline declares its sink columns",
    ),
    "partition column unknown": (
        lambda t, p: p.append(sql_pipeline(partition_by=["order_day"])),
        "transformations.yaml:",
        "partition_by[0]: 'order_day' is not a column of the sink; did you mean 'order_date'?",
    ),
    "partition outside primary key": (
        lambda t, p: p.append(sql_pipeline(primary_key=["order_id"])),
        "transformations.yaml:",
        "the partition column(s) order_date must be part of the primary key",
    ),
    "unknown placeholder": (
        lambda t, p: p.append(sql_pipeline(sql="SELECT * FROM {sorce}")),
        "transformations.yaml:",
        "unknown placeholder {sorce}; did you mean 'source'? (valid: {source}, {sources.order_events})",
    ),
    "source not read": (
        lambda t, p: p.append(sql_pipeline(sql="SELECT * FROM {sources.bid_events}")),
        "transformations.yaml:",
        "{sources.bid_events}: the pipeline does not read a topic 'bid_events'",
    ),
    "view without view_sql": (
        lambda t, p: p.append(sql_pipeline(sql="SELECT * FROM {view}")),
        "transformations.yaml:",
        "unknown placeholder {view}",
    ),
    "options with sql": (
        lambda t, p: p.append(sql_pipeline(options={"a": 1})),
        "transformations.yaml:",
        "'options' does not go with sql",
    ),
    "missing sql_file": (
        lambda t, p: p.append(sql_pipeline(sql=None, sql_file="sql/nope.sql")),
        "transformations.yaml:",
        "sql_file: no file ",
    ),
}


@pytest.mark.parametrize("edit,file,needle", CASES.values(), ids=CASES.keys())
def test_load_errors_name_file_line_key_and_fix(tmp_path, edit, file, needle):
    message = load_error(write(tmp_path / "config", *edited(edit)))
    assert message.startswith(str(tmp_path / "config" / file)), message
    assert needle in message, message
    if "is disabled" not in message:  # every error carries a line, except the list-wide one
        assert message.split(":")[1].isdigit(), f"no line number: {message}"


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    write(tmp_path)
    (tmp_path / "transformations.yaml").write_text("transformations:\n  - name: a\n    sink_table: [b\n")
    message = load_error(tmp_path)
    assert message.startswith(f"{tmp_path}/transformations.yaml: line 4, column 1: not valid YAML: ")


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path):
    write(tmp_path)
    text = (tmp_path / "topics.yaml").read_text().replace("  user_events:\n", "  bid_events:\n", 1)
    (tmp_path / "topics.yaml").write_text(text)
    line = text.splitlines().index("  bid_events:", 2) + 1
    assert f"topics.yaml:{line}: kafka_topics.bid_events: appears twice (first on line 2)" in load_error(tmp_path)


def test_error_line_is_the_line_of_the_bad_value(tmp_path):
    write(tmp_path, *edited(lambda t, p: _set(t["order_events"]["schema"], "price", "DOUBEL")))
    lines = (tmp_path / "topics.yaml").read_text().splitlines()
    line = lines.index("      price: DOUBEL") + 1
    assert load_error(tmp_path).startswith(
        f"{tmp_path}/topics.yaml:{line}: kafka_topics.order_events.schema.price: "
        "'DOUBEL' is not a Flink SQL type: unknown type DOUBEL; did you mean 'DOUBLE'?"
    )


def test_placeholder_error_points_at_the_sql_line(tmp_path):
    write(tmp_path)
    (tmp_path / "transformations.yaml").write_text(
        textwrap.dedent("""\
        transformations:
          - name: orders_sql
            source_topic: order_events
            sink_table: orders_sql
            sink_schema: {order_id: STRING}
            sql: |
              SELECT `order_id`
              FROM {sources.order_event}
        """)
    )
    assert load_error(tmp_path).startswith(
        f"{tmp_path}/transformations.yaml:8: transformations[0] (orders_sql).sql: {{sources.order_event}}: the pipeline "
        "does not read a topic 'order_event'; did you mean 'sources.order_events'?"
    )


def test_overlay_for_an_unknown_environment_suggests_the_known_ones(tmp_path):
    write(tmp_path)
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays" / "staging.yaml").write_text("kafka_topics: {}\n")
    message = load_error(tmp_path, environment="stagin")
    assert message == (
        f"{tmp_path}/overlays/stagin.yaml: (file): no overlay for environment 'stagin' (from $APP_ENV "
        "or the app.env property); did you mean 'staging'? (valid: staging)"
    )


def test_overlay_may_only_change_names_groups_and_startup(tmp_path):
    write(tmp_path)
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays" / "prod.yaml").write_text("kafka_topics:\n  bid_events:\n    schema: {a: INT}\n")
    assert load_error(tmp_path, "prod").startswith(
        f"{tmp_path}/overlays/prod.yaml:3: kafka_topics.bid_events.schema: unknown key (valid: topic_name, "
        "consumer_group, startup_mode, startup_timestamp_ms)"
    )
    (tmp_path / "overlays" / "prod.yaml").write_text("kafka_topics:\n  bid_event:\n    topic_name: x\n")
    assert (
        "kafka_topics.bid_event: 'bid_event' is not a topic in topics.yaml; did you mean 'bid_events'?"
        in load_error(tmp_path, "prod")
    )


def test_overlay_values_are_checked_and_errors_name_the_overlay(tmp_path):
    write(tmp_path)
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays" / "prod.yaml").write_text("kafka_topics:\n  bid_events:\n    startup_mode: earliest\n")
    assert load_error(tmp_path, "prod").startswith(
        f"{tmp_path}/overlays/prod.yaml:3: kafka_topics.bid_events.startup_mode: 'earliest' is not a startup mode; "
        "did you mean 'earliest-offset'?"
    )


# --- transformer classes: import errors are shown; what the class declares is checked too ---------


@pytest.fixture
def fake_transformers(tmp_path, monkeypatch):
    """Write modules that import as transformations.<name>, without touching the repository."""
    import transformations

    folder = tmp_path / "fake_transformations"
    folder.mkdir()
    monkeypatch.setattr(transformations, "__path__", [*transformations.__path__, str(folder)])

    def add(name: str, source: str) -> None:
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.delitem(sys.modules, f"transformations.{name}", raising=False)

    return add


def with_pipeline(name: str, cls: str) -> tuple[dict, dict]:
    return edited(
        lambda t, p: p.append(
            {"name": name, "source_topic": "bid_events", "sink_table": name, "transformer_class": cls}
        )
    )


def test_import_error_inside_the_module_is_shown(tmp_path, fake_transformers):
    fake_transformers("broken_import", "import no_such_library\n")
    message = load_error(write(tmp_path / "c", *with_pipeline("broken_import", "X")))
    assert (
        "transformer_class: cannot import module transformations.broken_import: ModuleNotFoundError: "
        "No module named 'no_such_library'" in message
    )


def test_syntax_error_in_the_module_is_shown(tmp_path, fake_transformers):
    fake_transformers("broken_syntax", "def (:\n")
    message = load_error(write(tmp_path / "c", *with_pipeline("broken_syntax", "X")))
    assert "cannot import module transformations.broken_syntax: SyntaxError: invalid syntax" in message


def test_class_must_be_a_transformer(tmp_path, fake_transformers):
    fake_transformers("not_a_transformer", "class Plain:\n    pass\n")
    message = load_error(write(tmp_path / "c", *with_pipeline("not_a_transformer", "Plain")))
    assert "transformer_class: Plain in transformations.not_a_transformer is not a BaseTransformer subclass" in message


def test_what_a_class_declares_is_checked_like_yaml(tmp_path, fake_transformers):
    fake_transformers(
        "bad_schema",
        """\
        from common.load.transformer import BaseTransformer

        class BadSchema(BaseTransformer):
            def get_sink_schema(self):
                return {"id": "BIGINT", "day": "DATEE"}
            def get_select_sql(self, sources):
                return "SELECT 1"
        """,
    )
    config = write(tmp_path / "c", *with_pipeline("bad_schema", "BadSchema"))
    line = (config / "transformations.yaml").read_text().splitlines().index("  transformer_class: BadSchema") + 1
    assert load_error(config).startswith(
        f"{config}/transformations.yaml:{line}: transformations[7] (bad_schema): BadSchema.get_sink_schema().day: "
        "'DATEE' is not a Flink SQL type: unknown type DATEE; did you mean 'DATE'?"
    )


def test_a_failing_transformer_names_the_pipeline_before_flink_starts(tmp_path):
    config = write(tmp_path, *edited(lambda t, p: _set(p[5], "options", {"session_gap": "soon"})))
    with pytest.raises(ConfigError) as err:
        build_plan(load_project(config), LOCAL_KAFKA, LOCAL_CATALOG, bounded=False)
    assert (
        "transformations[5] (session_analytics): SessionAnalyticsTransformer.get_view_sql() failed: "
        "ValueError: session_gap 'soon' is not a positive duration" in str(err.value)
    )


def test_the_dead_letter_table_name_is_taken(tmp_path):
    config = write(tmp_path, *edited(lambda t, p: _set(p[0], "sink_table", "dead_letters")))
    with pytest.raises(ConfigError, match="sink_table 'dead_letters' is the job's own dead-letter table"):
        build_plan(load_project(config), LOCAL_KAFKA, LOCAL_CATALOG, bounded=False)


# --- Flink type grammar ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("STRING", "STRING"),
        ("varchar(10)", "VARCHAR(10)"),
        ("CHAR(3) NOT NULL", "CHAR(3) NOT NULL"),
        ("BOOLEAN", "BOOLEAN"),
        ("BINARY(4)", "BINARY(4)"),
        ("VARBINARY(8)", "VARBINARY(8)"),
        ("BYTES", "BYTES"),
        ("DECIMAL(10,2)", "DECIMAL(10, 2)"),
        ("NUMERIC(5)", "DECIMAL(5)"),
        ("DEC", "DECIMAL"),
        ("TINYINT", "TINYINT"),
        ("SMALLINT", "SMALLINT"),
        ("Integer", "INT"),
        ("BIGINT NULL", "BIGINT"),
        ("FLOAT", "FLOAT"),
        ("DOUBLE PRECISION", "DOUBLE"),
        ("DATE", "DATE"),
        ("TIME(3)", "TIME(3)"),
        ("TIMESTAMP", "TIMESTAMP"),
        ("TIMESTAMP(3) WITHOUT TIME ZONE", "TIMESTAMP(3)"),
        ("TIMESTAMP(6) WITH TIME ZONE", "TIMESTAMP(6) WITH TIME ZONE"),
        ("timestamp(3) with local time zone", "TIMESTAMP_LTZ(3)"),
        ("TIMESTAMP_LTZ(3) NOT NULL", "TIMESTAMP_LTZ(3) NOT NULL"),
        ("INTERVAL DAY(2) TO SECOND(3)", "INTERVAL DAY(2) TO SECOND(3)"),
        ("INTERVAL YEAR TO MONTH", "INTERVAL YEAR TO MONTH"),
        ("ARRAY<STRING>", "ARRAY<STRING>"),
        ("INT ARRAY", "ARRAY<INT>"),
        ("MULTISET<INT NOT NULL>", "MULTISET<INT NOT NULL>"),
        ("MAP<STRING, ARRAY<DOUBLE>>", "MAP<STRING, ARRAY<DOUBLE>>"),
        ("ROW<a INT, `b c` STRING NOT NULL 'a description'>", "ROW<`a` INT, `b c` STRING NOT NULL 'a description'>"),
        ("ROW(x INT, y ROW<z DATE>)", "ROW<`x` INT, `y` ROW<`z` DATE>>"),
    ],
)
def test_flink_type_grammar(text, canonical):
    assert parse_type(text).text == canonical


@pytest.mark.parametrize(
    "text,problem",
    [
        ("MAP<STRING>", "expected ',' at '>' (position 11)"),
        ("ROW<a>", "expected a type name at '>' (position 6)"),
        ("TIMESTAMP(10)", "TIMESTAMP precision must be 0 to 9, found 10"),
        (
            "INTERVAL DAY TO MONTH",
            "INTERVAL DAY TO must be followed by HOUR or MINUTE or SECOND at 'MONTH' (position 17)",
        ),
        ("INT NOT", "unexpected 'NOT' after a complete type (position 5)"),
        ("INT;", "unexpected character ';' at position 4"),
    ],
)
def test_flink_type_errors_say_what_and_where(text, problem):
    with pytest.raises(FlinkTypeError) as err:
        parse_type(text)
    assert str(err.value) == problem


def test_split_nullability_for_required_fields():
    assert split_nullability("BIGINT NOT NULL") == ("BIGINT", True)
    assert split_nullability("decimal(10, 2) not null") == ("decimal(10, 2)", True)
    assert split_nullability("INT NULL") == ("INT", False)
    assert split_nullability("ROW<a INT NOT NULL>") == ("ROW<a INT NOT NULL>", False)
    assert split_nullability(" STRING ") == ("STRING", False)


def test_event_time_field_accepts_every_time_spelling(tmp_path):
    def ltz(t, p):
        t["bid_events"]["schema"]["ts"] = "TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL"
        t["bid_events"]["event_time"]["field"] = "ts"

    project = load_project(write(tmp_path, *edited(ltz)))
    assert project.topics["bid_events"].event_time.field_type == "TIMESTAMP_LTZ(3) NOT NULL"
    assert dict(project.topics["bid_events"].schema)["ts"] == "TIMESTAMP(3) WITH LOCAL TIME ZONE NOT NULL"


# --- plan check: what only the planner knows ---------------------------------------------------------

PY4J_TEXT = (
    "An error occurred while calling o146.explain.\n: java.lang.RuntimeException: Error while applying rule "
    "StreamPhysicalWindowTableFunctionRule\n\tat org.apache.calcite.plan.volcano.VolcanoRuleCall.onMatch("
    "VolcanoRuleCall.java:250)\nCaused by: org.apache.flink.table.api.ValidationException: Column types of "
    "query result and sink for 'c.d.t' do not match.\nCause: Different number of columns.\n\nQuery schema: "
    "[a: INT]\nSink schema:  [a: INT, b: INT]\n\tat org.apache.flink.table.planner.X.y(X.java:1)\n"
)


def test_java_message_keeps_the_whole_flink_message_and_drops_the_stack():
    from common.run.py4j_errors import java_message

    assert java_message(Exception(PY4J_TEXT)) == (
        "ValidationException: Column types of query result and sink for 'c.d.t' do not match.\nCause: Different "
        "number of columns.\n\nQuery schema: [a: INT]\nSink schema:  [a: INT, b: INT]"
    )
    parse = (
        ': org.apache.flink.table.api.SqlParserException: SQL parse failed. Encountered "FORM" at line 3, '
        "column 1.\nWas expecting one of:\n    <EOF> \n\tat org.apache.X"
    )
    assert (
        java_message(Exception(parse)) == 'SqlParserException: SQL parse failed. Encountered "FORM" at line 3, '
        "column 1."
    )
    assert (
        java_message(
            Exception(
                "An error occurred while calling o189.getJobStatus.\n: java.lang.IllegalState"
                "Exception: MiniCluster is not yet running.\n\tat org.X"
            )
        )
        == "IllegalStateException: MiniCluster is not yet running."
    )
    assert java_message(Exception("plain python error\nsecond line")) == "plain python error"


def test_column_problems_say_which_column_and_why():
    sink = [("id", "STRING"), ("total", "DOUBLE"), ("day", "DATE")]
    assert column_problems([("id", "STRING"), ("day", "DATE")], sink, []) == [
        "the SELECT yields 2 column(s), the sink declares 3; missing: total"
    ]
    assert column_problems(
        [("id", "STRING"), ("EXPR$1", "DOUBLE"), ("day", "TIMESTAMP(3)")], sink, [True, True, False]
    ) == [
        "column 2: the SELECT names it 'EXPR$1', the sink declares 'total' (alias the expression: AS `total`)",
        "column 3 'day': the SELECT gives TIMESTAMP(3), the sink declares DATE (not an implicit cast: CAST it in the "
        "SELECT or change the sink type)",
    ]


def test_a_kafka_metadata_column_the_topic_did_not_ask_for_says_how_to_ask():
    from common.render.job_plan import PipelinePlan, Query
    from common.run.plan_check import sql_error

    pipeline = PipelinePlan("p", "p", "iceberg.sink.p", None, "", "", ())
    message = "ValidationException: SQL validation failed. From line 1, column 8 to line 1, column 23: Column '{}' "
    message += "not found in any table"
    query = Query("SELECT", "SELECT `kafka_key_text` FROM t")
    assert str(sql_error(pipeline, query, message.format("kafka_key_text"))).endswith(
        "SELECT line 1: SELECT `kafka_key_text` FROM t\n"
        "    `kafka_key_text` is Kafka metadata: a topic's view has it with `metadata: [key]` in topics.yaml"
    )
    assert "metadata" not in str(sql_error(pipeline, query, message.format("event_tme")))


def run_validate(config_dir: Path, caplog, *extra: str) -> tuple[int, str]:
    """streaming_job.py --validate in this process (the JVM starts once for all tests)."""
    import streaming_job

    caplog.clear()
    code = streaming_job.main(["--validate", "--config-dir", str(config_dir), *extra])
    return code, "\n".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def sql_config(tmp_path: Path, *pipelines: dict) -> Path:
    return write(tmp_path / "config", TOPICS, {"transformations": list(pipelines)})


@pytest.mark.jvm
def test_plan_check_names_the_columns_that_do_not_match(tmp_path, caplog):
    bad = sql_pipeline(
        sql="SELECT `order_id`, `price` AS `amount`, `quantity` * `price`, `quantity` AS `qty`,\n"
        "  CAST(`event_time` AS DATE) AS `order_date`\nFROM {source}",
        sink_schema={
            "order_id": "STRING",
            "amount": "BIGINT",
            "total": "DOUBLE",
            "qty": "DOUBLE",
            "order_date": "DATE",
        },
    )
    code, errors = run_validate(sql_config(tmp_path, bad), caplog)
    assert code == 2
    assert (
        "transformations.yaml:2: transformations[0] (orders_sql): the SELECT does not match sink table orders_sql:"
        in errors
    )
    assert "column 2 'amount': the SELECT gives DOUBLE, the sink declares BIGINT (not an implicit cast" in errors
    assert (
        "column 3: the SELECT names it 'EXPR$2', the sink declares 'total' (alias the expression: AS `total`)" in errors
    )
    assert "column 4" not in errors  # INT into DOUBLE: an implicit cast, as Flink's INSERT allows


@pytest.mark.jvm
def test_plan_check_counts_columns(tmp_path, caplog):
    code, errors = run_validate(sql_config(tmp_path, sql_pipeline(sql="SELECT `order_id` FROM {source}")), caplog)
    assert code == 2
    assert "the SELECT yields 1 column(s), the sink declares 3; missing: amount, order_date" in errors


@pytest.mark.jvm
def test_sql_that_does_not_parse_points_at_the_yaml_line(tmp_path, caplog):
    config = sql_config(tmp_path, sql_pipeline(sql="SELECT `order_id`,\n  `price` AS `amount`\nFORM {source}\n"))
    code, errors = run_validate(config, caplog)
    yaml_line = (config / "transformations.yaml").read_text().splitlines().index("    FORM {source}") + 1
    assert code == 2
    assert (
        f"transformations.yaml:{yaml_line}: transformations[0] (orders_sql): the SELECT does not parse: "
        'SqlParserException: SQL parse failed. Encountered "FORM" at line 3, column 1.' in errors
    )
    assert "SELECT line 3: FORM `default_catalog`.`default_database`.`kafka_order_events`" in errors
    assert "py4j" not in errors and "\tat " not in errors


@pytest.mark.jvm
def test_sql_that_does_not_validate_shows_the_planner_message_and_line(tmp_path, caplog):
    config = sql_config(
        tmp_path,
        sql_pipeline(
            sql="SELECT `order_id`, `price` AS `amount`,\n  CAST(`event_tme` AS DATE) AS `order_date`\nFROM {source}\n"
        ),
    )
    code, errors = run_validate(config, caplog)
    assert code == 2
    assert (
        "(orders_sql): the SELECT does not validate: ValidationException: SQL validation failed. From line 2, "
        "column 8 to line 2, column 18: Column 'event_tme' not found in any table" in errors
    )
    assert "SELECT line 2: CAST(`event_tme` AS DATE) AS `order_date`" in errors


@pytest.mark.jvm
def test_window_without_watermark_names_the_pipeline(tmp_path, caplog):
    window = sql_pipeline(
        name="hourly",
        sink_table="hourly",
        partition_by=None,
        sink_schema={"window_start": "TIMESTAMP(3)", "orders": "BIGINT"},
        view_sql="SELECT CAST(`event_time` AS TIMESTAMP(3)) AS `ts` FROM {source}",
        sql="SELECT `window_start`, COUNT(*) AS `orders`\n"
        "FROM TABLE(TUMBLE(TABLE {view}, DESCRIPTOR(`ts`), INTERVAL '1' HOUR))\n"
        "GROUP BY `window_start`, `window_end`",
    )
    code, errors = run_validate(sql_config(tmp_path, window), caplog)
    assert code == 2
    assert "transformations[0] (hourly): a window over `ts`, which is not a time attribute (no watermark)" in errors
    assert (
        "Flink: ValidationException: The window function requires the timecol is a time attribute type, "
        "but is TIMESTAMP(3)." in errors
    )


@pytest.mark.jvm
def test_updating_sql_into_an_append_table_is_refused(tmp_path, caplog):
    counts = sql_pipeline(
        name="orders_per_user",
        sink_table="orders_per_user",
        partition_by=None,
        sink_schema={"user_id": "BIGINT", "orders": "BIGINT"},
        sql="SELECT `user_id`, COUNT(*) AS `orders` FROM {source} GROUP BY `user_id`",
    )
    code, errors = run_validate(sql_config(tmp_path, counts), caplog)
    assert code == 2
    assert "orders_per_user (produces [I,UB,UA] into orders_per_user)" in errors
    assert "an updating query cannot write to an append-only table" in errors
    keyed = dict(counts, primary_key=["user_id"], sink_schema={"user_id": "BIGINT NOT NULL", "orders": "BIGINT"})
    assert run_validate(sql_config(tmp_path / "keyed", keyed), caplog) == (0, "")


@pytest.mark.jvm
def test_reserved_words_work_as_column_names(tmp_path, capsys):
    """`user` and `timestamp` as source and sink columns: every generated identifier is quoted."""
    import streaming_job

    def reserved(t, p):
        t["clicks"] = {
            "topic_name": "clicks",
            "consumer_group": "g",
            "startup_mode": "earliest-offset",
            "event_time": {"field": "timestamp", "max_out_of_orderness": "1s"},
            "schema": {"user": "BIGINT", "timestamp": "BIGINT", "select": "STRING"},
        }
        p[:] = [
            {
                "name": "clicks_raw",
                "source_topic": "clicks",
                "sink_table": "clicks_raw",
                "sink_schema": {"user": "BIGINT", "timestamp": "BIGINT", "select": "STRING", "date": "DATE"},
                "partition_by": ["date"],
                "sql": "SELECT `user`, `timestamp`, `select`, CAST(`event_time` AS DATE) AS `date` FROM {source}",
            }
        ]

    code = streaming_job.main(["--dry-run", "--config-dir", str(write(tmp_path, *edited(reserved)))])
    out = capsys.readouterr().out
    assert code == 0
    assert "`user` BIGINT,\n  `timestamp` BIGINT,\n  `select` STRING,\n  `date` DATE" in out
    assert "INSERT INTO `iceberg`.`sink`.`clicks_raw` (`user`, `timestamp`, `select`, `date`)" in out


@pytest.mark.jvm
def test_validate_cli_on_the_shipped_config_is_quick_and_quiet():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "streaming_job.py"), "--validate"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("OK: ")
    assert "bid_events_raw, bid_events_aggregated" in result.stdout
    assert time.monotonic() - started < 120  # seconds, on a loaded 2-core machine: the JVM start and one plan


@pytest.mark.jvm
def test_validate_cli_fails_with_exit_2_and_one_message(tmp_path):
    config = write(tmp_path, *edited(lambda t, p: _set(t["bid_events"]["schema"], "bid_amount", "DOUBEL")))
    result = subprocess.run(
        [sys.executable, str(ROOT / "streaming_job.py"), "--validate", "--config-dir", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'DOUBEL' is not a Flink SQL type: unknown type DOUBEL; did you mean 'DOUBLE'?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("declared", "problem", "valid"),
    [
        (
            "MAP<INT, STRING>",
            "JSON object keys are text, so a MAP's key type must be STRING",
            "MAP<STRING, value type>",
        ),
        ("ARRAY<MAP<VARCHAR(5), INT>>", "JSON object keys are text", "MAP<STRING, value type>"),
        ("MULTISET<STRING>", "the record decoder has no JSON reading for this type", "ROW<name type, ...>"),
        ("ROW<a ARRAY<INTERVAL DAY>>", "INTERVAL DAY: the record decoder has no JSON reading", "MAP<STRING, type>"),
    ],
)
def test_nested_types_the_decoder_cannot_read_are_refused(tmp_path, declared, problem, valid):
    topics, pipes = edited(lambda t, p: t["user_events"]["schema"].update(tags=declared))
    message = load_error(write(tmp_path / "c", topics, pipes))
    assert "topics.yaml:" in message
    assert "kafka_topics.user_events.schema.tags: " in message
    assert problem in message
    assert valid in message


def test_nested_types_are_accepted_in_topic_schemas(tmp_path):
    nested = {
        "device": "ROW<os STRING NOT NULL, version INT>",
        "tags": "ARRAY<STRING>",
        "attrs": "MAP<STRING, ARRAY<ROW<`value` DOUBLE>>>",
    }
    topics, pipes = edited(lambda t, p: t["user_events"]["schema"].update(nested))
    project = load_project(write(tmp_path / "c", topics, pipes))
    schema = dict(project.topics["user_events"].schema)
    assert {column: schema[column] for column in nested} == nested


@pytest.mark.jvm
def test_a_real_run_refuses_misnamed_columns_before_submitting(tmp_path):
    """Flink's INSERT maps the SELECT by position; the job checks names before it submits."""
    swapped = sql_pipeline(
        sql="SELECT `product_id`, `order_id`, CAST(`event_time` AS DATE) AS `order_date`\nFROM {source}",
        sink_schema={"order_id": "STRING", "product_id": "STRING", "order_date": "DATE"},
    )
    config = sql_config(tmp_path, swapped)
    env = dict(os.environ, ICEBERG_WAREHOUSE=str(tmp_path / "wh"), KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    result = subprocess.run(
        [sys.executable, str(ROOT / "streaming_job.py"), "--bounded", "--config-dir", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "column 1: the SELECT names it 'product_id', the sink declares 'order_id'" in result.stderr
    assert "submitted job" not in result.stderr


def test_event_time_range_is_read_as_utc_instants(tmp_path):
    def ranged(t, p):
        t["bid_events"]["event_time"]["valid_from"] = "2020-01-01T02:00:00+02:00"
        t["bid_events"]["event_time"]["valid_until"] = "2030-06-01T12:00:00.5Z"

    project = load_project(write(tmp_path, *edited(ranged)))
    event_time = project.topics["bid_events"].event_time
    assert (event_time.valid_from, event_time.valid_until) == ("2020-01-01T00:00:00Z", "2030-06-01T12:00:00.500Z")
    defaults = project.topics["user_events"].event_time
    assert (defaults.valid_from, defaults.valid_until) == ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
    assert defaults.idle_timeout_ms == 30_000
