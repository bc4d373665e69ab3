"""Sink schema evolution (common/state/sink_schema.py, common/run/sink_evolution.py): the pure comparison without a JVM, then the
job against a real local warehouse made by an older config. S3 Tables on moto is not covered:
moto answers UpdateTableMetadataLocation in a shape the AWS SDK cannot parse, so the SDK retries
a commit that already succeeded and gets 409 Conflict (logged by the job's data commits too)."""

from __future__ import annotations

import pytest

from common.errors import ConfigError, Origin
from common.load.config import load_project
from common.load.flink_types import parse_type
from common.load.properties import CatalogSettings, KafkaSettings
from common.render.dead_letters import PARTITION_BY as DEAD_LETTER_PARTITION_BY
from common.render.dead_letters import SCHEMA as DEAD_LETTER_SCHEMA
from common.render.job_plan import build_plan
from common.run.sink_evolution import SinkTarget, error_for, targets
from common.state.sink_schema import Change, Evolution, Problem, TableSchema, compare, iceberg_type

TABLE = "`iceberg`.`sink`.`t`"
BASE = (("id", "BIGINT"), ("name", "STRING"), ("day", "DATE"))


def table(*columns: tuple[str, str], partition_by=("day",), primary_key=()) -> TableSchema:
    return TableSchema(tuple(columns), tuple(partition_by), tuple(primary_key))


def test_the_same_schema_needs_nothing():
    assert compare(table(*BASE), table(*BASE)) == Evolution()
    assert compare(table(*BASE), table(*BASE)).unchanged


def test_a_new_nullable_column_is_added_in_one_statement():
    evolution = compare(table(*BASE), table(*BASE, ("city", "INT"), ("tags", "MAP<STRING, STRING>")))
    assert evolution.changes == (Change("add", "city", "INT"), Change("add", "tags", "MAP<STRING, STRING>"))
    assert evolution.statements(TABLE) == [f"ALTER TABLE {TABLE} ADD (`city` INT, `tags` MAP<STRING, STRING>)"]
    assert evolution.changes[0].describe() == "added column `city` INT (rows already there read NULL)"


def test_a_new_not_null_column_is_refused():
    evolution = compare(table(*BASE), table(*BASE, ("city", "INT NOT NULL")))
    assert evolution.changes == ()
    assert evolution.problems == (
        Problem(
            "city",
            "new column `city` is INT NOT NULL: rows already in the table have no value for it",
            "declare it nullable: `city` INT, or write to a new sink_table",
        ),
    )


@pytest.mark.parametrize(
    "old, new", [("INT", "BIGINT"), ("SMALLINT", "BIGINT"), ("FLOAT", "DOUBLE"), ("DECIMAL(10, 2)", "DECIMAL(12, 2)")]
)
def test_a_widening_iceberg_promotes_is_evolved(old, new):
    evolution = compare(table(*BASE, ("v", old)), table(*BASE, ("v", new)))
    assert evolution.changes == (Change("widen", "v", new, before=old),)
    assert evolution.statements(TABLE) == [f"ALTER TABLE {TABLE} MODIFY (`v` {new})"]


def test_a_widening_keeps_a_required_column_required_only_if_both_say_so():
    required = compare(table(*BASE, ("v", "INT NOT NULL")), table(*BASE, ("v", "BIGINT NOT NULL")))
    assert required.statements(TABLE) == [f"ALTER TABLE {TABLE} MODIFY (`v` BIGINT NOT NULL)"]
    # an optional column cannot become required (Iceberg refuses optional -> required): it stays optional
    optional = compare(table(*BASE, ("v", "INT")), table(*BASE, ("v", "BIGINT NOT NULL")))
    assert optional.statements(TABLE) == [f"ALTER TABLE {TABLE} MODIFY (`v` BIGINT)"]


