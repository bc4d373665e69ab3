"""Produce realistic, correlated sample events to the Kafka topics of config/topics.yaml.

Users with several sessions each: bids inside the sessions (cities, platforms, amounts),
user actions interleaved with them, orders after some sessions; JSON matching each topic's
schema (Avro through its schema registry for a topic of format avro), keyed by user_id,
deterministic for a seed; a CDC topic (debezium-json / debezium-avro) gets Debezium change
events of its rows instead, keyed by its primary key. Local broker (plaintext) or MSK (IAM).
The generator itself lives in the samplegen package; this is its command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Iterator

from common import cli
from common.cli import ExitCode
from common.durations import duration_ms_argument
from common.errors import ConfigError, did_you_mean
from common.kafka_client import DeliveryReport, KafkaSink, add_connection_arguments, client_config, produce, target_for
from common.load.config import CONFIG_DIR, load_topics
from common.load.properties import APP_DIR, load_settings
from common.logs import FORMAT, setup_logging
from samplegen.avro import AvroTypeError, RegistryError
from samplegen.faults import MALFORMED_KINDS, FaultKnobs, Faults
from samplegen.feed import ALL_TOPICS, check_partitions, partition_map, use_registries
from samplegen.model import START_MS, EventModel, ModelOptions
from samplegen.runner import FileSink, RecordsFile, RunOptions, build_manifest, log_summary, run, wall_clock_ms

__all__ = ["bid_events", "produce", "DeliveryReport", "main"]  # bid_events/produce: the tests' helpers

log = logging.getLogger(__name__)

DEFAULT_COUNT = 1000
DEFAULT_MANIFEST = APP_DIR / ".local" / "sample_gen" / "manifest.json"

EPILOG = f"""\
event time:
  live       each record's event time is the wall clock when it is sent (minus the offset
             of --out-of-order / --late): never ahead of the clock, at most
             max_out_of_orderness behind it unless late. For feeding a running job. The
             model's pauses shrink to the sending pace (sessions, their order, users and
             orders stay; a user's sessions are seconds apart, not 31 minutes).
  simulated  a timeline from --start (default 2026-01-01T00:00:00Z): about 0.1 events per
             session (--sessions) per second of event time, however fast they are sent;
             the same seed gives byte-identical events. For backlogs and tests.
  Default: live when --duration or --rate is given without --start; simulated otherwise
  (--count alone, or any --start). --live / --no-live choose explicitly. With --live the
  same seed still gives the same records, but for their event times.

faults (fractions of the records sent, all 0 by default; one fault per record at most):
  --out-of-order F  event time 1 ms .. max_out_of_orderness (topics.yaml) behind the newest
                    one already sent to that topic: out of order, but within the watermark
                    (live: and at most max_out_of_orderness behind the clock)
  --late F          event time more than max_out_of_orderness behind (by 1 s .. --late-by
                    more): behind the watermark, a watermark-based job drops them
  --malformed F     bad JSON, a wrong type (text in a non-string column) or a missing field;
                    for an Avro topic: not the wire format (the record as JSON), an unknown
                    schema id, or the Avro binary cut short (the manifest names them so).
                    With --count, exactly round(count * F) records get each fault (spread at
                    random); with --duration, one in every 1/F.

avro topics (format: avro in topics.yaml):
  the topic's writer's schema (its columns as the job reads them: AvroColumns) is registered first with
  its registry (runtime properties, group registry: confluent.url and
  confluent.basic.auth.user.info, or glue.region (else $AWS_REGION, $AWS_DEFAULT_REGION) and
  glue.endpoint), then every value is framed Avro (Confluent: magic byte + schema id; Glue:
  header + schema version id, uncompressed). --dry-run registers too, and prints such values
  as "value_base64"; --records likewise.

cdc topics (format: debezium-json or debezium-avro, with primary_key):
  each generated row becomes one change of a table keyed by primary_key, of a new key (1 in
  4) or of one already made: c when the key has no row, else u (before = the row as it was,
  after = the new row) or sometimes d (before = the row, after null) followed by a tombstone
  (a null value); a deleted key may come back with a c. Envelope {{before, after,
  source, op, ts_ms}} with ts_ms = the event time; Kafka key = the key columns as JSON
  ({{"id":5}}). debezium-avro: the envelope's schema (<topic key>.Envelope) is registered like an
  avro topic's. A tombstone counts as a record and never gets a fault; --malformed breaks the
  change's row image (a wrong type, a key column left out); --late / --out-of-order move ts_ms.
  The manifest counts c, u, d and tombstones per topic (and the keys and rows made).

