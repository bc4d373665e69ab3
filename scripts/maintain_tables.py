"""Maintain the Iceberg tables of the local (Hadoop-catalog) warehouse, beside the running job.

Per table, in this order: rewrite the small data files of each day partition into files of
about the table's target size (Iceberg's Flink rewrite action, a local Flink batch job), expire
snapshots older than an age while keeping at least N, and optionally delete orphan files (files no
snapshot references) older than a safe age. Reports, per table, data files, their mean size and
snapshots before and after. `--dry-run` reports what each step would do and changes nothing.

Safe beside the running job: each step is an Iceberg commit validated against the table as it is
when it commits (the rewrite only replaces files that are still live and that no newer delete
touches; the job's appends then retry on top of it); the newest snapshot the job committed is never
expired; orphan removal only takes files older than an hour at the very least (a restored job
commits files it wrote before it stopped). The work is done by the jar's
mskiceberg.streaming.maintenance classes (docs/deploy.md, "Table maintenance").

On S3 Tables the service maintains the tables itself: `deploy.py table-maintenance`.

Exit codes: 0 ok, 1 a table could not be maintained, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import cli
from common.cli import ExitCode
from common.errors import ConfigError
from common.load.config import parse_duration_ms
from common.load.properties import RuntimeSettings, load_settings
from common.logs import setup_logging
from common.ops.table_status import describe_bytes

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

MAIN_CLASS = "mskiceberg.streaming.maintenance.MaintainTables"
MIN_ORPHAN_AGE_MS = 3_600_000  # as TableMaintenance.MIN_ORPHAN_AGE_MS
SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3, "gib": 1024**3}


def parse_size(text: str) -> int:
    match = SIZE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ConfigError("arguments", "--target-file-size", f"'{text}' is not a size", "e.g. 134217728, 128MB")
    return int(match.group(1)) * SIZE_UNITS[(match.group(2) or "b").lower()]


def parse_age(option: str, text: str) -> int:
    value = parse_duration_ms(text)
    if value is None:
        raise ConfigError("arguments", option, f"'{text}' is not a duration", "e.g. 0s, 30min, 24h, 72h")
    return value


def java_command() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else (shutil.which("java") or "java")


def flink_home() -> Path:
    import pyflink

    return Path(pyflink.__file__).resolve().parent


def jvm_options() -> list[str]:
    """Flink's own JVM options (env.java.opts.all of PyFlink's config.yaml): the --add-opens that
    Flink's serializers need on Java 17, so they stay in step with the Flink version."""
    import yaml

    config = yaml.safe_load((flink_home() / "conf" / "config.yaml").read_text()) or {}
    opts = ((config.get("env") or {}).get("java") or {}).get("opts") or {}
    return str(opts.get("all") or "").split()


def class_path(settings: RuntimeSettings) -> str:
    """The job's jar (Iceberg, its Flink actions, Hadoop) and PyFlink's Flink runtime."""
    from common.load.properties import local_jar

    flink_lib = flink_home() / "lib"
    return os.pathsep.join([str(local_jar(settings)), str(flink_lib / "*")])


def java_arguments(args: argparse.Namespace, warehouse: str, namespace: str, now_ms: int) -> list[str]:
    """Arguments of MaintainTables (ages become timestamps here, so the JVM's start-up does not count)."""
    out = ["--warehouse", warehouse, "--namespace", namespace, "--parallelism", str(args.parallelism)]
    for table in args.table or []:
        out += ["--table", table]
    if args.dry_run:
        out.append("--dry-run")
    if args.no_rewrite:
        out.append("--no-rewrite")
    elif args.target_file_size:
        out += ["--rewrite-target-bytes", str(parse_size(args.target_file_size))]
    if args.no_expire:
        out.append("--no-expire")
    else:
        if args.expire_older_than:
            out += ["--expire-older-than-ms", str(now_ms - parse_age("--expire-older-than", args.expire_older_than))]
        if args.retain_last is not None:
            if args.retain_last < 1:
                raise ConfigError("arguments", "--retain-last", f"{args.retain_last} keeps no snapshot", "1 or more")
            out += ["--retain-last", str(args.retain_last)]
    if args.remove_orphans_older_than:
        age = parse_age("--remove-orphans-older-than", args.remove_orphans_older_than)
        if age < MIN_ORPHAN_AGE_MS:
            raise ConfigError(
                "arguments",
                "--remove-orphans-older-than",
                f"'{args.remove_orphans_older_than}' is too "
                "young: a running or restored job may still commit such files",
                "1h or more, e.g. 72h",
            )
        out += ["--orphans-older-than-ms", str(now_ms - age)]
    return out


