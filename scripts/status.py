"""Is the job healthy? Each Iceberg table's size, fragmentation and freshness, recent dead
letters, and each consumer group's lag, at a glance (text), for machines (--json), or as a
small self-contained page (--html). Exits 3 when a table is stale, so it serves as a check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from common import cli
from common.cli import ExitCode
from common.durations import describe_seconds, duration_s_argument
from common.errors import ConfigError
from common.kafka_client import PRODUCER_DEFAULTS, add_connection_arguments, client_config, target_for
from common.load.config import CONFIG_DIR, TopicConfig, build_transformer, load_project, select_pipelines
from common.load.properties import RuntimeSettings, load_settings
from common.logs import setup_logging
from common.ops.event_time_status import FlinkRest, explain, read_event_time
from common.ops.table_access import TableNotFound, describe_catalog, open_table, s3tables_client
from common.ops.table_status import TableStatus, dead_letter_counts, describe_bytes, late_counts, table_status
from common.render.dead_letters import DEAD_LETTER_TABLE

log = logging.getLogger(__name__)

UTC = dt.timezone.utc

EPILOG = """\
what it reads: the tables of every enabled pipeline (or --only ones) and dead_letters, in the
catalog of the runtime properties (local warehouse or S3 Tables, as streaming_job.py and
replay_dead_letters.py), with pyiceberg; nothing is scanned except the dead letters of the
--since window (and an event-time column whose files carry no statistics).
  rows          total-records of the current snapshot (before row-level deletes, if any)
  snapshots     snapshots kept in the metadata
  files, mean   data files of the current snapshot; mean size over data and delete files
  last commit   commit time of the current snapshot (none yet: "created" and its creation time)
  newest event  max of the event-time column, from the files' upper bounds: the first of
                event_time, window_end, session_end, kafka_timestamp the table has, else its
                first timestamp column other than ingestion_time / watermark_at_arrival
  dead letters  per topic and reason, written (ingestion_time) within --since
  lag           per topic and partition: high watermark - the offset the source's consumer
                group committed (Flink commits on each completed checkpoint); "-" for
                a partition without a committed offset, 0 if it holds no records
  event time    from the running job's REST API (--flink, or flink.rest.port of the
                properties): per topic its watermark, idle partitions and how long nothing
                was written to it; per windowed pipeline the topic its windows wait for and
                why: a quiet topic (windows close when it resumes or the job is drained)
                or records not yet read (the job is behind or stuck)

staleness: now - last commit time, compared with --max-staleness. Commit time, not event
time: it says whether the job is writing, whatever the traffic, the window lengths or the
age of the data being replayed. An idle but healthy job still commits (the Iceberg sink
commits an empty snapshot every 10 checkpoints without data: flink.max-continuous-empty-commits),
so choose --max-staleness above 10 x the checkpoint interval. A table without any commit yet
counts from its creation (a bounded run that wrote nothing to a table leaves it so); a table
that does not exist is stale.

