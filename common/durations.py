"""One grammar for every duration a user types, and one way to show one (``describe_seconds``): in YAML (``max_out_of_orderness``,
``idle_timeout``), in the runtime properties (the checkpoint interval deploy.py passes on) and on
command lines (``--late-by``, ``--max-staleness``, ``--since``, deploy's ``--checkpoint-interval``).

It is a subset of Flink's own (``TimeUtils.parseDuration``), so every value accepted here is one
Flink accepts too: a whole number and a unit. The unit is required: a bare number is milliseconds
to Flink but seconds to most people.
"""

from __future__ import annotations

import argparse
import re

_UNITS_MS = {
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds"), 1),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60_000),
    **dict.fromkeys(("h", "hour", "hours"), 3_600_000),
    **dict.fromkeys(("d", "day", "days"), 86_400_000),
}
_DURATION = re.compile(r"^\s*(\d+)\s*([a-zA-Z]+)\s*$")
EXAMPLES = "e.g. 500ms, 30s, 2 min, 15m, 1h, 1d"


def parse_duration_ms(text: object) -> int | None:
    """'5s', '2 min', '500 ms', '15m', '1h', '2d' -> milliseconds; None if not a duration."""
    match = _DURATION.match(str(text))
    if not match:
        return None
    factor = _UNITS_MS.get(match.group(2).lower())
    return None if factor is None else int(match.group(1)) * factor


def duration_ms_argument(text: str) -> int:
    """argparse ``type=``: a duration in milliseconds, or a usage error (exit 2)."""
    value = parse_duration_ms(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration ({EXAMPLES})")
    return value


def duration_s_argument(text: str) -> float:
    """argparse ``type=``: a duration in seconds, or a usage error (exit 2)."""
    return duration_ms_argument(text) / 1000


def describe_seconds(seconds: float | None) -> str:
    """An age or a wait for people: '42 s', '4.0 min', '2.5 h', '3.0 d'; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
