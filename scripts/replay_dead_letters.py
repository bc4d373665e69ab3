"""Replay dead letters: re-publish chosen records of the job's `dead_letters` table to Kafka.

Once the producer of a topic is fixed (or the job's schema is), the records the job set
aside can be sent again: each chosen dead letter's exact value bytes (a tombstone stays a
tombstone), with its original Kafka key and headers, in (topic, partition, offset) order,
through an idempotent producer; every delivery is confirmed. The table is read with
pyiceberg from the catalog of the runtime properties (local warehouse or S3 Tables), the
filters pushed into the scan.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

from common import cli
from common.cli import ExitCode
from common.errors import ConfigError
from common.kafka_client import KafkaSink, add_connection_arguments, client_config, target_for
from common.load.properties import load_settings
from common.logs import setup_logging
from common.ops.table_access import open_table
from common.render.dead_letters import DEAD_LETTER_TABLE

log = logging.getLogger(__name__)

UTC = dt.timezone.utc
COLUMNS = (
    "topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
    "reason",
    "raw_value",
    "kafka_key",
    "kafka_headers",
)

EPILOG = """\
examples:
  # what would go back to bid-events: every record whose user_id field was bad, on 1 March
  %(prog)s --topic bid-events --reason "field user_id" \\
      --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z --dry-run
  # send them to a topic of their own
  %(prog)s --topic bid-events --reason "field user_id" --to-topic bid-events-fixed
  # one record
  %(prog)s --topic bid-events --partition 2 --offset 1234

