"""Randomized timing schedules, end to end (issue 28): whatever the clocks, pauses and faults,
every table is exact and the late tables hold exactly the records late by their own topic's stream.

A schedule is drawn from one seed (``random.Random(seed)``: the traffic, the timing and the
faults, so a seed replays the same run) and printed with :meth:`Schedule.describe`:

- **clocks**: each topic's producer is ahead of the others by 0 s to 2 h of event time. One
  producer sends every topic, sorted by ``timestamp_ms - offset[topic]``, so each topic stays in
  its own event-time order (``tests/support/event_data.py``: a jitter below the allowed disorder) while a
  topic ahead is hours ahead of a topic behind at every moment;
- **partitions**: 4 per topic, records keyed by user with explicit partitions; some topics leave
  one partition empty for the whole run;
- **steps**: the traffic in 3-5 segments (the first sometimes sent before the job starts), each
  in one go or in bursts; between them a pause of the producer longer than the idle timeout,
  the broker SIGKILLed for 5-60 s (the producer sometimes sending while it is down), a stop with
  a savepoint and a restore (sometimes at the other parallelism), or nothing; a segment may hold
  one topic back for longer than the idle timeout while the others go on;
- **truly late records**: after a segment, once the job has committed an hourly window and a
  session that the data sent so far must close, bids and user events for earlier times, sent to
  every non-empty partition. They are late whatever the timing (every source subtask's
  watermark had passed their deadlines before they were sent: the committed rows prove it), and
  they are the only records that may be: each topic's records are in its own event-time order
  within the allowed disorder, so by the per-topic lateness rule (docs/reference/event-time.md)
  no partition's watermark ever passes the deadline of a record still to be
  sent, whatever the pauses, outages, restores or parallelism.

The job runs unbounded (idle timeout 3-5 s, checkpoints every 2 s, parallelism 1 or 2) against a
broker of its own (``dev/kafka_local.sh`` with ``KAFKA_LOCAL_DIR``: the schedules kill it, so
it must not be the broker others use), ends drained (SIGTERM with ``--drain``), and every table
is compared with ``tests/support/reference_model.py``: :func:`check` counts the exact tables, the records
wrongly late and the records wrongly on time.

    .venv/bin/python benchmarks/run_schedules.py --seed 7 --print   # a schedule, without running it
    .venv/bin/python benchmarks/run_schedules.py --seed 7           # replay one seed
"""

from __future__ import annotations

import datetime as dt
import fcntl
import heapq
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Union

import yaml

from common.durations import parse_duration_ms
from common.kafka_client import KafkaSink, Target, client_config
from tests.support import reference_model as ref
from tests.support.event_data import ACTIONS, CITIES, MAX_DISORDER_MS, PLATFORMS, generate
from tests.support.harness import KAFKA_SCRIPT, ROOT, JobWorkspace, assert_same_rows, create_topics

NAMESPACE = "sink"
TOPICS = ("bid_events", "user_events", "order_events")
RAW_TABLES = {
    "bid_events": "bid_events_raw",
    "user_events": "user_events_processed",
    "order_events": "order_events_enriched",
}
PARTITIONS = 4
DISORDER_MS = 5_000  # every topic's max_out_of_orderness (config/topics.yaml)
GAP_MS = 30 * 60_000  # the session gap (config/transformations.yaml)
HOUR_MS = ref.HOUR_MS
CLOCK_SPREAD_S = 2 * 3600
CHECKPOINT_INTERVAL = "2s"
DEADLINE_S = 240  # for any one wait on the job
STOP_TIMEOUT_S = 180
TABLES = (
    "bid_events_raw",
    "user_events_processed",
    "order_events_enriched",
    "bid_events_hourly_agg",
    "bid_events_hourly_agg_late",
    "session_analytics",
    "session_analytics_late",
    "dead_letters",
)

assert MAX_DISORDER_MS < DISORDER_MS  # the traffic's jitter stays within the allowed disorder


# ---------------------------------------------------------------------------------------------
# the schedule


@dataclass(frozen=True)
class Record:
    """One record as the producer sends it."""

    topic: str
    partition: int
    event: dict

    @property
    def ts(self) -> int:
        return self.event["timestamp_ms"]


@dataclass(frozen=True)
class Start:
    """The job starts (the first time, or from the savepoint the previous Restore stopped at)."""

    parallelism: int

    def describe(self, s: Schedule) -> str:
        return f"start the job at parallelism {self.parallelism}"


