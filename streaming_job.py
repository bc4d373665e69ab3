"""Config-driven streaming job: Kafka topics -> pipelines -> Iceberg tables, as ONE Flink job.

load (YAML + runtime properties) -> render (DDL + INSERTs) -> run (one statement set).
``--validate`` (for CI) and ``--dry-run`` stop after planning, against a throw-away catalog.
Exit codes: 0 success, 1 the Flink job failed, 2 bad configuration or SQL, 3 the Kafka brokers
refused the job's client or could not be reached (2 and 3: nothing was started).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

# The managed service runs this file from the unpacked zip; make its packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cli
from common.cli import ExitCode  # noqa: E402
from common.errors import ConfigError  # noqa: E402
from common.load.config import CONFIG_DIR, ProjectConfig, load_project, select_pipelines  # noqa: E402
from common.load.properties import CatalogSettings, RuntimeSettings, load_settings  # noqa: E402
from common.logs import OWN_LOGGERS, setup_logging  # noqa: E402
from common.render.job_plan import JobPlan, build_plan  # noqa: E402
from common.run.kafka_access import KafkaAccessError, check_access, needs_check  # noqa: E402
from common.state import switch_offsets  # noqa: E402
from common.state.checkpoints import latest_checkpoint  # noqa: E402
from common.state.stable_ids import StateMap, sink_changes  # noqa: E402
from common.state.state_restore import ALLOW_LOSS_FLAG, StateContext, find_state_map, load_previous  # noqa: E402

log = logging.getLogger("streaming_job")

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
    parser.add_argument("--drain", action="store_true",
                        help="local unbounded runs: on SIGTERM / Ctrl-C, emit every open window and session "
                             "before the savepoint (the input is complete)")
    parser.add_argument("--backfill", metavar="PIPELINE",
                        help="fill a new pipeline's history: a bounded run of it alone, from the earliest offset up "
                             "to the switch offsets its restore recorded (README: Changing the pipelines)")
    parser.add_argument("--backfill-until", type=Path, metavar="FILE",
                        help="offsets file where the backfill stops (default: <flink.checkpoint.dir>/switch-<pipeline>.json)")
    parser.add_argument("--backfill-from", type=Path, metavar="FILE",
                        help="offsets file where the backfill starts (default: each partition's earliest offset)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the DDL and the optimized plan; needs no Kafka, warehouse or AWS")
    parser.add_argument("--validate", action="store_true",
                        help="check config, SQL and plan, print one line per problem (or OK); for CI, "
                             "needs no Kafka, warehouse or AWS")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these pipelines")
    parser.add_argument("--restore", metavar="PATH|latest",
                        help="local runs: resume from a checkpoint/savepoint folder, or 'latest' = the newest "
                             "complete checkpoint under flink.checkpoint.dir")
    parser.add_argument(ALLOW_LOSS_FLAG, nargs="+", default=[], metavar="PIPELINE",
                        help="with --restore: accept that these changed pipelines restart without their state "
                             "(see --dry-run for what a change keeps)")
    parser.add_argument("--state-map", type=Path, metavar="FILE",
                        help="the state-ids.json of the deployment to compare with / keep operator ids of "
                             "(default: the snapshot's, else the newest under flink.checkpoint.dir)")
    parser.add_argument("--write-state-map", type=Path, metavar="FILE",
                        help="with --dry-run: write the state map of this plan (deploy.py ships it in the zip)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    # The managed service may pass arguments of its own; ignore what we do not know.
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        logging.getLogger("streaming_job").debug("ignoring arguments %s", unknown)
    return args


def backfill_overrides(args: argparse.Namespace, project: ProjectConfig,
                       settings: RuntimeSettings) -> dict[str, dict[str, str]]:
    """The backfill's sources: from earliest (or --backfill-from) up to the switch offsets."""
    until_file = args.backfill_until or switch_offsets.switch_file(settings.flink.checkpoint_dir, args.backfill)
    if not until_file.is_file():
        raise ConfigError("--backfill-until", str(until_file), "no switch offsets file",
                          "the switch-<pipeline>.json a restore with the new pipeline wrote, or a file of your own")
    until = switch_offsets.read_offsets(until_file, "--backfill-until")
    start = switch_offsets.read_offsets(args.backfill_from, "--backfill-from") if args.backfill_from else None
    return switch_offsets.source_overrides(args.backfill, project.topics_in_use(), until, start)


