"""Values of the Flink SQL types of config/topics.yaml: make a value of any type, check a value.

Types are parsed by common.load.flink_types, the parser the job uses, so the generator and the job
cannot disagree about a type (this module re-exports ``parse_type`` and ``FlinkType``).
Values follow Flink's JSON format (``json.timestamp-format.standard`` = SQL): numbers as
JSON numbers, DATE as ``2026-01-01``, TIME as ``12:00:00``, TIMESTAMP(p) as
``2026-01-01 12:00:00.000``, TIMESTAMP_LTZ(p) with a trailing ``Z``, binary as base64,
ARRAY as a list, MAP/MULTISET/ROW as objects. INTERVAL and TIMESTAMP WITH TIME ZONE parse, but
Flink's JSON format reads neither, so the generator makes no values of them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import random
import re
from typing import Any, Callable

from common.load.flink_types import BINARY_ROOTS, MAX_LENGTH, FlinkType, FlinkTypeError, parse_type

UTC = dt.timezone.utc

INTEGER_RANGES = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
}
FLOATS = ("FLOAT", "DOUBLE")
BINARIES = BINARY_ROOTS
TIMES = ("DATE", "TIME", "TIMESTAMP", "TIMESTAMP_LTZ")
SUPPORTED = (
    "BOOLEAN",
    *INTEGER_RANGES,
    *FLOATS,
    "DECIMAL",
    "CHAR",
    "VARCHAR",
    "STRING",
    *BINARIES,
    *TIMES,
    "ARRAY",
    "MULTISET",
    "MAP",
    "ROW",
)

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{1,9})?$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$")
TIMESTAMP_LTZ_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
MULTISET_COUNT = parse_type("INT NOT NULL")  # a MULTISET is an object: element -> how many times

# The generator's errors were its own SchemaTypeError; they are the parser's now, under the old name too.
SchemaTypeError = FlinkTypeError


def _limit(ftype: FlinkType) -> int | None:
    """The declared length of a string or binary type, None when unbounded (STRING, BYTES, bare VARCHAR)."""
    return None if ftype.length >= MAX_LENGTH else ftype.length


# --- values -------------------------------------------------------------------------------------


def format_time(ftype: FlinkType, epoch_ms: int) -> Any:
    """Epoch millis as a value of a time-like type (BIGINT stays millis)."""
    if ftype.is_integer:
        return epoch_ms
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, UTC)
    if ftype.root == "DATE":
        return moment.date().isoformat()
    digits = min(ftype.precision, 6)
    if ftype.root == "TIME":
        text = moment.strftime("%H:%M:%S.%f")
        return text[: 9 + digits] if digits else text[:8]
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    text = text[: 20 + digits] if digits else text[:19]
    return text + "Z" if ftype.root == "TIMESTAMP_LTZ" else text


def value_maker(ftype: FlinkType, column: str) -> Callable[[random.Random, int], Any]:
    """A function (rng, event_ms) -> a plausible value of `ftype` for a column without a meaning."""
    name = ftype.root
    if name == "BOOLEAN":
        return lambda rng, ms: rng.random() < 0.5
    if ftype.is_integer:
        high = {"TINYINT": 100, "SMALLINT": 10_000, "INT": 1_000_000}.get(name, 10**12)
        return lambda rng, ms: rng.randint(0, high)
    if name in FLOATS:
        return lambda rng, ms: round(rng.uniform(0, 1000), 2)
    if name == "DECIMAL":
        precision, scale = ftype.decimal
        top = min(10 ** (precision - scale) - 1, 1000)
        if scale == 0:
            return lambda rng, ms: rng.randint(0, top)
        return lambda rng, ms: round(rng.uniform(0, top), min(scale, 6))
    if ftype.is_string:
        limit = _limit(ftype)
        if name == "CHAR" and limit:
            width = limit  # narrowed to int for the lambda (`limit` is assigned again below)
            return lambda rng, ms: f"{column}-{rng.randrange(10**9)}".ljust(width)[:width]
        return lambda rng, ms: f"{column}-{rng.randrange(10**6)}"[:limit]
    if name in BINARIES:
        limit = _limit(ftype)
        size = min(limit, 16) if limit else 8
        return lambda rng, ms: base64.b64encode(rng.randbytes(size)).decode()
    if name in TIMES:
        return lambda rng, ms: format_time(ftype, ms)
    if name in ("ARRAY", "MULTISET", "MAP"):
        makers = [value_maker(child, column) for _, child in ftype.children]
        if name == "ARRAY":
            return lambda rng, ms: [makers[0](rng, ms) for _ in range(rng.randint(0, 3))]
        if name == "MULTISET":
            return lambda rng, ms: {_json_key(makers[0](rng, ms)): rng.randint(1, 3) for _ in range(rng.randint(0, 3))}
        return lambda rng, ms: {_json_key(makers[0](rng, ms)): makers[1](rng, ms) for _ in range(rng.randint(0, 3))}
    if name == "ROW":
        fields = [(field, value_maker(child, field)) for field, child in ftype.children]
        return lambda rng, ms: {field: make(rng, ms) for field, make in fields}
    raise SchemaTypeError(f"the generator makes no values of {ftype.text} (it makes {', '.join(SUPPORTED)})")


def _json_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def convert(value: Any, ftype: FlinkType) -> Any:
    """A known value in the column's declared type; raises TypeError/ValueError if it does not fit."""
    if ftype.is_string:
        text = value if isinstance(value, str) else str(value)
        return text[: _limit(ftype)]
    if ftype.is_integer and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if ftype.root in FLOATS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if ftype.root == "DECIMAL" and isinstance(value, (int, float)) and not isinstance(value, bool):
        scale = ftype.decimal[1]
        return round(value, scale) if scale else int(round(value))
    raise TypeError(f"{value!r} does not fit {ftype.root}")


