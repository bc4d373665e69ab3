"""Benchmark (not a test): the project's record decoding against Flink's own `json` format.

One backlog (--count records of sample_gen's default mix, --seed, produced once to fresh
2-partition topics on the local broker), read by four variants of the job, each bounded
(scan.bounded.mode = latest-offset), at parallelism 1, with checkpoints every 10 s to a
local folder, each in a Python subprocess of its own (a fresh JVM), one after the other:

  native       one source table per topic with `format = json` (json.ignore-parse-errors),
               the topic's YAML schema as physical columns, the project's event time and
               watermark, named like the project's good-records view (kafka_<topic>), so
               every pipeline's view and SELECT run unchanged; blackhole sinks
  project      the project's own sources as common/job_plan.build_plan renders them (with
               the dead-letter pipeline); blackhole sinks of the same schemas
  native_full  the native sources into the project's Iceberg tables (a fresh warehouse)
  full         streaming_job.py --bounded as shipped (Iceberg sinks, a fresh warehouse)

Every variant is derived from build_plan's output (the native sources from the WITH options
and watermark of the project's source DDL, the blackhole sinks from the sink DDL's column
list), so a change of the project's source layer is measured without touching this file.
Times are from submit to finish (start-up of the JVM, DDL and planning excluded).
Prints, on stdout, one row per variant and the ratios (a) project / native and
(b) full / native_full.

    .venv/bin/python benchmarks/bench_decoder.py                 # 1M records, all variants
    .venv/bin/python benchmarks/bench_decoder.py --count 200000 --variants native project
    .venv/bin/python benchmarks/bench_decoder.py --config benchmarks/nested   # a topic of nested JSON
    .venv/bin/python benchmarks/bench_decoder.py --avro      # Avro through a Confluent-compatible registry

--avro: every topic of the config becomes `format: avro` through the local Confluent-compatible
registry (dev/schema_registry.py, started for the run); sample_gen registers each topic's schema
and frames its values (magic byte + schema id). Flink's own `avro` format knows no registry, so
the native variants read a copy of each topic with the 5-byte frame removed (`<topic>-plain`,
the same Avro bytes, written once before the runs): the comparison is the project's registry
decoder (frame, writer-schema lookup, resolution into the declared columns, dead-letter rules)
against Flink's plain Avro reading of the same records with the columns as the writer's schema.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.load.source_columns import EVENT_TIME_COLUMN, KAFKA_PARTITION  # noqa: E402
from common.logs import setup_logging  # noqa: E402
from common.sql import qualified, quote, with_clause  # noqa: E402

log = logging.getLogger("bench_decoder")

VARIANTS = ("native", "project", "native_full", "full")
RATIOS = (("(a) project / native", "project", "native"), ("(b) full / native_full", "full", "native_full"))
BLACKHOLE_CATALOG, BLACKHOLE_DATABASE, BLACKHOLE_PREFIX = "default_catalog", "default_database", "blackhole_"
# Source options the native tables keep from the project's source DDL: where and how to read
# Kafka (topic, brokers, group, auth, start and stop offsets, watermark emission); not its formats.
KEPT_SOURCE_OPTIONS = re.compile(r"^(connector|topic|topic-pattern|properties\..*|scan\..*|idle-aware\..*)$")
NATIVE_FORMAT = {"format": "json", "json.ignore-parse-errors": "true"}
NATIVE_AVRO_FORMAT = {"format": "avro"}
PLAIN_SUFFIX = "-plain"  # --avro: the native variants' copy of a topic, without the registry's frame
CONFLUENT_FRAME_BYTES = 5
JOB_TIMEOUT_S = 3600
FINISHED = re.compile(r"job \S+ finished in ([\d.]+) s")  # common/run/runner.py's last line
# common/run/runner.py logs "submitted job" once execute() has returned (the mini cluster is up and
# the job graph submitted) and "finished in" at the end: the time between is the job running.
LOGGED_AT = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO common\.run\.runner: (submitted job|job \S+ finished)", re.M
)
SUMMARY = re.compile(r"records of (\S+): (\d+) good, (\d+) dead letters")  # common/run/record_summary.py


# ---------------------------------------------------------------- plan rewriting (pure text)

_IDENT = r"`(?:[^`]|``)+`"
_REF = re.compile(rf"{_IDENT}(?:\.{_IDENT})*")
_CREATE_TABLE = re.compile(
    rf"^\s*CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_REF.pattern})\s*\(", re.I
)
_OPTION = re.compile(r"'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'")
_WATERMARK = re.compile(r"^\s*(WATERMARK\s+FOR\s+.*?)\s*,?\s*$", re.M | re.I)
_NOT_NULL = re.compile(r"\s+NOT\s+NULL\s*$", re.I)


def ref_parts(ref: str) -> list[str]:
    """`a`.`b`.`c` -> ['a', 'b', 'c']."""
    return [part[1:-1].replace("``", "`") for part in re.findall(_IDENT, ref)]


def closing_paren(text: str, start: int) -> int:
    """Index of the ')' matching the '(' at `start`, skipping '...' and `...` literals."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char in "'`":
            i = text.index(char, i + 1)
            while text.startswith(char * 2, i):  # doubled quote: an escaped one, still inside
                i = text.index(char, i + 2)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced parentheses in:\n{text}")


