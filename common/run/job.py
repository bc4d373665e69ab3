"""The job, from its options to an exit code: load → render → (plan | run), one statement set.

``streaming_job.py`` parses the flags and calls :func:`run`; everything the job does on the way
lives here or in the phase it belongs to (backfill and switch: ``common/run/backfill.py``).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.cli import ExitCode
from common.errors import ConfigError
from common.load.config import CONFIG_DIR, ProjectConfig, load_project, select_pipelines
from common.load.properties import CatalogSettings, RuntimeSettings, load_settings
from common.render.job_plan import JobPlan, build_plan
from common.run.backfill import backfill_overrides, record_switches
from common.run.kafka_access import KafkaAccessError, check_access, needs_check
from common.state.checkpoints import latest_checkpoint
from common.state.stable_ids import sink_changes
from common.state.state_restore import ALLOW_LOSS_FLAG, StateContext, find_state_map, load_previous

log = logging.getLogger(__name__)

JOB_NAME = "kafka-to-iceberg"


@dataclass(frozen=True)
class JobOptions:
    """What a run is asked to do (streaming_job.py's flags, docs/reference/cli.md)."""

    properties: str | None = None
    config_dir: Path = CONFIG_DIR
    bounded: bool = False
    summary: bool = False  # after a bounded local run, re-read every topic and count (common/run/record_summary.py)
    drain: bool = False
    backfill: str | None = None
    backfill_until: Path | None = None
    backfill_from: Path | None = None
    dry_run: bool = False
    validate: bool = False
    only: list[str] | None = None
    restore: str | None = None
    allow_state_loss: list[str] = field(default_factory=list)
    state_map: Path | None = None
    write_state_map: Path | None = None
    verbose: bool = False

    @property
    def planning_only(self) -> bool:
        return self.dry_run or self.validate


def state_context(
    options: JobOptions, settings: RuntimeSettings, project: ProjectConfig, restore: str | None
) -> StateContext:
    """The previous deployment's state map, and where this run keeps its own (common/state/state_restore.py)."""
    if options.backfill:  # a side run: no state to keep, and it must not replace the deployment's map
        return StateContext(savepoint_dir=f"{settings.flink.checkpoint_dir}/savepoints")
    found = options.state_map or find_state_map(
        restore, settings.flink.checkpoint_dir, settings.managed, options.planning_only
    )
    previous = load_previous(found)
    return StateContext(
        previous=previous,
        restoring=bool(restore),
        allowed_losses=tuple(options.allow_state_loss),
        checkpoint_dir=None if settings.managed else settings.flink.checkpoint_dir,
        savepoint_dir=f"{settings.flink.checkpoint_dir}/savepoints",
        on_new_pipelines=None
        if settings.managed or not restore
        else lambda names: record_switches(names, project, settings, restore, previous),
    )


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
    from common.load.partitioning import has_transform
    from common.redact import redact_sql

    out = sys.stdout
    for statement in plan.ddl():
        out.write(redact_sql(statement) + ";\n\n")
    for pipeline in plan.pipelines:
        if has_transform(pipeline.partition_by):  # the DDL cannot say it (render_sink_ddl)
            out.write(
                f"-- pipeline {pipeline.name}: its table is then given the partition spec "
                f"({', '.join(pipeline.partition_by)}) through Iceberg's API\n"
            )
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


def print_validated(plan: JobPlan, started: float) -> None:
    names = ", ".join(p.name for p in plan.pipelines)
    sys.stdout.write(
        f"OK: {len(plan.pipelines)} pipeline(s) checked (YAML, SQL, sink columns, changelog) "
        f"in {time.monotonic() - started:.1f} s: {names}\n"
    )


def run(options: JobOptions, started: float | None = None) -> int:
    """Load, render, then plan (--dry-run, --validate) or run the job; an ExitCode."""
    started = time.monotonic() if started is None else started
    if options.backfill:
        if options.restore:
            log.error(
                "bad configuration: %s",
                ConfigError("--backfill", options.backfill, "a backfill is a run of its own", "leave out --restore"),
            )
            return ExitCode.BAD_INPUT
        options = JobOptions(**{**vars(options), "bounded": True, "only": [options.backfill]})
    planning_only = options.planning_only
    try:
        settings = load_settings(options.properties)
        project = select_pipelines(load_project(options.config_dir, settings.environment), options.only)
        catalog = settings.catalog
        if planning_only:
            # Plan against a throw-away local catalog: no warehouse, no AWS.
            catalog = CatalogSettings(
                "hadoop", catalog.name, Path(tempfile.mkdtemp(prefix="dry-run-")).as_uri(), catalog.namespace
            )
        overrides = (
            backfill_overrides(options.backfill, project, settings, options.backfill_until, options.backfill_from)
            if options.backfill
            else None
        )
        plan = build_plan(
            project,
            settings.kafka,
            catalog,
            bounded=options.bounded,
            source_overrides=overrides,
            dead_letters=not options.backfill,
        )
        log.info(
            "loaded %d topic(s) and %d pipeline(s) from %s (environment %s); properties from %s",
            len(project.topics_in_use()),
            len(plan.pipelines),
            options.config_dir,
            project.environment or "default: no overlay",
            settings.source,
        )
        from common.run import flink_env, plan_check, py4j_errors, record_summary, runner  # deferred: imports PyFlink

        restore = restore_path(options.restore, settings)
        t_env = flink_env.create_table_env(
            settings,
            JOB_NAME,
            restore_from=restore,
            bounded=options.bounded and not planning_only,
            runs_job=not planning_only,
        )
        state = state_context(options, settings, project, restore)
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT

    try:
        if planning_only:
            explained = plan_check.check_plan(t_env, plan)
            if options.dry_run:
                print_dry_run(plan, explained)
                report_plan_diff(t_env, plan, state, options.write_state_map)
            else:
                print_validated(plan, started)
        else:
            if needs_check(settings.kafka):
                check_access(project.topics_in_use(), settings.kafka)
            try:
                runner.execute(
                    t_env,
                    plan,
                    wait=not settings.managed,
                    state=state,
                    drain_on_stop=options.bounded or options.drain,
                    # column names and types, which Flink's positional INSERT would accept
                    pre_submit=lambda: plan_check.check_pipelines(t_env, plan, optimize=False),
                )
            except Exception as exc:
                plan_check.explain_failure(t_env, plan, exc)  # a ConfigError naming the pipeline, if it can
                raise
            if options.summary and options.bounded and not settings.managed and not options.backfill:
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
