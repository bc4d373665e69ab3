"""Small helpers for writing Flink SQL text: every generated identifier is quoted."""

from __future__ import annotations

from typing import Iterable, Mapping


def quote(name: str) -> str:
    """A Flink SQL identifier in backticks, so reserved words (user, timestamp) work."""
    return "`" + name.replace("`", "``") + "`"


def qualified(*parts: str) -> str:
    """`catalog`.`database`.`table`."""
    return ".".join(quote(p) for p in parts)


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def with_clause(options: Mapping[str, str]) -> str:
    """WITH ('k' = 'v', ...) laid out one option a line."""
    body = ",\n".join(f"  {literal(k)} = {literal(v)}" for k, v in options.items())
    return f"WITH (\n{body}\n)"


def column_list(columns: Iterable[tuple[str, str]]) -> list[str]:
    """`name` TYPE lines for a CREATE TABLE."""
    return [f"  {quote(name)} {sql_type}" for name, sql_type in columns]


def interval(ms: int) -> str:
    """A DAY TO SECOND interval literal of `ms` milliseconds (any size: no precision overflow)."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"INTERVAL '{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}' DAY TO SECOND(3)"
