"""Partition fields (common/load/partitioning.py): the grammar, the checks against the sink's
columns, and the load phase's errors naming file, key and what is valid. No JVM."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from common.errors import ConfigError
from common.load.config import CONFIG_DIR, load_project
from common.load.flink_types import parse_type
from common.load.partitioning import (
    PartitionField,
    PartitionFieldError,
    canonical,
    has_transform,
    parse_partition_field,
    source_columns,
    spec_problem,
)


@pytest.mark.parametrize(
    "written, field, text, name",
    [
        ("city", PartitionField("identity", "city"), "city", "city"),
        ("DAY(event_time)", PartitionField("day", "event_time"), "day(event_time)", "event_time_day"),
        ("days( event_time )", PartitionField("day", "event_time"), "day(event_time)", "event_time_day"),
        ("Hour(ts)", PartitionField("hour", "ts"), "hour(ts)", "ts_hour"),
        ("months(d)", PartitionField("month", "d"), "month(d)", "d_month"),
        ("year(d)", PartitionField("year", "d"), "year(d)", "d_year"),
        ("bucket(16, user_id)", PartitionField("bucket", "user_id", 16), "bucket(16, user_id)", "user_id_bucket_16"),
        ("BUCKET(user_id,16)", PartitionField("bucket", "user_id", 16), "bucket(16, user_id)", "user_id_bucket_16"),
        ("truncate(10, url)", PartitionField("truncate", "url", 10), "truncate(10, url)", "url_trunc_10"),
        ("identity(city)", PartitionField("identity", "city"), "city", "city"),
    ],
)
def test_a_field_parses_to_one_canonical_text_and_icebergs_name(written, field, text, name):
    parsed = parse_partition_field(written)
    assert (parsed, parsed.text, parsed.name) == (field, text, name)
    assert parse_partition_field(parsed.text) == parsed  # the canonical text reads back as itself


@pytest.mark.parametrize(
    "written, message",
    [
        ("dya(event_time)", "'dya' is not an Iceberg partition transform; did you mean 'day'?"),
        ("bucket(0, user_id)", "N must be a positive whole number (at most 2147483647), found 0"),
        ("truncate(-3, url)", "N must be a positive whole number (at most 2147483647), found -3"),
        ("bucket(user_id)", "bucket takes a number and a column: bucket(N, col)"),
        ("bucket(x, user_id)", "bucket takes one number N, a whole number"),
        ("truncate(1.5, url)", "truncate takes one number N, a whole number"),
        ("day(a, b)", "day takes one column: day(col)"),
        ("day(1)", "'1' is not a column name"),
        ("bucket(4", "a comma splits a YAML [a, b] list: quote the field"),
        ("user id", "'user id' is neither a column name nor a transform(column)"),
    ],
)
def test_a_bad_field_says_what_is_wrong(written, message):
    with pytest.raises(PartitionFieldError, match=None) as err:
        parse_partition_field(written)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "field, flink, problem",
    [
        ("day(t)", "TIMESTAMP(3)", None),
        ("day(t)", "TIMESTAMP_LTZ(3) NOT NULL", None),
        ("month(t)", "DATE", None),
        ("hour(t)", "DATE", "hour() cannot take `t` DATE: it needs TIMESTAMP or TIMESTAMP_LTZ"),
        ("day(t)", "BIGINT", "day() cannot take `t` BIGINT: it needs DATE, TIMESTAMP or TIMESTAMP_LTZ"),
        ("truncate(4, t)", "DECIMAL(10, 2)", None),
        ("truncate(4, t)", "VARCHAR(20)", None),
        ("truncate(4, t)", "DOUBLE", "truncate() cannot take `t` DOUBLE: it needs an integer, DECIMAL, string"),
        ("bucket(8, t)", "DATE", None),
        ("bucket(8, t)", "BOOLEAN", "bucket() cannot take `t` BOOLEAN"),
        ("bucket(8, t)", "FLOAT", "bucket() cannot take `t` FLOAT"),
        ("t", "DOUBLE", None),
        ("t", "ARRAY<INT>", "cannot partition by `t` ARRAY<INT>: a nested column"),
    ],
)
def test_each_transform_takes_the_types_iceberg_allows(field, flink, problem):
    found = parse_partition_field(field).type_problem(parse_type(flink))
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_what_iceberg_refuses_in_a_whole_spec_is_found_first():
    schema = {c: parse_type("TIMESTAMP(3)") for c in ("ts", "other", "ts_day")}
    fields = lambda *texts: [parse_partition_field(t) for t in texts]  # noqa: E731
    assert spec_problem(fields("day(ts)", "bucket(4, other)", "other"), {"ts": schema["ts"]}) is None
    assert spec_problem(fields("day(ts)", "DAY(ts)"), {"ts": schema["ts"]}) == "'day(ts)' is listed twice"
    assert spec_problem(fields("day(ts)", "hour(ts)"), {"ts": schema["ts"]}) == (
        "'hour(ts)' and 'day(ts)' are both time partitions of `ts`"
    )
    assert spec_problem(fields("day(ts)"), schema) == (
        "'day(ts)' is named `ts_day` in the table, and the sink has a column of that name"
    )


def test_helpers_over_canonical_texts():
    assert canonical(["Days(ts)", "bucket(c, 4)", "city"]) == ("day(ts)", "bucket(4, c)", "city")
    assert not has_transform(["city", "event_date"]) and has_transform(["city", "hour(ts)"])
    assert source_columns(["day(ts)", "bucket(4, ts)", "city"]) == ("ts", "city")


# --- the load phase ----------------------------------------------------------------------------------------

PIPELINE = """
  - name: bids_partitioned
    source_topic: bid_events
    sink_table: bids_partitioned
    sink_schema:
      user_id: BIGINT
      city_id: INT
      bid_amount: DOUBLE
      event_time: TIMESTAMP(3)
      event_date: DATE
    partition_by: {partition_by}
    sql: |
      SELECT `user_id`, `city_id`, `bid_amount`, CAST(`event_time` AS TIMESTAMP(3)) AS `event_time`,
             CAST(CAST(`event_time` AS TIMESTAMP(3)) AS DATE) AS `event_date`
      FROM {{source}}
