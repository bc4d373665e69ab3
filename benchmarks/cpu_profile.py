"""Where a process tree's CPU goes: per thread (from /proc) and per Java frame (from a JFR recording).

Why both: JFR samples only threads running Java code, so it cannot see the garbage collector, the
JIT compilers or a Python process; /proc sees every thread's CPU but not which code it ran.

- ``ThreadCpu(root_pid)`` polls /proc every half second for every descendant of ``root_pid``
  (the benchmark itself: its children and the orphans it reaps) and keeps each thread's newest
  user + system time, so a thread that ended still counts with its last reading (at most half a
  second of its life is lost). ``groups()`` folds them by role (Flink's task threads, Kafka's
  fetcher, GC, JIT, Python, ...).
- ``jfr_summary(path)`` reads ``jdk.ExecutionSample`` events with the JDK's ``jfr print --json``
  and returns the top frames by self time and the split by stage (Kafka fetch, decode, ...): a
  sample counts for the stage of the innermost frame whose class a stage names (JDK frames
  count for their caller).

``jfr_options(path)`` are the JVM options that record one (``settings=profile``: Java samples
every 10 ms).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")

# Thread roles by the thread's name (/proc/<pid>/task/<tid>/comm: 15 characters at most).
THREAD_ROLES: tuple[tuple[str, str], ...] = (
    (r"^(GC Thread|G1 |VM Periodic|VM Thread)", "JVM: garbage collection and VM"),
    (r"^(C1 |C2 )Compiler", "JVM: JIT compilers"),
    (r"^python", "Python (the launcher and PyFlink's client)"),
    (r"^(Source|Legacy Source|Calc|Sink|IcebergStreamW|IcebergFilesCo|Writer|Committer)", "Flink task threads"),
    (r"(?i)kafka|Fetcher|consumer|producer", "Kafka clients"),
    (r"(?i)iceberg|worker-pool|ThreadPoolExe", "Iceberg worker pools"),
    (r"(?i)flink|akka|pekko|rpc|jobmanager|taskmanager|Checkpoint|Timer|OutputFlusher", "Flink runtime"),
)


def thread_role(name: str) -> str:
    for pattern, role in THREAD_ROLES:
        if re.search(pattern, name):
            return role
    return "other threads"


def _stat_cpu(path: str) -> float | None:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _children(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    text = f.read()
                parents[int(entry)] = int(text[text.rfind(")") + 2 :].split()[1])
            except (OSError, ValueError):
                continue
    tree, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    return tree


def tree_cpu_s(root: int) -> float:
    """User + system CPU of root and its descendants now (their exited children not included)."""
    return sum(cpu for pid in {root} | _children(root) if (cpu := _stat_cpu(f"/proc/{pid}/stat")) is not None)


@dataclass
class ThreadCpu:
    """Per-thread CPU of root_pid's descendants (not root_pid itself), polled in the background."""

    root_pid: int
    interval_s: float = 0.5
    seen: dict[tuple[int, int], tuple[str, str, float]] = field(
        default_factory=dict
    )  # (pid, tid) -> (process, thread, cpu s)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "ThreadCpu":
        self._thread = threading.Thread(target=self._run, name="thread-cpu", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> None:
        for pid in _children(self.root_pid):
            try:
                process = Path(f"/proc/{pid}/comm").read_text().strip()
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                cpu = _stat_cpu(f"/proc/{pid}/task/{tid}/stat")
                if cpu is None:
                    continue
                try:
                    name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
                except OSError:
                    continue
                if process.startswith("python"):
                    name = "python" if tid == str(pid) else f"python {name}"
                self.seen[(pid, int(tid))] = (process, name, cpu)

    def total_s(self) -> float:
        return sum(cpu for _, _, cpu in self.seen.values())

    def groups(self) -> list[tuple[str, float]]:
        by_role: collections.Counter[str] = collections.Counter()
        for _, name, cpu in self.seen.values():
            by_role[thread_role(name)] += cpu
        return by_role.most_common()

    def threads(self, top: int = 12) -> list[tuple[str, float]]:
        by_name: collections.Counter[str] = collections.Counter()
        for _, name, cpu in self.seen.values():
            by_name[re.sub(r"[#-]?\d+$", "", name).strip()] += cpu
        return by_name.most_common(top)


def jfr_options(path: Path) -> list[str]:
    return [f"-XX:StartFlightRecording=filename={path},settings=profile,dumponexit=true"]


# Stages by class name prefix; the first that matches the innermost non-JDK frame wins.
STAGES: tuple[tuple[str, str], ...] = (
    ("org.apache.iceberg.shaded.org.apache.parquet", "Parquet encode"),
    ("com.github.luben.zstd", "compression (zstd)"),
    ("io.airlift.compress", "compression"),
    ("org.apache.parquet", "Parquet encode"),
    ("org.apache.iceberg.parquet", "Parquet encode"),
    ("org.apache.iceberg.flink.data", "row conversion (Flink row -> Iceberg)"),
    ("org.apache.iceberg.flink.RowDataWrapper", "row conversion (Flink row -> Iceberg)"),
    ("org.apache.iceberg.flink.sink.IcebergFilesCommitter", "commits"),
    ("org.apache.iceberg.flink.sink.IcebergCommitter", "commits"),
    ("org.apache.iceberg.SnapshotProducer", "commits"),
    ("org.apache.iceberg", "Iceberg writer (other)"),
    ("mskiceberg.streaming.format", "decode (strict JSON)"),
    ("mskiceberg.streaming.source", "event time and positions"),
    ("mskiceberg.streaming.metrics", "pipeline metrics"),
    ("mskiceberg.streaming.sink", "Iceberg writer (other)"),
    ("org.apache.kafka.connect.json", "decode (Connect JSON)"),
    ("org.apache.kafka.connect", "Kafka Connect runtime"),
    ("org.apache.kafka", "Kafka fetch"),
    ("org.apache.flink.connector.kafka", "Kafka fetch"),
    ("StreamExecCalc", "SQL projection and filter (generated)"),
    ("org.apache.flink.table.runtime.typeutils", "row copies and serialisation"),
    ("org.apache.flink.table.data", "row conversion (Flink rows)"),
    ("org.apache.flink.table", "Flink SQL runtime"),
    ("org.apache.flink.streaming.api.operators.TimestampedCollector", "Flink operators"),
    ("org.apache.flink.streaming.runtime.tasks", "Flink operators"),
    ("org.apache.flink.streaming.api.operators", "Flink operators"),
    ("org.apache.flink.streaming.runtime", "Flink runtime"),
    ("org.apache.flink.runtime", "Flink runtime"),
    ("org.apache.flink", "Flink (other)"),
    ("org.apache.hadoop", "Hadoop file system"),
)
# Libraries that count for their caller, like the JDK: Jackson parses for the decoder that calls it.
JDK = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "org.apache.flink.shaded.jackson2.", "com.fasterxml.jackson.")