# --- validation ---------------------------------------------------------------------------------


def problems(value: Any, ftype: FlinkType, where: str = "value") -> list[str]:
    """What is wrong with `value` as a JSON value of `ftype`; [] if it is valid. Null is never valid here."""
    name = ftype.root
    if value is None:
        return [f"{where}: null"]
    if name == "BOOLEAN":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if ftype.is_integer:
        low, high = INTEGER_RANGES[name]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return [] if ok else [f"{where}: {value!r} is not a {name}"]
    if name in FLOATS or name == "DECIMAL":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and name == "DECIMAL":
            precision, scale = ftype.decimal
            ok = abs(value) < 10 ** (precision - scale)
        return [] if ok else [f"{where}: {value!r} is not a {name}"]
    if ftype.is_string:
        if not isinstance(value, str):
            return [f"{where}: {value!r} is not a string"]
        limit = _limit(ftype)
        return [f"{where}: longer than {limit}"] if limit and len(value) > limit else []
    if name in BINARIES:
        try:
            base64.b64decode(value, validate=True)
            return []
        except (TypeError, ValueError, binascii.Error):
            return [f"{where}: {value!r} is not base64"]
    if name in TIMES:
        return _time_problems(value, ftype, where)
    if name == "ARRAY":
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not an array"]
        return [p for i, v in enumerate(value) for p in problems(v, ftype.children[0][1], f"{where}[{i}]")]
    if name in ("MAP", "MULTISET"):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        if name == "MULTISET":
            return [p for k, v in value.items() for p in problems(v, MULTISET_COUNT, f"{where}[{k}]")]
        return [p for k, v in value.items() for p in problems(v, ftype.children[1][1], f"{where}[{k}]")]
    if name == "ROW":
        return record_problems(value, ftype.children, where)
    return [f"{where}: unsupported type {name}"]


def _time_problems(value: Any, ftype: FlinkType, where: str) -> list[str]:
    patterns = {"DATE": DATE_RE, "TIME": TIME_RE, "TIMESTAMP": TIMESTAMP_RE, "TIMESTAMP_LTZ": TIMESTAMP_LTZ_RE}
    pattern = patterns[ftype.root]
    if not isinstance(value, str) or not pattern.match(value):
        return [f"{where}: {value!r} is not a {ftype.root} in Flink's SQL JSON format"]
    try:
        if ftype.root == "DATE":
            dt.date.fromisoformat(value)
        elif ftype.root != "TIME":
            dt.datetime.fromisoformat(value.rstrip("Z")[:26])
    except ValueError:
        return [f"{where}: {value!r} is not a valid {ftype.root}"]
    return []


def record_problems(record: Any, schema: tuple[tuple[str, FlinkType], ...], where: str = "record") -> list[str]:
    """Every column present with a valid value, and no other field; [] if the record is valid."""
    if not isinstance(record, dict):
        return [f"{where}: {type(record).__name__}, not a JSON object"]
    found = []
    for column, ftype in schema:
        if column not in record:
            found.append(f"{where}.{column}: missing")
        else:
            found.extend(problems(record[column], ftype, f"{where}.{column}"))
    names = {c for c, _ in schema}
    found.extend(f"{where}.{extra}: not in the schema" for extra in record if extra not in names)
    return found
