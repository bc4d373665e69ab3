"""Refuse, before submitting, an updating query into an append-only Iceberg table.

Each sink's input changelog mode comes from the compiled plan the job runs (its sink nodes'
``inputChangelogMode``), or for ``--dry-run`` from the optimized physical plan it prints
(``ExplainDetail.CHANGELOG_MODE``): ``[I]`` is insert-only; anything with ``UB``/``UA``/``D``
updates earlier rows, which only an upsert table (primary key, ``write.upsert.enabled``) can
take. Iceberg's Flink sink accepts such a stream into a table without a key and writes wrong
data, so the job checks this itself.
"""

from __future__ import annotations

import re

from common.errors import ConfigError
from common.render.dead_letters import DEAD_LETTER_PIPELINE
from common.render.job_plan import JobPlan

_SECTION = re.compile(r"== Optimized Physical Plan ==\n(.*?)\n== ", re.S)
_SINK = re.compile(r"^Sink\(table=\[([^\]]+)\]")
_MODE = re.compile(r"changelogMode=\[([A-Z,]+)\]")
INSERT_ONLY = "I"


def sink_input_modes(explained: str) -> dict[str, str]:
    """sink table path -> changelog mode of the rows it receives, e.g. {'ice.ns.t': 'I,UB,UA'}."""
    section = _SECTION.search(explained)
    if not section:
        raise ValueError("no optimized physical plan in the explain output")
    modes: dict[str, str] = {}
    lines = section.group(1).splitlines()
    for i, line in enumerate(lines):
        sink = _SINK.match(line)
        if sink and i + 1 < len(lines):
            mode = _MODE.search(lines[i + 1])
            if mode:
                modes[sink.group(1)] = mode.group(1)
    return modes


_LETTERS = {"INSERT": "I", "UPDATE_BEFORE": "UB", "UPDATE_AFTER": "UA", "DELETE": "D"}


def compiled_sink_modes(compiled: dict) -> dict[str, str]:
    """sink table path -> changelog mode letters, from a compiled plan (one node per sink)."""
    modes = {}
    for node in compiled["nodes"]:
        if node["type"].startswith("stream-exec-sink"):
            path = node["dynamicTableSink"]["table"]["identifier"].replace("`", "")
            modes[path] = ",".join(_LETTERS.get(m, m) for m in node.get("inputChangelogMode", ()))
    return modes


def check_changelog(plan: JobPlan, modes: dict[str, str]) -> None:
    """Raise ConfigError naming every pipeline whose updating result would go to an append table
    (modes: sink path -> mode letters, from sink_input_modes or compiled_sink_modes)."""
    unseen = [p.name for p in plan.pipelines if not modes.get(p.sink_path)]
    if unseen:  # fail closed: a sink the check cannot read is not "insert-only"
        raise ConfigError(
            "transformations",
            ", ".join(unseen),
            "the changelog check found no sink with its input's changelog mode in the optimized plan "
            "(a sink the planner merged or reused cannot be checked)",
            "one sink table per pipeline, each written by exactly one INSERT",
        )
    bad = [
        f"{p.name} (produces [{modes[p.sink_path]}] into {p.sink_table})"
        for p in plan.pipelines
        # The dead letters of a CDC topic come from a changelog source, but the decoder emits
        # every dead letter as an insert (a record, not a change): an append table takes them.
        if not p.primary_key and modes[p.sink_path] != INSERT_ONLY and p.name != DEAD_LETTER_PIPELINE
    ]
    if bad:
        raise ConfigError(
            "transformations",
            ", ".join(bad),
            "an updating query cannot write to an append-only table",
            "make the query final (a window aggregation) or give the transformer a primary key "
            "(get_primary_key) so its table is an upsert table",
        )
