"""End to end: sample_gen.py producing an Avro topic of every column type it can write, through the
local Confluent-compatible registry, on the real broker -> the job (--bounded, format registry-avro)
-> an Iceberg table of the same columns, every row against the values sample_gen wrote.

sample_gen registers the topic's writer's schema (samplegen/avro.py ``writer_schema``: the columns
in the job's Avro mapping, TIMESTAMP as local-timestamp-*, TIMESTAMP_LTZ as timestamp-*) and frames every value with its schema id; its --records journal holds
each value's exact bytes (``value_base64``). The expected rows are worked out from those bytes
alone: the 5-byte Confluent frame stripped, the writer's schema fetched from the registry by the id
it names, the Avro binary decoded with fastavro, each value turned into what Iceberg holds for the
column's type (fastavro's naive datetimes for TIMESTAMP, UTC instants for TIMESTAMP_LTZ, ...). The table is
read from its Parquet data files with pyarrow (pyiceberg reads a NULL list as [],
/work/shared/notes/pyiceberg-nested-nulls.md), and compared with them row for row; nothing may be
a dead letter.

What sample_gen's values cannot show: it writes no NULL (a nullable column is always its union's
non-null branch) and every time value is whole milliseconds of the event time (a TIMESTAMP(6) or
TIMESTAMP_LTZ(6) never has sub-millisecond digits). A second run has timestamps with a zone and
of precision 6 below arrays, maps and nested rows (Flink's own flink-avro reads none of those: the
job's decoder has its own mapping, src/main/java/.../format/AvroColumns.java).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import struct
import subprocess
import sys
import urllib.request
import uuid

import pyarrow.parquet as pq
import pytest
import yaml

from common.load.flink_types import FlinkType, parse_type
from common.ops.local_warehouse import open_table
from tests.support.e2e import NAMESPACE
from tests.support.harness import ROOT, JobWorkspace, create_topics
from tests.support.registry import schema_registry_process

pytestmark = [pytest.mark.kafka, pytest.mark.jvm]

UTC = dt.timezone.utc
USER_INFO = "gen-writer:an0ther-secret"
COUNT, SEED = 200, 11
TOPIC_KEY = "every_type_avro"
TABLE = "every_type_avro_rows"

# Every column type sample_gen writes for an Avro topic, NOT NULL and nullable, at the top and nested.
COLUMNS = {
    "id": "STRING NOT NULL",
    "flag": "BOOLEAN NOT NULL",
    "tiny": "TINYINT",
    "small": "SMALLINT NOT NULL",
    "num": "INT",
    "big": "BIGINT NOT NULL",
    "real32": "FLOAT",
    "real64": "DOUBLE NOT NULL",
    "price": "DECIMAL(10, 2) NOT NULL",
    "ratio": "DECIMAL(20, 6)",
    "whole": "DECIMAL(12, 0)",
    "label": "VARCHAR(16)",
    "code": "CHAR(6) NOT NULL",
    "blob": "BYTES",
    "bin": "BINARY(8)",
    "vbin": "VARBINARY(12) NOT NULL",
    "on_day": "DATE NOT NULL",
    "clock": "TIME(3)",
    "clock0": "TIME NOT NULL",
    "ts3": "TIMESTAMP(3) NOT NULL",
    "ts6": "TIMESTAMP(6)",
    "ltz6": "TIMESTAMP_LTZ(6)",
    "tags": "ARRAY<STRING NOT NULL> NOT NULL",
    "scores": "ARRAY<DECIMAL(8, 3)>",
    "attrs": "MAP<STRING, BIGINT>",
    "seen": "MAP<STRING, TIMESTAMP(3) NOT NULL> NOT NULL",
    "device": "ROW<os STRING NOT NULL, version INT, released DATE, "
    "spec ROW<x DOUBLE NOT NULL, seen_at TIMESTAMP(6), payload BYTES>>",
    "items": "ARRAY<ROW<sku STRING, price DECIMAL(10, 2), qty INT NOT NULL, paid_at TIMESTAMP(3)>>",
    "occurred": "TIMESTAMP_LTZ(3) NOT NULL",
}
EVENT_TIME = "occurred"
# Timestamps below an ARRAY, a MAP or a nested ROW that Flink's own flink-avro cannot read (a job on
# it fails at start), the job's decoder can: TIMESTAMP_LTZ under ARRAY/MAP/ROW, TIMESTAMP(4..6) under
# ARRAY/MAP. COLUMNS holds the nested timestamps flink-avro reads too (TIMESTAMP(3) anywhere,
# TIMESTAMP(6) in a ROW).
NESTED_TIMES = {
    "id": "STRING NOT NULL",
    "at_list": "ARRAY<TIMESTAMP_LTZ(3)>",
    "micro_list": "ARRAY<TIMESTAMP(6) NOT NULL>",
    "at_map": "MAP<STRING, TIMESTAMP_LTZ(6)>",
    "micro_map": "MAP<STRING, TIMESTAMP(6)>",
    "device": "ROW<os STRING NOT NULL, seen_at TIMESTAMP_LTZ(3)>",
    "items": "ARRAY<ROW<sku STRING, paid_at TIMESTAMP_LTZ(3), packed_at TIMESTAMP(6)>>",
    EVENT_TIME: "TIMESTAMP_LTZ(3) NOT NULL",
}
NESTED_COUNT = 40


def pipeline(columns: dict[str, str]) -> dict:
    """A pass-through of every column into a table of the same columns, by event date."""
    return {
        "name": TABLE,
        "source_topic": TOPIC_KEY,
        "sink_table": TABLE,
        "description": "every column of sample_gen's Avro topic as it was written",
        "sink_schema": sink_schema(columns),
        "partition_by": ["event_date"],
        "sql": "SELECT "
        + ", ".join(f"`{name}`" for name in columns)
        + ", CAST(CAST(`event_time` AS TIMESTAMP(3)) AS DATE) AS `event_date`\nFROM {source}",
    }


def sink_schema(columns: dict[str, str]) -> dict[str, str]:
    return {**{name: text.removesuffix(" NOT NULL") for name, text in columns.items()}, "event_date": "DATE"}


@pytest.fixture
def avro_gen_workspace(tmp_path, kafka_broker):
    """A function (topic columns) -> (workspace, the job's registry environment): one Avro topic of
    those columns through the local Confluent-compatible registry (HTTP Basic auth on), and the
    pass-through pipeline."""
    with schema_registry_process(basic_auth=USER_INFO) as registry_url:

        def make(columns: dict[str, str]) -> tuple[JobWorkspace, dict[str, str]]:
            topic_name = f"every-type-avro-{uuid.uuid4().hex[:8]}"
            config = tmp_path / "config"
            config.mkdir()
            topic = {
                "topic_name": topic_name,
                "consumer_group": f"{topic_name}-job",
                "startup_mode": "earliest-offset",
                "format": "avro",
                "registry": {"type": "confluent"},
                "event_time": {"field": EVENT_TIME, "max_out_of_orderness": "5s"},
                "schema": columns,
            }
            (config / "topics.yaml").write_text(yaml.safe_dump({"kafka_topics": {TOPIC_KEY: topic}}, sort_keys=False))
            pipelines = {"transformations": [pipeline(columns)]}
            (config / "transformations.yaml").write_text(yaml.safe_dump(pipelines, sort_keys=False))
            create_topics(kafka_broker, [topic_name])
            ws = JobWorkspace(kafka_broker, config, tmp_path / "warehouse", {TOPIC_KEY: topic_name})
            return ws, {"SCHEMA_REGISTRY_URL": registry_url, "SCHEMA_REGISTRY_USER_INFO": USER_INFO}

        yield make


# --- what sample_gen wrote, from the bytes alone --------------------------------------------------


def registry_schema(url: str, schema_id: int) -> dict:
    request = urllib.request.Request(f"{url}/schemas/ids/{schema_id}")
    request.add_header("Authorization", "Basic " + base64.b64encode(USER_INFO.encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(json.loads(response.read())["schema"])


def decode(value: bytes, url: str, schemas: dict[int, object]) -> tuple[int, dict]:
    """(the schema id the frame names, the record decoded with that writer's schema)."""
    from fastavro import parse_schema, schemaless_reader

    magic, schema_id = struct.unpack(">bI", value[:5])
    assert magic == 0, value[:8]
    if schema_id not in schemas:
        schemas[schema_id] = parse_schema(registry_schema(url, schema_id))
    stream = io.BytesIO(value[5:])
    record = schemaless_reader(stream, schemas[schema_id], None)
    assert stream.read() == b"", "bytes left after the record"
    return schema_id, record


def as_iceberg(value, ftype: FlinkType):
    """fastavro's value of a column of ``ftype`` as the Iceberg table holds it (read through pyarrow):
    a TIMESTAMP is a wall time (naive), a TIMESTAMP_LTZ an instant (UTC), maps are dicts here."""
    if value is None:
        return None
    root = ftype.root
    if root == "TIMESTAMP":
        assert value.tzinfo is None  # fastavro: local-timestamp-millis/micros are wall-clock times, naive
        return value
    if root == "TIMESTAMP_LTZ":
        assert value.tzinfo is not None  # fastavro: timestamp-millis/micros are instants, in UTC
        return value.astimezone(UTC)
    if root == "ARRAY":
        return [as_iceberg(v, ftype.children[0][1]) for v in value]
    if root == "MAP":
        return {k: as_iceberg(v, ftype.children[1][1]) for k, v in value.items()}
    if root == "ROW":
        return {name: as_iceberg(value[name], child) for name, child in ftype.children}
    return value


def expected_row(record: dict, columns: dict[str, str]) -> dict:
    row = {name: as_iceberg(record[name], parse_type(text)) for name, text in columns.items()}
    row["event_date"] = row[EVENT_TIME].date()
    return row


def sample_gen_rows(ws: JobWorkspace, registry_env: dict[str, str], columns: dict[str, str], count: int, folder):
    """Run sample_gen.py into the topic; the rows its journal's values mean, decoded independently."""
    journal = folder / "journal.jsonl"
    command = [
        sys.executable,
        str(ROOT / "sample_gen.py"),
        *("--config-dir", str(ws.config_dir), "--count", str(count), "--seed", str(SEED)),
        *("--records", str(journal), "--manifest", str(folder / "manifest.json")),
        *("--bootstrap-servers", ws.bootstrap, "--progress", "none", "--quiet"),
    ]
    env = {**os.environ, **registry_env}
    gen = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stdout[-2000:] + gen.stderr[-4000:]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(lines) == count
    schemas: dict[int, object] = {}
    rows = []
    for line in lines:
        assert line["topic_name"] == ws.topics[TOPIC_KEY] and line["fault"] is None and line["error"] is None
        assert line["offset"] is not None and "value" not in line
        _, record = decode(base64.b64decode(line["value_base64"]), registry_env["SCHEMA_REGISTRY_URL"], schemas)
        written_ms = (record[EVENT_TIME] - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)
        assert written_ms == line["event_time_ms"]
        rows.append(expected_row(record, columns))
    assert len(schemas) == 1  # one writer's schema, registered once
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids), "sample_gen's ids repeat for this seed: pick another sort key"
    return rows


# --- what the job wrote ---------------------------------------------------------------------------


def normalized(value, ftype: FlinkType):
    """A value read from Parquet by pyarrow in the form of ``as_iceberg``: maps (pairs) as dicts,
    instants in UTC."""
    if value is None:
        return None
    root = ftype.root
    if root == "TIMESTAMP_LTZ":
        return value.astimezone(UTC)
    if root == "ARRAY":
        return [normalized(v, ftype.children[0][1]) for v in value]
    if root == "MAP":
        pairs = list(value.items()) if isinstance(value, dict) else list(value)
        assert len({k for k, _ in pairs}) == len(pairs), f"a map with a repeated key: {pairs}"
        return {k: normalized(v, ftype.children[1][1]) for k, v in pairs}
    if root == "ROW":
        return {name: normalized(value[name], child) for name, child in ftype.children}
    return value


def table_rows(ws: JobWorkspace, name: str, columns: dict[str, str]) -> list[dict]:
    """The table's rows, read from its Parquet data files (not through pyiceberg)."""
    types = {column: parse_type(text) for column, text in sink_schema(columns).items()}
    tbl = open_table(str(ws.warehouse), NAMESPACE, name)
    rows = []
    for task in tbl.scan().plan_files():
        assert not task.delete_files
        for r in pq.read_table(task.file.file_path.removeprefix("file:")).to_pylist():
            assert set(r) == set(types), sorted(r)
            rows.append({column: normalized(r[column], ftype) for column, ftype in types.items()})
    return rows


def dead_letters(ws: JobWorkspace) -> list[dict]:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        tbl = open_table(str(ws.warehouse), NAMESPACE, "dead_letters")
    except NoSuchTableError:
        return []
    return tbl.scan().to_arrow().to_pylist()


def differences(actual: dict, expected: dict) -> list[str]:
    return [
        f"{name}: job read {actual.get(name)!r}, sample_gen wrote {expected.get(name)!r}"
        for name in expected
        if actual.get(name) != expected.get(name)
    ]


def assert_table_is(ws: JobWorkspace, registry_env: dict[str, str], columns: dict[str, str], expected: list[dict]):
    """The job (--bounded) reads the topic into exactly ``expected``, nothing a dead letter."""
    result = ws.run_job("--bounded", env=registry_env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert USER_INFO.split(":")[1] not in result.stdout + result.stderr  # the registry's password is never shown
    dead = dead_letters(ws)
    assert dead == [], [r.get("reason") for r in dead][:10]
    actual = sorted(table_rows(ws, TABLE, columns), key=lambda r: r["id"])
    expected = sorted(expected, key=lambda r: r["id"])
    assert [r["id"] for r in actual] == [r["id"] for r in expected]
    problems = [f"{e['id']}: {d}" for a, e in zip(actual, expected) for d in differences(a, e)]
    assert not problems, f"{len(problems)} values differ, e.g.:\n" + "\n".join(problems[:40])
    assert actual == expected


def test_sample_gen_avro_of_every_type_reaches_iceberg_exactly(avro_gen_workspace, tmp_path):
    ws, registry_env = avro_gen_workspace(COLUMNS)
    expected = sample_gen_rows(ws, registry_env, COLUMNS, COUNT, tmp_path)
    # the values cover the types: non-empty arrays, maps and nested rows, fractions of a second
    assert any(r["tags"] and r["scores"] and r["attrs"] and r["seen"] and r["items"] for r in expected)
    assert any(r["ts3"].microsecond for r in expected) and any(r["clock"].microsecond for r in expected)
    assert_table_is(ws, registry_env, COLUMNS, expected)


def test_sample_gen_avro_timestamps_nested_in_arrays_maps_and_rows(avro_gen_workspace, tmp_path):
    ws, registry_env = avro_gen_workspace(NESTED_TIMES)
    expected = sample_gen_rows(ws, registry_env, NESTED_TIMES, NESTED_COUNT, tmp_path)
    assert_table_is(ws, registry_env, NESTED_TIMES, expected)
