"""Keep each pipeline's state across YAML edits: stable operator ids for a compiled plan.

Flink restores state by operator uid. For SQL, the planner derives uids from the ids of the
plan's exec nodes (``table.exec.uid.format`` = ``<id>_<transformation>``), and it sets them only
for a compiled plan (``table.exec.uid.generation`` = PLAN_ONLY). The ids themselves are a counter
over the whole statement set: adding, removing or reordering one pipeline renumbers the nodes of
every pipeline after it, and their state no longer matches.

So the job compiles its statement set, then renumbers the compiled plan before executing it:

- every node gets a *signature*: its own JSON (minus id and description) and the signatures of
  its inputs, hashed. A Kafka source is signed by its table alone (a new pipeline reading other
  columns of a topic must not reset the topic's offsets), an Iceberg sink by its table alone
  (its writer and committer state belong to the table);
- a node whose signature the previous deployment had keeps that deployment's id, so its uid and
  its state; every other node gets a fresh id above all earlier ones, so it can never claim state
  that was not its own.

The previous deployment's ids are a small JSON *state map* kept next to its checkpoints and
savepoints (local runs) or inside the deployed zip (the managed service). The same comparison
yields the plan diff: per pipeline kept / new / removed / changed, and the state a restore drops.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from common.state.sink_schema import TableSchema, compare

STATE_MAP_FILE = "state-ids.json"
STATE_MAP_FORMAT = 1

SOURCE = "stream-exec-table-source-scan"
SINK = "stream-exec-sink"
# Exec nodes that keep no state of their own; every other kind (sources, sinks, windows,
# aggregates, joins, ...) does.
STATELESS = frozenset(
    {
        "stream-exec-calc",
        "stream-exec-exchange",
        "stream-exec-union",
        "stream-exec-expand",
        "stream-exec-correlate",
        "stream-exec-watermark-assigner",
        "stream-exec-drop-update-before",
        "stream-exec-values",
        "stream-exec-mini-batch-assigner",
        "stream-exec-python-calc",
    }
)


def kind(node: dict[str, Any]) -> str:
    """'stream-exec-calc_1' -> 'stream-exec-calc' (the version may change across Flink releases)."""
    return node["type"].rsplit("_", 1)[0]


def table_of(node: dict[str, Any]) -> str | None:
    """The table a source scan reads or a sink writes, as catalog.database.table."""
    spec = node.get("scanTableSource") or node.get("dynamicTableSink")
    return spec["table"]["identifier"].replace("`", "") if spec else None


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:20]


def signatures(plan: dict[str, Any]) -> dict[int, str]:
    """node id -> signature, for every node of a compiled plan (JSON as Flink writes it)."""
    nodes = {n["id"]: n for n in plan["nodes"]}
    inputs: dict[int, list[dict]] = defaultdict(list)
    for edge in plan["edges"]:
        inputs[edge["target"]].append(edge)
    signed: dict[int, str] = {}

    def sign(node_id: int) -> str:
        if node_id not in signed:
            node = nodes[node_id]
            if kind(node) in (SOURCE, SINK):
                own: Any = [kind(node), table_of(node)]
            else:
                own = [
                    {k: v for k, v in node.items() if k not in ("id", "description")},
                    [(sign(e["source"]), e.get("shuffle"), e.get("shuffleMode")) for e in inputs[node_id]],
                ]
            signed[node_id] = _digest(own)
        return signed[node_id]

    for node_id in nodes:
        sign(node_id)
    return signed


def pipelines_of(plan: dict[str, Any], sinks: dict[str, str]) -> dict[int, set[str]]:
    """node id -> the pipelines it feeds (sinks: table path -> pipeline name)."""
    nodes = {n["id"]: n for n in plan["nodes"]}
    upstream: dict[int, list[int]] = defaultdict(list)
    for edge in plan["edges"]:
        upstream[edge["target"]].append(edge["source"])
    owners: dict[int, set[str]] = defaultdict(set)
    for node in nodes.values():
        pipeline = sinks.get(table_of(node) or "") if kind(node) == SINK else None
        if not pipeline:
            continue
        todo = [node["id"]]
        while todo:
            current = todo.pop()
            if pipeline not in owners[current]:
                owners[current].add(pipeline)
                todo.extend(upstream[current])
    return owners


@dataclass(frozen=True)
class NodeEntry:
    id: int
    signature: str
    kind: str
    pipelines: tuple[str, ...]
    table: str | None = None

    @property
    def stateful(self) -> bool:
        return self.kind not in STATELESS

    def label(self) -> str:
        return f"{self.kind.removeprefix('stream-exec-')}#{self.id}" + (f"({self.table})" if self.table else "")


@dataclass(frozen=True)
class StateMap:
    """The ids one deployment ran with, and what each node belonged to."""

    nodes: tuple[NodeEntry, ...]
    sink_schemas: dict[str, list[list[str]]] = field(default_factory=dict)  # pipeline -> [[column, type]]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": STATE_MAP_FORMAT,
                "nodes": [
                    {
                        "id": n.id,
                        "signature": n.signature,
                        "kind": n.kind,
                        "pipelines": list(n.pipelines),
                        **({"table": n.table} if n.table else {}),
                    }
                    for n in self.nodes
                ],
                "sink_schemas": self.sink_schemas,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> "StateMap":
        data = json.loads(text)
        if data.get("format") != STATE_MAP_FORMAT:
            raise ValueError(f"unknown state map format {data.get('format')!r} (expected {STATE_MAP_FORMAT})")
        return cls(
            tuple(
                NodeEntry(n["id"], n["signature"], n["kind"], tuple(n["pipelines"]), n.get("table"))
                for n in data["nodes"]
            ),
            data.get("sink_schemas", {}),
        )

    @classmethod
    def read(cls, path: Path) -> "StateMap":
        return cls.from_json(path.read_text())

    def pipelines(self) -> set[str]:
        return {p for n in self.nodes for p in n.pipelines}


@dataclass(frozen=True)
class PipelineChange:
    name: str
    status: str  # kept | new | removed | changed
    dropped: tuple[str, ...] = ()  # stateful operators whose state a restore drops

    def describe(self) -> str:
        if self.status == "kept":
            return "kept with its state"
        if self.status == "new":
            return "new (starts empty, reading from the switch on; backfill fills its history)"
        if self.status == "removed":
            return "removed" + (f" (state dropped: {', '.join(self.dropped)})" if self.dropped else "")
        if self.dropped:
            return f"changed (state dropped: {', '.join(self.dropped)})"
        return "changed (only stateless operators changed: nothing dropped)"


@dataclass(frozen=True)
class PlanDiff:
    pipelines: tuple[PipelineChange, ...]
    unclaimed: tuple[str, ...]  # stateful operators of the previous plan with no place in the new one
    first_deploy: bool = False

    @property
    def state_lost(self) -> tuple[str, ...]:
        """Pipelines that keep running but lose state: what a user must accept by name."""
        return tuple(p.name for p in self.pipelines if p.status == "changed" and p.dropped)

    def lines(self) -> list[str]:
        if self.first_deploy:
            return ["no previous state map: every pipeline starts as compiled (first deployment)"]
        width = max((len(p.name) for p in self.pipelines), default=0)
        return [f"{p.name.ljust(width)}  {p.describe()}" for p in self.pipelines]


def assign_ids(
    plan: dict[str, Any],
    sinks: dict[str, str],
    previous: StateMap | None,
    sink_schemas: dict[str, list[list[str]]] | None = None,
) -> tuple[dict[str, Any], StateMap, PlanDiff]:
    """Renumber a compiled plan so every node the previous deployment had keeps its id.

    Returns the plan to execute, the state map to keep with it, and the diff against the
    previous map. Without a previous map the compiled ids stay as they are.
    """
    signed = signatures(plan)
    owners = pipelines_of(plan, sinks)
    order = sorted(signed)  # compiled ids are assigned inputs-first: ascending is topological
    free: dict[str, list[int]] = defaultdict(list)
    for entry in previous.nodes if previous else ():
        free[entry.signature].append(entry.id)
    next_id = max((e.id for e in previous.nodes), default=0) + 1 if previous else None
    new_id: dict[int, int] = {}
    for old in order:
        if next_id is None:
            new_id[old] = old
        elif free[signed[old]]:
            new_id[old] = free[signed[old]].pop(0)
        else:
            new_id[old] = next_id
            next_id += 1
    renumbered = dict(plan)
    renumbered["nodes"] = [{**n, "id": new_id[n["id"]]} for n in plan["nodes"]]
    renumbered["edges"] = [{**e, "source": new_id[e["source"]], "target": new_id[e["target"]]} for e in plan["edges"]]
    nodes_by_id = {n["id"]: n for n in plan["nodes"]}
    state_map = StateMap(
        tuple(
            NodeEntry(
                new_id[i], signed[i], kind(nodes_by_id[i]), tuple(sorted(owners.get(i, ()))), table_of(nodes_by_id[i])
            )
            for i in order
        ),
        dict(sink_schemas or {}),
    )
    return renumbered, state_map, diff(previous, state_map, sinks.values())


def diff(previous: StateMap | None, current: StateMap, names: Iterable[str]) -> PlanDiff:
    """Per pipeline: kept / new / removed / changed, and the stateful operators a restore drops."""
    names = list(dict.fromkeys(names))
    if previous is None:
        return PlanDiff(tuple(PipelineChange(n, "new") for n in names), (), first_deploy=True)
    kept_ids = {n.id for n in current.nodes}
    read_now = {n.table for n in current.nodes if n.kind == SOURCE}
    unclaimed = [n for n in previous.nodes if n.stateful and n.id not in kept_ids]
    # A source whose topic no job pipeline reads any more is nobody's loss (only unclaimed).
    dropped = [n for n in unclaimed if n.kind != SOURCE or n.table in read_now]
    current_ids = {p: {n.id for n in current.nodes if p in n.pipelines} for p in names}
    previous_ids = defaultdict(set)
    for n in previous.nodes:
        for p in n.pipelines:
            previous_ids[p].add(n.id)
    changes = []
    for name in names:
        if name not in previous_ids:
            changes.append(PipelineChange(name, "new"))
            continue
        lost = tuple(n.label() for n in dropped if name in n.pipelines)
        status = "kept" if current_ids[name] == previous_ids[name] else "changed"
        changes.append(PipelineChange(name, status, lost))
    for name in sorted(set(previous_ids) - set(names)):
        changes.append(PipelineChange(name, "removed", tuple(n.label() for n in dropped if name in n.pipelines)))
    return PlanDiff(tuple(changes), tuple(n.label() for n in unclaimed))


def _pairs(columns: Iterable[Sequence[str]]) -> tuple[tuple[str, str], ...]:
    """(name, type) pairs of a state map's sink schema (JSON keeps them as lists)."""
    return tuple((name, sql_type) for name, sql_type in columns)


def sink_changes(previous: StateMap | None, current: StateMap) -> list[str]:
    """Per sink table of a pipeline both deployments have: unchanged / column added / incompatible,
    by the same rules the job evolves tables with (common/state/sink_schema.py)."""
    if previous is None:
        return []
    lines = []
    for name, columns in current.sink_schemas.items():
        before = previous.sink_schemas.get(name)
        if before is None:
            continue
        evolution = compare(TableSchema(_pairs(before)), TableSchema(_pairs(columns)))
        if evolution.problems:
            verdict = "incompatible (" + "; ".join(p.problem for p in evolution.problems) + ")"
        elif evolution.changes:
            verdict = "; ".join(c.describe() for c in evolution.changes)
        else:
            verdict = "unchanged"
        lines.append(f"sink of {name}: {verdict}")
    return lines