def run_java(command: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Run MaintainTables; its stdout is one JSON report per table."""
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    for line in result.stderr.splitlines():
        log.debug("java: %s", line)
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode not in (0, 1) or (result.returncode == 1 and not reports):
        log.error("the maintenance JVM exited with %s:\n%s", result.returncode, result.stderr[-3000:])
        return reports, ExitCode.FAILED
    return reports, result.returncode


def render_text(reports: list[dict[str, Any]], dry_run: bool) -> str:
    lines = [f"{'table':<28} {'data files':>14} {'mean file size':>24} {'snapshots':>12}  done"]
    for r in reports:
        if "error" in r:
            lines.append(f"{r['table']:<28} FAILED: {r['error']}")
            continue
        b, a = r["before"], r["after"]
        done = []
        rewrite = r.get("rewrite")
        if rewrite:
            if dry_run:
                done.append(f"would rewrite {rewrite['files_to_rewrite']} files")
            else:
                done.append(
                    f"rewrote {rewrite['files_rewritten']} files into {rewrite['files_written']}"
                    + ("" if rewrite["committed"] else " (LOST: replaced by a concurrent commit)")
                )
        expire = r.get("expire")
        if expire:
            done.append(
                f"would expire {expire['snapshots_to_expire']} snapshots"
                if dry_run
                else f"expired {expire['snapshots_expired']} snapshots, deleted {expire['files_deleted']} files"
            )
        orphans = r.get("orphans")
        if orphans:
            count = orphans["orphan_files_to_remove" if dry_run else "orphan_files_removed"]
            done.append(
                f"{'would remove' if dry_run else 'removed'} {count} orphan files "
                f"({describe_bytes(orphans['orphan_bytes'])})"
            )
        lines.append(
            f"{r['table']:<28} {b['data_files']:>6} -> {a['data_files']:<5} "
            f"{describe_bytes(b['mean_file_bytes']):>11} -> {describe_bytes(a['mean_file_bytes']):<10} "
            f"{b['snapshots']:>5} -> {a['snapshots']:<4}  {'; '.join(done)}"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="maintain_tables.py",
        description=__doc__.split("\n\n")[0],
        epilog="Exit codes: 0 ok, 1 a table could not be maintained, 2 bad input. See docs/deploy.md.",
    )
    parser.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    parser.add_argument(
        "--table", action="append", metavar="NAME", help="a table of the namespace (repeat); default: every table"
    )
    parser.add_argument(
        "--target-file-size",
        metavar="SIZE",
        help="compaction target, e.g. 128MB (default: the table's write.target-file-size-bytes)",
    )
    parser.add_argument("--no-rewrite", action="store_true", help="do not compact")
    parser.add_argument(
        "--expire-older-than",
        metavar="AGE",
        help="expire snapshots older than AGE, e.g. 24h (default: the table's history.expire.max-snapshot-age-ms)",
    )
    parser.add_argument(
        "--retain-last",
        type=int,
        metavar="N",
        help="keep at least N snapshots "
        "(default: the table's history.expire.min-snapshots-to-keep); the newest snapshot the job "
        "committed is always kept",
    )
    parser.add_argument("--no-expire", action="store_true", help="do not expire snapshots")
    parser.add_argument(
        "--remove-orphans-older-than",
        metavar="AGE",
        help="also delete unreferenced files older than AGE (at least 1h; choose more than the "
        "longest the job may be stopped before it is restored, e.g. 72h); default: off",
    )
    parser.add_argument("--parallelism", type=int, default=1, help="of the compaction job (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be done; change nothing")
    parser.add_argument("--json", action="store_true", help="one JSON report per table instead of the text table")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (the JVM's output included)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    try:
        settings = load_settings(args.properties)
        catalog = settings.catalog
        if catalog.catalog_type != "hadoop":
            raise ConfigError(
                str(settings.source),
                "iceberg.catalog.type",
                f"'{catalog.catalog_type}': S3 Tables maintains its own tables "
                "(configure it with `deploy.py table-maintenance`)",
                "hadoop",
            )
        if args.parallelism < 1:
            raise ConfigError("arguments", "--parallelism", f"{args.parallelism} is not positive")
        command = [
            java_command(),
            *jvm_options(),
            "-cp",
            class_path(settings),
            MAIN_CLASS,
            *java_arguments(args, catalog.warehouse, catalog.namespace, int(time.time() * 1000)),
        ]
    except ConfigError as exc:
        log.error("bad input: %s", exc)
        return ExitCode.BAD_INPUT
    log.info("%s tables of %s/%s", "checking" if args.dry_run else "maintaining", catalog.warehouse, catalog.namespace)
    started = time.monotonic()
    reports, code = run_java(command)
    if args.json:
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in reports))
    else:
        sys.stdout.write(render_text(reports, args.dry_run))
    for report in reports:
        if "error" in report:
            log.error("%s: %s", report["table"], report["error"])
    lost = [r["table"] for r in reports if r.get("rewrite", {}).get("committed") is False]
    if lost:
        log.warning("the compaction of %s was replaced by a concurrent commit: run again", ", ".join(lost))
    log.info("done in %.1f s", time.monotonic() - started)
    return code


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