@dataclass(frozen=True)
class Send:
    """Records stream[start:stop], in `chunks` bursts `chunk_gap_s` apart; `held`: that topic's
    records of the segment are sent `held_for_s` after the others'."""

    start: int
    stop: int
    chunks: int = 1
    chunk_gap_s: float = 0.0
    held: str | None = None
    held_for_s: float = 0.0

    def describe(self, s: Schedule) -> str:
        part = s.stream[self.start : self.stop]
        span = "; ".join(
            f"{t.split('_')[0]} {_hm(min(r.ts for r in rs))}-{_hm(max(r.ts for r in rs))}"
            for t in TOPICS
            if (rs := [r for r in part if r.topic == t])
        )
        text = f"send records {self.start}-{self.stop} ({span})"
        if self.chunks > 1:
            text += f" in {self.chunks} bursts {self.chunk_gap_s:.1f}s apart"
        if self.held:
            text += f"; {self.held} held back {self.held_for_s:.1f}s while the others go on"
        return text


@dataclass(frozen=True)
class Pause:
    """The producer sends nothing."""

    seconds: float

    def describe(self, s: Schedule) -> str:
        return f"pause {self.seconds:.1f}s (idle timeout {s.idle_timeout_s}s)"


@dataclass(frozen=True)
class Kill:
    """The broker SIGKILLed, restarted `down_s` later; `send_while_down`: the next Send runs meanwhile."""

    down_s: float
    send_while_down: bool

    def describe(self, s: Schedule) -> str:
        return f"broker SIGKILLed for {self.down_s:.1f}s" + (
            ", the producer sending meanwhile" if self.send_while_down else ""
        )


@dataclass(frozen=True)
class Restore:
    """Stop with a savepoint (SIGTERM, no drain), start again from it at `parallelism`."""

    parallelism: int

    def describe(self, s: Schedule) -> str:
        return f"stop with a savepoint, restore at parallelism {self.parallelism}"


@dataclass(frozen=True)
class Late:
    """Once the hourly window ending at `window_end_ms` and a session with deadline
    `session_deadline_ms` are written, `records` (all before both) are sent: late for sure."""

    window_end_ms: int
    session_deadline_ms: int
    records: tuple[Record, ...]

    def describe(self, s: Schedule) -> str:
        by_topic = Counter(r.topic for r in self.records)
        return (
            f"when the window ending {_hm(self.window_end_ms)} and a session with deadline "
            f"{_hm(self.session_deadline_ms)} are written: {by_topic['bid_events']} bids and "
            f"{by_topic['user_events']} user events late ({_hm(min(r.ts for r in self.records))}-"
            f"{_hm(max(r.ts for r in self.records))}, partitions "
            f"{sorted({(r.topic.split('_')[0], r.partition) for r in self.records})})"
        )


Step = Union[Start, Send, Pause, Kill, Restore, Late]


@dataclass
class Schedule:
    seed: int
    users: int
    idle_timeout_s: int
    offsets_s: dict[str, int]  # how far ahead each topic's producer is, in event time
    empty: dict[str, int | None]  # the partition of each topic that never receives a record
    stream: list[Record]  # every on-time record, in production order
    steps: list[Step] = field(default_factory=list)

    @property
    def parallelism(self) -> int:
        return next(s.parallelism for s in self.steps if isinstance(s, Start))

    def late(self) -> list[Record]:
        return [r for s in self.steps if isinstance(s, Late) for r in s.records]

    def features(self) -> list[str]:
        """What the schedule exercises, in short (the per-seed lines and the choice of CI seeds)."""
        spread = max(self.offsets_s.values()) - min(self.offsets_s.values())
        pause = [s for s in self.steps if isinstance(s, Pause)]
        held = [s for s in self.steps if isinstance(s, Send) and s.held]
        bursts = [s for s in self.steps if isinstance(s, Send) and s.chunks > 1]
        kills = [s for s in self.steps if isinstance(s, Kill)]
        restores = [s for s in self.steps if isinstance(s, Restore)]
        out = [
            f"p{self.parallelism}" + "".join(f">{r.parallelism}" for r in restores),
            f"T={self.idle_timeout_s}s",
            f"clocks {spread / 3600:.1f}h",
        ]
        out += ["pause"] * bool(pause) + ["held " + ",".join(s.held.split("_")[0] for s in held if s.held)] * bool(held)
        out += ["bursts"] * bool(bursts)
        out += [f"kill {k.down_s:.0f}s" + "+send" * k.send_while_down for k in kills]
        out += ["restore"] * bool(restores)
        out += ["empty " + ",".join(t.split("_")[0] for t, p in self.empty.items() if p is not None)] * any(
            p is not None for p in self.empty.values()
        )
        out += [f"late {len(self.late())}"] * bool(self.late())
        return out

    def describe(self) -> str:
        lines = [
            f"schedule of seed {self.seed}: {self.users} users, {len(self.stream)} records "
            f"({', '.join(f'{t} {n}' for t, n in Counter(r.topic for r in self.stream).items())}), "
            f"{PARTITIONS} partitions, idle timeout {self.idle_timeout_s}s, checkpoints every "
            f"{CHECKPOINT_INTERVAL}",
            "  clocks ahead by: " + ", ".join(f"{t} {o // 60} min" for t, o in self.offsets_s.items()),
            "  never a record: "
            + (
                ", ".join(f"{t} partition {p}" for t, p in self.empty.items() if p is not None)
                or "every partition gets some"
            ),
        ]
        lines += [f"  {i + 1:2}. {step.describe(self)}" for i, step in enumerate(self.steps)]
        lines.append(
            f"  {len(self.steps) + 1:2}. wait until the raw tables hold every record, stop draining "
            "(SIGTERM, --drain), compare every table"
        )
        return "\n".join(lines)


