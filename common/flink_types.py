"""Flink SQL data types as written in YAML: a small recursive-descent parser of Flink's grammar.

Why a parser and not a list of names: a misspelt type must fail at load time, naming the
column, instead of deep inside Flink; and the real grammar has parameters and nesting
(``DECIMAL(10, 2)``, ``ARRAY<ROW<a INT NOT NULL>>``, ``TIMESTAMP(3) WITH LOCAL TIME ZONE``)
that a list cannot accept. The rules follow Flink's ``LogicalTypeParser``; keywords are
case-insensitive. The parser also gives a canonical spelling (``INTEGER`` -> ``INT``,
``TIMESTAMP(3) WITH LOCAL TIME ZONE`` -> ``TIMESTAMP_LTZ(3)``) for code that inspects a type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.errors import did_you_mean

_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|(?P<number>\d+)|(?P<quoted>`(?:[^`]|``)+`)"
                    r"|(?P<string>'(?:[^']|'')*')|(?P<symbol>[(),<>]))")
_NULLABILITY = re.compile(r"^(?P<type>.*?)\s+(?P<not>NOT\s+)?NULL\s*$", re.IGNORECASE | re.DOTALL)

SIMPLE = {"STRING": "STRING", "BYTES": "BYTES", "BOOLEAN": "BOOLEAN", "TINYINT": "TINYINT",
          "SMALLINT": "SMALLINT", "INT": "INT", "INTEGER": "INT", "BIGINT": "BIGINT", "FLOAT": "FLOAT",
          "DATE": "DATE"}
SIZED = ("CHAR", "VARCHAR", "BINARY", "VARBINARY")  # optional (n), n >= 1
DECIMALS = ("DECIMAL", "DEC", "NUMERIC")
INTERVAL_UNITS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")
TYPE_NAMES = (*SIMPLE, *SIZED, *DECIMALS, "DOUBLE", "TIME", "TIMESTAMP", "TIMESTAMP_LTZ", "INTERVAL",
              "ARRAY", "MULTISET", "MAP", "ROW")
MAX_DECIMAL_PRECISION = 38
MAX_TIME_PRECISION = 9


class FlinkTypeError(ValueError):
    """Not a Flink SQL type; the message says what was found and where."""


@dataclass(frozen=True)
class FlinkType:
    root: str  # BIGINT, TIMESTAMP, TIMESTAMP_LTZ, DECIMAL, ROW, ... (TIMESTAMP_TZ for WITH TIME ZONE)
    text: str  # canonical spelling, nullability included
    not_null: bool


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
        tokens, index, end = [], 0, len(text.rstrip())
        while index < end:
            match = _TOKEN.match(text, index)
            if not match:
                bad = len(text) - len(text[index:].lstrip())
                raise FlinkTypeError(f"unexpected character '{text[bad]}' at position {bad + 1}")
            kind = match.lastgroup
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

    def _optional_precision(self, what: str, low: int, high: int) -> str:
        """'(n)' -> '(n)', nothing -> ''."""
        if not self._accept("("):
            return ""
        value = self._number(what, low, high)
        self._expect(")")
        return f"({value})"

    # --- grammar -------------------------------------------------------------------------------
    def parse(self) -> FlinkType:
        if not self.tokens:
            raise FlinkTypeError("empty type")
        result = self._type()
        if self.pos < len(self.tokens):
            raise FlinkTypeError(f"unexpected '{self.tokens[self.pos][2]}' after a complete type "
                                 f"(position {self.tokens[self.pos][3] + 1})")
        return result

    def _type(self) -> FlinkType:
        """A type, its nullability, and any suffix ARRAY / MULTISET (INT ARRAY NOT NULL)."""
        root, text = self._base()
        result = self._nullability(root, text)
        while self._peek() in ("ARRAY", "MULTISET"):
            kind = self.tokens[self.pos][1]
            self.pos += 1
            result = self._nullability(kind, f"{kind}<{result.text}>")
        return result

    def _nullability(self, root: str, text: str) -> FlinkType:
        if self._accept("NOT", "NULL"):
            return FlinkType(root, f"{text} NOT NULL", True)
        self._accept("NULL")
        return FlinkType(root, text, False)

    def _base(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "word":
            raise FlinkTypeError(f"expected a type name {self._where()}")
        name = self.tokens[self.pos][1]
        self.pos += 1
        if name in SIMPLE:
            return SIMPLE[name], SIMPLE[name]
        if name in SIZED:
            return name, name + self._optional_precision(f"{name} length", 1, 2_147_483_647)
        if name in DECIMALS:
            return "DECIMAL", "DECIMAL" + self._decimal_parameters()
        if name == "DOUBLE":
            self._accept("PRECISION")
            return "DOUBLE", "DOUBLE"
        if name == "TIME":
            text = "TIME" + self._optional_precision("TIME precision", 0, MAX_TIME_PRECISION)
            self._accept("WITHOUT", "TIME", "ZONE")
            return "TIME", text
        if name == "TIMESTAMP":
            return self._timestamp()
        if name == "TIMESTAMP_LTZ":
            return "TIMESTAMP_LTZ", "TIMESTAMP_LTZ" + self._optional_precision("TIMESTAMP_LTZ precision", 0,
                                                                             MAX_TIME_PRECISION)
        if name == "INTERVAL":
            return "INTERVAL", "INTERVAL " + self._interval()
        if name in ("ARRAY", "MULTISET"):
            return name, f"{name}<{self._angle_types(1)[0]}>"
        if name == "MAP":
            key, value = self._angle_types(2)
            return "MAP", f"MAP<{key}, {value}>"
        if name == "ROW":
            return "ROW", self._row()
        raise FlinkTypeError(f"unknown type {name}{did_you_mean(name, TYPE_NAMES)}")

    def _decimal_parameters(self) -> str:
        if not self._accept("("):
            return ""
        precision = self._number("DECIMAL precision", 1, MAX_DECIMAL_PRECISION)
        scale = self._number("DECIMAL scale", 0, precision) if self._accept(",") else None
        self._expect(")")
        return f"({precision})" if scale is None else f"({precision}, {scale})"

    def _timestamp(self) -> tuple[str, str]:
        precision = self._optional_precision("TIMESTAMP precision", 0, MAX_TIME_PRECISION)
        if self._accept("WITH", "LOCAL", "TIME", "ZONE"):
            return "TIMESTAMP_LTZ", "TIMESTAMP_LTZ" + precision
        if self._accept("WITH", "TIME", "ZONE"):
            return "TIMESTAMP_TZ", f"TIMESTAMP{precision} WITH TIME ZONE"
        self._accept("WITHOUT", "TIME", "ZONE")
        return "TIMESTAMP", "TIMESTAMP" + precision

    def _interval(self) -> str:
        """YEAR[(p)] [TO MONTH] | MONTH | DAY[(p)] [TO HOUR | MINUTE | SECOND[(p)]] | HOUR ... | SECOND[(p)]."""
        unit = self._peek()
        if unit not in INTERVAL_UNITS:
            raise FlinkTypeError(f"expected an interval unit ({', '.join(INTERVAL_UNITS)}) {self._where()}")
        self.pos += 1
        text = unit
        if unit in ("YEAR", "DAY"):
            text += self._optional_precision(f"{unit} precision", 1, 4 if unit == "YEAR" else 6)
        elif unit == "SECOND":
            text += self._optional_precision("fractional precision", 0, MAX_TIME_PRECISION)
        ends = {"YEAR": ("MONTH",), "DAY": ("HOUR", "MINUTE", "SECOND"), "HOUR": ("MINUTE", "SECOND"),
                "MINUTE": ("SECOND",)}.get(unit, ())
        if ends and self._accept("TO"):
            end = self._peek()
            if end not in ends:
                raise FlinkTypeError(f"INTERVAL {unit} TO must be followed by {' or '.join(ends)} {self._where()}")
            self.pos += 1
            text += f" TO {end}"
            if end == "SECOND":
                text += self._optional_precision("fractional precision", 0, MAX_TIME_PRECISION)
        return text

    def _angle_types(self, count: int) -> list[str]:
        """'<T>' or '<K, V>': the element types' canonical text."""
        self._expect("<")
        types = [self._type().text]
        while len(types) < count:
            self._expect(",")
            types.append(self._type().text)
        self._expect(">")
        return types

    def _row(self) -> str:
        """ROW<name TYPE ['description'], ...> or ROW(name TYPE, ...); ROW<> is allowed."""
        close = {"<": ">", "(": ")"}.get(self._peek() or "")
        if close is None:
            raise FlinkTypeError(f"expected '<' or '(' after ROW {self._where()}")
        self.pos += 1
        fields: list[str] = []
        while not self._accept(close):
            if fields:
                self._expect(",")
            fields.append(self._row_field())
        return f"ROW<{', '.join(fields)}>"

    def _row_field(self) -> str:
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] not in ("word", "quoted"):
            raise FlinkTypeError(f"expected a ROW field name {self._where()}")
        kind, _, name, _ = self.tokens[self.pos]
        if kind == "word":
            name = f"`{name}`"
        self.pos += 1
        text = f"{name} {self._type().text}"
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "string":
            text += " " + self.tokens[self.pos][2]
            self.pos += 1
        return text