def split_create_table(ddl: str) -> tuple[str, str, str]:
    """A CREATE TABLE statement -> (table reference, column list, the rest: partitioning, WITH)."""
    match = _CREATE_TABLE.match(ddl)
    if not match:
        raise ValueError(f"not a CREATE TABLE statement:\n{ddl}")
    end = closing_paren(ddl, match.end() - 1)
    return match.group(1), ddl[match.end() : end], ddl[end + 1 :]


def with_options(ddl: str) -> dict[str, str]:
    """The WITH ('k' = 'v', ...) options of a CREATE TABLE statement."""
    _, _, rest = split_create_table(ddl)
    with_at = re.search(r"\bWITH\s*\(", rest, re.I)
    if not with_at:
        return {}
    body = rest[with_at.end() - 1 : closing_paren(rest, with_at.end() - 1) + 1]
    return {k.replace("''", "'"): v.replace("''", "'") for k, v in _OPTION.findall(body)}


def blackhole_pipeline(pipeline):
    """The pipeline with its sink replaced by a blackhole table of the same columns (and key).

    The column list is taken from the sink DDL the plan rendered; the INSERT's target and the
    sink path the changelog check looks up are renamed to match."""
    ref, columns, _ = split_create_table(pipeline.sink_ddl)
    table = ref_parts(ref)[-1]
    new_ref = qualified(BLACKHOLE_CATALOG, BLACKHOLE_DATABASE, BLACKHOLE_PREFIX + table)
    target = re.compile(rf"^(\s*INSERT\s+INTO\s+){re.escape(ref)}", re.I)
    insert_sql, replaced = target.subn(lambda m: m.group(1) + new_ref, pipeline.insert_sql, count=1)
    if not replaced:
        raise ValueError(f"pipeline {pipeline.name}: its INSERT does not start with INSERT INTO {ref}")
    return dataclasses.replace(
        pipeline,
        sink_ddl=f"CREATE TEMPORARY TABLE {new_ref} ({columns}) {with_clause({'connector': 'blackhole'})}",
        insert_sql=insert_sql,
        sink_path=".".join(ref_parts(new_ref)),
    )


def blackhole_sinks(plan):
    """Every sink a blackhole table; no Iceberg catalog."""
    return dataclasses.replace(plan, catalog_ddl=(), pipelines=tuple(blackhole_pipeline(p) for p in plan.pipelines))


def topic_source_ddl(plan, topic) -> str:
    """The project's CREATE TABLE that reads the topic (the one whose 'topic' option names it)."""
    for ddl in plan.source_ddl:
        if _CREATE_TABLE.match(ddl) and with_options(ddl).get("topic") == topic.topic_name:
            return ddl
    raise ValueError(f"no source DDL of the plan reads topic {topic.topic_name}")


