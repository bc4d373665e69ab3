"""Plan check: what only the planner knows, reported per pipeline with the line to fix.

Runs after load (YAML) and render (SQL text), against the real table definitions in a
TableEnvironment (a throw-away local catalog for ``--dry-run`` / ``--validate``):

- every query parses and validates: the planner's message, its line and that line's text
  (the YAML or .sql line for a SQL-only pipeline), not a py4j stack;
- the SELECT's columns match the declared sink schema: count, names, and types as Flink
  prints them (a type must cast implicitly to the sink's, Flink's own rule for INSERT);
- a window is over a time attribute (a column that carries a watermark);
- an updating result only goes to a table with a primary key (common/run/changelog_check.py,
  run by runner.explain).

Flink finds some of this itself when it plans the whole statement set, but its errors do
not say which pipeline they are about; when planning fails, each pipeline is planned on its
own to find the one to blame.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from common.errors import ConfigError
from common.load.config import TOPICS_FILE, TRANSFORMATIONS_FILE, Origin
from common.load.source_columns import VIEW_METADATA
from common.render.job_plan import JobPlan, PipelinePlan, Query
from common.run import py4j_errors, runner
from common.run.py4j_errors import is_planning_error

log = logging.getLogger(__name__)

_POSITION = re.compile(r"line (\d+), column (\d+)")
_DESCRIPTOR = re.compile(r"DESCRIPTOR\(_UTF-16LE'([^']+)'\)")
_NOT_TIME_ATTRIBUTE = re.compile(r"time attribute", re.I)
_UNKNOWN_COLUMN = re.compile(r"Column '([^']+)' not found")
_METADATA_OF = {column: name for name, columns in VIEW_METADATA.items() for column in columns}


def check_plan(t_env, plan: JobPlan) -> str:
    """Create the tables, plan the whole statement set and check each pipeline; the optimized plan."""
    try:
        explained = runner.explain(t_env, plan)
    except ConfigError:
        raise
    except Exception as exc:
        explain_failure(t_env, plan, exc)
        raise
    check_pipelines(t_env, plan, optimize=False)  # names and types Flink's positional INSERT accepts
    return explained


def explain_failure(t_env, plan: JobPlan, exc: Exception) -> None:
    """After a planning failure of the whole job: raise ConfigError naming the pipeline at fault.
    If the diagnosis itself fails, the caller reports the original error."""
    if not is_planning_error(exc):
        return
    try:
        check_pipelines(t_env, plan, optimize=True)
    except ConfigError:
        raise
    except Exception:
        log.debug("could not tell which pipeline the planning error is about", exc_info=True)


def check_pipelines(t_env, plan: JobPlan, optimize: bool) -> None:
    """Each pipeline's queries, then its columns against the sink; optimize=True also plans each
    SELECT alone (what finds a window without a time attribute)."""
    for pipeline in plan.pipelines:
        if not pipeline.queries:  # the job's own pipelines (dead letters) declare no queries
            continue
        tables = [_sql_query(t_env, pipeline, query) for query in pipeline.queries]
        if pipeline.sink_schema:
            check_columns(pipeline, _schema(tables[-1]))
        if optimize:
            _optimize(pipeline, tables[-1])


def _origin(pipeline: PipelinePlan) -> Origin:
    return pipeline.origin or Origin(TRANSFORMATIONS_FILE, f"pipeline {pipeline.name}")


def _sql_query(t_env, pipeline: PipelinePlan, query: Query):
    try:
        return t_env.sql_query(query.sql)
    except Exception as exc:
        if not is_planning_error(exc):
            raise
        raise sql_error(pipeline, query, py4j_errors.java_message(exc)) from None


def sql_error(pipeline: PipelinePlan, query: Query, message: str) -> ConfigError:
    """The planner's message, the line it names and that line's text; for SQL-only pipelines the
    error points at the YAML (or .sql) line itself."""
    verb = "parse" if message.startswith("SqlParserException") else "validate"
    origin = _origin(pipeline)
    position = _POSITION.search(message)
    problem = f"the {query.kind} does not {verb}: {message}"
    if position:
        number = int(position.group(1))
        lines = query.sql.splitlines()
        if 0 < number <= len(lines):
            problem += f"\n    {query.kind} line {number}: {lines[number - 1].strip()}"
        written = query.written
        if written and written.file_line(number):
            origin = Origin(written.file, origin.key, written.file_line(number))
    unknown = _UNKNOWN_COLUMN.search(message)
    if unknown and unknown.group(1) in _METADATA_OF:  # opt-in: say where to opt in
        problem += (
            f"\n    `{unknown.group(1)}` is Kafka metadata: a topic's view has it with "
            f"`metadata: [{_METADATA_OF[unknown.group(1)]}]` in {TOPICS_FILE}"
        )
    return origin.error(problem)


def _schema(table) -> list[tuple[str, Any]]:
    """(name, Java LogicalType) of each column the query yields."""
    return [(c.getName(), c.getDataType().getLogicalType()) for c in table._j_table.getResolvedSchema().getColumns()]


def _java_types():
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    loader = jvm.Thread.currentThread().getContextClassLoader()
    utils = jvm.org.apache.flink.table.types.logical.utils
    return (lambda text: utils.LogicalTypeParser.parse(text, loader)), utils.LogicalTypeCasts.supportsImplicitCast


def check_columns(pipeline: PipelinePlan, query: list[tuple[str, Any]]) -> None:
    """Count, names and types of the SELECT against the declared sink schema; every difference."""
    parse, fits = _java_types()
    sink = [(name, parse(text)) for name, text in pipeline.sink_schema]
    castable = [bool(fits(q.copy(True), s.copy(True))) for (_, q), (_, s) in zip(query, sink)]
    printed_query, printed_sink = (
        [(name, logical.asSummaryString()) for name, logical in columns] for columns in (query, sink)
    )
    problems = column_problems(printed_query, printed_sink, castable)
    if problems:
        raise _origin(pipeline).error(
            f"the SELECT does not match sink table {pipeline.sink_table}:\n  - " + "\n  - ".join(problems)
        )


def column_problems(query: list[tuple[str, str]], sink: list[tuple[str, str]], castable: list[bool]) -> list[str]:
    """What differs between the SELECT's columns and the sink's (types as Flink prints them;
    castable[i]: Flink casts column i implicitly, nullability aside)."""
    if len(query) != len(sink):
        names = [n for n, _ in query]
        missing = [n for n, _ in sink if n not in names]
        extra = [n for n in names if n not in dict(sink)]
        text = f"the SELECT yields {len(query)} column(s), the sink declares {len(sink)}"
        text += f"; missing: {', '.join(missing)}" if missing else ""
        text += f"; not in the sink: {', '.join(extra)}" if extra else ""
        return [text]
    problems = []
    for i, ((q_name, q_type), (s_name, s_type), ok) in enumerate(zip(query, sink, castable), 1):
        if q_name != s_name:
            hint = f" (alias the expression: AS `{s_name}`)" if q_name.startswith("EXPR$") else ""
            problems.append(f"column {i}: the SELECT names it '{q_name}', the sink declares '{s_name}'{hint}")
        if not ok:
            problems.append(
                f"column {i} '{s_name}': the SELECT gives {q_type}, the sink declares {s_type} "
                "(not an implicit cast: CAST it in the SELECT or change the sink type)"
            )
    return problems


def _optimize(pipeline: PipelinePlan, table) -> None:
    try:
        table.explain()
    except Exception as exc:
        if not is_planning_error(exc):
            raise
        message = py4j_errors.java_message(exc)
        if _NOT_TIME_ATTRIBUTE.search(message):
            column = _DESCRIPTOR.search(str(exc))
            name = f"`{column.group(1)}`" if column else "its time column"
            raise _origin(pipeline).error(
                f"a window over {name}, which is not a time attribute (no watermark): window over a source's "
                "`event_time` (it carries the watermark), or a view column passed through unchanged (a CAST or "
                f"an aggregation drops the time attribute). Flink: {message}"
            ) from None
        raise _origin(pipeline).error(f"the SELECT cannot be planned: {message}") from None
