"""Iceberg partition transforms end to end: a SQL pipeline with ``partition_by: [day(event_time),
bucket(4, user_id)]`` runs bounded on the real broker; the table has that spec (pyiceberg), every
row equals the events computed in plain Python, every data file holds only rows of its partition
(day and bucket recomputed by pyiceberg's transforms, not the writer's), and a scan filtered on the
source columns plans fewer files than the whole table. Then the same pipeline on S3 Tables (moto):
the spec reads back from the table bucket."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow.parquet as pq

from common.ops.local_warehouse import open_table
from sample_gen import produce
from tests.support.e2e import CREDENTIALS, read_table, s3tables_properties, table_bucket
from tests.support.harness import assert_same_rows

UTC = dt.timezone.utc
PIPELINE = "bids_partitioned"
START = dt.datetime(2026, 3, 1, tzinfo=UTC)  # events over three UTC days
EVENTS = 240
BUCKETS = 4
PIPELINE_YAML = f"""
  - name: {PIPELINE}
    source_topic: bid_events
    sink_table: {PIPELINE}
    description: Bids, partitioned by their UTC day and a hash of the user
    sink_schema:
      user_id: BIGINT
      city_id: INT
      bid_amount: DOUBLE
      event_time: TIMESTAMP(3)
    partition_by: ["DAY(event_time)", "bucket({BUCKETS}, user_id)"]
    sql: |
      SELECT `user_id`, `city_id`, `bid_amount`, CAST(`event_time` AS TIMESTAMP(3)) AS `event_time`
      FROM {{source}}
"""


def events(seed: int = 31) -> list[dict]:
    rng = random.Random(seed)
    start_ms = int(START.timestamp() * 1000)
    step_ms = 3 * 24 * 3600 * 1000 // EVENTS
    return [
        {
            "event_name": "bid",
            "user_id": rng.randint(1, 40),
            "city_id": rng.randint(1, 9),
            "platform": rng.choice(["ios", "android", "web"]),
            "session_id": f"s{i}",
            "timestamp_ms": start_ms + i * step_ms + rng.randint(0, 999),
            "bid_amount": round(rng.uniform(1, 500), 2),
        }
        for i in range(EVENTS)
    ]


def expected(event: dict) -> tuple:
    at = dt.datetime.fromtimestamp(event["timestamp_ms"] / 1000, UTC).replace(tzinfo=None)
    return (event["user_id"], event["city_id"], event["bid_amount"], at)


def actual(row: dict) -> tuple:
    return (row["user_id"], row["city_id"], row["bid_amount"], row["event_time"])


def add_pipeline(workspace) -> list[dict]:
    with open(workspace.config_dir / "transformations.yaml", "a") as f:
        f.write(PIPELINE_YAML)
    sent = events()
    assert produce(workspace.bootstrap, workspace.topics["bid_events"], sent).failed == 0
    return sent


def spec_of(table) -> list[tuple[str, str, str]]:
    schema = table.schema()
    return [(schema.find_column_name(f.source_id), str(f.transform), f.name) for f in table.spec().fields]


DECLARED_SPEC = [
    ("event_time", "day", "event_time_day"),
    ("user_id", f"bucket[{BUCKETS}]", f"user_id_bucket_{BUCKETS}"),
]


def test_a_table_partitioned_by_day_and_bucket_is_written_laid_out_and_pruned(workspace):
    from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, LessThan
    from pyiceberg.transforms import BucketTransform, DayTransform
    from pyiceberg.types import LongType, TimestampType

    sent = add_pipeline(workspace)
    result = workspace.run_job("--bounded", "--only", PIPELINE)
    assert result.returncode == 0, result.stderr[-5000:]
    assert (
        f"sink iceberg.sink.{PIPELINE} of pipeline {PIPELINE}: partitioned by day(event_time), bucket(4, user_id)"
        in (result.stderr)
    )

    table = open_table(str(workspace.warehouse), "sink", PIPELINE)
    assert spec_of(table) == DECLARED_SPEC
    rows = table.scan().to_arrow().to_pylist()
    assert_same_rows([actual(r) for r in rows], [expected(e) for e in sent])

    day = DayTransform().transform(TimestampType())
    bucket = BucketTransform(BUCKETS).transform(LongType())
    files = list(table.scan().plan_files())
    for task in files:  # each file holds only rows of its own partition
        data = pq.read_table(task.file.file_path.removeprefix("file:")).to_pylist()
        epoch_micros = [int(r["event_time"].replace(tzinfo=UTC).timestamp() * 1_000_000) for r in data]
        assert {day(m) for m in epoch_micros} == {task.file.partition[0]}
        assert {bucket(r["user_id"]) for r in data} == {task.file.partition[1]}
    assert len({f.file.partition[0] for f in files}) == 3

    one_day = And(
        GreaterThanOrEqual("event_time", "2026-03-02T00:00:00"), LessThan("event_time", "2026-03-03T00:00:00")
    )
    of_day = list(table.scan(row_filter=one_day).plan_files())
    assert 0 < len(of_day) < len(files)
    assert {f.file.partition[0] for f in of_day} == {day(int(dt.datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1e6))}
    user = sent[0]["user_id"]
    of_user = list(table.scan(row_filter=EqualTo("user_id", user)).plan_files())
    assert 0 < len(of_user) < len(files) and {f.file.partition[1] for f in of_user} == {bucket(user)}

    # a second run finds the table as declared: nothing to set, nothing refused
    again = workspace.run_job("--bounded", "--only", PIPELINE)
    assert again.returncode == 0, again.stderr[-5000:]
    assert "partitioned by" not in again.stderr
    assert spec_of(open_table(str(workspace.warehouse), "sink", PIPELINE)) == DECLARED_SPEC

    # another spec for a table with data: refused before anything runs, the table as it was
    path = workspace.config_dir / "transformations.yaml"
    path.write_text(path.read_text().replace(f"bucket({BUCKETS}, user_id)", "bucket(8, user_id)"))
    refused = workspace.run_job("--bounded", "--only", PIPELINE)
    assert refused.returncode == 2, refused.stderr[-5000:]
    assert (
        f"sink table iceberg.sink.{PIPELINE} exists with another schema: partition_by (day(event_time), "
        "bucket(8, user_id)) differs from the table's (day(event_time), bucket(4, user_id))"
    ) in refused.stderr
    assert spec_of(open_table(str(workspace.warehouse), "sink", PIPELINE)) == DECLARED_SPEC


def test_s3_tables_get_the_transform_spec(workspace, moto_server, tmp_path, monkeypatch):
    s3tables, arn = table_bucket(moto_server, tmp_path, monkeypatch, "parts")
    props = tmp_path / "s3tables.json"
    s3tables_properties(props, arn, moto_server)
    sent = add_pipeline(workspace)

    result = workspace.run_job(
        "--bounded", "--only", PIPELINE, "--properties", str(props), env={**CREDENTIALS, "ICEBERG_WAREHOUSE": arn}
    )
    assert result.returncode == 0, result.stderr[-5000:]
    table, rows = read_table(s3tables, arn, moto_server, CREDENTIALS, name=PIPELINE)
    assert spec_of(table) == DECLARED_SPEC
    assert_same_rows([actual(r) for r in rows], [expected(e) for e in sent])