def native_source_ddl(plan, topic) -> str:
    """A `format = json` table named like the topic's good-records view: the YAML schema as
    physical columns, event_time computed from the event-time field, the project's watermark
    line and Kafka options (the project's formats, key and metadata columns left out, but the
    partition, which the good-records view carries too)."""
    from common.render.kafka_sources import source_ref

    project_ddl = topic_source_ddl(plan, topic)
    options = {k: v for k, v in with_options(project_ddl).items() if KEPT_SOURCE_OPTIONS.match(k)}
    if topic.format == "avro":
        options.update(NATIVE_AVRO_FORMAT)
        options["topic"] += PLAIN_SUFFIX
        peers = options["idle-aware.event-time-peers"].split(";")  # topic|field|type|avro:...: the copies
        options["idle-aware.event-time-peers"] = ";".join(
            "|".join([p.split("|")[0] + PLAIN_SUFFIX, *p.split("|")[1:3]]) for p in peers
        )
    else:
        options.update(NATIVE_FORMAT)
    watermark = _WATERMARK.search(project_ddl)
    if not watermark:
        raise ValueError(f"no WATERMARK line in the source DDL of {topic.topic_name}")
    field = quote(topic.event_time.field)
    if topic.event_time.field_type.upper().startswith("BIGINT"):
        event_time = f"TO_TIMESTAMP_LTZ({field}, 3)"
    else:
        event_time = f"CAST({field} AS TIMESTAMP_LTZ(3))"
    lines = [f"  {quote(column)} {_NOT_NULL.sub('', sql_type)}" for column, sql_type in topic.schema]
    lines += [
        f"  {quote(KAFKA_PARTITION)} INT METADATA FROM 'partition' VIRTUAL",  # the late tables keep it
        f"  {quote(EVENT_TIME_COLUMN)} AS {event_time}",
        f"  {watermark.group(1)}",
    ]
    body = ",\n".join(lines)
    return f"CREATE TABLE {source_ref(topic)} (\n{body}\n) {with_clause(options)}"


def native_sources(plan, project):
    """Sources with Flink's json format instead of the project's; the config's pipelines only
    (the job's own dead-letter pipeline reads what only the project's sources have)."""
    names = {p.name for p in project.pipelines}
    return dataclasses.replace(
        plan,
        source_ddl=tuple(native_source_ddl(plan, t) for t in project.topics_in_use()),
        pipelines=tuple(p for p in plan.pipelines if p.name in names),
    )


def variant_plan(variant: str, plan, project):
    if variant == "native":
        return blackhole_sinks(native_sources(plan, project))
    if variant == "project":
        return blackhole_sinks(plan)
    if variant == "native_full":
        return native_sources(plan, project)
    raise ValueError(f"variant {variant} runs streaming_job.py, not a rewritten plan")


# ---------------------------------------------------------------- one variant (in a subprocess)


def run_worker(variant: str, config_dir: Path, result_file: Path, show_ddl: bool) -> int:
    """Build the project's plan, rewrite it into the variant, run it bounded, write the time."""
    from common.load.config import load_project
    from common.load.properties import load_settings
    from common.render.job_plan import build_plan

    settings = load_settings()
    project = load_project(config_dir, settings.environment)
    plan = variant_plan(variant, build_plan(project, settings.kafka, settings.catalog, bounded=True), project)
    if show_ddl:
        for statement in (*plan.ddl(), *(p.insert_sql for p in plan.pipelines)):
            log.info("%s: %s", variant, statement)
    from common.run import flink_env, runner

    t_env = flink_env.create_table_env(settings, f"bench-decoder-{variant}", bounded=True, runs_job=True)
    submitted: list[float] = []
    runner.execute(t_env, plan, wait=True, pre_submit=lambda: submitted.append(time.monotonic()))
    seconds = time.monotonic() - submitted[0]
    result_file.write_text(
        json.dumps({"variant": variant, "seconds": seconds, "pipelines": [p.name for p in plan.pipelines]})
    )
    log.info("%s: %.1f s from submit to finish", variant, seconds)
    return 0


# ---------------------------------------------------------------- the driver


@dataclasses.dataclass
class Outcome:
    variant: str
    seconds: float | None  # submit to finish
    running_s: float | None  # from execute() returning (job submitted to the mini cluster) to finish
    wall_s: float  # the whole subprocess: JVM start, DDL, planning, job (and, for full, its summary)
    folder: Path  # its log, warehouse and checkpoints
    note: str = ""
    cpu_s: float = 0.0  # CPU time of the subprocess and its JVM, over wall_s
    others_cpu_s: float = 0.0  # CPU time of everything else on the machine meanwhile
    load: str = ""  # load average when it ended


def as_avro(doc: dict) -> None:
    """topics.yaml edit (--avro): every topic Avro through a Confluent-compatible registry."""
    for topic in doc["kafka_topics"].values():
        topic["format"] = "avro"
        topic["registry"] = {"type": "confluent"}


