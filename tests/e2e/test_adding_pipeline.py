"""docs/adding_a_pipeline.md, followed to the letter: its example blocks are added to a copy of
the configuration, checked with --validate, and the new pipeline runs end to end against the
local broker (topics of its own); every row read back from Iceberg is compared exactly."""

from __future__ import annotations

import datetime as dt
import random
import re
import sys
import textwrap
import uuid
from pathlib import Path

from common.load.config import load_project
from common.load.properties import CatalogSettings, KafkaSettings
from common.ops.local_warehouse import read_rows
from common.render.job_plan import build_plan
from tests.support.harness import ROOT, create_topics, make_workspace

DOC = ROOT / "docs" / "adding_a_pipeline.md"
EXAMPLE = re.compile(r"<!-- example: (?P<name>[^>]+?) -->\n```\w+\n(?P<body>.*?)```", re.S)
PIPELINE = "page_views_enriched"
EVENTS = 240
START_MS = 1_772_402_400_000  # 2026-03-01 22:00 UTC: the events cross midnight


def examples() -> dict[str, str]:
    """The doc's example blocks by name."""
    return {m.group("name"): m.group("body") for m in EXAMPLE.finditer(DOC.read_text())}


def add_to_config(config_dir: Path, pipeline_block: str, topic_name: str | None = None) -> None:
    """Step 1 and step 2: append the topic and the pipeline to the YAML files."""
    topic = examples()["topics.yaml"]
    if topic_name:
        topic = topic.replace("topic_name: page-views", f"topic_name: {topic_name}").replace(
            "consumer_group: flink-page-views-consumer", f"consumer_group: {topic_name}-group"
        )
    with open(config_dir / "topics.yaml", "a") as f:
        f.write("\n" + topic)
    with open(config_dir / "transformations.yaml", "a") as f:
        f.write("\n" + pipeline_block)


def page_views(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    sites = ["https://shop.example.com", "http://news.example.org", "https://example.net"]
    return [
        {
            "user_id": rng.randint(1, 20),
            "url": f"{rng.choice(sites)}/p/{rng.randint(1, 50)}",
            "duration_ms": rng.choice([0, 1200, 4999, 5000, 5001, 61_000, rng.randint(0, 600_000)]),
            "timestamp_ms": START_MS + i * 60_000 + rng.randint(0, 3000),
        }
        for i in range(EVENTS)
    ]


def expected_row(event: dict) -> dict:
    """The pipeline's definition (the doc's SQL) in plain Python."""
    at = dt.datetime.fromtimestamp(event["timestamp_ms"] / 1000, dt.timezone.utc).replace(tzinfo=None)
    return {
        "user_id": event["user_id"],
        "url": event["url"],
        "site": re.match(r"^https?://([^/]+)", event["url"]).group(1),
        "seconds_on_page": event["duration_ms"] / 1000,
        "bounced": event["duration_ms"] < 5000,
        "view_time": at,
        "view_date": at.date(),
    }


def test_the_class_route_of_the_doc_renders_like_its_sql_route(tmp_path, monkeypatch):
    """Step 2b gives the same DDL and INSERT as step 2a (its module put where the job imports from)."""
    import transformations

    blocks = examples()
    folder = tmp_path / "modules"
    folder.mkdir()
    (folder / f"{PIPELINE}.py").write_text(blocks["page_views_enriched.py"])
    monkeypatch.setattr(transformations, "__path__", [*transformations.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, f"transformations.{PIPELINE}", raising=False)
    kafka = KafkaSettings("127.0.0.1:9092", "none", 100_000)
    catalog = CatalogSettings("hadoop", "iceberg", "file:///tmp/wh", "sink")
    plans = {}
    for route, block in (("sql", blocks["transformations.yaml"]), ("class", blocks["transformations.yaml (class)"])):
        config = tmp_path / route
        config.mkdir()
        (config / "topics.yaml").write_text((ROOT / "config" / "topics.yaml").read_text())
        (config / "transformations.yaml").write_text((ROOT / "config" / "transformations.yaml").read_text())
        add_to_config(config, block)
        plan = build_plan(load_project(config), kafka, catalog, bounded=False)
        plans[route] = next(p for p in plan.pipelines if p.name == PIPELINE)
    assert plans["sql"].sink_ddl == plans["class"].sink_ddl
    assert plans["sql"].insert_sql == plans["class"].insert_sql


def test_the_overlay_example_applies(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    for name in ("topics.yaml", "transformations.yaml"):
        (config / name).write_text((ROOT / "config" / name).read_text())
    add_to_config(config, examples()["transformations.yaml"])
    (config / "overlays").mkdir()
    (config / "overlays" / "prod.yaml").write_text(examples()["overlays/prod.yaml"])
    topic = load_project(config, environment="prod").topics["page_views"]
    assert (topic.topic_name, topic.consumer_group) == ("prod.page-views", "prod-flink-page-views")


def test_adding_a_sql_pipeline_end_to_end(tmp_path, kafka_broker):
    from sample_gen import produce

    workspace = make_workspace(tmp_path, kafka_broker)
    topic_name = f"page-views-{uuid.uuid4().hex[:8]}"  # a topic of this test's own
    add_to_config(workspace.config_dir, examples()["transformations.yaml"], topic_name)
    create_topics(kafka_broker, [topic_name])
    events = page_views()
    report = produce(kafka_broker, topic_name, events)
    assert report.failed == 0

    validated = workspace.run_job("--validate")  # step 3
    assert validated.returncode == 0, validated.stderr[-3000:]
    assert validated.stdout.startswith("OK: ") and PIPELINE in validated.stdout

    result = workspace.run_job("--bounded", "--only", PIPELINE)  # step 5
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_rows(str(workspace.warehouse), "sink", PIPELINE)
    key = lambda row: (row["view_time"], row["user_id"], row["url"])  # noqa: E731
    assert sorted(rows, key=key) == sorted((expected_row(e) for e in events), key=key)
    assert len({r["view_date"] for r in rows}) == 2


def test_doc_names_every_example_the_tests_use():
    assert set(examples()) == {
        "topics.yaml",
        "transformations.yaml",
        "page_views_enriched.py",
        "transformations.yaml (class)",
        "overlays/prod.yaml",
        "nested topics.yaml",  # tests/e2e/test_e2e_nested_json.py
        "nested transformations.yaml",
        "avro topics.yaml",  # tests/e2e/test_e2e_avro.py
        "cdc topics.yaml",  # tests/e2e/test_e2e_cdc.py
        "cdc transformations.yaml",
    }
    assert textwrap.dedent(examples()["transformations.yaml"]).startswith(f"- name: {PIPELINE}")
