"""The sending loop: count or duration, steady rate, progress, Ctrl-C, flush, and the manifest."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from samplegen.cdc import CREATE, DELETE_OP, TOMBSTONE, UPDATE
from samplegen.faults import MALFORMED, FaultKnobs, Faults, dumps
from samplegen.model import EventModel, TopicPlan

log = logging.getLogger(__name__)

UTC = dt.timezone.utc
MANIFEST_VERSION = 1


def wall_clock_ms() -> int:
    """Now, in epoch millis: the event time of a live record (the clock librdkafka stamps messages with)."""
    return time.time_ns() // 1_000_000


class Sink(Protocol):
    """Where records go: Kafka (common.kafka_client.KafkaSink) or a file for --dry-run."""

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,  # None: a null value (a CDC topic's tombstone)
        headers: Any = None,
        partition: int = -1,
        on_delivery: Callable[[Any, Any], None] | None = None,
    ) -> None: ...
    def poll(self, timeout: float) -> Any: ...
    def flush(self, timeout_s: float) -> int: ...
    def in_flight(self) -> int: ...


@dataclass(frozen=True)
class RunOptions:
    count: int | None = 1000  # stop after this many records (None: see duration_s)
    duration_s: float | None = None  # or stop after this many seconds of wall-clock time
    rate: float | None = None  # records per second, steady; None: as fast as the broker takes them
    progress: str = "log"  # bar (a live progress bar), log (a line every log_every_s), none
    log_every_s: float = 10.0
    flush_timeout_s: float = 60.0
    live: bool = False  # event time = the wall clock at sending, instead of the simulated timeline
    partitions: dict[str, int] = field(default_factory=dict)  # topic key -> the one partition it goes to


@dataclass(slots=True)
class SentRecord:
    """One record as it was sent, and where the broker put it: what a test needs to rebuild a job's output."""

    topic: str  # the topic's key in topics.yaml
    topic_name: str  # the Kafka topic
    key: bytes
    value: bytes | None  # exactly the bytes sent (not JSON when malformed, nor for an Avro topic); None: a tombstone
    event_time_ms: int | None  # the event time it carries; None when malformed, and for a tombstone
    fault: str | None  # None, "out_of_order", "late" or "malformed" (samplegen.faults)
    sent_at_ms: int  # the wall clock when it was sent; live, an in-order record's event time is exactly this
    partition: int | None = None  # from the delivery report: None if not (yet) confirmed
    offset: int | None = None
    error: str | None = None  # the delivery error, if it failed
    reported: Callable[["SentRecord"], None] | None = field(default=None, repr=False, compare=False)
    binary: bool = False  # a topic whose values are not JSON (Avro): as_json gives the value in base64

    def report(self, err: Any, msg: Any) -> None:
        """The delivery report callback of this record."""
        if err is None:
            self.partition, self.offset = msg.partition(), msg.offset()
        else:
            self.error = str(err)
        if self.reported is not None:
            self.reported(self)

    @property
    def record(self) -> dict | None:
        """The value as a JSON object; None if it is not one (malformed, an Avro topic's, a tombstone)."""
        if self.binary or self.value is None:
            return None
        try:
            value = json.loads(self.value)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def as_json(self) -> dict[str, Any]:
        """The record as a JSON object: value as text, or for an Avro topic value_base64 instead
        (null for a tombstone)."""
        value: dict[str, str | None]
        if self.value is None:
            value = {"value_base64": None} if self.binary else {"value": None}
        elif self.binary:
            value = {"value_base64": base64.b64encode(self.value).decode()}
        else:
            value = {"value": self.value.decode("utf-8", "replace")}
        return {
            "topic": self.topic,
            "topic_name": self.topic_name,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.key.decode("utf-8", "replace"),
            **value,
            "event_time_ms": self.event_time_ms,
            "fault": self.fault,
            "sent_at_ms": self.sent_at_ms,
            "error": self.error,
        }


