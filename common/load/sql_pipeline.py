"""SQL-only pipelines: a pipeline declared entirely in transformations.yaml, without a class.

It becomes a ``SqlTransformer``, an ordinary ``BaseTransformer``, so both routes go through
the same rendering and produce identical DDL and INSERTs for the same definition.

The SQL names its sources with placeholders, replaced by fully qualified table names:
``{source}`` the primary source (``source_topic``), ``{sources.<topic_key>}`` any source the
pipeline reads, ``{view}`` the view declared by ``view_sql`` (in ``sql`` only). Any other
``{name}`` / ``{name.name}`` is an error at load time; other braces are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from common.load.transformer import BaseTransformer, SourceTables

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")
SOURCE, VIEW, SOURCES_PREFIX = "source", "view", "sources."


@dataclass(frozen=True)
class SqlText:
    """SQL as declared, and where its first line is, so planner errors can point at the file."""

    text: str  # stripped of leading and trailing blank lines
    file: str
    first_line: int | None  # line of `file` holding the text's first line; None if unknown

    def file_line(self, line: int) -> int | None:
        """The line of `file` that holds line `line` (1-based) of the text."""
        return self.first_line + line - 1 if self.first_line else None


@dataclass(frozen=True)
class SqlDefinition:
    select: SqlText
    view: SqlText | None
    sink_schema: tuple[tuple[str, str], ...]
    partition_by: tuple[str, ...] = ()
    primary_key: tuple[str, ...] = ()


def sql_text(raw: str, file: str, first_line: int | None) -> SqlText:
    """Trim blank lines around the SQL, keeping first_line on the first non-blank one."""
    body = raw.strip("\n").rstrip()
    skipped = raw[: len(raw) - len(raw.lstrip("\n"))].count("\n")
    return SqlText(body, file, first_line + skipped if first_line else None)


def placeholders(text: str) -> list[tuple[str, int]]:
    """(name, line) of each placeholder in the text, in order."""
    return [(m.group(1), text.count("\n", 0, m.start()) + 1) for m in PLACEHOLDER.finditer(text)]


def allowed_placeholders(topics: tuple[str, ...], with_view: bool) -> list[str]:
    """The placeholder names a pipeline reading `topics` may use."""
    return [SOURCE, *(SOURCES_PREFIX + t for t in topics), *([VIEW] if with_view else [])]


def placeholder_values(sources: SourceTables) -> dict[str, str]:
    return {
        SOURCE: sources.primary,
        VIEW: sources.view,
        **{SOURCES_PREFIX + topic: table for topic, table in sources.by_topic.items()},
    }


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder (all were checked at load time)."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


class SqlTransformer(BaseTransformer):
    """The transformer of a SQL-only pipeline: everything comes from the YAML."""

    def __init__(self, definition: SqlDefinition) -> None:
        super().__init__()
        self.definition = definition

    def get_sink_schema(self) -> dict[str, str]:
        return dict(self.definition.sink_schema)

    def get_select_sql(self, sources: SourceTables) -> str:
        return fill(self.definition.select.text, placeholder_values(sources))

    def get_view_sql(self, sources: SourceTables) -> str | None:
        view = self.definition.view
        return fill(view.text, placeholder_values(sources)) if view else None

    def get_partition_by(self) -> list[str]:
        return list(self.definition.partition_by)

    def get_primary_key(self) -> list[str]:
        return list(self.definition.primary_key)