def test_a_required_column_declared_nullable_becomes_optional():
    evolution = compare(table(*BASE, ("v", "TIMESTAMP(6) NOT NULL")), table(*BASE, ("v", "TIMESTAMP(3)")))
    assert evolution.changes == (Change("make nullable", "v", "TIMESTAMP(6)"),)
    # a NOT NULL declaration of a nullable column changes nothing: non-null values fit
    assert compare(table(*BASE, ("v", "INT")), table(*BASE, ("v", "INT NOT NULL"))) == Evolution()


@pytest.mark.parametrize(
    "in_table, declared",
    [
        ("TIMESTAMP(6)", "TIMESTAMP(3)"),
        ("INT", "TINYINT"),
        ("STRING", "VARCHAR(20)"),
        ("BYTES", "VARBINARY(8)"),
        ("TIMESTAMP_LTZ(6)", "TIMESTAMP(3) WITH LOCAL TIME ZONE"),
        ("MAP<STRING NOT NULL, BYTES>", "MAP<STRING, BYTES>"),
        ("ROW<`a` INT, `b` ARRAY<STRING>>", "ROW<a INT, b ARRAY<VARCHAR(3)>>"),
    ],
)
def test_spellings_of_the_same_iceberg_type_need_nothing(in_table, declared):
    assert compare(table(*BASE, ("v", in_table)), table(*BASE, ("v", declared))) == Evolution()


@pytest.mark.parametrize(
    "flink, iceberg",
    [
        ("TIMESTAMP(9)", "timestamp_ns"),
        ("TIMESTAMP_LTZ(3)", "timestamptz"),
        ("BINARY(16)", "fixed[16]"),
        ("DECIMAL", "decimal(10, 0)"),
        ("MULTISET<STRING>", "map<string, int>"),
        ("ROW<a INT NOT NULL, b ARRAY<DOUBLE NOT NULL>>", "struct<a: required int, b: optional list<required double>>"),
    ],
)
def test_iceberg_type_follows_icebergs_flink_conversion(flink, iceberg):
    assert iceberg_type(parse_type(flink)) == iceberg


def test_a_narrowing_is_refused_naming_the_column_and_what_is_valid():
    (problem,) = compare(table(*BASE, ("v", "BIGINT")), table(*BASE, ("v", "INT"))).problems
    assert problem == Problem(
        "v",
        "column `v` is BIGINT in the table, declared INT: a narrowing, which Iceberg "
        "cannot do (values already written may not fit)",
        "declare `v` BIGINT, or write to a new sink_table",
    )
    # INT and SMALLINT are both Iceberg int: nothing is narrowed in the table
    assert compare(table(*BASE, ("v", "INT")), table(*BASE, ("v", "SMALLINT NOT NULL"))) == Evolution()
    (problem,) = compare(table(*BASE, ("v", "DECIMAL(10, 2)")), table(*BASE, ("v", "DECIMAL(12, 3)"))).problems
    assert problem.valid == "declare `v` DECIMAL(10, 2) (or DECIMAL(p, 2) with p > 10), or write to a new sink_table"


def test_an_incompatible_type_change_is_refused():
    (problem,) = compare(table(*BASE, ("v", "STRING")), table(*BASE, ("v", "INT"))).problems
    assert problem.problem == (
        "column `v` is STRING in the table, declared INT: a type change Iceberg cannot make "
        "(old files cannot be read as the new type)"
    )
    (problem,) = compare(table(*BASE, ("v", "TIMESTAMP(6)")), table(*BASE, ("v", "TIMESTAMP_LTZ(3)"))).problems
    assert problem.valid == "declare `v` TIMESTAMP(6), or write to a new sink_table"


def test_a_column_no_longer_written_stays_if_nullable_and_is_refused_if_required():
    evolution = compare(table(*BASE, ("old", "STRING")), table(*BASE))
    assert evolution == Evolution(unwritten=("old",))
    (problem,) = compare(table(*BASE, ("old", "STRING NOT NULL")), table(*BASE)).problems
    assert problem == Problem(
        "old",
        "the table's column `old` STRING NOT NULL is required and the pipeline no "
        "longer writes it: its new rows would have no value there",
        "keep `old` STRING NOT NULL in the sink schema, or write to a new sink_table",
    )