class RecordsFile:
    """``--records``: every record sent, one JSON line each (SentRecord.as_json), written when its
    delivery report arrives, so a run of any size holds only the records in flight (the journal of
    a 10M run does not fit in memory); the ones never confirmed are written at close (all of them
    for --dry-run, which confirms nothing). Lines are in delivery order: per partition, in offset order."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.out = open(path, "w", encoding="utf-8")
        self.pending: dict[int, SentRecord] = {}

    def append(self, record: SentRecord) -> None:
        self.pending[id(record)] = record
        record.reported = self._write

    def _write(self, record: SentRecord) -> None:
        self.pending.pop(id(record), None)
        self.out.write(json.dumps(record.as_json()) + "\n")

    def close(self) -> None:
        for record in self.pending.values():
            self.out.write(json.dumps(record.as_json()) + "\n")
        self.pending.clear()
        self.out.close()


class StopRequest:
    """First Ctrl-C, SIGTERM or `cancel` (set by another thread): stop sending and flush; second Ctrl-C:
    give up flushing."""

    def __init__(self, cancel: threading.Event | None = None) -> None:
        self.signalled = False
        self.cancel = cancel
        self.previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signalled or (self.cancel is not None and self.cancel.is_set())

    def __enter__(self) -> "StopRequest":
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no handlers, Ctrl-C raises as usual
                pass
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signalled:
            raise KeyboardInterrupt
        self.signalled = True
        log.warning(
            "stopping (%s): no more records; flushing what is in flight (Ctrl-C again to give up)",
            signal.Signals(signum).name,
        )


class Progress:
    """A live bar on a terminal (rich), or a log line now and then, with rate and totals."""

    def __init__(self, mode: str, options: RunOptions, tracker: Any, console: Any = None) -> None:
        self.mode, self.options, self.tracker = mode, options, tracker
        self.bar = None
        self.last_log = time.monotonic()
        if mode == "bar":
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(
                TextColumn("[bold]sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[rate]:>9,.0f}/s  delivered {task.fields[delivered]:,}  failed {task.fields[failed]:,}"
                ),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                refresh_per_second=5,
            )
            total = options.count if options.count is not None else options.duration_s
            self.task = self.bar.add_task("send", total=total, rate=0.0, delivered=0, failed=0)
            self.bar.start()

    def update(self, sent: int, elapsed: float, final: bool = False) -> None:
        now = time.monotonic()
        interval = 0.1 if self.bar is not None else self.options.log_every_s
        if self.mode == "none" or (not final and now - self.last_log < interval):
            return
        self.last_log = now
        rate = sent / elapsed if elapsed > 0 else 0.0
        delivered = self.tracker.delivered if self.tracker is not None else sent
        failed = self.tracker.failed_total if self.tracker is not None else 0
        if self.bar is not None:
            done = sent if self.options.count is not None else min(elapsed, self.options.duration_s or 0)
            self.bar.update(self.task, completed=done, rate=rate, delivered=delivered, failed=failed)
        elif not final:
            log.info("sent %d (%.0f/s), delivered %d, failed %d, %.0f s", sent, rate, delivered, failed, elapsed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def batch_size(rate: float | None) -> int:
    """How many records go out between two looks at the clock, the rate and the progress.

    Pacing waits after each batch until the rate allows the next, so at any moment at most
    rate * elapsed + batch_size records have gone out (about 50 batches a second at low rates).
    """
    return max(1, min(1000, int(rate / 50))) if rate else 1000


RATE_SHORTFALL = 0.95  # below this share of --rate, the run says it fell short


def rate_reached(rate: float | None, sent: int, sending_s: float) -> float | None:
    """The sending rate reached, if a steady --rate was asked and not reached.

    Pacing can only wait: a machine (or a broker) that cannot keep up sends fewer records than
    rate x duration, and a benchmark reading "10,000/s" off the command line would be wrong.
    """
    if not rate or sending_s <= 0:
        return None
    reached = sent / sending_s
    return reached if reached < RATE_SHORTFALL * rate else None


def run(
    model: EventModel,
    faults: Faults | None,
    sink: Sink,
    options: RunOptions,
    console: Any = None,
    journal: list[SentRecord] | RecordsFile | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Send records until the count or duration is reached (or a stop is requested); the outcome.

    `journal`, if given, gets a SentRecord per record (partition and offset filled in by the
    delivery reports, so complete after the flush). `cancel` stops the run like Ctrl-C does,
    from another thread.
    """
    live = options.live
    stream: Iterator[tuple[TopicPlan, bytes, int, dict | None]] = model.events(wall_clock_ms if live else None)
    if options.count is not None:
        stream = itertools.islice(stream, options.count)
    tracker = getattr(sink, "tracker", None)
    progress = Progress(options.progress, options, tracker, console)
    rate = options.rate or None
    check = batch_size(rate)
    deadline = None
    sent = 0
    send, poll = sink.send, sink.poll
    encode = faults.encode if faults is not None else None
    partitions = options.partitions
    started_wall = dt.datetime.now(UTC)
    t0 = time.monotonic()
    if options.duration_s is not None:
        deadline = t0 + options.duration_s
    interrupted = False
    ts: int | None  # the event time sent: None for a malformed record (Faults.encode) and a tombstone
    value: bytes | None  # None: a null value (a CDC topic's tombstone)
    with StopRequest(cancel) as stop:
        try:
            next_check = check
            for plan, key, ts, record in stream:
                stats = plan.stats
                made = ts  # live: the clock reading this record was made at
                if record is None:  # a CDC topic's tombstone: a null value, no event time, never a fault
                    value, ts = None, None
                    if faults is not None:
                        faults.skip()
                elif encode is None:
                    value = dumps(record) if plan.writer is None else plan.writer.encode(record)
                else:
                    value, ts = encode(plan, ts, record)
                if plan.cdc is not None and (faults is None or faults.last_fault != MALFORMED):
                    stats.count_change(record)
                if journal is None:
                    send(plan.topic_name, key, value, None, partitions.get(plan.key, -1))
                else:
                    entry = SentRecord(
                        plan.key,
                        plan.topic_name,
                        key,
                        value,
                        ts,
                        faults.last_fault if faults is not None else None,
                        made if live else wall_clock_ms(),
                        binary=plan.writer is not None,
                    )
                    journal.append(entry)
                    send(plan.topic_name, key, value, None, partitions.get(plan.key, -1), entry.report)
                stats.sent += 1
                if value is not None:
                    stats.bytes += len(value)
                if ts is not None:
                    if ts < stats.min_ts:
                        stats.min_ts = ts
                    if ts > stats.max_ts:
                        stats.max_ts = ts
                sent += 1
                if sent >= next_check:
                    next_check = sent + check
                    poll(0)
                    now = time.monotonic()
                    if rate:
                        ahead = t0 + sent / rate - now
                        while ahead > 0 and not stop.requested:
                            poll(min(ahead, 0.1))
                            ahead = t0 + sent / rate - time.monotonic()
                        now = time.monotonic()
                    progress.update(sent, now - t0)
                    if stop.requested or (deadline is not None and now >= deadline):
                        break
            elapsed_sending = time.monotonic() - t0
            interrupted = stop.requested
            if sink.in_flight():
                log.info("flushing %d messages in flight", sink.in_flight())
            unconfirmed = sink.flush(options.flush_timeout_s)
        except KeyboardInterrupt:
            elapsed_sending = time.monotonic() - t0
            interrupted = True
            log.warning("gave up flushing")
            unconfirmed = sink.in_flight()
        finally:
            progress.update(sent, time.monotonic() - t0, final=True)
            progress.close()
    elapsed = time.monotonic() - t0
    return {
        "sent": sent,
        "unconfirmed": unconfirmed,
        "interrupted": interrupted,
        "started_at": started_wall,
        "elapsed_s": elapsed,
        "sending_s": elapsed_sending,
        "tracker": tracker,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _iso(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_manifest(
    model: EventModel,
    knobs: FaultKnobs,
    options: RunOptions,
    outcome: dict[str, Any],
    target: dict[str, Any],
    dry_run: bool,
) -> dict[str, Any]:
    """The run's manifest: per-topic counts, event-time range, seed and knobs, delivery outcome."""
    tracker = outcome["tracker"]
    topics: dict[str, Any] = {}
    for plan in model.selected:
        s = plan.stats
        delivered = tracker.delivered_to(plan.topic_name) if tracker is not None else s.sent
        failed = tracker.failed[plan.topic_name] if tracker is not None else 0
        topics[plan.key] = {
            "topic": plan.topic_name,
            "sent": s.sent,
            "delivered": delivered,
            "failed": failed,
            "not_delivered": s.sent - delivered,
            "per_partition": (
                {str(p): n for (t, p), n in sorted(tracker.per_partition.items()) if t == plan.topic_name}
                if tracker is not None
                else {}
            ),
            "bytes": s.bytes,
            "malformed": s.malformed,
            "malformed_kinds": dict(sorted(s.malformed_kinds.items())),
            "late": s.late,
            "out_of_order": s.out_of_order,
            "event_time": (
                {"min_ms": s.min_ts, "max_ms": s.max_ts, "min": _iso(s.min_ts), "max": _iso(s.max_ts)}
                if s.max_ts >= s.min_ts
                else None
            ),
        }
        if plan.cdc is not None:
            topics[plan.key]["changes"] = change_counts(plan)
    sent = sum(t["sent"] for t in topics.values())
    delivered = sum(t["delivered"] for t in topics.values())
    lows = [t["event_time"]["min_ms"] for t in topics.values() if t["event_time"]]
    highs = [t["event_time"]["max_ms"] for t in topics.values() if t["event_time"]]
    opts = model.options
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": "sample_gen",
        "seed": opts.seed,
        "started_at": outcome["started_at"].isoformat(timespec="seconds").replace("+00:00", "Z"),
        "elapsed_s": round(outcome["elapsed_s"], 3),
        "sending_s": round(outcome["sending_s"], 3),
        # until the last delivery report: comparable with Kafka's own producer-perf tool
        "records_per_s": round(sent / outcome["elapsed_s"], 1) if outcome["elapsed_s"] > 0 else None,
        # set when a steady --rate was asked and not reached (None: reached, or no rate asked)
        "rate_short_of_asked": _rounded(rate_reached(options.rate, sent, outcome["sending_s"])),
        "target": {**target, "dry_run": dry_run},
        "knobs": {
            "count": options.count,
            "duration_s": options.duration_s,
            "rate": options.rate,
            "topics": [p.key for p in model.selected],
            "live": options.live,
            "start_ms": None if options.live else opts.start_ms,  # live: event time is the clock
            "partitions": dict(options.partitions),
            "users": opts.users,
            "sessions": opts.sessions,
            "products": opts.products,
            **knobs.as_dict(),
        },
        "topics": topics,
        "totals": {
            "sent": sent,
            "delivered": delivered,
            "not_delivered": sent - delivered,
            "malformed": sum(t["malformed"] for t in topics.values()),
            "late": sum(t["late"] for t in topics.values()),
            "out_of_order": sum(t["out_of_order"] for t in topics.values()),
            "bytes": sum(t["bytes"] for t in topics.values()),
        },
        "event_time": (
            {"min_ms": min(lows), "max_ms": max(highs), "min": _iso(min(lows)), "max": _iso(max(highs))}
            if lows
            else None
        ),
        "interrupted": outcome["interrupted"],
        "complete": not outcome["interrupted"] and sent == delivered,
    }


def change_counts(plan: TopicPlan) -> dict[str, int]:
    """A CDC topic's changes sent (not malformed: c + u + d + tombstones + malformed = sent), the
    keys made and the rows the table has after them (if none was malformed)."""
    done = plan.stats.changes
    assert plan.cdc is not None
    return {
        "c": done.get(CREATE, 0),
        "u": done.get(UPDATE, 0),
        "d": done.get(DELETE_OP, 0),
        "tombstones": done.get(TOMBSTONE, 0),
        "keys": len(plan.cdc.keys),
        "rows": len(plan.cdc.rows),
    }


def log_summary(manifest: dict[str, Any]) -> None:
    """The final summary, one line per topic and one for the totals."""
    for key, t in manifest["topics"].items():
        span = f"{t['event_time']['min']} .. {t['event_time']['max']}" if t["event_time"] else "-"
        log.info(
            "%-14s %-28s sent %8d  delivered %8d  not delivered %d  malformed %d  late %d  out-of-order %d  "
            "event time %s",
            key,
            t["topic"],
            t["sent"],
            t["delivered"],
            t["not_delivered"],
            t["malformed"],
            t["late"],
            t["out_of_order"],
            span,
        )
        changes = t.get("changes")
        if changes is not None:
            log.info(
                "%-14s changes: c %d  u %d  d %d  tombstones %d  (%d keys, %d rows)",
                key,
                changes["c"],
                changes["u"],
                changes["d"],
                changes["tombstones"],
                changes["keys"],
                changes["rows"],
            )
    tot = manifest["totals"]
    log.info(
        "total: sent %d, delivered %d, not delivered %d in %.1f s (%s records/s), %.1f MB%s",
        tot["sent"],
        tot["delivered"],
        tot["not_delivered"],
        manifest["elapsed_s"],
        manifest["records_per_s"],
        tot["bytes"] / 1e6,
        " (interrupted)" if manifest["interrupted"] else "",
    )
    reached = manifest["rate_short_of_asked"]
    if reached is not None:
        log.warning(
            "asked for %s records/s, reached %s records/s while sending: this machine or the broker "
            "cannot send faster, so the run sent fewer records than rate x duration",
            f"{manifest['knobs']['rate']:,.0f}",
            f"{reached:,.0f}",
        )


class FileSink:
    """--dry-run: one JSON line per record ({"topic", "key", "value"}) to a text stream; nothing to confirm.

    A record of a topic in ``binary_topics`` (Kafka names of Avro topics) has "value_base64" instead:
    the exact bytes (framed Avro), in base64. A null value (a CDC topic's tombstone) is JSON null."""

    def __init__(self, stream: Any = None, binary_topics: Iterable[str] = ()) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tracker = None
        self.binary_topics = frozenset(binary_topics)

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        headers: Any = None,
        partition: int = -1,
        on_delivery: Callable[[Any, Any], None] | None = None,
    ) -> None:
        where = ',"partition":%d' % partition if partition >= 0 else ""
        if value is None:
            self.stream.write(
                '{"topic":%s%s,"key":%s,"%s":null}\n'
                % (
                    dumps(topic).decode(),
                    where,
                    dumps(key.decode()).decode(),
                    "value_base64" if topic in self.binary_topics else "value",
                )
            )
            return
        if topic in self.binary_topics:
            self.stream.write(
                '{"topic":%s%s,"key":%s,"value_base64":"%s"}\n'
                % (dumps(topic).decode(), where, dumps(key.decode()).decode(), base64.b64encode(value).decode())
            )
            return
        text = value.decode("utf-8", "replace")
        try:  # a record as a JSON object; a malformed one as a string
            json.loads(text)
        except ValueError:
            text = dumps(text).decode()
        self.stream.write(
            '{"topic":%s%s,"key":%s,"value":%s}\n' % (dumps(topic).decode(), where, dumps(key.decode()).decode(), text)
        )

    def poll(self, timeout: float) -> None:
        return None

    def flush(self, timeout_s: float) -> int:
        self.stream.flush()
        return 0

    def in_flight(self) -> int:
        return 0
