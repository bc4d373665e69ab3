"""Run phase, part 2: execute the DDL, put every INSERT in ONE statement set, explain or run it."""

from __future__ import annotations

import logging
import signal
import time
from typing import Callable

from common.errors import ConfigError
from common.redact import redact_sql
from common.render.job_plan import JobPlan
from common.run import compiled_plan, flink_env, sink_evolution
from common.run.changelog_check import check_changelog, compiled_sink_modes, sink_input_modes
from common.run.py4j_errors import is_planning_error, java_message, root_cause
from common.state import state_restore
from common.state.state_restore import StateContext

log = logging.getLogger(__name__)


def create_tables(t_env, plan: JobPlan) -> None:
    """Catalog, namespace, sources and sinks, in that order. A statement Flink refuses is
    reported as itself (not later, as a pipeline whose table is missing). Once the catalog
    exists, sinks that already exist are evolved to their declared schema, or refused
    (common/run/sink_evolution.py), before any sink DDL or INSERT is planned; after the DDL, a
    sink partitioned by an Iceberg transform gets its spec (which Flink DDL cannot declare)."""
    report = None
    for index, statement in enumerate(plan.ddl()):
        if index == len(plan.catalog_ddl):
            report = sink_evolution.evolve_sinks(t_env, plan)
        log.debug("executing DDL:\n%s", redact_sql(statement))
        try:
            t_env.execute_sql(statement)
        except Exception as exc:
            if not is_planning_error(exc):
                raise
            # the innermost cause too: "Could not execute CreateTable" alone hides an S3 403
            raise ConfigError(
                "generated DDL", statement.splitlines()[0].rstrip(" ("), java_message(exc) + root_cause(exc)
            ) from None
    if report is not None:
        sink_evolution.set_partition_specs(t_env, plan, report)


def statement_set(t_env, plan: JobPlan):
    """One StatementSet holding every pipeline's INSERT: one Flink job."""
    stmt_set = t_env.create_statement_set()
    for pipeline in plan.pipelines:
        stmt_set.add_insert_sql(pipeline.insert_sql)
    return stmt_set


def explain(t_env, plan: JobPlan) -> str:
    """Create the tables; the optimized plan of the whole job, with each operator's changelog
    mode, refusing updates into append tables (--dry-run, --validate)."""
    from pyflink.table.explain_detail import ExplainDetail

    create_tables(t_env, plan)
    explained = statement_set(t_env, plan).explain(ExplainDetail.CHANGELOG_MODE)
    check_changelog(plan, sink_input_modes(explained))
    return explained


def execute(
    t_env,
    plan: JobPlan,
    wait: bool,
    state: StateContext = StateContext(),
    drain_on_stop: bool = False,
    pre_submit: Callable[[], None] | None = None,
) -> None:
    """Submit the job; locally, wait until it ends or is stopped.

    A local run stops on SIGTERM / Ctrl-C with a savepoint: ``drain_on_stop`` first advances
    event time to the end, so every open window and session is emitted (use it when the
    input is complete); otherwise windows stay open in the savepoint, to resume with
    ``--restore``. ``pre_submit`` runs once the tables exist and the plan passed, before submit.

    The job runs as a compiled plan whose operator ids are kept stable against the previous
    deployment's (common/state/stable_ids.py), so unchanged pipelines keep their state.
    """
    create_tables(t_env, plan)
    stmt_set = statement_set(t_env, plan)
    if pre_submit:
        pre_submit()
    # planned once: the compiled plan answers the changelog check and is what runs
    compiled, state_map, plan_diff = compiled_plan.stable_plan(stmt_set, plan, state.previous)
    check_changelog(plan, compiled_sink_modes(compiled))
    for line in plan_diff.lines():
        log.info("plan: %s", line)
    if state_restore.restore_settings(plan_diff, state.restoring, state.allowed_losses):
        t_env.get_config().set("execution.state-recovery.ignore-unclaimed-state", "true")
    added = [p.name for p in plan_diff.pipelines if p.status == "new"]
    if state.on_new_pipelines and state.restoring and added and not plan_diff.first_deploy:
        state.on_new_pipelines(added)
    started = time.monotonic()
    result = compiled_plan.execute_plan(t_env, compiled)
    job_client = result.get_job_client()
    job_id = str(job_client.get_job_id()) if job_client else "?"
    log.info(
        "submitted job %s with %d pipeline(s): %s",
        job_id,
        len(plan.pipelines),
        ", ".join(p.name for p in plan.pipelines),
    )
    if wait:  # a local run: its mini cluster's web UI
        flink_env.log_web_ui(job_client)
    if state.checkpoint_dir and job_client:
        state_restore.keep_state_map(state_map, state.checkpoint_dir, job_id)
    if not wait:
        return
    # Poll the Java future: PyFlink's blocking wait cannot be interrupted by a signal, and the
    # local mini cluster is gone (status calls fail) as soon as the job has ended.
    execution = job_client._j_job_client.getJobExecutionResult()
    with StopRequest() as stop:
        while not execution.isDone():
            if stop.requested and not stop.handled:
                stop.handled = True
                log.info("stopping job %s with a savepoint%s", job_id, " (draining windows)" if drain_on_stop else "")
                savepoint = stop_with_savepoint(job_client, drain_on_stop, state.savepoint_dir)
                if state.checkpoint_dir:
                    state_restore.copy_into_savepoint(state.checkpoint_dir, job_id, savepoint)
                log.info("savepoint written to %s", savepoint)
            time.sleep(0.2)
    execution.get()  # raises if the job failed
    log.info("job %s finished in %.1f s", job_id, time.monotonic() - started)


def stop_with_savepoint(job_client, drain: bool, savepoint_dir: str | None) -> str:
    """JobClient.stopWithSavepoint. PyFlink 2.2's wrapper still calls the two-argument Java
    method Flink 2 removed, so this calls the Java client with the format type itself."""
    from pyflink.java_gateway import get_gateway

    canonical = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    return str(job_client._j_job_client.stopWithSavepoint(drain, savepoint_dir, canonical).get())


class StopRequest:
    """Turns SIGTERM / SIGINT into a flag the wait loop acts on (no Flink call in a handler)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self.handled = False
        self._previous: dict = {}

    def _on_signal(self, signum, _frame) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self.requested = True

    def __enter__(self) -> "StopRequest":
        self._previous = {s: signal.signal(s, self._on_signal) for s in self.SIGNALS}
        return self

    def __exit__(self, *_exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