"""


def config(tmp_path: Path, partition_by: str, primary_key: str | None = None) -> Path:
    """The shipped config plus one SQL pipeline with this partition_by (YAML text)."""
    (tmp_path / "topics.yaml").write_text((CONFIG_DIR / "topics.yaml").read_text())
    pipeline = PIPELINE.format(partition_by=partition_by)
    if primary_key:
        pipeline = pipeline.replace("    sql: |", f"    primary_key: {primary_key}\n    sql: |")
    (tmp_path / "transformations.yaml").write_text((CONFIG_DIR / "transformations.yaml").read_text() + pipeline)
    return tmp_path


def load_error(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_project(config_dir)
    return str(err.value)


def pipeline_of(config_dir: Path):
    return next(p for p in load_project(config_dir).pipelines if p.name == "bids_partitioned")


def test_transforms_load_as_canonical_text(tmp_path):
    loaded = pipeline_of(config(tmp_path, '["DAY(event_time)", "bucket(user_id, 4)", city_id]'))
    assert loaded.sql.partition_by == ("day(event_time)", "bucket(4, user_id)", "city_id")
    block = config(tmp_path, "\n      - hours(event_time)\n      - truncate(100, city_id)")
    assert pipeline_of(block).sql.partition_by == ("hour(event_time)", "truncate(100, city_id)")


@pytest.mark.parametrize(
    "partition_by, key, message",
    [
        (
            '["day(event_time)", "dya(event_date)"]',
            "partition_by[1]",
            "'dya' is not an Iceberg partition transform; did you mean 'day'? (valid: a sink column, or "
            "year(col), month(col), day(col), hour(col), bucket(N, col), truncate(N, col))",
        ),
        (
            "[day(event_time), bucket(4, user_id)]",
            "partition_by[1]",
            "'bucket(4' is neither a column name nor a transform(column) (a comma splits a YAML [a, b] list",
        ),
        (
            '["day(event_tme)"]',
            "partition_by[0]",
            "'event_tme' is not a column of the sink; did you mean 'event_time'?",
        ),
        ('["bucket(0, user_id)"]', "partition_by[0]", "'bucket(0, user_id)': N must be a positive whole number"),
        ('["hour(event_date)"]', "partition_by[0]", "hour() cannot take `event_date` DATE: it needs TIMESTAMP"),
        ('["truncate(2, bid_amount)"]', "partition_by[0]", "truncate() cannot take `bid_amount` DOUBLE"),
        (
            '["day(event_time)", "hour(event_time)"]',
            "partition_by[1]",
            "'hour(event_time)' and 'day(event_time)' are both time partitions of `event_time` in partition_by",
        ),
        ("day(event_time)", "partition_by", "expected a list of partition fields"),
    ],
)
def test_a_bad_partition_by_names_file_line_key_and_what_is_valid(tmp_path, partition_by, key, message):
    error = load_error(config(tmp_path, partition_by))
    assert f"{tmp_path / 'transformations.yaml'}:" in error
    assert f"(bids_partitioned).{key}: {message}" in error


def test_with_a_primary_key_the_source_column_of_each_field_must_be_in_it(tmp_path):
    ok = config(tmp_path, '["day(event_time)", "bucket(4, user_id)"]', primary_key="[user_id, event_time]")
    assert pipeline_of(ok).sql.primary_key == ("user_id", "event_time")
    error = load_error(config(tmp_path, '["day(event_time)", "bucket(4, user_id)"]', primary_key="[user_id]"))
    assert "primary_key: the partition column(s) event_time must be part of the primary key" in error


def test_the_guides_cdc_pipeline_partitioned_by_a_column_outside_its_key_is_refused(tmp_path):
    """An update or delete of an upsert table is an equality delete within one partition: a
    row's partition must not change between its versions (docs/adding_a_pipeline.md, CDC)."""
    from tests.e2e.test_adding_pipeline import examples

    topics = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text())
    topics["kafka_topics"].update(yaml.safe_load(examples()["cdc topics.yaml"]))
    pipes = yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text())
    customers = yaml.safe_load(examples()["cdc transformations.yaml"])[0]
    pipes["transformations"].append({**customers, "partition_by": ["name"]})
    (tmp_path / "topics.yaml").write_text(yaml.safe_dump(topics, sort_keys=False))
    (tmp_path / "transformations.yaml").write_text(yaml.safe_dump(pipes, sort_keys=False))
    error = load_error(tmp_path)
    index = len(pipes["transformations"]) - 1
    assert error.startswith(f"{tmp_path / 'transformations.yaml'}:")
    assert error.split(":", 2)[2] == (
        f" transformations[{index}] (customers).primary_key: the partition column(s) name must be part of the "
        "primary key (Iceberg upserts need them in the equality fields)"
    )
    for partition_by in (["bucket(4, id)"], ["id"], []):  # by the key only, or not at all
        pipes["transformations"][index]["partition_by"] = partition_by
        (tmp_path / "transformations.yaml").write_text(yaml.safe_dump(pipes, sort_keys=False))
        assert next(p for p in load_project(tmp_path).pipelines if p.name == "customers").sql.partition_by == tuple(
            partition_by
        )