targets:
  kafka.bootstrap.servers and kafka.auth (none | iam) come from the runtime properties, as
  for streaming_job.py (--properties, $APP_PROPERTIES_FILE, the managed path, or
  ./application_properties.json; $KAFKA_BOOTSTRAP_SERVERS and $KAFKA_AUTH override), then
  --bootstrap-servers and --auth (the environment, whose overlay may rename topics, too).
  auth iam: SASL_SSL + OAUTHBEARER with a token signed by aws-msk-iam-sasl-signer-python from
  the default AWS credential chain (or --aws-profile, --role-arn); region from --region,
  $AWS_REGION, $AWS_DEFAULT_REGION, or the MSK broker host name.

output:
  Progress on stderr (a live bar on a terminal, a log line every --log-every s otherwise),
  then a summary. The manifest (JSON: per-topic sent/delivered/malformed/late/out-of-order
  counts, per-partition counts, event-time range, seed, knobs, target) is written to
  --manifest (default {DEFAULT_MANIFEST.relative_to(APP_DIR)}; '-' for stdout). --records PATH also
  writes every record sent (JSON lines, with the partition and offset the broker confirmed).

exit codes:
  0 every record delivered (confirmed by the broker), 1 some not delivered (or a schema
  registry refused or did not answer: nothing sent), 2 bad configuration or arguments, 130
  stopped by Ctrl-C/SIGTERM (after flushing; the manifest is still written). Ctrl-C once
  stops and flushes; twice gives up flushing.

examples:
  sample_gen.py --count 2000                              # all topics, local broker
  sample_gen.py --duration 60 --rate 500 --topics bid_events user_events   # live
  sample_gen.py --count 10000 --malformed 0.01 --late 0.02 --out-of-order 0.05
  sample_gen.py --properties msk.json --auth iam --region eu-west-1 --duration 600 --rate 200
  sample_gen.py --duration 30 --rate 100 --partition 0 --records sent.jsonl   # all in partition 0
  sample_gen.py --count 5 --dry-run --manifest -          # print records, no Kafka
