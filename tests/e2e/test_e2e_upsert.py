"""End to end: an upsert table (primary key, equality deletes) on the real broker, read back with
its delete files applied, against the same aggregation in Python.

A GROUP BY without a window updates a user's row on every bid: within one commit many times
(position deletes), and across commits and runs (equality deletes). The table is partitioned by
``bucket(4, user_id)``: the key's own column, so an equality delete meets the row it replaces in
the same partition. Two bounded runs: the second reads both batches again (earliest offsets, no
restore) and must replace, not add to, what the first one wrote.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from common.ops.local_warehouse import open_table
from sample_gen import bid_events, produce
from tests.support.e2e import live_rows

PIPELINE = """
  - name: bids_per_user
    source_topic: bid_events
    sink_table: bids_per_user
    description: Per user, bids so far and the lowest, highest and summed city
    sink_schema:
      user_id: BIGINT NOT NULL
      bids: BIGINT
      min_city: INT
      max_city: INT
      city_sum: BIGINT
    primary_key: [user_id]
    partition_by: ["bucket(4, user_id)"]
    sql: |
      SELECT `user_id`, COUNT(*) AS `bids`, MIN(`city_id`) AS `min_city`, MAX(`city_id`) AS `max_city`,
             SUM(CAST(`city_id` AS BIGINT)) AS `city_sum`
      FROM {source}
      GROUP BY `user_id`
"""


def expected(events: list[dict]) -> list[dict]:
    per_user: dict[int, list[int]] = defaultdict(list)
    for e in events:
        per_user[e["user_id"]].append(e["city_id"])
    return [
        {"user_id": u, "bids": len(c), "min_city": min(c), "max_city": max(c), "city_sum": sum(c)}
        for u, c in per_user.items()
    ]


def batch(count: int, seed: int) -> list[dict]:
    """Bids of few users (many updates per key), each with a random city."""
    rng = random.Random(seed)
    events = list(bid_events(count, seed=seed))
    for e in events:
        e["user_id"] = rng.randint(1, 25)
        e["city_id"] = rng.randint(1, 1000)
    return events


@pytest.mark.parametrize("parallelism", ["1", "2"])
def test_an_upsert_table_holds_one_row_per_key_with_the_latest_values(workspace, parallelism):
    """At parallelism 2 two writers share the table: a key's updates must all reach one of them."""
    with open(workspace.config_dir / "transformations.yaml", "a") as f:
        f.write(PIPELINE)
    topic = workspace.topics["bid_events"]
    first = batch(400, seed=41)
    assert produce(workspace.bootstrap, topic, first).failed == 0
    result = workspace.run_job("--bounded", "--only", "bids_per_user", env={"FLINK_PARALLELISM": parallelism})
    assert result.returncode == 0, result.stderr[-4000:]
    key = lambda r: r["user_id"]  # noqa: E731
    assert sorted(live_rows(workspace, "bids_per_user"), key=key) == sorted(expected(first), key=key)

    second = batch(400, seed=42)
    assert produce(workspace.bootstrap, topic, second).failed == 0
    result = workspace.run_job("--bounded", "--only", "bids_per_user", env={"FLINK_PARALLELISM": parallelism})
    assert result.returncode == 0, result.stderr[-4000:]
    rows = live_rows(workspace, "bids_per_user")
    assert sorted(rows, key=key) == sorted(expected(first + second), key=key)
    entries = open_table(str(workspace.warehouse), "sink", "bids_per_user").inspect.entries().to_pylist()
    assert {e["data_file"]["content"] for e in entries} == {0, 1, 2}  # data, position and equality deletes
