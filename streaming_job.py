"""Config-driven streaming job: Kafka topics -> pipelines -> Iceberg tables, as ONE Flink job.

load (YAML + runtime properties) -> render (DDL + INSERTs) -> run (one statement set).
``--validate`` (for CI) and ``--dry-run`` stop after planning, against a throw-away catalog.
Exit codes: 0 success, 1 the Flink job failed, 2 bad configuration or SQL, 3 the Kafka brokers
refused the job's client or could not be reached (2 and 3: nothing was started).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from common import cli
from common.load.config import CONFIG_DIR
from common.logs import OWN_LOGGERS, setup_logging
from common.run.job import JobOptions, run
from common.state.state_restore import ALLOW_LOSS_FLAG

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run every enabled pipeline of config/transformations.yaml as one Flink job.",
        epilog="Exit codes: 0 ok, 1 job failed, 2 bad configuration or SQL (found before anything ran).",
    )
    parser.add_argument(
        "--properties",
        help="runtime properties JSON (default: $APP_PROPERTIES_FILE, "
        "/etc/flink/application_properties.json on the managed service, else ./application_properties.json)",
    )
    parser.add_argument(
        "--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml and transformations.yaml"
    )
    parser.add_argument(
        "--bounded",
        action="store_true",
        help="read each topic up to its latest offsets at start, then finish (tests, demo, backfill)",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="with --bounded, local runs: then read every topic again and print, per topic, how many "
        "records were good and how many dead letters by reason (a second pass over the input)",
    )
    parser.add_argument(
        "--drain",
        action="store_true",
        help="local unbounded runs: on SIGTERM / Ctrl-C, emit every open window and session "
        "before the savepoint (the input is complete)",
    )
    parser.add_argument(
        "--backfill",
        metavar="PIPELINE",
        help="fill a new pipeline's history: a bounded run of it alone, from the earliest offset up "
        "to the switch offsets its restore recorded (docs/reference/semantics.md)",
    )
    parser.add_argument(
        "--backfill-until",
        type=Path,
        metavar="FILE",
        help="offsets file where the backfill stops (default: <flink.checkpoint.dir>/switch-<pipeline>.json)",
    )
    parser.add_argument(
        "--backfill-from",
        type=Path,
        metavar="FILE",
        help="offsets file where the backfill starts (default: each partition's earliest offset)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the DDL and the optimized plan; needs no Kafka, warehouse or AWS"
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check config, SQL and plan, print one line per problem (or OK); for CI, needs no Kafka, warehouse or AWS",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these pipelines")
    parser.add_argument(
        "--restore",
        metavar="PATH|latest",
        help="local runs: resume from a checkpoint/savepoint folder, or 'latest' = the newest "
        "complete checkpoint under flink.checkpoint.dir",
    )
    parser.add_argument(
        ALLOW_LOSS_FLAG,
        nargs="+",
        default=[],
        metavar="PIPELINE",
        help="with --restore: accept that these changed pipelines restart without their state "
        "(see --dry-run for what a change keeps)",
    )
    parser.add_argument(
        "--state-map",
        type=Path,
        metavar="FILE",
        help="the state-ids.json of the deployment to compare with / keep operator ids of "
        "(default: the snapshot's, else the newest under flink.checkpoint.dir)",
    )
    parser.add_argument(
        "--write-state-map",
        type=Path,
        metavar="FILE",
        help="with --dry-run: write the state map of this plan (deploy.py ships it in the zip)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    # The managed service may pass arguments of its own; ignore what we do not know.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        log.debug("ignoring arguments %s", unknown)
    return args


def quiet_logging() -> None:
    """--validate prints its verdict only: no progress lines."""
    for name in ("", *OWN_LOGGERS):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    setup_logging(args.verbose)
    if args.validate and not args.verbose:
        quiet_logging()
    return run(JobOptions(**vars(args)), started)


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