def plain_copies(bootstrap: str, topics: list[str], partitions: int) -> None:
    """--avro: each topic copied to <topic>-plain, partition by partition, without the frame."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    from tests.support.harness import create_topics

    create_topics(bootstrap, [t + PLAIN_SUFFIX for t in topics], partitions)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000})
    for topic, ends in backlog_ends(bootstrap, topics).items():
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": "bench-decoder-copy", "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition(topic, p, 0) for p in range(len(ends))])
        left = dict(enumerate(ends))
        while any(left.values()):
            for message in consumer.consume(num_messages=10_000, timeout=5):
                if message.error():
                    raise RuntimeError(f"copying {topic}: {message.error()}")
                value = message.value()
                producer.produce(
                    topic + PLAIN_SUFFIX, value=value[CONFLUENT_FRAME_BYTES:], partition=message.partition()
                )
                left[message.partition()] -= 1
                if len(producer) > 100_000:
                    producer.poll(0)
            producer.poll(0)
        consumer.close()
    if producer.flush(120):
        raise RuntimeError("could not write every plain copy")


def produce_backlog(count: int, seed: int, partitions: int, config: Path, avro: bool = False):
    from tests.support.harness import BOOTSTRAP, KAFKA_SCRIPT, make_workspace

    subprocess.run([str(KAFKA_SCRIPT), "start"], check=True, cwd=ROOT)  # leaves a running broker alone
    base = Path(tempfile.mkdtemp(prefix="bench-decoder-"))
    ws = make_workspace(base, BOOTSTRAP, partitions=partitions, config=config)
    if avro:
        ws.edit_topics(as_avro)
    log.info("producing %d records (seed %d) to %s", count, seed, ", ".join(ws.topics.values()))
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "sample_gen.py"),
            "--config-dir",
            str(ws.config_dir),
            "--count",
            str(count),
            "--seed",
            str(seed),
            "--progress",
            "none",
            "-q",
            "--bootstrap-servers",
            BOOTSTRAP,
            "--manifest",
            str(base / "manifest.json"),
        ],
        check=True,
        cwd=ROOT,
    )
    log.info("produced in %.1f s", time.monotonic() - started)
    if avro:
        started = time.monotonic()
        plain_copies(BOOTSTRAP, list(ws.topics.values()), partitions)
        log.info("copied without the frame (for Flink's avro format) in %.1f s", time.monotonic() - started)
    return base, ws


def backlog_ends(bootstrap: str, topics: list[str]) -> dict[str, list[int]]:
    """topic -> the end offset of each of its partitions (fresh topics start at 0)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-decoder-probe"})
    try:
        metadata = consumer.list_topics(timeout=30)
        return {
            topic: [
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in sorted(metadata.topics[topic].partitions)
            ]
            for topic in topics
        }
    finally:
        consumer.close()


