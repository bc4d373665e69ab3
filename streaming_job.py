"""Config-driven streaming job: Kafka topics -> pipelines -> Iceberg tables, as ONE Flink job.

load (YAML + runtime properties) -> render (DDL + INSERTs) -> run (one statement set).
``--validate`` (for CI) and ``--dry-run`` stop after planning, against a throw-away catalog.
Exit codes: 0 success, 1 the Flink job failed, 2 bad configuration or SQL (nothing was started).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

# The managed service runs this file from the unpacked zip; make its packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.config import CONFIG_DIR, ProjectConfig, load_project  # noqa: E402
from common.errors import ConfigError  # noqa: E402
from common.job_plan import JobPlan, build_plan  # noqa: E402
from common.logs import OWN_LOGGERS, setup_logging  # noqa: E402
from common.checkpoints import latest_checkpoint  # noqa: E402
from common.properties import CatalogSettings, RuntimeSettings, load_settings  # noqa: E402

log = logging.getLogger("streaming_job")

EXIT_OK, EXIT_JOB_FAILED, EXIT_BAD_CONFIG = 0, 1, 2
JOB_NAME = "kafka-to-iceberg"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run every enabled pipeline of config/transformations.yaml as one Flink job.",
        epilog="Exit codes: 0 ok, 1 job failed, 2 bad configuration or SQL (found before anything ran).",
    )
    parser.add_argument("--properties", help="runtime properties JSON (default: $APP_PROPERTIES_FILE, "
                        "/etc/flink/application_properties.json on the managed service, else ./application_properties.json)")
    parser.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml and transformations.yaml")
    parser.add_argument("--bounded", action="store_true",
                        help="read each topic up to its latest offsets at start, then finish (tests, demo, backfill)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the DDL and the optimized plan; needs no Kafka, warehouse or AWS")
    parser.add_argument("--validate", action="store_true",
                        help="check config, SQL and plan, print one line per problem (or OK); for CI, "
                             "needs no Kafka, warehouse or AWS")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these pipelines")
    parser.add_argument("--restore", metavar="PATH|latest",
                        help="local runs: resume from a checkpoint/savepoint folder, or 'latest' = the newest "
                             "complete checkpoint under flink.checkpoint.dir")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    # The managed service may pass arguments of its own; ignore what we do not know.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        logging.getLogger("streaming_job").debug("ignoring arguments %s", unknown)
    return args


def select_pipelines(project: ProjectConfig, only: list[str] | None) -> ProjectConfig:
    if not only:
        return project
    known = [p.name for p in project.pipelines]
    missing = [n for n in only if n not in known]
    if missing:
        raise ConfigError("--only", ",".join(missing), "not an enabled pipeline", ", ".join(known))
    return dataclasses.replace(project, pipelines=tuple(p for p in project.pipelines if p.name in only))


def restore_path(restore: str | None, settings: RuntimeSettings) -> str | None:
    """The checkpoint to resume from: as given, or the newest complete one for 'latest'."""
    if restore != "latest":
        return restore
    latest = latest_checkpoint(settings.flink.checkpoint_dir)
    if latest is None:
        raise ConfigError("--restore", "latest", f"no complete checkpoint under {settings.flink.checkpoint_dir}")
    return latest.as_uri()


def print_dry_run(plan: JobPlan, explained: str) -> None:
    """The dry run's product is text on stdout: the DDL and the plan."""
    out = sys.stdout
    for statement in plan.ddl():
        out.write(statement + ";\n\n")
    for pipeline in plan.pipelines:
        out.write(f"-- pipeline {pipeline.name}\n{pipeline.insert_sql};\n\n")
    out.write(explained + "\n")


def quiet_logging() -> None:
    """--validate prints its verdict only: no progress lines."""
    for name in ("", *OWN_LOGGERS):
        logging.getLogger(name).setLevel(logging.WARNING)


def print_validated(plan: JobPlan, started: float) -> None:
    names = ", ".join(p.name for p in plan.pipelines)
    sys.stdout.write(f"OK: {len(plan.pipelines)} pipeline(s) checked (YAML, SQL, sink columns, changelog) "
                     f"in {time.monotonic() - started:.1f} s: {names}\n")


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    setup_logging(args.verbose)
    planning_only = args.dry_run or args.validate
    if args.validate and not args.verbose:
        quiet_logging()
    try:
        settings = load_settings(args.properties)
        project = select_pipelines(load_project(args.config_dir, settings.environment), args.only)
        catalog = settings.catalog
        if planning_only:
            # Plan against a throw-away local catalog: no warehouse, no AWS.
            catalog = CatalogSettings("hadoop", catalog.name, Path(tempfile.mkdtemp(prefix="dry-run-")).as_uri(),
                                      catalog.namespace)
        plan = build_plan(project, settings.kafka, catalog, bounded=args.bounded)
        log.info("loaded %d topic(s) and %d pipeline(s) from %s (environment %s); properties from %s",
                 len(project.topics_in_use()), len(plan.pipelines), args.config_dir,
                 project.environment or "default: no overlay", settings.source)
        from common import flink_env, plan_check, record_summary, runner  # deferred: imports PyFlink

        t_env = flink_env.create_table_env(settings, JOB_NAME, restore_from=restore_path(args.restore, settings))
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return EXIT_BAD_CONFIG

    try:
        if planning_only:
            explained = plan_check.check_plan(t_env, plan)
            if args.dry_run:
                print_dry_run(plan, explained)
            else:
                print_validated(plan, started)
        else:
            try:
                runner.execute(t_env, plan, wait=not settings.managed, drain_on_stop=args.bounded,
                               savepoint_dir=f"{settings.flink.checkpoint_dir}/savepoints",
                               # column names and types, which Flink's positional INSERT would accept
                               pre_submit=lambda: plan_check.check_pipelines(t_env, plan, optimize=False))
            except Exception as exc:
                plan_check.explain_failure(t_env, plan, exc)  # a ConfigError naming the pipeline, if it can
                raise
            if args.bounded and not settings.managed:
                record_summary.summarize(settings, project.topics_in_use())
    except ConfigError as exc:  # found by planning: still nothing was submitted
        log.error("bad configuration: %s", exc)
        return EXIT_BAD_CONFIG
    except Exception as exc:  # py4j wraps every Java failure; report it briefly, details at debug
        if runner.is_planning_error(exc):  # the SQL, not the job: nothing was submitted
            log.error("bad configuration: the plan failed: %s", runner.java_message(exc))
            log.debug("details", exc_info=True)
            return EXIT_BAD_CONFIG
        log.error("job failed: %s", runner.java_message(exc))
        log.debug("details", exc_info=True)
        return EXIT_JOB_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