def stage_of(frames: list[str]) -> str:
    """frames: class.method, innermost first."""
    for frame in frames:
        if frame.startswith(JDK):
            continue
        for prefix, stage in STAGES:
            if frame.startswith(prefix) or (prefix[0].isupper() and prefix in frame):
                return stage
        return "other"
    return "JDK only"


@dataclass
class JfrSummary:
    samples: int
    top_frames: list[tuple[str, int]]
    stages: list[tuple[str, int]]
    threads: list[tuple[str, int]]


def jfr_summary(path: Path, top: int = 20) -> JfrSummary:
    jfr = shutil.which("jfr") or str(Path(os.environ.get("JAVA_HOME", "/usr")) / "bin" / "jfr")
    out = subprocess.run(
        [jfr, "print", "--json", "--stack-depth", "64", "--events", "jdk.ExecutionSample", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    events = json.loads(out)["recording"]["events"]
    frames_c: collections.Counter[str] = collections.Counter()
    stages_c: collections.Counter[str] = collections.Counter()
    threads_c: collections.Counter[str] = collections.Counter()
    for event in events:
        values = event["values"]
        frames = [
            f"{f['method']['type']['name'].replace('/', '.')}.{f['method']['name']}"
            for f in (values.get("stackTrace") or {}).get("frames", [])
        ]
        if not frames:
            continue
        caller = next((f for f in frames[1:] if not f.startswith(JDK)), None) if frames[0].startswith(JDK) else None
        frames_c[f"{frames[0]} (from {caller})" if caller else frames[0]] += 1
        stages_c[stage_of(frames)] += 1
        thread = (values.get("sampledThread") or {}).get("javaName") or "?"
        threads_c[re.sub(r"\s*\(\d+/\d+\)#\d+$", "", thread)[:60]] += 1
    return JfrSummary(
        sum(frames_c.values()), frames_c.most_common(top), stages_c.most_common(), threads_c.most_common(8)
    )


def format_profile(title: str, threads: ThreadCpu | None, jfr: JfrSummary | None) -> str:
    lines = [f"== where the CPU goes: {title}"]
    if threads is not None:
        total = threads.total_s() or 1.0
        lines.append(f"threads (from /proc), {threads.total_s():.1f} CPU s in all:")
        lines += [f"  {cpu:7.1f} s {100 * cpu / total:5.1f} %  {role}" for role, cpu in threads.groups()]
        lines.append("  busiest threads:")
        lines += [f"  {cpu:7.1f} s  {name}" for name, cpu in threads.threads()]
    if jfr is not None and jfr.samples:
        lines.append(f"Java samples (JFR, every 10 ms of a running Java thread): {jfr.samples}")
        lines += [f"  {100 * n / jfr.samples:5.1f} %  {stage}" for stage, n in jfr.stages]
        lines.append("  top frames by self time:")
        lines += [f"  {100 * n / jfr.samples:5.1f} %  {frame}" for frame, n in jfr.top_frames]
        lines.append("  sampled threads:")
        lines += [f"  {100 * n / jfr.samples:5.1f} %  {name}" for name, n in jfr.threads]
    return "\n".join(lines)