def test_a_class_declares_transforms_through_get_partition_by(tmp_path, monkeypatch):
    """The class route goes through the same checks (its transformer_class line is named)."""
    import transformations

    module = tmp_path / "modules" / "bids_by_class.py"
    module.parent.mkdir()
    module.write_text(
        textwrap.dedent(
            """
            from common.load.transformer import BaseTransformer

            class BidsByClass(BaseTransformer):
                def get_sink_schema(self):
                    return {"user_id": "BIGINT", "event_time": "TIMESTAMP(3)"}

                def get_partition_by(self):
                    return self.options["partition_by"]

                def get_select_sql(self, sources):
                    return f"SELECT `user_id`, CAST(`event_time` AS TIMESTAMP(3)) FROM {sources.primary}"
            """
        )
    )
    monkeypatch.setattr(transformations, "__path__", [*transformations.__path__, str(module.parent)])
    monkeypatch.delitem(sys.modules, "transformations.bids_by_class", raising=False)

    def with_partitions(partition_by: list[str]) -> Path:
        (tmp_path / "topics.yaml").write_text((CONFIG_DIR / "topics.yaml").read_text())
        pipes = yaml.safe_load((CONFIG_DIR / "transformations.yaml").read_text())
        pipes["transformations"].append(
            {
                "name": "bids_by_class",
                "source_topic": "bid_events",
                "sink_table": "bids_by_class",
                "transformer_class": "BidsByClass",
                "options": {"partition_by": partition_by},
            }
        )
        (tmp_path / "transformations.yaml").write_text(yaml.safe_dump(pipes, sort_keys=False))
        return tmp_path

    from common.load.config import build_transformer

    loaded = next(p for p in load_project(with_partitions(["Day(event_time)"])).pipelines if p.name == "bids_by_class")
    assert build_transformer(loaded).get_partition_by() == ["Day(event_time)"]
    assert "BidsByClass.get_partition_by()[0]: hour() cannot take `user_id` BIGINT" in load_error(
        with_partitions(["hour(user_id)"])
    )


def test_the_dry_run_says_a_transform_spec_is_set_after_the_ddl(tmp_path, capsys):
    from common.load.properties import CatalogSettings, KafkaSettings
    from common.render.job_plan import build_plan
    from common.run.job import print_dry_run

    kafka = KafkaSettings("127.0.0.1:9092", "none", 100_000)
    catalog = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")
    spec = config(tmp_path, '["day(event_time)", "bucket(4, user_id)"]')
    plan = build_plan(load_project(spec), kafka, catalog, bounded=False)
    print_dry_run(plan, "")
    out = capsys.readouterr().out
    assert (
        "-- pipeline bids_partitioned: its table is then given the partition spec "
        "(day(event_time), bucket(4, user_id)) through Iceberg's API\n" in out
    )
    assert out.count("through Iceberg's API") == 1  # the shipped pipelines partition by columns