def test_a_changed_partition_spec_is_refused():
    (problem,) = compare(table(*BASE), table(*BASE, ("city", "INT"), partition_by=("day", "city"))).problems
    assert problem == Problem(
        "city",
        "partition_by (day, city) differs from the table's (day): the files already "
        "written are laid out by the old spec",
        "partition_by (day) as the table has it, or write to a new sink_table",
    )
    assert compare(table(*BASE), table(*BASE, partition_by=())).problems[0].column == "day"


def test_a_changed_primary_key_is_refused_and_key_order_does_not_matter():
    keyed = (("id", "BIGINT NOT NULL"), ("name", "STRING"), ("day", "DATE NOT NULL"))
    assert compare(table(*keyed, primary_key=("id", "day")), table(*BASE, primary_key=("day", "id"))) == Evolution()
    (problem,) = compare(
        table(*keyed, primary_key=("id", "day")), table(*BASE, primary_key=("id", "name", "day"))
    ).problems
    assert problem == Problem(
        "name",
        "primary key (id, name, day) differs from the table's (id, day): Iceberg "
        "cannot re-key the rows already written",
        "primary key (id, day) as the table has it, or write to a new sink_table",
    )


def test_a_key_or_partition_column_is_not_widened():
    keyed = (("id", "INT NOT NULL"), ("name", "STRING"), ("day", "DATE NOT NULL"))
    (problem,) = compare(
        table(*keyed, primary_key=("id", "day")),
        table(("id", "BIGINT"), ("name", "STRING"), ("day", "DATE"), primary_key=("id", "day")),
    ).problems
    assert problem == Problem(
        "id",
        "column `id` is INT NOT NULL in the table, declared BIGINT NOT NULL: a partition "
        "or primary-key column keeps its type (its values are also in manifests and "
        "deletes)",
        "declare `id` INT NOT NULL, or write to a new sink_table",
    )


def test_every_problem_is_reported_and_nothing_is_changed_then():
    evolution = compare(table(*BASE, ("v", "BIGINT")), table(*BASE, ("v", "INT"), ("w", "INT NOT NULL"), ("x", "INT")))
    assert [p.column for p in evolution.problems] == ["v", "w"]
    assert evolution.changes == ()


# The dead-letter table of a warehouse written before the strict-json decoder (commit f58c614).
OLD_DEAD_LETTERS = table(
    ("topic", "STRING"),
    ("kafka_partition", "INT"),
    ("kafka_offset", "BIGINT"),
    ("kafka_timestamp", "TIMESTAMP(6)"),
    ("reason", "STRING"),
    ("raw_value", "STRING"),
    ("raw_chars", "INT"),
    ("ingestion_time", "TIMESTAMP(6)"),
    ("dead_letter_date", "DATE"),
    partition_by=("dead_letter_date",),
)
DEAD_LETTERS_TODAY = TableSchema(tuple(DEAD_LETTER_SCHEMA), tuple(DEAD_LETTER_PARTITION_BY))


def test_the_old_dead_letter_table_keeps_its_text_column_under_a_new_name():
    evolution = compare(OLD_DEAD_LETTERS, DEAD_LETTERS_TODAY, keep_incompatible=True)
    table_name = "`iceberg`.`sink`.`dead_letters`"
    assert evolution.statements(table_name) == [
        f"ALTER TABLE {table_name} RENAME `raw_value` TO `raw_value_string`",
        f"ALTER TABLE {table_name} ADD (`raw_value` BYTES, `raw_text` STRING, `kafka_key` BYTES, "
        "`kafka_headers` MAP<STRING, BYTES>)",
    ]
    assert evolution.unwritten == ("raw_chars",)
    # a user's table is not renamed behind its readers' backs: the same change is refused there
    assert [p.column for p in compare(OLD_DEAD_LETTERS, DEAD_LETTERS_TODAY).problems] == ["raw_value"]