def _hm(ms: int) -> str:
    return ref.utc(ms).strftime("%d %H:%M:%S")


def _partition(rng_free_user: int, empty: int | None) -> int:
    usable = [p for p in range(PARTITIONS) if p != empty]
    return usable[rng_free_user % len(usable)]


def _offsets(rng: random.Random) -> dict[str, int]:
    mode = rng.random()
    if mode < 0.2:
        return {t: 0 for t in TOPICS}
    if mode < 0.55:  # two topics the whole spread apart, the third anywhere between
        first, second, third = rng.sample(TOPICS, 3)
        offsets = {first: 0, second: CLOCK_SPREAD_S, third: rng.randint(0, CLOCK_SPREAD_S)}
        return {t: offsets[t] for t in TOPICS}
    raw = {t: rng.randint(0, CLOCK_SPREAD_S) for t in TOPICS}
    low = min(raw.values())
    return {t: o - low for t, o in raw.items()}


def _merge(
    traffic_topics: dict[str, list[dict]], offsets_s: dict[str, int], empty: dict[str, int | None]
) -> list[Record]:
    """One producer: every topic in its own order (heapq.merge keeps each list's order), the
    topics interleaved by event time minus their clock offset."""
    lists = [
        [
            (e["timestamp_ms"] - offsets_s[t] * 1000, Record(t, _partition(e["user_id"], empty[t]), e))
            for e in traffic_topics[t]
        ]
        for t in TOPICS
    ]
    return [r for _, r in heapq.merge(*lists, key=lambda item: item[0])]


def _cuts(rng: random.Random, total: int, segments: int) -> list[int]:
    weights = [rng.uniform(1, 2) for _ in range(segments)]
    cuts, acc = [0], 0.0
    for w in weights[:-1]:
        acc += w
        cuts.append(round(total * acc / sum(weights)))
    return cuts + [total]


class _Watermarks:
    """What the per-topic rule lets the watermark reach from the records sent
    (docs/reference/event-time.md): per topic, once every partition with records has been
    read and quiet for the idle timeout, at least min over those partitions of (newest - D - 1)
    (an empty partition follows the others); never more than the topic's newest - D - 1."""

    def __init__(self) -> None:
        self.newest: dict[tuple[str, int], int] = {}

    def add(self, records: list[Record]) -> None:
        for r in records:
            key = (r.topic, r.partition)
            self.newest[key] = max(self.newest.get(key, r.ts), r.ts)

    def reached(self, topic: str) -> int | None:
        values = [v for (t, _), v in self.newest.items() if t == topic]
        return min(values) - DISORDER_MS - 1 if values else None

    def at_most(self, topic: str) -> int | None:
        values = [v for (t, _), v in self.newest.items() if t == topic]
        return max(values) - DISORDER_MS - 1 if values else None

    def copy(self) -> _Watermarks:
        other = _Watermarks()
        other.newest = dict(self.newest)
        return other


def _min(*values: int | None) -> int | None:
    return None if any(v is None for v in values) else min(v for v in values if v is not None)


