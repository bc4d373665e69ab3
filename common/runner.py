"""Run phase, part 2: execute the DDL, put every INSERT in ONE statement set, explain or run it."""

from __future__ import annotations

import logging
import re
import time

from common.changelog_check import check_changelog
from common.job_plan import JobPlan

log = logging.getLogger(__name__)

_JAVA_ERROR = re.compile(r"(org\.apache\.flink\.[\w.]*(?:Exception|Error)): (.*)")


def java_message(exc: Exception) -> str:
    """The first Flink exception line of a py4j error, not the whole Java stack."""
    text = str(exc)
    match = _JAVA_ERROR.search(text)
    return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}" if match else text.splitlines()[0]


def create_tables(t_env, plan: JobPlan) -> None:
    """Catalog, namespace, sources and sinks, in that order."""
    for statement in plan.ddl():
        log.debug("executing DDL:\n%s", statement)
        t_env.execute_sql(statement)


def statement_set(t_env, plan: JobPlan):
    """One StatementSet holding every pipeline's INSERT: one Flink job."""
    stmt_set = t_env.create_statement_set()
    for pipeline in plan.pipelines:
        stmt_set.add_insert_sql(pipeline.insert_sql)
    return stmt_set


def checked_statement_set(t_env, plan: JobPlan):
    """Create the tables, then the statement set and its plan, refusing updates into append tables."""
    from pyflink.table.explain_detail import ExplainDetail

    create_tables(t_env, plan)
    stmt_set = statement_set(t_env, plan)
    explained = stmt_set.explain(ExplainDetail.CHANGELOG_MODE)
    check_changelog(plan, explained)
    return stmt_set, explained


def explain(t_env, plan: JobPlan) -> str:
    """The optimized plan of the whole job, with each operator's changelog mode."""
    return checked_statement_set(t_env, plan)[1]


def execute(t_env, plan: JobPlan, wait: bool) -> None:
    """Submit the job; locally wait until it ends (a bounded run) or is cancelled."""
    stmt_set, _ = checked_statement_set(t_env, plan)
    started = time.monotonic()
    result = stmt_set.execute()
    job_client = result.get_job_client()
    job_id = job_client.get_job_id() if job_client else "?"
    log.info("submitted job %s with %d pipeline(s): %s", job_id, len(plan.pipelines),
             ", ".join(p.name for p in plan.pipelines))
    if wait:
        result.wait()
        log.info("job %s finished in %.1f s", job_id, time.monotonic() - started)