def record_switches(names: list[str], project: ProjectConfig, settings: RuntimeSettings, restore: str,
                    previous: StateMap | None) -> None:
    """A restore that adds pipelines: keep each one's switch offsets (the snapshot's Kafka source
    state of its topics) for its backfill."""
    from common.render.kafka_sources import records_table
    from common.run import switch_point
    from common.run.flink_env import local_jar
    from common.state.stable_ids import SOURCE

    if previous is None:
        log.warning("no state map beside %s: the switch offsets of %s are not recorded", restore, ", ".join(names))
        return
    sources = {n.table: n.id for n in previous.nodes if n.kind == SOURCE}
    by_name = {p.name: p for p in project.pipelines}
    topics = {t.key: t for t in project.topics_in_use()}
    read: dict[str, dict[int, int]] = {}
    for name in names:
        offsets = {}
        for topic in (topics[k] for k in by_name[name].topics):
            if topic.topic_name not in read:
                source_id = sources.get(records_table(topic).replace("`", ""))
                if source_id is None:  # the topic is new too: nothing before the switch
                    log.info("%s read no topic %s before the switch: nothing to backfill there", name,
                             topic.topic_name)
                    continue
                state = switch_point.snapshot_offsets(restore, f"{source_id}_source", local_jar(settings).as_uri())
                read[topic.topic_name] = switch_point.resolve_markers(settings.kafka, topic.topic_name,
                                                                  state.get(topic.topic_name, {}))
            offsets[topic.topic_name] = read[topic.topic_name]
        switch_offsets.record_switch(settings.flink.checkpoint_dir, name, offsets)


def state_context(args: argparse.Namespace, settings: RuntimeSettings, project: ProjectConfig,
                  restore: str | None, planning_only: bool) -> StateContext:
    """The previous deployment's state map, and where this run keeps its own (common/state/state_restore.py)."""
    if args.backfill:  # a side run: no state to keep, and it must not replace the deployment's map
        return StateContext(savepoint_dir=f"{settings.flink.checkpoint_dir}/savepoints")
    found = args.state_map or find_state_map(restore, settings.flink.checkpoint_dir, settings.managed, planning_only)
    previous = load_previous(found)
    return StateContext(
        previous=previous, restoring=bool(restore), allowed_losses=tuple(args.allow_state_loss),
        checkpoint_dir=None if settings.managed else settings.flink.checkpoint_dir,
        savepoint_dir=f"{settings.flink.checkpoint_dir}/savepoints",
        on_new_pipelines=None if settings.managed or not restore else
        lambda names: record_switches(names, project, settings, restore, previous))


def restore_path(restore: str | None, settings: RuntimeSettings) -> str | None:
    """The checkpoint to resume from: as given, or the newest complete one for 'latest'."""
    if restore != "latest":
        return restore
    latest = latest_checkpoint(settings.flink.checkpoint_dir)
    if latest is None:
        raise ConfigError("--restore", "latest", f"no complete checkpoint under {settings.flink.checkpoint_dir}")
    return latest.as_uri()


def print_dry_run(plan: JobPlan, explained: str) -> None:
    """The dry run's product is text on stdout: the DDL and the plan, credential-like option
    values hidden (common/redact.py: catalog options, Kafka client properties)."""
    from common.redact import redact_sql

    out = sys.stdout
    for statement in plan.ddl():
        out.write(redact_sql(statement) + ";\n\n")
    for pipeline in plan.pipelines:
        out.write(f"-- pipeline {pipeline.name}\n{pipeline.insert_sql};\n\n")
    out.write(redact_sql(explained) + "\n")


