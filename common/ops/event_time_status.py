"""What holds event time: each topic's watermark and idleness, and for each windowed pipeline the
topic its windows wait for, read from the running job's Flink REST API.

Why: a window that does not close has two very different causes. A topic with nothing written to
it holds the windows that read it (the per-topic rule: docs/reference/event-time.md) until it
resumes or the job is drained; a topic that has records but is not read (a stuck or slow job)
holds them too. The status tells which, from the idle-aware source's own gauges
(src/main/java/.../source/IdleAwareReader.java: partitions, idlePartitions, quietMs, released
per topic and subtask) and Flink's watermark gauges.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from common.durations import describe_seconds
from common.render.metrics import SERVICE_GROUP

SOURCE_GAUGES = ("partitions", "idlePartitions", "quietMs", "released")
WATERMARK_UNSET = -(2**63)  # Flink's Long.MIN_VALUE: no watermark yet


@dataclass(frozen=True)
class TopicEventTime:
    """One topic, over every source subtask that reads it."""

    topic: str
    watermark_ms: int | None  # the lowest subtask watermark (None: none yet)
    partitions: int
    idle_partitions: int
    quiet_ms: int | None  # how long nothing was written to the topic (None: not known yet)
    released: bool
    idle_timeout_ms: int

    @property
    def quiet(self) -> bool:
        """Nothing to read on any partition for the idle timeout: the topic holds its own watermark."""
        return (
            self.partitions > 0
            and self.idle_partitions == self.partitions
            and self.quiet_ms is not None
            and self.quiet_ms >= self.idle_timeout_ms
        )


@dataclass(frozen=True)
class WindowWait:
    """A windowed pipeline: where its windows stand and which topic they wait for."""

    pipeline: str
    watermark_ms: int | None
    held_by: str | None  # the topic with the lowest watermark among those it reads
    reason: str


def explain(
    pipeline: str,
    watermark_ms: int | None,
    reads: Iterable[str],
    topics: Mapping[str, TopicEventTime],
    lag: Mapping[str, int | None],
) -> WindowWait:
    """Which topic holds a windowed pipeline, and why, in one sentence a user can act on.

    ``reads``: the Kafka topics the pipeline reads; ``lag``: unread records per topic (None: unknown).
    """
    known = [topics[t] for t in reads if t in topics]
    if not known:
        return WindowWait(pipeline, watermark_ms, None, "its sources report no event time yet")
    lowest = min(known, key=lambda t: (t.watermark_ms is not None, t.watermark_ms or 0))
    name = lowest.topic
    if lowest.released:
        reason = f"{pipeline} follows the other topics: {name} is released (nothing written for {describe_seconds((lowest.quiet_ms or 0) / 1000)})"
    elif lowest.quiet:
        reason = (
            f"{pipeline} waits for {name}: nothing written for {describe_seconds((lowest.quiet_ms or 0) / 1000)}; its windows close "
            f"when {name} resumes or the job is drained (event_time.release_after releases it)"
        )
    elif lag.get(name):
        reason = f"{pipeline} waits for {name}: {lag[name]:,} records not yet read (the job is behind or stuck)"
    elif lowest.watermark_ms is None:
        reason = f"{pipeline} waits for {name}: no watermark yet (no valid record read)"
    else:
        idle = f", {lowest.idle_partitions} of {lowest.partitions} partitions idle" if lowest.idle_partitions else ""
        reason = f"{pipeline} follows {name} (reading{idle})"
    return WindowWait(pipeline, watermark_ms, name, reason)


def topic_event_time(topic: str, idle_timeout_ms: int, per_subtask: list[dict[str, int]]) -> TopicEventTime:
    """One topic from its source subtasks' gauges (subtasks without partitions do not count)."""
    reading = [s for s in per_subtask if s.get("partitions", 0) > 0]
    marks = [
        s["currentOutputWatermark"]
        for s in reading
        if s.get("currentOutputWatermark", WATERMARK_UNSET) != WATERMARK_UNSET
    ]
    quiet = [s["quietMs"] for s in reading if s.get("quietMs", -1) >= 0]
    return TopicEventTime(
        topic=topic,
        watermark_ms=min(marks) if len(marks) == len(reading) and marks else None,
        partitions=sum(s.get("partitions", 0) for s in reading),
        idle_partitions=sum(s.get("idlePartitions", 0) for s in reading),
        quiet_ms=min(quiet) if quiet else None,
        released=any(s.get("released", 0) for s in reading),
        idle_timeout_ms=idle_timeout_ms,
    )


