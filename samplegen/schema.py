"""Flink SQL types of config/topics.yaml: parse them, make a value of any type, check a value.

Values follow Flink's JSON format (``json.timestamp-format.standard`` = SQL): numbers as
JSON numbers, DATE as ``2026-01-01``, TIME as ``12:00:00``, TIMESTAMP(p) as
``2026-01-01 12:00:00.000``, TIMESTAMP_LTZ(p) with a trailing ``Z``, binary as base64,
ARRAY as a list, MAP/MULTISET/ROW as objects.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import random
import re
from dataclasses import dataclass
from typing import Any, Callable

UTC = dt.timezone.utc

INTEGER_RANGES = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INT": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
}
FLOATS = ("FLOAT", "DOUBLE")
STRINGS = ("STRING", "VARCHAR", "CHAR")
BINARIES = ("BYTES", "VARBINARY", "BINARY")
TIMES = ("DATE", "TIME", "TIMESTAMP", "TIMESTAMP_LTZ")
SCALARS = (*INTEGER_RANGES, *FLOATS, *STRINGS, *BINARIES, *TIMES, "BOOLEAN", "DECIMAL")
ALIASES = {"INTEGER": "INT", "DEC": "DECIMAL", "NUMERIC": "DECIMAL", "REAL": "FLOAT"}

TOKEN = re.compile(r"\s*(?:(`[^`]+`)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|([<>(),]))")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{1,9})?$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$")
TIMESTAMP_LTZ_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


class SchemaTypeError(ValueError):
    """A type string the generator cannot read."""


@dataclass(frozen=True)
class FlinkType:
    """One parsed Flink SQL type: a root name, its numeric parameters and its children."""

    name: str  # canonical root: INT, STRING, DECIMAL, TIMESTAMP_LTZ, ARRAY, MAP, MULTISET, ROW, ...
    params: tuple[int, ...] = ()  # DECIMAL (p, s); CHAR/VARCHAR/BINARY (n,); TIME/TIMESTAMP (precision,)
    children: tuple[tuple[str, "FlinkType"], ...] = ()  # ARRAY/MULTISET: ("", t); MAP: key, value; ROW: fields
    nullable: bool = True

    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_RANGES

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.name in FLOATS or self.name == "DECIMAL"

    @property
    def is_string(self) -> bool:
        return self.name in STRINGS

    @property
    def decimal(self) -> tuple[int, int]:
        """(precision, scale) of a DECIMAL; Flink's default is DECIMAL(10, 0)."""
        return (self.params[0] if self.params else 10, self.params[1] if len(self.params) > 1 else 0)

    @property
    def precision(self) -> int:
        """Fractional-second digits of TIME/TIMESTAMP types (Flink's defaults: TIME 0, TIMESTAMP 6)."""
        if self.params:
            return self.params[0]
        return 0 if self.name == "TIME" else 6


def parse_type(text: str) -> FlinkType:
    """'DECIMAL(10, 2) NOT NULL' -> FlinkType('DECIMAL', (10, 2), nullable=False); raises SchemaTypeError."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    result = parser.type_()
    if parser.pos != len(tokens):
        raise SchemaTypeError(f"unexpected '{tokens[parser.pos]}' in type '{text}'")
    return result


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise SchemaTypeError(f"cannot read type '{text}' at '{text[pos:]}'")
        tokens.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens of one type string."""

    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.text, self.pos = tokens, text, 0

    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.tokens[i].upper() if i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if token is None or (expected is not None and token.upper() != expected):
            raise SchemaTypeError(f"expected {expected or 'more'} in type '{self.text}'")
        self.pos += 1
        return token

    def numbers(self) -> tuple[int, ...]:
        if self.peek() != "(":
            return ()
        self.take("(")
        values = [int(self.take())]
        while self.peek() == ",":
            self.take(",")
            values.append(int(self.take()))
        self.take(")")
        return tuple(values)

    def type_(self) -> FlinkType:
        word = self.take().upper()
        word = ALIASES.get(word, word)
        if word == "DOUBLE" and self.peek() == "PRECISION":
            self.take()
        if word in ("ARRAY", "MULTISET"):
            self.take("<")
            element = self.type_()
            self.take(">")
            result = FlinkType(word, children=(("", element),))
        elif word == "MAP":
            self.take("<")
            key = self.type_()
            self.take(",")
            value = self.type_()
            self.take(">")
            result = FlinkType("MAP", children=(("key", key), ("value", value)))
        elif word == "ROW":
            close = ">" if self.peek() == "<" else ")"
            self.take("<" if close == ">" else "(")
            fields = []
            while self.peek() != close:
                name = self.take().strip("`")
                fields.append((name, self.type_()))
                if self.peek() == ",":
                    self.take(",")
            self.take(close)
            result = FlinkType("ROW", children=tuple(fields))
        elif word in SCALARS:
            params = self.numbers()
            if word == "TIMESTAMP" and self.peek() in ("WITH", "WITHOUT"):
                local = self.take().upper() == "WITH" and self.peek() == "LOCAL"
                while self.peek() in ("LOCAL", "TIME", "ZONE"):
                    self.take()
                word = "TIMESTAMP_LTZ" if local else "TIMESTAMP"
            result = FlinkType(word, params)
        else:
            raise SchemaTypeError(f"type '{word}' in '{self.text}' is not supported by the generator "
                                  f"(supported: {', '.join(SCALARS)}, ARRAY, MAP, MULTISET, ROW)")
        if self.peek() == "NOT" and self.peek(1) == "NULL":
            self.take(), self.take()
            return FlinkType(result.name, result.params, result.children, nullable=False)
        if self.peek() == "NULL":
            self.take()
        return result