def _late_step(
    rng: random.Random,
    seed: int,
    users: int,
    empty: dict[str, int | None],
    sent: list[Record],
    now: _Watermarks,
    before_instance: _Watermarks,
    taken: set,
    serial: list[int],
) -> Late | None:
    """Truly late records, if the data sent so far closes a window and a session that the current
    job instance (not an earlier one) must have closed; None if it does not."""
    w_bids, w_sessions = now.reached("bid_events"), _min(now.reached("bid_events"), now.reached("user_events"))
    if w_bids is None or w_sessions is None:
        return None
    bids = [r.event for r in sent if r.topic == "bid_events"]
    user_events = [r.event for r in sent if r.topic == "user_events"]
    ends = [ref.window_end_ms(b) for b in bids if ref.window_end_ms(b) - 1 <= w_bids]
    deadlines = [
        int((row[3] - dt.datetime(1970, 1, 1)).total_seconds() * 1000) + GAP_MS
        for row in ref.session_analytics(bids, user_events, GAP_MS)
    ]
    deadlines = [d for d in deadlines if d - 1 <= w_sessions]
    if not ends or not deadlines:
        return None
    window_end, deadline = max(ends), max(deadlines)
    # an earlier instance may have reached at most this: the rows must be this instance's
    prev_bids = before_instance.at_most("bid_events")
    prev_sessions = _min(prev_bids, before_instance.at_most("user_events"))
    if prev_bids is not None and window_end - 1 <= prev_bids:
        return None
    if prev_sessions is not None and deadline - 1 <= prev_sessions:
        return None
    records = []
    for topic, count, high in (
        ("bid_events", rng.randint(2, 8), min(window_end, deadline - GAP_MS + 1)),
        ("user_events", rng.randint(0, 4), deadline - GAP_MS + 1),
    ):
        first = min(r.ts for r in sent if r.topic == topic)
        low = max(first, high - 2 * HOUR_MS)
        if high <= low:
            continue
        usable = [p for p in range(PARTITIONS) if p != empty[topic]]
        shift = rng.randrange(len(usable))
        for j in range(count):
            ts, user = rng.randrange(low, high), rng.randint(1, users)
            while (topic, user, ts) in taken:
                ts = ts + 1 if ts + 1 < high else low
            taken.add((topic, user, ts))
            serial[0] += 1
            if topic == "bid_events":
                event = {
                    "event_name": "bid_placed",
                    "user_id": user,
                    "city_id": rng.choice(CITIES),
                    "platform": rng.choice(PLATFORMS),
                    "session_id": f"late-{seed}-{serial[0]}",
                    "timestamp_ms": ts,
                    "bid_amount": round(rng.uniform(1, 300), 2),
                }
            else:
                event = {
                    "event_type": "user_action",
                    "user_id": user,
                    "action": rng.choice(ACTIONS),
                    "timestamp_ms": ts,
                    "metadata": json.dumps({"late": serial[0]}),
                }
            records.append(Record(topic, usable[(shift + j) % len(usable)], event))
    if not any(r.topic == "bid_events" for r in records):
        return None
    return Late(window_end, deadline, tuple(records))


def make_schedule(seed: int) -> Schedule:
    """The schedule of one seed: the same seed, the same schedule."""
    rng = random.Random(seed)
    users = rng.randint(8, 16)
    traffic = generate(seed=rng.randrange(2**31), users=users, days=1)
    idle_timeout_s = rng.randint(3, 5)
    parallelism = rng.choice((1, 2))
    offsets = _offsets(rng)
    empty = {t: rng.randrange(PARTITIONS) if rng.random() < 0.3 else None for t in TOPICS}
    stream = _merge(traffic.topics(), offsets, empty)
    schedule = Schedule(seed, users, idle_timeout_s, offsets, empty, stream)
    steps = schedule.steps
    T = idle_timeout_s
    cuts = _cuts(rng, len(stream), rng.randint(3, 5))
    taken = {(r.topic, r.event["user_id"], r.ts) for r in stream}
    serial = [0]
    sent: list[Record] = []
    now, before_instance = _Watermarks(), _Watermarks()
    kills = restores = 0

    def send(k: int, held_ok: bool = True) -> None:
        chunks = rng.choice((1, 1, 2, 3, 4))
        gap = round(rng.uniform(0.2, 2.0) if rng.random() < 0.8 else rng.uniform(1.5 * T, 2.5 * T), 1)
        held = rng.choice(TOPICS) if held_ok and rng.random() < 0.35 else None
        steps.append(
            Send(
                cuts[k],
                cuts[k + 1],
                chunks,
                gap if chunks > 1 else 0.0,
                held,
                round(rng.uniform(1.5 * T, 3 * T), 1) if held else 0.0,
            )
        )
        sent.extend(stream[cuts[k] : cuts[k + 1]])
        now.add(stream[cuts[k] : cuts[k + 1]])

    segments = len(cuts) - 1
    if rng.random() < 0.5:  # history before the job starts
        send(0, held_ok=False)
        steps.append(Start(parallelism))
    else:
        steps.append(Start(parallelism))
        send(0)
    for k in range(1, segments + 1):
        if rng.random() < 0.55:
            late = _late_step(rng, seed, users, empty, sent, now, before_instance, taken, serial)
            if late:
                steps.append(late)
        if k == segments:
            break
        choices = (
            ["nothing", "pause", "pause"] + ["kill", "kill"] * (kills == 0) + ["restore", "restore"] * (restores == 0)
        )
        action = rng.choice(choices)
        if action == "pause":
            steps.append(Pause(round(rng.uniform(1.5 * T, 3 * T), 1)))
        elif action == "kill":
            kills += 1
            down = rng.uniform(5, 20) if rng.random() < 0.7 else rng.uniform(20, 60)
            steps.append(Kill(round(down, 1), rng.random() < 0.4))
        elif action == "restore":
            restores += 1
            parallelism = parallelism if rng.random() < 0.7 else 3 - parallelism
            steps.append(Restore(parallelism))
            before_instance = now.copy()
        send(k)
    return schedule