def report_plan_diff(t_env, plan: JobPlan, state: StateContext, write_to: Path | None) -> None:
    """What a restore from the previous deployment keeps: per pipeline, then per sink table."""
    from common.run import compiled_plan, runner

    _, state_map, diff = compiled_plan.stable_plan(runner.statement_set(t_env, plan), plan, state.previous)
    out = sys.stdout
    out.write("-- plan diff against the previous deployment\n")
    for line in diff.lines():
        out.write(f"--   {line}\n")
    for line in sink_changes(state.previous, state_map):
        out.write(f"--   {line}\n")
    if diff.state_lost:
        out.write(f"-- restoring needs {ALLOW_LOSS_FLAG} {' '.join(diff.state_lost)}\n")
    if write_to:
        write_to.write_text(state_map.to_json())
        log.info("state map written to %s", write_to)


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
        if args.backfill:
            if args.restore:
                raise ConfigError("--backfill", args.backfill, "a backfill is a run of its own", "leave out --restore")
            args.bounded, args.only = True, [args.backfill]
        project = select_pipelines(load_project(args.config_dir, settings.environment), args.only)
        catalog = settings.catalog
        if planning_only:
            # Plan against a throw-away local catalog: no warehouse, no AWS.
            catalog = CatalogSettings("hadoop", catalog.name, Path(tempfile.mkdtemp(prefix="dry-run-")).as_uri(),
                                      catalog.namespace)
        overrides = backfill_overrides(args, project, settings) if args.backfill else None
        plan = build_plan(project, settings.kafka, catalog, bounded=args.bounded, source_overrides=overrides,
                          dead_letters=not args.backfill)
        log.info("loaded %d topic(s) and %d pipeline(s) from %s (environment %s); properties from %s",
                 len(project.topics_in_use()), len(plan.pipelines), args.config_dir,
                 project.environment or "default: no overlay", settings.source)
        from common.run import flink_env, plan_check, py4j_errors, record_summary, runner  # deferred: imports PyFlink

        restore = restore_path(args.restore, settings)
        t_env = flink_env.create_table_env(settings, JOB_NAME, restore_from=restore,
                                           bounded=args.bounded and not planning_only, runs_job=not planning_only)
        state = state_context(args, settings, project, restore, planning_only)
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT

    try:
        if planning_only:
            explained = plan_check.check_plan(t_env, plan)
            if args.dry_run:
                print_dry_run(plan, explained)
                report_plan_diff(t_env, plan, state, args.write_state_map)
            else:
                print_validated(plan, started)
        else:
            if needs_check(settings.kafka):
                check_access(project.topics_in_use(), settings.kafka)
            try:
                runner.execute(t_env, plan, wait=not settings.managed, state=state,
                               drain_on_stop=args.bounded or args.drain,
                               # column names and types, which Flink's positional INSERT would accept
                               pre_submit=lambda: plan_check.check_pipelines(t_env, plan, optimize=False))
            except Exception as exc:
                plan_check.explain_failure(t_env, plan, exc)  # a ConfigError naming the pipeline, if it can
                raise
            if args.bounded and not settings.managed and not args.backfill:
                record_summary.summarize(settings, project.topics_in_use())
    except ConfigError as exc:  # found by planning: still nothing was submitted
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT
    except KafkaAccessError as exc:  # still nothing was submitted
        for line in str(exc).splitlines():
            log.error("Kafka access: %s", line)
        return ExitCode.CHECK_FAILED
    except Exception as exc:  # py4j wraps every Java failure; report it briefly, details at debug
        if py4j_errors.is_planning_error(exc):  # the SQL, not the job: nothing was submitted
            log.error("bad configuration: the plan failed: %s", py4j_errors.java_message(exc))
            log.debug("details", exc_info=True)
            return ExitCode.BAD_INPUT
        log.error("job failed: %s", py4j_errors.java_message(exc))
        log.debug("details", exc_info=True)
        return ExitCode.FAILED
    return ExitCode.OK


if __name__ == "__main__":
    cli.run(main)