# --- values -------------------------------------------------------------------------------------

def format_time(ftype: FlinkType, epoch_ms: int) -> Any:
    """Epoch millis as a value of a time-like type (BIGINT stays millis)."""
    if ftype.is_integer:
        return epoch_ms
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, UTC)
    if ftype.name == "DATE":
        return moment.date().isoformat()
    digits = min(ftype.precision, 6)
    if ftype.name == "TIME":
        text = moment.strftime("%H:%M:%S.%f")
        return text[: 9 + digits] if digits else text[:8]
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    text = text[: 20 + digits] if digits else text[:19]
    return text + "Z" if ftype.name == "TIMESTAMP_LTZ" else text


def value_maker(ftype: FlinkType, column: str) -> Callable[[random.Random, int], Any]:
    """A function (rng, event_ms) -> a plausible value of `ftype` for a column without a meaning."""
    name = ftype.name
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
        limit = ftype.params[0] if ftype.params else None
        if name == "CHAR" and limit:
            return lambda rng, ms: f"{column}-{rng.randrange(10**9)}".ljust(limit)[:limit]
        return lambda rng, ms: f"{column}-{rng.randrange(10**6)}"[:limit]
    if name in BINARIES:
        size = min(ftype.params[0], 16) if ftype.params else 8
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
    raise SchemaTypeError(f"no value maker for {name}")


def _json_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def convert(value: Any, ftype: FlinkType) -> Any:
    """A known value in the column's declared type; raises TypeError/ValueError if it does not fit."""
    if ftype.is_string:
        text = value if isinstance(value, str) else str(value)
        return text[: ftype.params[0]] if ftype.params else text
    if ftype.is_integer and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if ftype.name in FLOATS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if ftype.name == "DECIMAL" and isinstance(value, (int, float)) and not isinstance(value, bool):
        scale = ftype.decimal[1]
        return round(value, scale) if scale else int(round(value))
    raise TypeError(f"{value!r} does not fit {ftype.name}")


# --- validation ---------------------------------------------------------------------------------

def problems(value: Any, ftype: FlinkType, where: str = "value") -> list[str]:
    """What is wrong with `value` as a JSON value of `ftype`; [] if it is valid. Null is never valid here."""
    name = ftype.name
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
        limit = ftype.params[0] if ftype.params else None
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
            return [p for k, v in value.items() for p in problems(v, FlinkType("INT"), f"{where}[{k}]")]
        return [p for k, v in value.items() for p in problems(v, ftype.children[1][1], f"{where}[{k}]")]
    if name == "ROW":
        return record_problems(value, ftype.children, where)
    return [f"{where}: unsupported type {name}"]


def _time_problems(value: Any, ftype: FlinkType, where: str) -> list[str]:
    patterns = {"DATE": DATE_RE, "TIME": TIME_RE, "TIMESTAMP": TIMESTAMP_RE, "TIMESTAMP_LTZ": TIMESTAMP_LTZ_RE}
    pattern = patterns[ftype.name]
    if not isinstance(value, str) or not pattern.match(value):
        return [f"{where}: {value!r} is not a {ftype.name} in Flink's SQL JSON format"]
    try:
        if ftype.name == "DATE":
            dt.date.fromisoformat(value)
        elif ftype.name != "TIME":
            dt.datetime.fromisoformat(value.rstrip("Z")[:26])
    except ValueError:
        return [f"{where}: {value!r} is not a valid {ftype.name}"]
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