what is sent: each dead letter's raw_value (the exact bytes the job received; none for a
tombstone) with its kafka_key and kafka_headers (Kafka's map: one value per header key),
in (topic, partition, offset) order, by an idempotent producer (acks=all); the partition
is the producer's choice from the key. The last line on stdout says how many, e.g.
  replayed 12 dead letters from bid-events to bid-events-fixed

where from: the dead_letters table of the catalog in the runtime properties (--properties,
$APP_PROPERTIES_FILE, the managed path, or ./application_properties.json; $ICEBERG_WAREHOUSE
etc. override, as for streaming_job.py): catalog.type hadoop (local warehouse) or s3tables
(boto3 + pyiceberg; option.client.region, option.s3tables.endpoint and option.s3.endpoint
are honoured, credentials from the default AWS chain). Brokers and auth (none | iam) come
from the kafka group, overridden by --bootstrap-servers / --auth (auth iam signs MSK IAM
tokens as sample_gen.py does).

exit codes: 0 every chosen record delivered (or --dry-run), 1 a delivery failed or the
table could not be read, 2 bad arguments or configuration (also: the target topic does not
exist)."""


@dataclass(frozen=True)
class Selection:
    """Which dead letters: the filters of the command line."""

    topics: tuple[str, ...]
    reasons: tuple[str, ...] = ()  # reason prefixes; a record matches any of them
    since: dt.datetime | None = None  # naive UTC, inclusive
    until: dt.datetime | None = None  # naive UTC, exclusive
    partition: int | None = None
    offset: int | None = None

    def row_filter(self):
        """The pyiceberg expression for the scan (the date bounds prune partitions)."""
        from pyiceberg.expressions import (
            And,
            EqualTo,
            GreaterThanOrEqual,
            In,
            LessThan,
            LessThanOrEqual,
            Or,
            StartsWith,
        )

        terms = [In("topic", set(self.topics)) if len(self.topics) > 1 else EqualTo("topic", self.topics[0])]
        if self.reasons:
            prefixes = [StartsWith("reason", r) for r in self.reasons]
            terms.append(prefixes[0] if len(prefixes) == 1 else Or(*prefixes))
        if self.since is not None:
            terms += [
                GreaterThanOrEqual("kafka_timestamp", self.since.isoformat()),
                GreaterThanOrEqual("dead_letter_date", self.since.date().isoformat()),
            ]
        if self.until is not None:
            terms += [
                LessThan("kafka_timestamp", self.until.isoformat()),
                LessThanOrEqual("dead_letter_date", self.until.date().isoformat()),
            ]
        if self.partition is not None:
            terms.append(EqualTo("kafka_partition", self.partition))
        if self.offset is not None:
            terms.append(EqualTo("kafka_offset", self.offset))
        return terms[0] if len(terms) == 1 else And(*terms)


def _instant(text: str) -> dt.datetime:
    """ISO-8601 date or date-time; without a zone it is UTC. Returned as naive UTC (as the table stores it)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO-8601 time (e.g. 2026-03-01T10:00:00Z)") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _non_negative(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a non-negative integer")
    return int(text)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive number of seconds")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_argument_group("which dead letters")
    which.add_argument(
        "--topic",
        action="append",
        required=True,
        metavar="NAME",
        help="Kafka topic the records came from, as in the table's `topic` column (required; repeatable: any of them)",
    )
    which.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="TEXT",
        help="keep records whose reason STARTS WITH TEXT: a whole reason text "
        "('missing required field user_id') or a prefix ('field user_id', 'too large'); "
        "note that a prefix also matches longer field names ('field user' matches "
        "'field user_id: ...'). Repeatable: any of them. Default: every reason",
    )
    which.add_argument(
        "--since", type=_instant, metavar="TIME", help="kafka_timestamp at or after TIME (ISO-8601; no zone = UTC)"
    )
    which.add_argument(
        "--until", type=_instant, metavar="TIME", help="kafka_timestamp before TIME (exclusive: [since, until))"
    )
    which.add_argument("--partition", type=_non_negative, help="only this Kafka partition of the topic")
    which.add_argument("--offset", type=_non_negative, help="only the record at this offset (needs --partition)")

    where = parser.add_argument_group("where to")
    where.add_argument(
        "--to-topic",
        metavar="NAME",
        help="send every chosen record to this topic (default: each record's own topic); it must exist",
    )
    where.add_argument(
        "--dry-run",
        action="store_true",
        help="send nothing: list the chosen records on stdout and say how many would go",
    )
    where.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    add_connection_arguments(where)
    where.add_argument(
        "--flush-timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the last delivery reports (default 60)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    args = parser.parse_args(argv)
    if args.offset is not None and args.partition is None:
        parser.error("--offset needs --partition")
    if args.since is not None and args.until is not None and args.since >= args.until:
        parser.error("--since must be before --until")
    if any(not r for r in args.reason):
        parser.error("--reason must not be empty")
    return args


def read_dead_letters(table: Any, selection: Selection) -> list[dict]:
    """The chosen dead letters, each once, in (topic, partition, offset) order."""
    from pyiceberg.types import BinaryType

    schema = table.schema()
    missing = [c for c in COLUMNS if c not in schema.column_names]
    if missing:
        raise ValueError(
            f"the {DEAD_LETTER_TABLE} table has no column {', '.join(missing)}: "
            "written by a job that did not keep the exact bytes, it cannot be replayed"
        )
    if not isinstance(schema.find_field("raw_value").field_type, BinaryType):
        raise ValueError(f"{DEAD_LETTER_TABLE}.raw_value is not BINARY (the exact bytes): cannot replay")
    rows = table.scan(row_filter=selection.row_filter(), selected_fields=COLUMNS).to_arrow().to_pylist()
    unique = {(r["topic"], r["kafka_partition"], r["kafka_offset"]): r for r in rows}
    if len(unique) < len(rows):
        log.warning(
            "%d rows of %s repeat a (topic, partition, offset): each record is replayed once",
            len(rows) - len(unique),
            DEAD_LETTER_TABLE,
        )
    return [unique[k] for k in sorted(unique)]


def dead_letters(n: int) -> str:
    return f"{n} dead letter" if n == 1 else f"{n} dead letters"


def describe(letter: dict) -> str:
    stamp = letter["kafka_timestamp"].isoformat(timespec="milliseconds") + "Z" if letter["kafka_timestamp"] else "-"
    size = "tombstone" if letter["raw_value"] is None else f"{len(letter['raw_value'])} bytes"
    return (
        f"{letter['topic']}\t{letter['kafka_partition']}\t{letter['kafka_offset']}\t{stamp}\t{size}\t{letter['reason']}"
    )


def publish(
    letters: list[dict], to_topic: str | None, config: dict[str, Any], flush_timeout_s: float
) -> tuple[int, int]:
    """Send every letter and wait for its delivery report: (delivered, not delivered).

    Raises LookupError if a target topic does not exist (nothing is sent then).
    """
    sink = KafkaSink(config)  # idempotent (acks=all), every delivery counted by sink.tracker
    targets = sorted({to_topic or letter["topic"] for letter in letters})
    known = sink.producer.list_topics(timeout=30).topics
    absent = [t for t in targets if t not in known]
    if absent:
        raise LookupError(f"topic {', '.join(absent)} does not exist")
    for letter in letters:
        headers = list(letter["kafka_headers"] or []) or None
        sink.send(to_topic or letter["topic"], letter["kafka_key"], letter["raw_value"], headers)
        sink.poll(0)
    unconfirmed = sink.flush(flush_timeout_s)
    if unconfirmed:
        log.error("%d deliveries not confirmed within %.0f s", unconfirmed, flush_timeout_s)
    return sink.tracker.delivered, sink.tracker.failed_total + unconfirmed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    selection = Selection(
        topics=tuple(dict.fromkeys(args.topic)),
        reasons=tuple(dict.fromkeys(args.reason)),
        since=args.since,
        until=args.until,
        partition=args.partition,
        offset=args.offset,
    )
    try:
        settings = load_settings(args.properties)
        config = None
        if not args.dry_run:
            config = client_config(target_for(args, settings.kafka, "replay_dead_letters"))
    except (ConfigError, ValueError) as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT

    catalog = settings.catalog
    where = f"{catalog.warehouse} ({catalog.catalog_type}), {catalog.namespace}.{DEAD_LETTER_TABLE}"
    try:
        letters = read_dead_letters(open_table(catalog, DEAD_LETTER_TABLE), selection)
    except Exception as exc:  # noqa: BLE001 - missing table, S3 errors, old schema: say what and stop
        log.error("cannot read %s: %s: %s", where, type(exc).__name__, exc)
        return ExitCode.FAILED
    log.info("%d dead letters chosen from %s", len(letters), where)
    for reason, count in sorted(Counter(letter["reason"] for letter in letters).items()):
        log.info("  %d x %s", count, reason)

    source_list = sorted({letter["topic"] for letter in letters}) or list(selection.topics)
    sources = ", ".join(source_list)
    target = args.to_topic or (source_list[0] if len(source_list) == 1 else "their own topics")
    out = sys.stdout
    if args.dry_run:
        for letter in letters:
            out.write(describe(letter) + "\n")
        out.write(f"would replay {dead_letters(len(letters))} from {sources} to {target} (dry run: nothing sent)\n")
        return ExitCode.OK
    if not letters:
        out.write(f"replayed {dead_letters(0)} from {sources} to {target}\n")
        return ExitCode.OK

    assert config is not None  # built above unless --dry-run, which has returned
    try:
        delivered, failed = publish(letters, args.to_topic, config, args.flush_timeout)
    except LookupError as exc:
        log.error("%s: nothing sent (create it first, or choose another --to-topic)", exc)
        return ExitCode.BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - broker unreachable (metadata timeout), client errors
        log.error("cannot publish: %s: %s", type(exc).__name__, exc)
        return ExitCode.FAILED
    out.write(f"replayed {dead_letters(delivered)} from {sources} to {target}\n")
    if failed:
        log.error("%d of %s were NOT delivered", failed, dead_letters(len(letters)))
        return ExitCode.FAILED
    return ExitCode.OK


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
