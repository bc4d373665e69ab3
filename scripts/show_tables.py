"""Show each Iceberg table of the local warehouse as an aligned table: its row count, its
newest event time (by the job's freshness rule) and its first rows."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from typing import Any

from common import cli
from common.cli import ExitCode
from common.errors import ConfigError
from common.load.properties import load_settings
from common.logs import setup_logging
from common.ops.local_warehouse import open_table, table_names
from common.ops.table_status import table_status

log = logging.getLogger(__name__)
CELL_CHARS = 32  # a longer value (a dead letter's raw bytes, an error text) is cut with "…"


def cell(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ", timespec="milliseconds")
    elif isinstance(value, bytes):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def render_table(name: str, table: Any, rows: int) -> Any:
    """One rich Table: the title carries the row count and the newest event time."""
    from rich.table import Table

    status = table_status(table, name)
    newest = status.newest_event_time.isoformat(timespec="milliseconds") if status.newest_event_time else "-"
    arrow = table.scan(limit=rows).to_arrow()
    shown = Table(
        title=f"{name}: {status.rows or 0:,} rows, newest {status.event_time_column or 'event time'} {newest}",
        title_justify="left",
        show_lines=False,
    )
    for column in arrow.column_names:
        shown.add_column(column, overflow="fold", no_wrap=True)
    for row in arrow.to_pylist():
        shown.add_row(*(cell(row[c]) for c in arrow.column_names))
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--properties", help="runtime properties JSON (as streaming_job.py)")
    parser.add_argument("--rows", type=int, default=3, help="rows to show per table (default 3)")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        catalog = load_settings(args.properties).catalog
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        return ExitCode.BAD_INPUT
    if catalog.catalog_type != "hadoop":
        log.error("show_tables reads the local (hadoop) warehouse only")
        return ExitCode.BAD_INPUT
    names = table_names(catalog.warehouse, catalog.namespace)
    if not names:
        log.error("no tables in %s/%s", catalog.warehouse, catalog.namespace)
        return ExitCode.FAILED
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 200)
    for name in names:
        console.print(render_table(name, open_table(catalog.warehouse, catalog.namespace, name), args.rows))
        console.print()
    return ExitCode.OK


def console() -> None:
    """The installed command (pyproject.toml, [project.scripts])."""
    cli.run(main)


if __name__ == "__main__":
    console()