"""


# --- kept for the tests and callers of the minimal generator ---------------------------------------


def bid_events(count: int, seed: int, start_ms: int = START_MS, users: int = 50) -> Iterator[dict]:
    """`count` bid events of one session at a time by `users` users, in event-time order, from `seed`."""
    model = EventModel(
        list(load_topics().values()),
        ModelOptions(seed=seed, start_ms=start_ms, users=users, sessions=1),
        selected=["bid_events"],
    )
    for _, _, _, record in model.take(count):
        assert record is not None  # None only for a CDC topic's tombstone
        yield record


# --- command line --------------------------------------------------------------------------------


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


def _positive(kind: type):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not positive")
        return value

    return parse


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _start_ms(text: str) -> int:
    if text == "now":
        return int(time.time() * 1000)
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not 'now', epoch millis or an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def _partition(text: str) -> tuple[str, int]:
    topic, sep, number = text.rpartition("=")
    if not number.isdigit() or (sep and not topic):
        raise argparse.ArgumentTypeError(f"'{text}' is not N or TOPIC=N (N a partition number: 0, 1, ...)")
    return (topic if sep else ALL_TOPICS), int(number)


def _property(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"'{text}' is not KEY=VALUE")
    return key.strip(), value.strip()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    what = parser.add_argument_group("what to send")
    amount = what.add_mutually_exclusive_group()
    amount.add_argument(
        "--count", type=_positive(int), help=f"number of records, all topics together (default {DEFAULT_COUNT})"
    )
    amount.add_argument(
        "--duration",
        type=_positive(float),
        metavar="SECONDS",
        help="send for this many seconds (wall clock) instead of a count",
    )
    what.add_argument(
        "--rate",
        type=_non_negative,
        default=0,
        metavar="RECORDS_PER_S",
        help="steady sending rate; 0 (default): as fast as the broker takes them",
    )
    what.add_argument(
        "--topics",
        nargs="+",
        metavar="KEY",
        help="only these topics (keys of topics.yaml or Kafka topic names; default: every enabled topic)",
    )
    what.add_argument("--seed", type=int, default=42, help="random seed: same seed, same events (default 42)")
    what.add_argument(
        "--start",
        type=_start_ms,
        metavar="TIME",
        help="simulated event time from TIME: ISO-8601 (UTC if no zone), epoch millis or 'now' "
        "(default 2026-01-01T00:00:00Z; see 'event time' below)",
    )
    what.add_argument(
        "--live",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="event time = the wall clock at sending (default: live with --duration or --rate and no --start)",
    )
    what.add_argument(
        "--users",
        type=_positive(int),
        default=ModelOptions.users,
        help=f"number of users (default {ModelOptions.users})",
    )
    what.add_argument(
        "--sessions",
        type=_positive(int),
        default=ModelOptions.sessions,
        help=f"sessions running at the same time (default {ModelOptions.sessions})",
    )
    what.add_argument(
        "--products",
        type=_positive(int),
        default=ModelOptions.products,
        help=f"products in the catalog (default {ModelOptions.products})",
    )

    faults = parser.add_argument_group("faults (see below)")
    faults.add_argument(
        "--out-of-order",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of records out of order, within max_out_of_orderness",
    )
    faults.add_argument(
        "--late", type=_fraction, default=0.0, metavar="F", help="share of records late, beyond max_out_of_orderness"
    )
    faults.add_argument(
        "--late-by",
        type=duration_ms_argument,
        default=60_000,
        metavar="DURATION",
        help="late records are up to this much further behind than the bound (default 60s)",
    )
    faults.add_argument("--malformed", type=_fraction, default=0.0, metavar="F", help="share of malformed records")
    faults.add_argument(
        "--malformed-kinds",
        nargs="+",
        choices=MALFORMED_KINDS,
        default=list(MALFORMED_KINDS),
        help="which kinds of malformed records (default: all)",
    )

    where = parser.add_argument_group("where to send")
    where.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    where.add_argument(
        "--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml (and transformations.yaml)"
    )
    add_connection_arguments(where)
    where.add_argument(
        "-X",
        "--producer-property",
        type=_property,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra librdkafka producer property (repeatable), e.g. -X compression.type=lz4",
    )
    where.add_argument(
        "--partition",
        type=_partition,
        action="append",
        default=[],
        metavar="[TOPIC=]N",
        help="send every record (of TOPIC: key or Kafka name) to partition N instead of by key (repeatable)",
    )
    where.add_argument(
        "--dry-run",
        action="store_true",
        help="no Kafka: write records to stdout as JSON lines {topic, key, value} (Avro: value_base64)",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--manifest",
        default=str(DEFAULT_MANIFEST),
        metavar="PATH",
        help="where to write the manifest JSON ('-': stdout)",
    )
    out.add_argument(
        "--records",
        metavar="PATH",
        help="also write every record sent as a JSON line: topic, partition, offset, key, value, "
        "event_time_ms, fault, sent_at_ms",
    )
    out.add_argument(
        "--progress",
        choices=("auto", "bar", "log", "none"),
        default="auto",
        help="auto (default): a bar on a terminal, log lines otherwise",
    )
    out.add_argument(
        "--log-every",
        type=_positive(float),
        default=10.0,
        metavar="SECONDS",
        help="seconds between progress log lines (default 10)",
    )
    out.add_argument(
        "--flush-timeout",
        type=_positive(float),
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the last delivery reports (default 60)",
    )
    out.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    out.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    args = parser.parse_args(argv)
    if args.live and args.start is not None:
        parser.error("--live takes event time from the clock; --start is for the simulated timeline (--no-live)")
    return args


def is_live(args: argparse.Namespace) -> bool:
    """--live / --no-live, else live for a timed or paced run (--duration, --rate) without --start."""
    if args.live is not None:
        return args.live
    return args.start is None and (args.duration is not None or bool(args.rate))


def console_logging(args: argparse.Namespace, bar: bool):
    """Log to stderr (through rich when a progress bar shares the terminal); the console, if any."""
    console, handler = None, None
    if bar:
        from rich.console import Console
        from rich.logging import RichHandler

        console = Console(stderr=True)
        handler = RichHandler(console=console, show_path=False)
    setup_logging(args.verbose, args.quiet, handler, "%(name)s: %(message)s" if bar else FORMAT)
    return console


def _select_topics(requested: list[str] | None, topics: dict) -> list[str] | None:
    if not requested:
        return None
    by_name = {t.topic_name: k for k, t in topics.items()}
    keys = []
    for item in (part for text in requested for part in text.split(",") if part):
        if item in topics:
            keys.append(item)
        elif item in by_name:
            keys.append(by_name[item])
        else:
            raise ConfigError(
                "--topics", item, f"not a topic of topics.yaml{did_you_mean(item, topics)}", ", ".join(topics)
            )
    return keys


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = args.progress
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "log"
    console = console_logging(args, bar=(mode == "bar"))
    try:
        settings = load_settings(args.properties)
        topics = load_topics(args.config_dir, getattr(settings, "environment", None))
        selected = _select_topics(args.topics, topics)
        target = None
        if not args.dry_run:
            target = target_for(args, settings.kafka, "sample_gen", args.producer_property)
            config = client_config(target)
    except (ConfigError, ValueError) as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT

    live = is_live(args)
    count = None if args.duration else (args.count or DEFAULT_COUNT)
    start = wall_clock_ms() if live else args.start if args.start is not None else START_MS
    model = EventModel(
        list(topics.values()),
        ModelOptions(seed=args.seed, start_ms=start, users=args.users, sessions=args.sessions, products=args.products),
        selected,
    )
    try:
        partitions = partition_map(dict(args.partition) if args.partition else None, model.selected)
    except ValueError as exc:
        log.error("bad --partition: %s", exc)
        return ExitCode.BAD_INPUT
    options = RunOptions(
        count=count,
        duration_s=args.duration,
        rate=args.rate or None,
        progress=mode,
        log_every_s=args.log_every,
        flush_timeout_s=args.flush_timeout,
        live=live,
        partitions=partitions,
    )
    knobs = FaultKnobs(
        out_of_order=args.out_of_order,
        late=args.late,
        late_by_ms=args.late_by,
        malformed=args.malformed,
        malformed_kinds=tuple(dict.fromkeys(args.malformed_kinds)),
    )
    faults = Faults(knobs, args.seed, count, live) if knobs.any else None
    try:
        avro_topics = use_registries(model.selected, topics, settings.kafka.registry)
    except (ConfigError, AvroTypeError) as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT
    except RegistryError as exc:
        log.error("nothing sent: %s", exc)
        return ExitCode.FAILED
    sink: FileSink | KafkaSink
    if args.dry_run:
        sink = FileSink(sys.stdout, avro_topics)
    else:
        assert target is not None  # built above unless --dry-run
        log.info(
            "sending %s to %s (auth %s%s), topics %s",
            f"{count} records" if count else f"for {args.duration} s",
            target.bootstrap_servers,
            target.auth,
            f", region {target.region}" if target.region else "",
            ", ".join(p.topic_name for p in model.selected),
        )
        sink = KafkaSink(config)
        try:
            check_partitions(sink, model.selected, partitions)
        except ValueError as exc:
            log.error("bad --partition: %s", exc)
            return ExitCode.BAD_INPUT
    log.info(
        "event time: %s",
        "live (the wall clock at sending)"
        if live
        else f"simulated from {dt.datetime.fromtimestamp(start / 1000, dt.timezone.utc).isoformat()}",
    )
    if not live and (args.duration or args.rate) and start > wall_clock_ms() - 3_600_000:
        log.warning(
            "simulated event time from --start runs ahead of the clock (about 0.1 events/s per session); "
            "to feed a running job use --live"
        )
    journal = RecordsFile(args.records) if args.records else None
    try:
        outcome = run(model, faults, sink, options, console=console, journal=journal)
    finally:
        if journal is not None:
            journal.close()
    manifest = build_manifest(
        model, knobs, options, outcome, target.describe() if target else {"bootstrap_servers": None}, args.dry_run
    )
    write_manifest(manifest, args.manifest)
    if journal is not None:
        log.info("records: %s", args.records)
    log_summary(manifest)
    if manifest["totals"]["not_delivered"]:
        log.error("%d records were not delivered", manifest["totals"]["not_delivered"])
        return ExitCode.FAILED
    return ExitCode.INTERRUPTED if manifest["interrupted"] else ExitCode.OK


def write_manifest(manifest: dict, where: str) -> None:
    text = json.dumps(manifest, indent=2) + "\n"
    if where == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(where)
    if path.exists() and not path.is_file():  # a device or a pipe (/dev/null, /dev/stderr): write in place
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")  # written whole, then renamed: never half a manifest
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    log.info("manifest: %s", path)


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