class FlinkRest:
    """The few calls of Flink's REST API the status needs."""

    def __init__(self, url: str, timeout_s: float = 10):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=self.timeout_s) as response:
            return json.load(response)

    def running_job(self) -> str | None:
        running = [j["id"] for j in self.get("/jobs")["jobs"] if j["status"] == "RUNNING"]
        return running[0] if len(running) == 1 else None

    def metrics(self, job: str, vertex: str, wanted: Callable[[str], bool]) -> dict[str, float]:
        base = f"/jobs/{job}/vertices/{vertex}/metrics"
        ids = [m["id"] for m in self.get(base) if wanted(m["id"])]
        values: dict[str, float] = {}
        for start in range(0, len(ids), 20):
            for m in self.get(base + "?get=" + ",".join(ids[start : start + 20])):
                values[m["id"]] = float(m["value"])
        return values


@dataclass(frozen=True)
class JobEventTime:
    """The running job's event time: per Kafka topic, and each windowed pipeline's input watermark."""

    job: str | None
    topics: dict[str, TopicEventTime]
    windows: dict[str, int | None]  # pipeline -> the lowest input watermark of its window operator


def read_event_time(rest: FlinkRest, idle_timeouts: Mapping[str, int]) -> JobEventTime:
    """Per topic (``idle_timeouts``: Kafka topic -> idle timeout ms) and per windowed pipeline."""
    job = rest.running_job()
    if job is None:
        return JobEventTime(None, {}, {})
    gauge = re.compile(rf"^(\d+)\.(.+)\.{SERVICE_GROUP}\.topic\.(.+)\.({'|'.join(SOURCE_GAUGES)})$")
    output_wm = re.compile(r"^(\d+)\.(.+)\.currentOutputWatermark$")
    pipeline_metric = re.compile(rf"\.{SERVICE_GROUP}\.pipeline\.([^.]+)\.rowsOut$")
    subtasks: dict[str, dict[tuple[str, str], dict[str, int]]] = {}  # topic -> (subtask, operator) -> gauges
    windows: dict[str, int | None] = {}
    for vertex in rest.get(f"/jobs/{job}")["vertices"]:
        values = rest.metrics(
            job, vertex["id"], lambda i: bool(gauge.match(i) or output_wm.match(i) or pipeline_metric.search(i))
        )
        operators: dict[tuple[str, str], str] = {}  # (subtask, source operator) -> topic
        for metric, value in values.items():
            if m := gauge.match(metric):
                operators[(m.group(1), m.group(2))] = m.group(3)
                subtasks.setdefault(m.group(3), {}).setdefault((m.group(1), m.group(2)), {})[m.group(4)] = int(value)
        for metric, value in values.items():
            if (m := output_wm.match(metric)) and (m.group(1), m.group(2)) in operators:
                key = (m.group(1), m.group(2))
                subtasks[operators[key]][key]["currentOutputWatermark"] = int(value)
        if "WindowAggregate" in vertex["name"]:
            marks = [int(w["value"]) for w in rest.get(f"/jobs/{job}/vertices/{vertex['id']}/watermarks")]
            low = min(marks) if marks else WATERMARK_UNSET
            for name in {m.group(1) for i in values if (m := pipeline_metric.search(i))}:
                windows[name] = None if low == WATERMARK_UNSET else low
    topics = {t: topic_event_time(t, idle_timeouts.get(t, 0), list(per.values())) for t, per in subtasks.items()}
    return JobEventTime(job, topics, windows)