def test_the_plan_declares_every_sink_with_its_partitions_and_key():
    catalog = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")
    plan = build_plan(load_project(), KafkaSettings("127.0.0.1:9092", "none", 1_048_576), catalog, bounded=True)
    sinks = {t.pipeline: t for t in targets(plan)}
    assert set(sinks) == {p.name for p in plan.pipelines}
    raw = sinks["bid_events_raw"]
    assert (raw.catalog, raw.namespace, raw.table, raw.declared.partition_by) == (
        "iceberg",
        "sink",
        "bid_events_raw",
        ("event_date",),
    )
    assert sinks["dead_letters"].declared == DEAD_LETTERS_TODAY and sinks["dead_letters"].keep_incompatible
    assert not raw.keep_incompatible


def test_the_error_names_file_line_pipeline_table_column_and_what_is_valid():
    target = SinkTarget(
        "bids",
        "iceberg",
        "sink",
        "bids",
        table(*BASE),
        Origin("config/transformations.yaml", "transformations[0] (bids)", 14),
    )
    error = error_for(target, compare(table(*BASE, ("v", "BIGINT")), table(*BASE, ("v", "INT"))))
    assert isinstance(error, ConfigError)
    assert str(error) == (
        "config/transformations.yaml:14: transformations[0] (bids): sink table iceberg.sink.bids "
        "exists with another schema: column `v` is BIGINT in the table, declared INT: a narrowing, "
        "which Iceberg cannot do (values already written may not fit) "
        "(valid: declare `v` BIGINT, or write to a new sink_table)"
    )


# --- the job against real tables ---------------------------------------------------------------------------

OLD_BID_EVENTS_RAW = [  # as an older config declared bid_events_raw
    ("event_name", "STRING"),
    ("user_id", "INT"),
    ("city_id", "INT"),
    ("platform", "STRING"),
    ("bid_amount", "FLOAT"),
    ("event_time", "TIMESTAMP(3)"),
    ("ingestion_time", "TIMESTAMP(3)"),
    ("event_date", "DATE"),
    ("legacy_note", "STRING"),
]
OLD_BID_ROW = (
    "'bid'",
    "7",
    "3",
    "'ios'",
    "CAST(1.5 AS FLOAT)",
    "TIMESTAMP '2024-01-01 10:00:00'",
    "TIMESTAMP '2024-01-01 10:00:01'",
    "DATE '2024-01-01'",
    "'from the old job'",
)
OLD_DEAD_LETTER_ROW = (
    "'old-topic'",
    "0",
    "41",
    "TIMESTAMP '2024-01-01 10:00:00'",
    "'not JSON'",
    "'{oops'",
    "5",
    "TIMESTAMP '2024-01-01 10:00:01'",
    "DATE '2024-01-01'",
)


def create_old_tables(settings, tables: dict[str, tuple[list, list[str], tuple | None]]) -> None:
    """What an older config left in the warehouse: each table created by the job's own DDL renderer
    from an old schema, with one row (name -> (schema, partition_by, row of SQL literals or None))."""
    from common.render.catalog_manager import render_catalog_ddl
    from common.render.iceberg_sinks import render_sink_ddl, sink_ref
    from common.run import flink_env

    t_env = flink_env.create_table_env(settings, "old-config", batch=True)
    catalog = settings.catalog
    for ddl in render_catalog_ddl(catalog):
        t_env.execute_sql(ddl)
    inserts = t_env.create_statement_set()
    for name, (schema, partition_by, row) in tables.items():
        t_env.execute_sql(render_sink_ddl(catalog.name, catalog.namespace, name, schema, partition_by))
        if row:
            inserts.add_insert_sql(
                f"INSERT INTO {sink_ref(catalog.name, catalog.namespace, name)} VALUES ({', '.join(row)})"
            )
    inserts.execute().wait()


