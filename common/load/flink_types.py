"""Flink SQL data types as written in YAML: a small recursive-descent parser of Flink's grammar.

Why a parser and not a list of names: a misspelt type must fail at load time, naming the
column, instead of deep inside Flink; and the real grammar has parameters and nesting
(``DECIMAL(10, 2)``, ``ARRAY<ROW<a INT NOT NULL>>``, ``TIMESTAMP(3) WITH LOCAL TIME ZONE``)
that a list cannot accept. The rules follow Flink's ``LogicalTypeParser``; keywords are
case-insensitive. The parser also gives a canonical spelling (``INTEGER`` -> ``INT``,
``TIMESTAMP(3) WITH LOCAL TIME ZONE`` -> ``TIMESTAMP_LTZ(3)``) for code that inspects a type,
and the structure (parameters with Flink's defaults filled in, element / key / value / field
types, nullability) for code that makes or checks values of a type, such as samplegen: one
grammar for the job and the generator, so they cannot disagree about what a type means.

Where Flink's two readers of a type differ (``LogicalTypeParser`` for type strings and the SQL
parser of the ``CREATE TABLE`` this project renders), the SQL parser wins for what a type means
at runtime: a bare ``VARCHAR`` / ``VARBINARY`` is unbounded there (``STRING`` / ``BYTES``), not
length 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from common.errors import did_you_mean

_TOKEN = re.compile(
    r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|(?P<number>\d+)|(?P<quoted>`(?:[^`]|``)+`)"
    r"|(?P<string>'(?:[^']|'')*')|(?P<symbol>[(),<>]))"
)
_NULLABILITY = re.compile(r"^(?P<type>.*?)\s+(?P<not>NOT\s+)?NULL\s*$", re.IGNORECASE | re.DOTALL)

SIMPLE = {
    "STRING": "STRING",
    "BYTES": "BYTES",
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INT": "INT",
    "INTEGER": "INT",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DATE": "DATE",
}
SIZED = ("CHAR", "VARCHAR", "BINARY", "VARBINARY")  # optional (n), n >= 1
DECIMALS = ("DECIMAL", "DEC", "NUMERIC")
INTERVAL_UNITS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")
TYPE_NAMES = (
    *SIMPLE,
    *SIZED,
    *DECIMALS,
    "DOUBLE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMP_LTZ",
    "INTERVAL",
    "ARRAY",
    "MULTISET",
    "MAP",
    "ROW",
)
# Every keyword of Flink's LogicalTypeParser: an unquoted ROW field name may not be one of them.
KEYWORDS = frozenset(
    (
        *TYPE_NAMES,
        "PRECISION",
        "WITH",
        "WITHOUT",
        "LOCAL",
        "ZONE",
        *INTERVAL_UNITS,
        "TO",
        "NULL",
        "NOT",
        "RAW",
        "LEGACY",
        "DESCRIPTOR",
        "STRUCTURED",
        "VARIANT",
        "BITMAP",
    )
)
# Names from other SQL dialects that Flink lacks (its DDL says "Type is not supported: REAL"): say what to write.
OTHER_DIALECTS = {"REAL": "FLOAT", "TEXT": "STRING", "DATETIME": "TIMESTAMP"}
MAX_DECIMAL_PRECISION = 38
MAX_TIME_PRECISION = 9
MAX_LENGTH = 2_147_483_647  # STRING = VARCHAR(MAX_LENGTH), BYTES = VARBINARY(MAX_LENGTH)

INTEGER_ROOTS = ("TINYINT", "SMALLINT", "INT", "BIGINT")
STRING_ROOTS = ("CHAR", "VARCHAR", "STRING")
BINARY_ROOTS = ("BINARY", "VARBINARY", "BYTES")
TIME_ROOTS = ("TIME", "TIMESTAMP", "TIMESTAMP_LTZ", "TIMESTAMP_TZ")  # the roots with a fractional precision
# Flink's defaults when no parameter is written (DECIMAL(10, 0), CHAR(1), TIME(0), TIMESTAMP(6), ...).
# Bare VARCHAR / VARBINARY: what Flink's SQL DDL makes of them (unbounded), not LogicalTypeParser's 1.
DEFAULT_PARAMS = {
    "DECIMAL": (10, 0),
    "CHAR": (1,),
    "BINARY": (1,),
    "VARCHAR": (MAX_LENGTH,),
    "VARBINARY": (MAX_LENGTH,),
    "TIME": (0,),
    "TIMESTAMP": (6,),
    "TIMESTAMP_LTZ": (6,),
    "TIMESTAMP_TZ": (6,),
}


class FlinkTypeError(ValueError):
    """Not a Flink SQL type; the message says what was found and where."""


@dataclass(frozen=True)
class FlinkType:
    """One parsed type: its canonical text, and the structure code needs to make or check its values."""

    root: str  # BIGINT, TIMESTAMP, TIMESTAMP_LTZ, DECIMAL, ROW, ... (TIMESTAMP_TZ for WITH TIME ZONE)
    text: str  # canonical spelling, nullability included
    not_null: bool
    # DECIMAL (precision, scale); CHAR/VARCHAR/BINARY/VARBINARY (length,); TIME/TIMESTAMP* (precision,):
    # always filled in, with Flink's defaults when the text has none (see DEFAULT_PARAMS); () otherwise.
    params: tuple[int, ...] = ()
    # ARRAY/MULTISET: (("", element),); MAP: (("key", key), ("value", value)); ROW: ((field name, type), ...)
    # with field names unquoted as Flink sees them; () for every other type.
    children: tuple[tuple[str, FlinkType], ...] = ()

    @property
    def name(self) -> str:
        """The root, under the name samplegen's own parser gave it."""
        return self.root

    @property
    def nullable(self) -> bool:
        return not self.not_null

    @property
    def is_integer(self) -> bool:
        return self.root in INTEGER_ROOTS

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.root in ("FLOAT", "DOUBLE", "DECIMAL")

    @property
    def is_string(self) -> bool:
        return self.root in STRING_ROOTS

    @property
    def decimal(self) -> tuple[int, int]:
        """(precision, scale) of a DECIMAL; DECIMAL alone is DECIMAL(10, 0), DECIMAL(p) is DECIMAL(p, 0)."""
        if self.root != "DECIMAL":
            raise ValueError(f"{self.text} is not a DECIMAL")
        return self.params[0], self.params[1]

    @property
    def precision(self) -> int:
        """Fractional-second digits of TIME / TIMESTAMP / TIMESTAMP_LTZ (defaults: TIME 0, TIMESTAMP 6)."""
        if self.root not in TIME_ROOTS:
            raise ValueError(f"{self.text} has no fractional-second precision")
        return self.params[0]

    @property
    def length(self) -> int:
        """Longest value of a character or binary string type; MAX_LENGTH means unbounded (STRING, BYTES)."""
        if self.root in ("STRING", "BYTES"):
            return MAX_LENGTH
        if self.root not in SIZED:
            raise ValueError(f"{self.text} is not a character or binary string type")
        return self.params[0]


