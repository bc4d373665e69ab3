"""Late events, decided where they can be decided exactly: next to the source.

A window operator drops an event whose window the watermark has already passed. At
parallelism above 1 the window sits behind a shuffle, where its watermark is the minimum
over every source subtask, and which events it drops depends on how the channels
interleave: a separate query cannot know them. So the windowed pipelines do not leave the
decision to the window. Each event is checked once, in the operator chained to its source
subtask, against that subtask's watermark (``CURRENT_WATERMARK``); events past their
deadline are kept out of the window and listed by the matching ``*_late`` pipeline, and all
others reach the window before its watermark can pass their deadline (the window's
watermark is never ahead of the watermark of the subtask an event comes from). Hence, at
any parallelism: window input = all events minus the late table, and the window itself
drops nothing.
"""

from __future__ import annotations

WATERMARK = "CURRENT_WATERMARK(`event_time`)"
ONE_MS = "INTERVAL '0.001' SECOND"


def is_late(deadline: str) -> str:
    """SQL condition: the watermark at arrival has reached `deadline` - 1 ms (Flink's firing rule)."""
    return f"{WATERMARK} >= {deadline} - {ONE_MS}"


def is_on_time(deadline: str) -> str:
    """The exact complement of is_late (no watermark yet counts as on time)."""
    return f"({WATERMARK} IS NULL OR {WATERMARK} < {deadline} - {ONE_MS})"


def watermark_at_arrival() -> str:
    return f"CAST({WATERMARK} AS TIMESTAMP(3))"