def old_warehouse(monkeypatch, warehouse, bid_events_raw=OLD_BID_EVENTS_RAW, bid_row=OLD_BID_ROW) -> None:
    from common.load.properties import load_settings

    monkeypatch.setenv("ICEBERG_WAREHOUSE", str(warehouse))
    create_old_tables(
        load_settings(),
        {
            "bid_events_raw": (bid_events_raw, ["event_date"], bid_row),
            "dead_letters": (list(OLD_DEAD_LETTERS.columns), ["dead_letter_date"], OLD_DEAD_LETTER_ROW),
        },
    )


def schema_of(warehouse, table_name: str) -> list[tuple[int, str, str, bool]]:
    from common.ops.local_warehouse import open_table

    return [
        (f.field_id, f.name, str(f.field_type), f.required)
        for f in open_table(str(warehouse), "sink", table_name).schema().fields
    ]


@pytest.mark.jvm
def test_an_old_warehouse_is_evolved_and_the_job_writes_into_it(workspace, monkeypatch):
    from confluent_kafka import Producer

    from common.ops.local_warehouse import read_rows
    from sample_gen import bid_events, produce

    old_warehouse(monkeypatch, workspace.warehouse)
    events = list(bid_events(20, seed=5))
    assert produce(workspace.bootstrap, workspace.topics["bid_events"], events).failed == 0
    producer = Producer({"bootstrap.servers": workspace.bootstrap})
    producer.produce(workspace.topics["bid_events"], value=b"{not json", partition=0)
    assert producer.flush(30) == 0

    result = workspace.run_job("--bounded", "--only", "bid_events_raw")
    assert result.returncode == 0, result.stderr[-5000:]
    for line in (
        "sink iceberg.sink.bid_events_raw of pipeline bid_events_raw: widened `user_id` from INT to BIGINT",
        "sink iceberg.sink.bid_events_raw of pipeline bid_events_raw: widened `bid_amount` from FLOAT to DOUBLE",
        "sink iceberg.sink.bid_events_raw of pipeline bid_events_raw: added column `session_id` STRING "
        "(rows already there read NULL)",
        "sink iceberg.sink.bid_events_raw of pipeline bid_events_raw: column(s) legacy_note no longer "
        "written: kept, NULL in new rows",
        "sink iceberg.sink.dead_letters of pipeline dead_letters: kept the old `raw_value` as "
        "`raw_value_string` (its type changed incompatibly)",
    ):
        assert line in result.stderr

    assert schema_of(workspace.warehouse, "bid_events_raw") == [
        (1, "event_name", "string", False),
        (2, "user_id", "long", False),
        (3, "city_id", "int", False),
        (4, "platform", "string", False),
        (5, "bid_amount", "double", False),
        (6, "event_time", "timestamp", False),
        (7, "ingestion_time", "timestamp", False),
        (8, "event_date", "date", False),
        (9, "legacy_note", "string", False),
        (10, "session_id", "string", False),
    ]
    rows = read_rows(str(workspace.warehouse), "sink", "bid_events_raw")
    old = [r for r in rows if r["legacy_note"] is not None]
    assert [(r["user_id"], r["bid_amount"], r["session_id"], r["legacy_note"]) for r in old] == [
        (7, 1.5, None, "from the old job")
    ]
    new = sorted((r["user_id"], r["session_id"], r["bid_amount"]) for r in rows if r["legacy_note"] is None)
    assert new == sorted((e["user_id"], e["session_id"], e["bid_amount"]) for e in events)

    assert [name for _, name, _, _ in schema_of(workspace.warehouse, "dead_letters")] == [
        "topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        "reason",
        "raw_value_string",
        "raw_chars",
        "ingestion_time",
        "dead_letter_date",
        "raw_value",
        "raw_text",
        "kafka_key",
        "kafka_headers",
    ]
    letters = sorted(read_rows(str(workspace.warehouse), "sink", "dead_letters"), key=lambda r: r["topic"])
    assert [(r["topic"], r["raw_value_string"], r["raw_chars"], r["raw_value"]) for r in letters] == sorted(
        [("old-topic", "{oops", 5, None), (workspace.topics["bid_events"], None, None, b"{not json")]
    )