def split_nullability(type_str: str) -> tuple[str, bool]:
    """'BIGINT NOT NULL' -> ('BIGINT', True); 'INT NULL' -> ('INT', False); 'INT' -> ('INT', False).

    Only a trailing NOT NULL / NULL of the whole type counts (not one inside ROW<...>).
    """
    match = _NULLABILITY.match(type_str.strip())
    if not match:
        return type_str.strip(), False
    return match.group("type").strip(), bool(match.group("not"))


def parse_type(text: str) -> FlinkType:
    """Check a type string against Flink's grammar; raise FlinkTypeError saying what is wrong."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str, str, int]]:
        """(kind, upper-cased value, value as written, start) per token."""
        tokens: list[tuple[str, str, str, int]] = []
        index, end = 0, len(text.rstrip())
        while index < end:
            match = _TOKEN.match(text, index)
            if not match:
                bad = len(text) - len(text[index:].lstrip())
                raise FlinkTypeError(f"unexpected character '{text[bad]}' at position {bad + 1}")
            kind = match.lastgroup
            assert kind is not None  # every alternative of _TOKEN is a named group
            value = match.group(kind)
            tokens.append((kind, value.upper(), value, match.start(kind)))
            index = match.end()
        return tokens

    # --- token helpers -------------------------------------------------------------------------
    def _peek(self, offset: int = 0) -> str | None:
        index = self.pos + offset
        return self.tokens[index][1] if index < len(self.tokens) else None

    def _accept(self, *words: str) -> bool:
        """Consume the words if they come next."""
        if all(self._peek(i) == w for i, w in enumerate(words)):
            self.pos += len(words)
            return True
        return False

    def _where(self) -> str:
        if self.pos >= len(self.tokens):
            return "at the end"
        return f"at '{self.tokens[self.pos][2]}' (position {self.tokens[self.pos][3] + 1})"

    def _expect(self, word: str) -> None:
        if not self._accept(word):
            raise FlinkTypeError(f"expected '{word}' {self._where()}")

    def _number(self, what: str, low: int, high: int) -> int:
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "number":
            raise FlinkTypeError(f"expected the {what} (a number) {self._where()}")
        value = int(self.tokens[self.pos][1])
        if not low <= value <= high:
            raise FlinkTypeError(f"{what} must be {low} to {high}, found {value}")
        self.pos += 1
        return value

    def _optional_precision(self, what: str, low: int, high: int) -> tuple[int, ...]:
        """'(n)' -> (n,), nothing -> ()."""
        if not self._accept("("):
            return ()
        value = self._number(what, low, high)
        self._expect(")")
        return (value,)

    # --- grammar -------------------------------------------------------------------------------
    def parse(self) -> FlinkType:
        if not self.tokens:
            raise FlinkTypeError("empty type")
        result = self._type()
        if self.pos < len(self.tokens):
            raise FlinkTypeError(
                f"unexpected '{self.tokens[self.pos][2]}' after a complete type "
                f"(position {self.tokens[self.pos][3] + 1})"
            )
        return result

    def _type(self) -> FlinkType:
        """A type, its nullability, and any suffix ARRAY / MULTISET (INT ARRAY NOT NULL)."""
        result = self._nullability(self._base())
        while self._peek() in ("ARRAY", "MULTISET"):
            kind = self.tokens[self.pos][1]
            self.pos += 1
            result = self._nullability(FlinkType(kind, f"{kind}<{result.text}>", False, children=(("", result),)))
        return result

    def _nullability(self, base: FlinkType) -> FlinkType:
        """The base type with a trailing NOT NULL / NULL (NULL says what no suffix says)."""
        if self._accept("NOT", "NULL"):
            return replace(base, text=f"{base.text} NOT NULL", not_null=True)
        self._accept("NULL")
        return base

    def _base(self) -> FlinkType:
        """A type without nullability; its params always carry Flink's defaults."""
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "word":
            raise FlinkTypeError(f"expected a type name {self._where()}")
        name = self.tokens[self.pos][1]
        self.pos += 1
        if name in SIMPLE:
            return _simple(SIMPLE[name])
        if name in SIZED:
            written = self._optional_precision(f"{name} length", 1, MAX_LENGTH)
            return _with_params(name, name + _parens(written), written)
        if name in DECIMALS:
            written = self._decimal_parameters()
            return _with_params("DECIMAL", "DECIMAL" + _parens(written), written)
        if name == "DOUBLE":
            self._accept("PRECISION")
            return _simple("DOUBLE")
        if name == "TIME":
            written = self._optional_precision("TIME precision", 0, MAX_TIME_PRECISION)
            self._without_time_zone()
            return _with_params("TIME", "TIME" + _parens(written), written)
        if name == "TIMESTAMP":
            return self._timestamp()
        if name == "TIMESTAMP_LTZ":
            written = self._optional_precision("TIMESTAMP_LTZ precision", 0, MAX_TIME_PRECISION)
            return _with_params("TIMESTAMP_LTZ", "TIMESTAMP_LTZ" + _parens(written), written)
        if name == "INTERVAL":
            return _simple("INTERVAL", "INTERVAL " + self._interval())
        if name in ("ARRAY", "MULTISET"):
            (element,) = self._angle_types(1)
            return FlinkType(name, f"{name}<{element.text}>", False, children=(("", element),))
        if name == "MAP":
            key, value = self._angle_types(2)
            return FlinkType("MAP", f"MAP<{key.text}, {value.text}>", False, children=(("key", key), ("value", value)))
        if name == "ROW":
            return self._row()
        hint = (
            f"; Flink has no {name}, use {OTHER_DIALECTS[name]}"
            if name in OTHER_DIALECTS
            else did_you_mean(name, TYPE_NAMES)
        )
        raise FlinkTypeError(f"unknown type {name}{hint}")

    def _decimal_parameters(self) -> tuple[int, ...]:
        """() or (precision,) or (precision, scale), as written."""
        if not self._accept("("):
            return ()
        precision = self._number("DECIMAL precision", 1, MAX_DECIMAL_PRECISION)
        scale = self._number("DECIMAL scale", 0, precision) if self._accept(",") else None
        self._expect(")")
        return (precision,) if scale is None else (precision, scale)

    def _timestamp(self) -> FlinkType:
        written = self._optional_precision("TIMESTAMP precision", 0, MAX_TIME_PRECISION)
        if self._accept("WITH"):
            if self._accept("LOCAL", "TIME", "ZONE"):
                return _with_params("TIMESTAMP_LTZ", "TIMESTAMP_LTZ" + _parens(written), written)
            if self._accept("TIME", "ZONE"):
                return _with_params("TIMESTAMP_TZ", f"TIMESTAMP{_parens(written)} WITH TIME ZONE", written)
            raise FlinkTypeError(f"expected 'LOCAL TIME ZONE' or 'TIME ZONE' after WITH {self._where()}")
        self._without_time_zone()
        return _with_params("TIMESTAMP", "TIMESTAMP" + _parens(written), written)

    def _without_time_zone(self) -> None:
        """An optional WITHOUT TIME ZONE, which says what no suffix says."""
        if self._accept("WITHOUT") and not self._accept("TIME", "ZONE"):
            raise FlinkTypeError(f"expected 'TIME ZONE' after WITHOUT {self._where()}")

    def _interval(self) -> str:
        """YEAR[(p)] [TO MONTH] | MONTH | DAY[(p)] [TO HOUR | MINUTE | SECOND[(p)]] | HOUR ... | SECOND[(p)]."""
        unit = self._peek()
        if unit not in INTERVAL_UNITS:
            raise FlinkTypeError(f"expected an interval unit ({', '.join(INTERVAL_UNITS)}) {self._where()}")
        self.pos += 1
        text = unit
        if unit in ("YEAR", "DAY"):
            text += _parens(self._optional_precision(f"{unit} precision", 1, 4 if unit == "YEAR" else 6))
        elif unit == "SECOND":
            text += _parens(self._optional_precision("fractional precision", 0, MAX_TIME_PRECISION))
        ends = {
            "YEAR": ("MONTH",),
            "DAY": ("HOUR", "MINUTE", "SECOND"),
            "HOUR": ("MINUTE", "SECOND"),
            "MINUTE": ("SECOND",),
        }.get(unit, ())
        if ends and self._accept("TO"):
            end = self._peek()
            if end not in ends:
                raise FlinkTypeError(f"INTERVAL {unit} TO must be followed by {' or '.join(ends)} {self._where()}")
            self.pos += 1
            text += f" TO {end}"
            if end == "SECOND":
                text += _parens(self._optional_precision("fractional precision", 0, MAX_TIME_PRECISION))
        return text

    def _angle_types(self, count: int) -> list[FlinkType]:
        """'<T>' or '<K, V>'."""
        self._expect("<")
        types = [self._type()]
        while len(types) < count:
            self._expect(",")
            types.append(self._type())
        self._expect(">")
        return types

    def _row(self) -> FlinkType:
        """ROW<name TYPE ['description'], ...> or ROW(name TYPE, ...); ROW<> is allowed."""
        close = {"<": ">", "(": ")"}.get(self._peek() or "")
        if close is None:
            raise FlinkTypeError(f"expected '<' or '(' after ROW {self._where()}")
        self.pos += 1
        fields: list[tuple[str, FlinkType]] = []
        texts: list[str] = []
        while not self._accept(close):
            if fields:
                self._expect(",")
            name, field_type, text = self._row_field()
            fields.append((name, field_type))
            texts.append(text)
        return FlinkType("ROW", f"ROW<{', '.join(texts)}>", False, children=tuple(fields))

    def _row_field(self) -> tuple[str, FlinkType, str]:
        """(name as Flink sees it, type, canonical text with the name quoted and any description)."""
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] not in ("word", "quoted"):
            raise FlinkTypeError(f"expected a ROW field name {self._where()}")
        kind, upper, written, start = self.tokens[self.pos]
        if kind == "word" and upper in KEYWORDS:
            raise FlinkTypeError(
                f"ROW field name '{written}' (position {start + 1}) is a keyword: quote it as `{written}`"
            )
        name = written if kind == "word" else written[1:-1].replace("``", "`")
        quoted = written if kind == "quoted" else f"`{written}`"
        self.pos += 1
        field_type = self._type()
        text = f"{quoted} {field_type.text}"
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "string":
            text += " " + self.tokens[self.pos][2]
            self.pos += 1
        return name, field_type, text


def _parens(written: tuple[int, ...]) -> str:
    """(3,) -> '(3)', (10, 2) -> '(10, 2)', () -> '': parameters as written, for the canonical text."""
    return f"({', '.join(map(str, written))})" if written else ""


def _simple(root: str, text: str | None = None) -> FlinkType:
    return FlinkType(root, text or root, False)


def _with_params(root: str, text: str, written: tuple[int, ...]) -> FlinkType:
    """A parameterised type; the parameters the text leaves out are Flink's defaults."""
    return FlinkType(root, text, False, params=written + DEFAULT_PARAMS[root][len(written) :])