# ---------------------------------------------------------------------------------------------
# running one


@dataclass(frozen=True)
class Broker:
    """A broker of the schedules' own (dev/kafka_local.sh with KAFKA_LOCAL_DIR): they kill it."""

    state_dir: Path = ROOT / ".local" / "kafka-schedules"
    # another checkout's schedules may run beside these: $SCHEDULES_KAFKA_PORT moves them (and its + 1)
    port: int = int(os.environ.get("SCHEDULES_KAFKA_PORT", "29192"))
    controller_port: int = port + 1

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, command: str) -> None:
        env = {
            **os.environ,
            "KAFKA_LOCAL_DIR": str(self.state_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
        }
        done = subprocess.run(
            [str(KAFKA_SCRIPT), command, *(("--plaintext",) if command == "start" else ())],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kafka_local.sh {command} (KAFKA_LOCAL_DIR={self.state_dir}): {done.stderr[-3000:]}")

    @contextmanager
    def exclusive(self) -> Iterator[Broker]:
        """This broker for one runner at a time (a pytest session and the CLI would kill it under
        each other): waits for the other."""
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(str(self.state_dir) + ".run-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.run("start")
            yield self


@dataclass
class Result:
    seed: int
    features: list[str]
    seconds: float = 0.0
    tables_exact: int = 0
    wrongly_late: int = 0
    wrongly_on_time: int = 0
    late_expected: int = 0  # rows the two late tables must hold
    late_rows: int = 0
    error: str | None = None  # the run itself failed (job died, timed out, ...)
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and self.tables_exact == len(TABLES) and not self.mismatches

    def line(self, load: float | None = None) -> str:
        """One line of run_schedules' table (HEADER there)."""
        status = "PASS" if self.passed else "FAIL"
        return (
            f"{self.seed:>6}  {status:<6} {self.tables_exact:>2}/{len(TABLES)}  {self.wrongly_late:>6}  "
            f"{self.wrongly_on_time:>9}  {self.late_rows:>4}/{self.late_expected:<4} {self.seconds:5.0f}s "
            + (f"{load:5.1f}  " if load is not None else "")
            + " ".join(self.features)
            + (f"  ERROR: {self.error.splitlines()[0][:160]}" if self.error else "")
        )


def replay_hint(seed: int) -> str:
    return (
        f"replay: .venv/bin/python benchmarks/run_schedules.py --seed {seed} --keep   "
        f"(the schedule only: --seed {seed} --print)"
    )


class Run:
    """One schedule against the broker: the job, the producer, the faults, then the check."""

    def __init__(
        self,
        schedule: Schedule,
        broker: Broker,
        base: Path,
        app_dir: Path = ROOT,
        log: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.s, self.broker, self.base, self.app_dir, self.log = schedule, broker, base, app_dir, log
        self.ws = workspace(base, broker.bootstrap, app_dir, schedule.idle_timeout_s)
        self.job: subprocess.Popen | None = None
        self.instance = 0
        self.step_index = 0
        self.sent: Counter = Counter()  # records per topic the broker confirmed
        self.sent_records: list[Record] = []
        self.restart: threading.Thread | None = None
        self.restart_error: list[BaseException] = []
        # the producer rides out the broker's outages (5 min); log_level 2: not a line per refused connect
        self.sink = KafkaSink(
            {**client_config(Target(broker.bootstrap)), "message.timeout.ms": 300_000, "log_level": 2}
        )

    # -- the job

    def job_log(self, instance: int | None = None) -> Path:
        return self.base / f"job-{instance or self.instance}.log"

    def start_job(self, parallelism: int, restore: str | None) -> None:
        self.instance += 1
        last = not any(isinstance(s, Restore) for s in self.s.steps[self.step_index + 1 :])
        args = ["--restore", restore] if restore else []
        args += ["--drain"] if last else []
        env = {
            **os.environ,
            "ICEBERG_WAREHOUSE": str(self.ws.warehouse),
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap,
            "FLINK_PARALLELISM": str(parallelism),
            "FLINK_CHECKPOINT_INTERVAL": CHECKPOINT_INTERVAL,
            "FLINK_CHECKPOINT_DIR": str(self.base / "checkpoints"),
        }
        with self.job_log().open("w") as out:
            self.job = subprocess.Popen(
                [
                    sys.executable,
                    str(self.app_dir / "streaming_job.py"),
                    "--config-dir",
                    str(self.ws.config_dir),
                    *args,
                ],
                cwd=self.app_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.log(
            f"job {self.instance} started (pid {self.job.pid}, parallelism {parallelism}"
            f"{', from ' + restore if restore else ''})"
        )

    def stop_job(self) -> int:
        assert self.job is not None
        self.job.send_signal(signal.SIGTERM)
        try:
            code = self.job.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.job.kill()
            self.job.wait()
            raise AssertionError(f"job {self.instance} did not stop within {STOP_TIMEOUT_S}s after SIGTERM")
        if code != 0:
            raise AssertionError(f"job {self.instance} exited {code}:\n{self.job_log().read_text()[-4000:]}")
        return code

    def wait_running(self) -> None:
        """Until this instance's job has completed a checkpoint: it runs, and a stop with a
        savepoint can be taken (a SIGTERM while the job is still being submitted ends the
        process before it has a job to stop)."""

        def checkpointed() -> bool:
            found = re.findall(r"submitted job (\w+)", self.job_log().read_text())
            return bool(found) and any((self.base / "checkpoints" / found[-1]).glob("chk-*/_metadata"))

        self.wait(checkpointed, lambda: f"job {self.instance} completed no checkpoint")

    def alive(self) -> None:
        if self.job is None or self.job.poll() is not None:
            raise AssertionError(f"job {self.instance} stopped:\n{self.job_log().read_text()[-4000:]}")

    # -- tables

    def rows(self, table: str) -> list[dict]:
        from common.ops.local_warehouse import read_rows

        for attempt in range(5):
            try:
                return read_rows(str(self.ws.warehouse), NAMESPACE, table)
            except FileNotFoundError:
                if not (self.ws.warehouse / NAMESPACE / table / "metadata" / "version-hint.text").exists():
                    return []
                time.sleep(0.2 * (attempt + 1))  # a commit replaced the metadata while we read it
        return read_rows(str(self.ws.warehouse), NAMESPACE, table)

    def wait(self, done: Callable[[], bool], what: Callable[[], str]) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not done():
            self.alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"after {DEADLINE_S}s: {what()}")
            time.sleep(1)

    def wait_for_raw(self) -> None:
        def counts() -> dict[str, int]:
            return {t: len(self.rows(table)) for t, table in RAW_TABLES.items()}

        self.wait(
            lambda: all(n >= self.sent[t] for t, n in counts().items()),
            lambda: f"raw rows {counts()} of {dict(self.sent)}",
        )

    # -- the producer

    def produce(self, records: list[Record]) -> None:
        for r in records:
            self.sink.send(
                self.ws.topics[r.topic],
                str(r.event["user_id"]).encode(),
                json.dumps(r.event).encode(),
                partition=r.partition,
            )
            self.sink.poll(0)
        if self.sink.flush(300) != 0 or self.sink.tracker.failed_total:
            raise AssertionError(
                f"the producer could not deliver every record ({self.sink.tracker.failed_total} failed)"
            )
        self.sent.update(r.topic for r in records)
        self.sent_records.extend(records)

    def chunks(self, records: list[Record], n: int, gap_s: float) -> None:
        size = -(-len(records) // n)
        for i in range(0, len(records), size):
            if i:
                time.sleep(gap_s)
            self.produce(records[i : i + size])

    # -- the broker

    def broker_back(self) -> None:
        if self.restart is not None:
            self.restart.join()
            self.restart = None
            if self.restart_error:
                raise AssertionError(f"the broker did not come back: {self.restart_error[0]}")

    def kill(self, step: Kill) -> None:
        self.broker.run("kill")
        self.log(f"broker killed for {step.down_s}s")

        def bring_back() -> None:
            try:
                time.sleep(step.down_s)
                self.broker.run("start")
            except BaseException as e:  # reported by broker_back()
                self.restart_error.append(e)

        self.restart = threading.Thread(target=bring_back, daemon=True)
        self.restart.start()
        if not step.send_while_down:
            self.broker_back()

    # -- the steps

    def run_step(self, step: Step) -> None:
        if not isinstance(step, Send):
            self.broker_back()
        if isinstance(step, Start):
            self.start_job(step.parallelism, None)
        elif isinstance(step, Send):
            part = self.s.stream[step.start : step.stop]
            if step.held:
                self.chunks([r for r in part if r.topic != step.held], step.chunks, step.chunk_gap_s)
                time.sleep(step.held_for_s)
                self.chunks([r for r in part if r.topic == step.held], 1, 0)
            else:
                self.chunks(part, step.chunks, step.chunk_gap_s)
            self.broker_back()
        elif isinstance(step, Pause):
            time.sleep(step.seconds)
        elif isinstance(step, Kill):
            self.kill(step)
        elif isinstance(step, Restore):
            self.wait_running()
            self.stop_job()
            found = re.findall(r"savepoint written to (\S+)", self.job_log().read_text())
            if not found:
                raise AssertionError(f"job {self.instance} printed no savepoint:\n{self.job_log().read_text()[-3000:]}")
            self.start_job(step.parallelism, found[-1])
        elif isinstance(step, Late):
            self.wait(
                lambda: self.written(step),
                lambda: (
                    f"window ending {_hm(step.window_end_ms)} / session with "
                    f"deadline {_hm(step.session_deadline_ms)} not written"
                ),
            )
            self.produce(list(step.records))
            self.wait_for_raw()  # read by this instance, before any restore
        self.log(f"done: {step.describe(self.s)}")

    def written(self, step: Late) -> bool:
        windows = [r["window_end"] for r in self.rows("bid_events_hourly_agg")]
        sessions = [r["session_end"] + dt.timedelta(milliseconds=GAP_MS) for r in self.rows("session_analytics")]
        return (
            bool(windows)
            and max(windows) >= ref.utc(step.window_end_ms)
            and bool(sessions)
            and max(sessions) >= ref.utc(step.session_deadline_ms)
        )

    def execute(self) -> None:
        try:
            for self.step_index, step in enumerate(self.s.steps):
                self.run_step(step)
            self.broker_back()
            self.wait_for_raw()
            self.stop_job()
        finally:
            if self.job is not None and self.job.poll() is None:
                self.job.kill()
                self.job.wait()
            if self.restart is not None:
                self.restart.join()
                self.restart = None

    def delete_topics(self) -> None:
        from confluent_kafka.admin import AdminClient

        try:
            AdminClient({"bootstrap.servers": self.broker.bootstrap, "log_level": 2}).delete_topics(
                list(self.ws.topics.values())
            )
        except Exception:  # cleanup only
            pass


def workspace(base: Path, bootstrap: str, app_dir: Path, idle_timeout_s: int) -> JobWorkspace:
    """The config of app_dir (the job that runs), its topics and consumer groups renamed for this
    run (as tests/conftest.py's make_workspace), the idle timeout set, the topics created."""
    config_dir = base / "config"
    config_dir.mkdir(parents=True)
    suffix = uuid.uuid4().hex[:8]
    doc = yaml.safe_load((app_dir / "config" / "topics.yaml").read_text())
    names = {}
    for key, topic in doc["kafka_topics"].items():
        topic["topic_name"] = names[key] = f"{topic['topic_name']}-{suffix}"
        topic["consumer_group"] = f"{topic['consumer_group']}-{suffix}"
        topic["event_time"]["idle_timeout"] = f"{idle_timeout_s}s"
        assert parse_duration_ms(topic["event_time"]["max_out_of_orderness"]) == DISORDER_MS, key
    (config_dir / "topics.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    (config_dir / "transformations.yaml").write_text((app_dir / "config" / "transformations.yaml").read_text())
    create_topics(bootstrap, list(names.values()), PARTITIONS)
    return JobWorkspace(bootstrap=bootstrap, config_dir=config_dir, warehouse=base / "warehouse", topics=names)


# ---------------------------------------------------------------------------------------------
# the check


def _same(actual: list[tuple], expected: list[tuple]) -> str | None:
    try:
        assert_same_rows(actual, expected)
    except AssertionError as e:
        return str(e).splitlines()[0]
    return None


def check(schedule: Schedule, rows: Callable[[str], list[dict]], sent: list[Record] | None = None) -> Result:
    """Every table against the reference; the late tables against the truly late records.
    `sent`: the records sent, when the run stopped before the end (default: the whole schedule)."""
    result = Result(schedule.seed, schedule.features())
    sent = schedule.stream + schedule.late() if sent is None else sent
    late_ids = {id(r.event) for r in schedule.late()}
    late = [r for r in sent if id(r.event) in late_ids]
    events = {t: [r.event for r in sent if r.topic == t] for t in TOPICS}
    on_time = {t: [e for e in events[t] if id(e) not in late_ids] for t in TOPICS}
    late_bids = [r for r in late if r.topic == "bid_events"]

    got = {name: rows(name) for name in TABLES}
    expected: dict[str, tuple[list[tuple], list[tuple]]] = {
        "bid_events_raw": (
            ref.columns(got["bid_events_raw"], ref.RAW_COLUMNS),
            ref.bid_events_raw(events["bid_events"]),
        ),
        "user_events_processed": (
            ref.columns(got["user_events_processed"], ref.USER_EVENTS_COLUMNS),
            ref.user_events_processed(events["user_events"]),
        ),
        "order_events_enriched": (
            ref.columns(got["order_events_enriched"], ref.ORDER_COLUMNS),
            ref.order_events_enriched(events["order_events"]),
        ),
        "bid_events_hourly_agg": (
            ref.columns(got["bid_events_hourly_agg"], ref.HOURLY_AGG_COLUMNS),
            ref.bid_events_hourly_agg(on_time["bid_events"]),
        ),
        "session_analytics": (
            ref.columns(got["session_analytics"], ref.SESSION_COLUMNS),
            ref.session_analytics(on_time["bid_events"], on_time["user_events"], GAP_MS),
        ),
        "dead_letters": ([tuple(sorted(r.items())) for r in got["dead_letters"]], []),
    }
    # late rows: which record, and the partition it was read from
    hourly_key = ["user_id", "event_time", "session_id", "kafka_partition"]
    session_key = ["source_topic", "user_id", "event_time", "kafka_partition"]
    late_expected = {
        "bid_events_hourly_agg_late": Counter(
            (r.event["user_id"], ref.utc(r.ts), r.event["session_id"], r.partition) for r in late_bids
        ),
        "session_analytics_late": Counter((r.topic, r.event["user_id"], ref.utc(r.ts), r.partition) for r in late),
    }
    late_got = {
        "bid_events_hourly_agg_late": Counter(
            tuple(row[k] for k in hourly_key) for row in got["bid_events_hourly_agg_late"]
        ),
        "session_analytics_late": Counter(tuple(row[k] for k in session_key) for row in got["session_analytics_late"]),
    }
    expected["bid_events_hourly_agg_late"] = (
        ref.columns(got["bid_events_hourly_agg_late"], ref.LATE_COLUMNS),
        ref.bid_events_late([r.event for r in late_bids]),
    )
    expected["session_analytics_late"] = (
        ref.columns(got["session_analytics_late"], ref.SESSION_LATE_COLUMNS),
        ref.session_analytics_late(
            {t: [r.event for r in late if r.topic == t] for t in ("bid_events", "user_events")}, GAP_MS
        ),
    )
    for name in TABLES:
        problem = _same(*expected[name])
        if name in late_expected and problem is None and late_got[name] != late_expected[name]:
            problem = "same rows, other partitions"
        if (
            name == "bid_events_hourly_agg_late"
            and problem is None
            and any(r["watermark_at_arrival"] < r["window_end"] - dt.timedelta(milliseconds=1) for r in got[name])
        ):
            problem = "a row's watermark_at_arrival is before its window_end - 1 ms"
        if (
            name == "session_analytics_late"
            and problem is None
            and any(r["watermark_at_arrival"] < r["session_deadline"] - dt.timedelta(milliseconds=1) for r in got[name])
        ):
            problem = "a row's watermark_at_arrival is before its session_deadline - 1 ms"
        if problem is None:
            result.tables_exact += 1
        else:
            result.mismatches.append(f"{name}: {problem}")
    for name in late_expected:
        result.wrongly_late += sum((late_got[name] - late_expected[name]).values())
        result.wrongly_on_time += sum((late_expected[name] - late_got[name]).values())
        result.late_expected += sum(late_expected[name].values())
        result.late_rows += sum(late_got[name].values())
    return result


def run_schedule(
    schedule: Schedule, broker: Broker, base: Path, app_dir: Path = ROOT, log: Callable[[str], None] = lambda text: None
) -> Result:
    """Runs one schedule (the broker must be up) and checks it; never raises for a failed run:
    the Result says what failed."""
    started = time.monotonic()
    run: Run | None = None
    try:
        run = Run(schedule, broker, base, app_dir, log)
        run.execute()
        result = check(schedule, run.rows)
    except Exception as e:  # the run itself failed: reported with its schedule, the next seed runs
        result = Result(schedule.seed, schedule.features(), error=f"{type(e).__name__}: {e}")
        if run is not None:
            try:
                partial = check(schedule, run.rows, run.sent_records)  # what was sent before it failed
                result.tables_exact, result.mismatches = partial.tables_exact, partial.mismatches
                result.wrongly_late, result.wrongly_on_time = partial.wrongly_late, partial.wrongly_on_time
                result.late_expected, result.late_rows = partial.late_expected, partial.late_rows
            except Exception:
                pass
    finally:
        if run is not None:
            run.delete_topics()
    result.seconds = time.monotonic() - started
    return result


def failure_report(schedule: Schedule, result: Result, base: Path | None = None) -> str:
    lines = [
        f"seed {schedule.seed} FAILED: {result.tables_exact}/{len(TABLES)} tables exact, "
        f"{result.wrongly_late} rows wrongly late, {result.wrongly_on_time} wrongly on time "
        f"(late rows {result.late_rows} of {result.late_expected})"
    ]
    if result.error:
        lines.append("error: " + result.error)
    lines += ["  " + m for m in result.mismatches]
    lines.append(schedule.describe())
    if base is not None:
        lines.append(f"job logs and tables: {base}")
    lines.append(replay_hint(schedule.seed))
    return "\n".join(lines)