@pytest.mark.jvm
def test_a_change_iceberg_cannot_make_is_refused_before_anything_changes(workspace, monkeypatch):
    from common.ops.local_warehouse import open_table

    incompatible = [(c, "STRING" if c == "user_id" else t) for c, t in OLD_BID_EVENTS_RAW]
    old_warehouse(
        monkeypatch,
        workspace.warehouse,
        bid_events_raw=incompatible,
        bid_row=tuple("'7'" if c == "user_id" else v for (c, _), v in zip(OLD_BID_EVENTS_RAW, OLD_BID_ROW)),
    )
    versions = {
        t: open_table(str(workspace.warehouse), "sink", t).metadata_location for t in ("bid_events_raw", "dead_letters")
    }

    result = workspace.run_job("--bounded", "--only", "bid_events_raw")
    assert result.returncode == 2, result.stderr[-5000:]
    yaml_file = workspace.config_dir / "transformations.yaml"
    line = yaml_file.read_text().splitlines().index("  - name: bid_events_raw") + 1
    assert (
        f"bad configuration: {yaml_file}:{line}: transformations[0] (bid_events_raw): sink table "
        "iceberg.sink.bid_events_raw exists with another schema: column `user_id` is STRING in the table, "
        "declared BIGINT: a type change Iceberg cannot make (old files cannot be read as the new type) "
        "(valid: declare `user_id` STRING, or write to a new sink_table)"
    ) in result.stderr
    assert "submitted job" not in result.stderr
    # nothing was evolved, not even the dead-letter table that could have been
    assert {t: open_table(str(workspace.warehouse), "sink", t).metadata_location for t in versions} == versions


@pytest.mark.parametrize(
    "old, new, where",
    [
        ("ROW<os STRING>", "ROW<os STRING, model STRING>", "device.model added"),
        ("ROW<os STRING, model STRING>", "ROW<os STRING>", "device.model removed"),
        ("ROW<os STRING, v INT>", "ROW<v INT, os STRING>", "device: its fields are in another order"),
        ("ROW<os STRING NOT NULL>", "ROW<os STRING>", "device.os is STRING NOT NULL, declared STRING"),
        (
            "ARRAY<ROW<sku STRING, price DECIMAL(10, 2)>>",
            "ARRAY<ROW<sku STRING, price DOUBLE>>",
            "device[].price is DECIMAL(10, 2), declared DOUBLE",
        ),
        ("MAP<STRING, INT>", "MAP<STRING, BIGINT>", "device[value] is INT, declared BIGINT"),
        ("ARRAY<INT>", "ARRAY<INT NOT NULL>", "device[] is INT, declared INT NOT NULL"),
    ],
)
def test_a_nested_change_is_refused_naming_its_path(old, new, where):
    evolution = compare(table(*BASE, ("device", old)), table(*BASE, ("device", new)))
    assert evolution.changes == ()
    (problem,) = evolution.problems
    assert problem.column == "device"
    assert problem.problem == (
        f"column `device` changed inside: {where}; the job evolves top-level columns only "
        "(Flink's ALTER TABLE on Iceberg changes no nested field)"
    )
    assert problem.valid.startswith(f"declare `device` {parse_type(old).text} as the table has it")


def test_nested_spellings_iceberg_stores_alike_need_nothing():
    old = ("device", "ROW<ts TIMESTAMP(3), n TINYINT, tags ARRAY<VARCHAR(10)>>")
    new = ("device", "ROW<ts TIMESTAMP(6), n INT, tags ARRAY<STRING>>")
    assert compare(table(*BASE, old), table(*BASE, new)) == Evolution()
