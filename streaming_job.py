"""Config-driven streaming job: Kafka topics -> pipelines -> Iceberg tables, as ONE Flink job.

load (YAML + runtime properties) -> render (DDL + INSERTs) -> run (one statement set).
Exit codes: 0 success, 1 the Flink job failed, 2 bad configuration (nothing was started).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
from pathlib import Path

# The managed service runs this file from the unpacked zip; make its packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.config import CONFIG_DIR, ProjectConfig, load_project  # noqa: E402
from common.errors import ConfigError  # noqa: E402
from common.job_plan import JobPlan, build_plan  # noqa: E402
from common.logs import setup_logging  # noqa: E402
from common.properties import CatalogSettings, load_settings  # noqa: E402

log = logging.getLogger("streaming_job")

EXIT_OK, EXIT_JOB_FAILED, EXIT_BAD_CONFIG = 0, 1, 2
JOB_NAME = "kafka-to-iceberg"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run every enabled pipeline of config/transformations.yaml as one Flink job.",
        epilog="Exit codes: 0 ok, 1 job failed, 2 bad configuration.",
    )
    parser.add_argument("--properties", help="runtime properties JSON (default: $APP_PROPERTIES_FILE, "
                        "/etc/flink/application_properties.json on the managed service, else ./application_properties.json)")
    parser.add_argument("--config-dir", type=Path, default=CONFIG_DIR, help="folder with topics.yaml and transformations.yaml")
    parser.add_argument("--bounded", action="store_true",
                        help="read each topic up to its latest offsets at start, then finish (tests, demo, backfill)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the DDL and the optimized plan; needs no Kafka, warehouse or AWS")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these pipelines")
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


def print_dry_run(plan: JobPlan, explained: str) -> None:
    """The dry run's product is text on stdout: the DDL and the plan."""
    out = sys.stdout
    for statement in plan.ddl():
        out.write(statement + ";\n\n")
    for pipeline in plan.pipelines:
        out.write(f"-- pipeline {pipeline.name}\n{pipeline.insert_sql};\n\n")
    out.write(explained + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    try:
        settings = load_settings(args.properties)
        project = select_pipelines(load_project(args.config_dir), args.only)
        catalog = settings.catalog
        if args.dry_run:
            # Plan against a throw-away local catalog: no warehouse, no AWS.
            catalog = CatalogSettings("hadoop", catalog.name, Path(tempfile.mkdtemp(prefix="dry-run-")).as_uri(),
                                      catalog.namespace)
        plan = build_plan(project, settings.kafka, catalog, bounded=args.bounded)
        log.info("loaded %d topic(s) and %d pipeline(s) from %s; properties from %s",
                 len(project.topics_in_use()), len(plan.pipelines), args.config_dir, settings.source)
        from common import flink_env, record_summary, runner  # deferred: imports PyFlink

        t_env = flink_env.create_table_env(settings, JOB_NAME)
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return EXIT_BAD_CONFIG

    try:
        if args.dry_run:
            print_dry_run(plan, runner.explain(t_env, plan))
        else:
            runner.execute(t_env, plan, wait=not settings.managed)
            if args.bounded and not settings.managed:
                record_summary.summarize(settings, project.topics_in_use())
    except ConfigError as exc:  # found by planning: still nothing was submitted
        log.error("bad configuration: %s", exc)
        return EXIT_BAD_CONFIG
    except Exception as exc:  # py4j wraps every Java failure; report it briefly, details at debug
        log.error("job failed: %s", runner.java_message(exc))
        log.debug("details", exc_info=True)
        return EXIT_JOB_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