exit codes: 0 every table fresh; 3 a table is stale (whatever else happened); 1 something
could not be read (a table, the dead letters, the broker); 2 bad arguments or configuration."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument(
        "--html",
        metavar="PATH",
        type=Path,
        help="also write a self-contained HTML page (rows and commits over time, freshness, lag)",
    )
    parser.add_argument(
        "--max-staleness",
        type=duration_s_argument,
        default=duration_s_argument("15m"),
        metavar="DURATION",
        help="a table whose last commit is older is stale: exit 3 (default 15m)",
    )
    parser.add_argument(
        "--since",
        type=duration_s_argument,
        default=duration_s_argument("1h"),
        metavar="DURATION",
        help="dead letters written within this long (default 1h)",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these pipelines' tables (+ dead_letters)")
    parser.add_argument("--no-lag", action="store_true", help="do not ask the broker for consumer lag")
    parser.add_argument(
        "--flink",
        metavar="URL",
        help="the running job's Flink REST API, for event time (default: http://localhost:"
        "<flink.rest.port> when the properties set it; else not asked)",
    )
    parser.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    parser.add_argument(
        "--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml and transformations.yaml"
    )
    add_connection_arguments(parser.add_argument_group("broker (for lag; default: the kafka group of the properties)"))
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_tables(settings: RuntimeSettings, names: list[str], declared: dict[str, str | None]) -> list[TableStatus]:
    catalog = settings.catalog
    client = s3tables_client(catalog) if catalog.catalog_type == "s3tables" else None
    statuses = []
    for name in names:
        try:
            statuses.append(
                table_status(
                    open_table(catalog, name, client), name, with_history=True, declared_column=declared.get(name)
                )
            )
        except TableNotFound as exc:
            statuses.append(TableStatus(name=name, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - S3 errors, corrupt metadata: report it, go on with the rest
            log.debug("reading %s", name, exc_info=True)
            statuses.append(TableStatus(name=name, exists=True, error=f"{type(exc).__name__}: {exc}"))
    return statuses


def read_dead_letters(settings: RuntimeSettings, since: dt.datetime) -> dict[str, Any]:
    report: dict[str, Any] = {"since": iso(since), "total": None, "by_topic_reason": [], "error": None}
    try:
        counts = dead_letter_counts(open_table(settings.catalog, DEAD_LETTER_TABLE), since)
    except Exception as exc:  # noqa: BLE001 - missing table, S3 errors: say so
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    report["total"] = sum(counts.values())
    report["by_topic_reason"] = [
        {"topic": t, "reason": r, "count": n}
        for (t, r), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
    ]
    return report


def read_late(
    settings: RuntimeSettings, late_tables: list[tuple[str, str, str]], topic_names: dict[str, str]
) -> dict[str, Any]:
    """Records routed to each late table, by topic and partition (late_tables: table, window, its
    source topic's key). Lateness from one partition only points upstream (docs/reference/event-time.md)."""
    report: dict[str, Any] = {"by_table_partition": [], "error": None}
    for table, window, topic_key in late_tables:
        try:
            counts = late_counts(open_table(settings.catalog, table))
        except TableNotFound:
            continue  # nothing late yet: a run that wrote nothing there leaves no table to read
        except Exception as exc:  # noqa: BLE001 - S3 errors, corrupt metadata: say so
            report["error"] = f"{table}: {type(exc).__name__}: {exc}"
            continue
        for (key, partition), n in sorted(counts.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or -1)):
            topic = key or topic_key
            report["by_table_partition"].append(
                {
                    "table": table,
                    "window": window,
                    "topic": topic_names.get(topic, topic),
                    "partition": partition,
                    "records": n,
                }
            )
    return report


def read_lag(args: argparse.Namespace, settings: RuntimeSettings, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    from confluent_kafka.admin import AdminClient

    from common.ops.consumer_lag import consumer_lag

    target = target_for(args, settings.kafka, "status")
    config = client_config(target)
    for key in PRODUCER_DEFAULTS:
        config.pop(key, None)
    config["logger"] = log.getChild("librdkafka")  # its notices through logging, not raw stderr
    report: dict[str, Any] = {
        "bootstrap_servers": target.bootstrap_servers,
        "partitions": [],
        "topics": [],
        "error": None,
    }
    try:
        lags = consumer_lag(AdminClient(config), pairs)
    except Exception as exc:  # noqa: BLE001 - unreachable broker, unknown topic: say so
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    report["partitions"] = [
        {
            "topic": p.topic,
            "group": p.group,
            "partition": p.partition,
            "committed": p.committed,
            "high_watermark": p.high_watermark,
            "low_watermark": p.low_watermark,
            "lag": p.lag,
        }
        for p in lags
    ]
    for topic, group in sorted(set(pairs)):
        mine = [p for p in lags if (p.topic, p.group) == (topic, group)]
        known = [p.lag for p in mine if p.lag is not None]
        report["topics"].append(
            {
                "topic": topic,
                "group": group,
                "lag": sum(known) if known else None,
                "partitions_without_lag": sum(p.lag is None for p in mine),
            }
        )
    return report


def event_time_report(
    url: str | None, topics: list[TopicConfig], windowed: dict[str, tuple[str, ...]], lag: dict[str, Any]
) -> dict[str, Any]:
    """Each topic's watermark and idleness and what holds each windowed pipeline (common/ops/event_time_status.py)."""
    report: dict[str, Any] = {
        "flink": url,
        "job": None,
        "topics": [],
        "windows": [],
        "error": None,
        "skipped": url is None,
    }
    if url is None:
        return report
    names = {t.key: t.topic_name for t in topics}
    try:
        job = read_event_time(FlinkRest(url), {t.topic_name: t.event_time.idle_timeout_ms for t in topics})
    except Exception as exc:  # noqa: BLE001 - no job there, REST errors: say so
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    unread = {t["topic"]: t["lag"] for t in lag.get("topics", [])}
    report["job"] = job.job
    report["topics"] = [
        {
            "topic": t.topic,
            "watermark": _iso_ms(t.watermark_ms),
            "partitions": t.partitions,
            "idle_partitions": t.idle_partitions,
            "quiet_s": None if t.quiet_ms is None else t.quiet_ms / 1000,
            "quiet": t.quiet,
            "released": t.released,
        }
        for t in job.topics.values()
    ]
    for pipeline, watermark in job.windows.items():
        wait = explain(
            pipeline, watermark, [names[k] for k in windowed.get(pipeline, ()) if k in names], job.topics, unread
        )
        report["windows"].append(
            {"pipeline": pipeline, "watermark": _iso_ms(watermark), "held_by": wait.held_by, "reason": wait.reason}
        )
    return report


def _iso_ms(ms: int | None) -> str | None:
    return None if ms is None else iso(dt.datetime.fromtimestamp(ms / 1000, UTC))


def table_report(status: TableStatus, now: dt.datetime, max_staleness_s: float) -> dict[str, Any]:
    age = status.commit_age_s(now)
    unreadable = status.exists and status.error is not None
    return {
        "name": status.name,
        "exists": status.exists,
        "rows": status.rows,
        "snapshots": status.snapshots,
        "data_files": status.data_files,
        "delete_files": status.delete_files,
        "total_file_bytes": status.total_file_bytes,
        "mean_file_bytes": status.mean_file_bytes,
        "last_commit": iso(status.last_commit),
        "created": iso(status.created),
        "commit_age_s": age,
        "event_time_column": status.event_time_column,
        "newest_event_time": iso(status.newest_event_time),
        "event_age_s": status.event_age_s(now),
        # unreadable: unknown, reported as an error (exit 1), not as stale
        "stale": False if unreadable else (age is None or age > max_staleness_s),
        "error": status.error,
    }


def build_report(
    args: argparse.Namespace,
    settings: RuntimeSettings,
    table_names: list[str],
    pairs: list[tuple[str, str]],
    now: dt.datetime,
    late_tables: Sequence[tuple[str, str, str]] = (),
    topic_names: dict[str, str] | None = None,
    declared: dict[str, str | None] | None = None,
    flink: str | None = None,
    topics: list[TopicConfig] | None = None,
    windowed: dict[str, tuple[str, ...]] | None = None,
) -> tuple[dict[str, Any], list[TableStatus]]:
    statuses = read_tables(settings, table_names, declared or {})
    tables = [table_report(s, now, args.max_staleness) for s in statuses]
    report = {
        "generated_at": iso(now),
        "catalog": describe_catalog(settings.catalog),
        "max_staleness_s": args.max_staleness,
        "tables": tables,
        "dead_letters": read_dead_letters(settings, now - dt.timedelta(seconds=args.since)),
        "late": read_late(settings, list(late_tables), topic_names or {}),
        "lag": {"partitions": [], "topics": [], "error": None, "skipped": True}
        if args.no_lag
        else read_lag(args, settings, pairs),
    }
    report["event_time"] = event_time_report(flink, topics or [], windowed or {}, report["lag"])
    stale = [t["name"] for t in tables if t["stale"]]
    errors = [t["name"] for t in tables if t["error"] and t["exists"]]
    errors += ["dead_letters (recent)"] if report["dead_letters"]["error"] else []
    errors += ["late tables"] if report["late"]["error"] else []
    errors += ["lag"] if report["lag"]["error"] else []
    errors += ["event time"] if report["event_time"]["error"] else []
    report["stale_tables"], report["unreadable"] = stale, errors
    report["exit_code"] = ExitCode.CHECK_FAILED if stale else ExitCode.FAILED if errors else ExitCode.OK
    return report, statuses


def _grid(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in rows
    ]


def render_text(report: dict[str, Any]) -> str:
    c = report["catalog"]
    options = ", ".join(f"{k}={v}" for k, v in c["options"].items()) or "none"
    lines = [
        f"catalog {c['type']} {c['warehouse']}, namespace {c['namespace']} (options: {options})",
        f"at {report['generated_at']}; a table is stale when its last commit is older than "
        f"{describe_seconds(report['max_staleness_s'])}",
        "",
    ]
    rows = [
        [
            "table",
            "rows",
            "snapshots",
            "files",
            "mean file",
            "last commit",
            "age",
            "newest event",
            "age",
            "column",
            "state",
        ]
    ]
    for t in report["tables"]:
        state = (
            "ERROR" if t["error"] and t["exists"] else "MISSING" if not t["exists"] else "STALE" if t["stale"] else "ok"
        )
        rows.append(
            [
                t["name"],
                "-" if t["rows"] is None else f"{t['rows']:,}",
                str(t["snapshots"]),
                "-" if t["data_files"] is None else str(t["data_files"]),
                describe_bytes(t["mean_file_bytes"]),
                t["last_commit"] or (f"created {t['created']}" if t["created"] else "-"),
                describe_seconds(t["commit_age_s"]),
                t["newest_event_time"] or "-",
                describe_seconds(t["event_age_s"]),
                t["event_time_column"] or "-",
                state,
            ]
        )
    lines += _grid(rows, right={1, 2, 3, 4, 6, 8})
    lines += [f"  {t['name']}: {t['error']}" for t in report["tables"] if t["error"]]

    letters = report["dead_letters"]
    lines += [
        "",
        f"dead letters written since {letters['since']}: {letters['error'] if letters['error'] else letters['total']}",
    ]
    if letters["by_topic_reason"]:
        lines += [
            "  " + r
            for r in _grid(
                [["topic", "records", "reason"]]
                + [[r["topic"], str(r["count"]), r["reason"]] for r in letters["by_topic_reason"]],
                right={1},
            )
        ]
    late = report["late"]
    total = sum(r["records"] for r in late["by_table_partition"])
    lines += ["", f"late records (kept out of a window, listed in its late table): {late['error'] or total}"]
    if late["by_table_partition"]:
        lines += [
            "  " + r
            for r in _grid(
                [["table", "window", "topic", "partition", "records"]]
                + [
                    [
                        r["table"],
                        r["window"],
                        r["topic"],
                        "-" if r["partition"] is None else str(r["partition"]),
                        str(r["records"]),
                    ]
                    for r in late["by_table_partition"]
                ],
                right={3, 4},
            )
        ]
    lag = report["lag"]
    if lag.get("skipped"):
        lines += ["", "consumer lag: not asked (--no-lag)"]
    else:
        lines += [
            "",
            f"consumer lag at {lag['bootstrap_servers']} (high watermark - committed offset): "
            f"{lag['error'] or ''}".rstrip(),
        ]
        if lag["partitions"]:
            grid = [["topic", "group", "partition", "committed", "high watermark", "lag"]]
            grid += [
                [
                    p["topic"],
                    p["group"],
                    str(p["partition"]),
                    "-" if p["committed"] is None else str(p["committed"]),
                    str(p["high_watermark"]),
                    "-" if p["lag"] is None else str(p["lag"]),
                ]
                for p in lag["partitions"]
            ]
            lines += ["  " + r for r in _grid(grid, right={2, 3, 4, 5})]
    lines += event_time_text(report["event_time"])
    verdict = {
        ExitCode.OK: "healthy",
        ExitCode.CHECK_FAILED: f"STALE: {', '.join(report['stale_tables'])}",
        ExitCode.FAILED: f"could not read: {', '.join(report['unreadable'])}",
    }[report["exit_code"]]
    lines += ["", verdict]
    return "\n".join(lines) + "\n"


def event_time_text(event: dict[str, Any]) -> list[str]:
    if event["skipped"]:
        return ["", "event time: not asked (no --flink and no flink.rest.port)"]
    if event["error"] or event["job"] is None:
        return ["", f"event time at {event['flink']}: {event['error'] or 'no running job'}"]
    lines = ["", f"event time of job {event['job']} at {event['flink']}:"]
    grid = [["topic", "watermark", "partitions", "idle", "nothing written for", "state"]]
    grid += [
        [
            t["topic"],
            t["watermark"] or "-",
            str(t["partitions"]),
            str(t["idle_partitions"]),
            describe_seconds(t["quiet_s"]),
            "released" if t["released"] else "quiet" if t["quiet"] else "reading",
        ]
        for t in event["topics"]
    ]
    lines += ["  " + r for r in _grid(grid, right={2, 3, 4})]
    lines += [f"  {w['reason']}" for w in event["windows"]]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose, quiet=not args.verbose)  # the report is on stdout: warnings only on stderr
    try:
        settings = load_settings(args.properties)
        project = select_pipelines(load_project(args.config_dir, settings.environment), args.only)
    except (ConfigError, ValueError) as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT
    names = list(dict.fromkeys([p.sink_table for p in project.pipelines] + [DEAD_LETTER_TABLE]))
    pairs = [(t.topic_name, t.consumer_group) for t in project.topics_in_use()]
    late_tables = [
        (p.sink_table, window, p.source_topic)
        for p in project.pipelines
        if (window := build_transformer(p).get_late_records_of())
    ]
    topic_names = {t.key: t.topic_name for t in project.topics_in_use()}
    declared = {p.sink_table: build_transformer(p).get_event_time_column() for p in project.pipelines}
    windowed = {p.name: p.topics for p in project.pipelines}
    flink = args.flink or (f"http://localhost:{settings.flink.rest_port}" if settings.flink.rest_port else None)
    now = dt.datetime.now(UTC)
    try:
        report, statuses = build_report(
            args,
            settings,
            names,
            pairs,
            now,
            late_tables,
            topic_names,
            declared,
            flink,
            project.topics_in_use(),
            windowed,
        )
    except ValueError as exc:  # incomplete broker settings (auth iam without a region)
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.json else render_text(report))
    if args.html:
        from common.ops.status_page import render

        args.html.write_text(render(report, statuses, now), encoding="utf-8")
        log.info("wrote %s", args.html)
    return report["exit_code"]


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