def backlog_sizes(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """topic -> records on it (sum of its partitions' end offsets)."""
    return {topic: sum(ends) for topic, ends in backlog_ends(bootstrap, topics).items()}


def running_seconds(text: str) -> float | None:
    """Seconds between the runner's "submitted job" and "finished" log lines."""
    import datetime as dt

    stamps = {kind.split()[0]: dt.datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f") for at, kind in LOGGED_AT.findall(text)}
    if {"submitted", "job"} <= stamps.keys():
        return (stamps["job"] - stamps["submitted"]).total_seconds()
    return None


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class TreeCpu(threading.Thread):
    """Samples the CPU time of a process and its descendants (the PyFlink JVM is a child of the
    Python process and is not reaped by it, so rusage would miss it) until stopped."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root = root_pid
        self.cpu: dict[int, float] = {}  # pid -> latest utime + stime seen
        self.done = threading.Event()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:  # the process has gone
                continue
            fields = text.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid ... utime stime
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            times[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for pid, seconds in times.items():
            ancestor = pid
            while ancestor not in (self.root, 0, 1) and ancestor in parents:
                ancestor = parents[ancestor]
            if ancestor == self.root:
                self.cpu[pid] = max(seconds, self.cpu.get(pid, 0.0))

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.cpu.values())


def run_variant(variant: str, ws, folder: Path, show_ddl: bool, checkpoint_interval: str) -> Outcome:
    folder.mkdir()
    env = {
        **os.environ,
        "FLINK_CHECKPOINT_INTERVAL": checkpoint_interval,
        "FLINK_PARALLELISM": "1",
        "KAFKA_BOOTSTRAP_SERVERS": ws.bootstrap,
        "ICEBERG_WAREHOUSE": str(folder / "warehouse"),
        "FLINK_CHECKPOINT_DIR": str(folder / "checkpoints"),
    }
    result_file = folder / "result.json"
    if variant == "full":
        command = [
            sys.executable,
            str(ROOT / "streaming_job.py"),
            "--config-dir",
            str(ws.config_dir),
            "--bounded",
            "--summary",
        ]
    else:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            variant,
            "--config-dir",
            str(ws.config_dir),
            "--result",
            str(result_file),
        ] + (["--show-ddl"] if show_ddl else [])
    log_file = folder / "run.log"
    log.info("running %s (log: %s)", variant, log_file)
    started, busy_before = time.monotonic(), machine_busy_s()
    with log_file.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        tree = TreeCpu(process.pid)
        tree.start()
        try:
            returncode = process.wait(timeout=JOB_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
            cpu_s = tree.stop()
    wall_s = time.monotonic() - started
    others_s = max(0.0, machine_busy_s() - busy_before - cpu_s)
    usage = dict(cpu_s=cpu_s, others_cpu_s=others_s, load=load_average())
    text = log_file.read_text(errors="replace")
    if returncode != 0:
        log.error("%s failed (exit %d); end of its log:\n%s", variant, returncode, text[-4000:])
        return Outcome(variant, None, None, wall_s, folder, f"failed, exit {returncode}", **usage)
    note = ""
    if variant == "full":
        finished = FINISHED.findall(text)
        seconds = float(finished[-1]) if finished else None
        if seconds is None:
            log.warning("full: no 'finished in' line in its log")
        summary = SUMMARY.findall(text)  # the job's own end-of-run recount
        if summary:
            note = (
                f"read {sum(int(g) for _, g, _ in summary):,} good, {sum(int(d) for _, _, d in summary):,} dead letters"
            )
    else:
        seconds = json.loads(result_file.read_text())["seconds"]
    log.info(
        "%s: %s s from submit to finish, %.1f s in all, CPU %.1f s (others %.1f s)",
        variant,
        "?" if seconds is None else f"{seconds:.1f}",
        wall_s,
        cpu_s,
        others_s,
    )
    return Outcome(variant, seconds, running_seconds(text), wall_s, folder, note, **usage)


def iceberg_row_counts(folder: Path, namespace: str) -> dict[str, int]:
    """table -> rows of a variant's warehouse (from the current snapshot's summary)."""
    from common.ops.local_warehouse import open_table, table_names

    warehouse = (folder / "warehouse").as_uri()
    counts = {}
    for name in table_names(warehouse, namespace):
        snapshot = open_table(warehouse, namespace, name).current_snapshot()
        counts[name] = int(snapshot.summary["total-records"]) if snapshot else 0
    return counts


def print_report(
    outcomes: list[Outcome], count: int, sizes: dict[str, int], load: str, checkpoint_interval: str
) -> None:
    out = sys.stdout
    out.write(
        f"backlog: {sum(sizes.values()):,} records ({', '.join(f'{t}: {n:,}' for t, n in sizes.items())}); "
        f"parallelism 1, checkpoints every {checkpoint_interval}, bounded\n"
    )
    out.write(f"load average before the runs: {load}\n\n")
    out.write(
        "seconds: submit to finish (the measure); running: after execute() returned; wall: the whole "
        "subprocess;\ncpu: CPU s of the subprocess and its JVM over wall; others: CPU s of the rest of the "
        "machine meanwhile;\nload: 1-min load average at its end\n"
    )
    out.write(
        f"{'variant':<12} {'seconds':>8} {'records/s':>10} {'running':>8} {'wall':>6} {'cpu':>6} "
        f"{'others':>6} {'load':>5}  note\n"
    )
    for o in outcomes:
        seconds = "-" if o.seconds is None else f"{o.seconds:.1f}"
        running = "-" if o.running_s is None else f"{o.running_s:.1f}"
        rate = "-" if not o.seconds else f"{count / o.seconds:,.0f}"
        out.write(
            f"{o.variant:<12} {seconds:>8} {rate:>10} {running:>8} {o.wall_s:>6.1f} {o.cpu_s:>6.1f} "
            f"{o.others_cpu_s:>6.1f} {o.load.split()[0] if o.load else '-':>5}  {o.note}\n"
        )
    for measure, title in (
        ("seconds", "ratios (records/s, goal >= 0.9)"),
        ("running_s", "the same on running time (without execute(): mini cluster start, job graph)"),
    ):
        by_name = {o.variant: getattr(o, measure) for o in outcomes}  # a repeated variant: its last run
        # records/s of the first over records/s of the second = seconds of the second / the first's
        lines = [
            f"{label} = {by_name[other] / by_name[this]:.2f}"
            for label, this, other in RATIOS
            if by_name.get(this) and by_name.get(other)
        ]
        if lines:
            out.write(f"{'' if measure == 'running_s' else chr(10)}{title}: " + "; ".join(lines) + "\n")


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    """The benchmark's own fresh topics (nobody else uses them): free the broker's disk."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until every future is done
    for topic, future in admin.delete_topics(topics).items():
        try:
            future.result(30)
        except Exception as exc:  # the results are printed already; a leftover topic is harmless
            log.warning("could not delete topic %s: %s", topic, exc)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="\n".join(__doc__.splitlines()[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="records, all topics together (default 1000000)")
    parser.add_argument("--seed", type=int, default=7, help="sample_gen seed (default 7)")
    parser.add_argument("--partitions", type=int, default=2, help="partitions of each fresh topic (default 2)")
    parser.add_argument(
        "--config",
        type=Path,
        default=ROOT / "config",
        help="the folder of topics.yaml and transformations.yaml to measure (default: the shipped config; "
        "benchmarks/nested: a topic of nested JSON)",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        metavar="NAME",
        help=f"run only these, in this order (default: {' '.join(VARIANTS)})",
    )
    parser.add_argument(
        "--checkpoint-interval",
        default="10s",
        help="checkpoint interval of every variant (default 10s, the notes' method)",
    )
    parser.add_argument(
        "--avro",
        action="store_true",
        help="every topic Avro through a local Confluent-compatible registry; the native variants read "
        "Flink's avro format from unframed copies",
    )
    parser.add_argument("--show-ddl", action="store_true", help="log every variant's DDL and INSERTs")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, warehouses, checkpoints)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--worker", choices=VARIANTS[:3], help=argparse.SUPPRESS)  # one variant, in its own JVM
    parser.add_argument("--config-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)  # PyFlink lowers the root logger
    if args.worker:
        return run_worker(args.worker, args.config_dir, args.result, args.show_ddl)

    with contextlib.ExitStack() as stack:
        if args.avro:  # the registry for sample_gen and every variant (the environment reaches them all)
            from tests.support.registry import schema_registry_process

            os.environ["SCHEMA_REGISTRY_URL"] = stack.enter_context(schema_registry_process())
        base, ws = produce_backlog(args.count, args.seed, args.partitions, args.config, args.avro)
        topics = list(ws.topics.values()) + ([t + PLAIN_SUFFIX for t in ws.topics.values()] if args.avro else [])
        try:
            return measure(args, ws, base)
        finally:
            if args.keep:
                log.info("work folder and topics kept: %s; %s", base, ", ".join(topics))
            else:
                delete_topics(ws.bootstrap, topics)
                shutil.rmtree(base, ignore_errors=True)


def measure(args: argparse.Namespace, ws, base: Path) -> int:
    """Run the variants on the backlog, check what the Iceberg variants wrote, print the report."""
    sizes = backlog_sizes(ws.bootstrap, list(ws.topics.values()))
    if sum(sizes.values()) != args.count:
        log.warning("the topics hold %d records, not %d", sum(sizes.values()), args.count)
    load = load_average()
    # a variant named twice runs twice (to see the spread); each run has a folder of its own
    outcomes = [
        run_variant(v, ws, base / f"{i}-{v}", args.show_ddl, args.checkpoint_interval)
        for i, v in enumerate(args.variants, 1)
    ]
    from common.load.properties import load_settings

    namespace = load_settings().catalog.namespace
    logging.getLogger("pyiceberg").setLevel(logging.WARNING)
    counts = {
        o.variant: iceberg_row_counts(o.folder, namespace)
        for o in outcomes  # the last run of each
        if o.seconds and o.variant in ("native_full", "full")
    }
    for variant, tables in counts.items():
        log.info("%s rows: %s", variant, ", ".join(f"{t} {n}" for t, n in tables.items()))
    if len(counts) == 2 and any(counts["full"].get(t) != n for t, n in counts["native_full"].items()):
        log.warning("native_full and full wrote different row counts: %s vs %s", counts["native_full"], counts["full"])
    print_report(outcomes, sum(sizes.values()), sizes, load, args.checkpoint_interval)
    sys.stdout.write(f"load average after the runs: {load_average()}\n")
    return 0 if all(o.seconds for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
