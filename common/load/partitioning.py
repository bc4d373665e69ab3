"""A sink's partition fields: a column (identity) or an Iceberg transform of one.

One definition for the three phases: the load phase parses and checks what ``partition_by`` (or a
class's ``get_partition_by()``) declares, the render phase puts identity columns in the DDL's
``PARTITIONED BY``, and the run phase hands the canonical text to the jar
(src/main/java/mskiceberg/streaming/catalog/PartitionSpecs.java), which reads and writes the same
text, for the schema-evolution check and to set a transform spec Flink DDL cannot declare.

The grammar is Iceberg's own, as Spark DDL and Kafka Connect write it: ``col``, ``year(col)``,
``month(col)``, ``day(col)``, ``hour(col)`` (also the plural ``years``... of Spark),
``bucket(N, col)``, ``truncate(N, col)`` (also ``bucket(col, N)``), names in any letter case.
The canonical text is lower case, singular, ``bucket(N, col)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from common.errors import did_you_mean
from common.load.flink_types import FlinkType

IDENTITY = "identity"
TIME_TRANSFORMS = ("year", "month", "day", "hour")
WIDTH_TRANSFORMS = ("bucket", "truncate")
TRANSFORMS = (IDENTITY, *TIME_TRANSFORMS, *WIDTH_TRANSFORMS)
ALIASES = {"years": "year", "months": "month", "days": "day", "hours": "hour"}
GRAMMAR = "a sink column, or year(col), month(col), day(col), hour(col), bucket(N, col), truncate(N, col)"
MAX_WIDTH = 2**31 - 1  # an Iceberg int

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$", re.S)
_WIDTH = re.compile(r"^[+-]?\d+$")

# Flink type roots each transform takes (Iceberg's spec, on the Iceberg type Flink's catalog stores).
_DATES = ("DATE", "TIMESTAMP", "TIMESTAMP_LTZ")
_INTEGERS = ("TINYINT", "SMALLINT", "INT", "BIGINT")
_STRINGS = ("CHAR", "VARCHAR", "STRING")
_NESTED = ("ARRAY", "MAP", "MULTISET", "ROW")
ACCEPTS = {
    "year": _DATES,
    "month": _DATES,
    "day": _DATES,
    "hour": ("TIMESTAMP", "TIMESTAMP_LTZ"),
    "bucket": (*_INTEGERS, "DECIMAL", *_DATES, "TIME", *_STRINGS, "BINARY", "VARBINARY", "BYTES"),
    "truncate": (*_INTEGERS, "DECIMAL", *_STRINGS, "VARBINARY", "BYTES"),
}
ACCEPTS_TEXT = {
    "year": "DATE, TIMESTAMP or TIMESTAMP_LTZ",
    "month": "DATE, TIMESTAMP or TIMESTAMP_LTZ",
    "day": "DATE, TIMESTAMP or TIMESTAMP_LTZ",
    "hour": "TIMESTAMP or TIMESTAMP_LTZ",
    "bucket": "an integer, DECIMAL, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ, string or binary column",
    "truncate": "an integer, DECIMAL, string (STRING, VARCHAR, CHAR) or BYTES / VARBINARY column",
}


class PartitionFieldError(ValueError):
    """Not a partition field; the message says what is wrong with the text."""


@dataclass(frozen=True)
class PartitionField:
    """One field of an Iceberg partition spec: a transform of one sink column."""

    transform: str  # one of TRANSFORMS
    column: str
    width: int | None = None  # bucket's N, truncate's W

    @property
    def is_identity(self) -> bool:
        return self.transform == IDENTITY

    @property
    def text(self) -> str:
        """The canonical text: what the YAML shows, the jar reads and writes, the tables are compared by."""
        if self.is_identity:
            return self.column
        if self.width is not None:
            return f"{self.transform}({self.width}, {self.column})"
        return f"{self.transform}({self.column})"

    @property
    def name(self) -> str:
        """The partition field's name Iceberg gives it (UpdatePartitionSpec's defaults, as Spark does)."""
        if self.is_identity:
            return self.column
        if self.transform == "bucket":
            return f"{self.column}_bucket_{self.width}"
        if self.transform == "truncate":
            return f"{self.column}_trunc_{self.width}"
        return f"{self.column}_{self.transform}"

    def type_problem(self, flink: FlinkType) -> str | None:
        """Why this transform cannot take a column of that type, or None."""
        if self.is_identity:
            return (
                f"cannot partition by `{self.column}` {flink.text}: a nested column" if flink.root in _NESTED else None
            )
        if flink.root in ACCEPTS[self.transform]:
            return None
        return f"{self.transform}() cannot take `{self.column}` {flink.text}: it needs {ACCEPTS_TEXT[self.transform]}"


def parse_partition_field(text: str) -> PartitionField:
    """A field from its text (any letter case and spacing); PartitionFieldError says what is wrong."""
    written = text.strip()
    if _COLUMN.match(written):
        return PartitionField(IDENTITY, written)
    call = _CALL.match(written)
    if not call:
        split = "(" in written or ")" in written  # YAML's [a, b] splits bucket(4, c) at its comma
        hint = ' (a comma splits a YAML [a, b] list: quote the field, "bucket(4, col)")' if split else ""
        raise PartitionFieldError(f"'{written}' is neither a column name nor a transform(column){hint}")
    name, args = call.group(1).lower(), [a.strip() for a in call.group(2).split(",")]
    transform = ALIASES.get(name, name)
    if transform not in TRANSFORMS:
        raise PartitionFieldError(
            f"'{call.group(1)}' is not an Iceberg partition transform{did_you_mean(name, TRANSFORMS)}"
        )
    if transform in WIDTH_TRANSFORMS:
        if len(args) != 2:
            raise PartitionFieldError(f"'{written}': {transform} takes a number and a column: {transform}(N, col)")
        widths = [a for a in args if _WIDTH.match(a)]
        columns = [a for a in args if not _WIDTH.match(a)]
        if len(widths) != 1:
            raise PartitionFieldError(
                f"'{written}': {transform} takes one number N, a whole number: {transform}(N, col)"
            )
        width = int(widths[0])
        if not 0 < width <= MAX_WIDTH:
            raise PartitionFieldError(
                f"'{written}': N must be a positive whole number (at most {MAX_WIDTH}), found {width}"
            )
        return PartitionField(transform, _column(columns[0], written), width)
    if len(args) != 1:
        raise PartitionFieldError(f"'{written}': {transform} takes one column: {transform}(col)")
    return PartitionField(transform, _column(args[0], written))


def _column(name: str, written: str) -> str:
    if not _COLUMN.match(name):
        raise PartitionFieldError(f"'{written}': '{name}' is not a column name")
    return name


def spec_problem(fields: Iterable[PartitionField], schema: Mapping[str, FlinkType]) -> str | None:
    """What Iceberg would refuse in the spec as a whole, or None: the same field twice, two time
    transforms of one column (Iceberg calls them redundant), a field named like another column."""
    seen: dict[str, PartitionField] = {}
    times: dict[str, PartitionField] = {}
    for field in fields:
        if field.text in seen:
            return f"'{field.text}' is listed twice"
        if field.transform in TIME_TRANSFORMS:
            if field.column in times:
                return f"'{field.text}' and '{times[field.column].text}' are both time partitions of `{field.column}`"
            times[field.column] = field
        if not field.is_identity and field.name in schema:
            return f"'{field.text}' is named `{field.name}` in the table, and the sink has a column of that name"
        seen[field.text] = field
    return None


def canonical(texts: Iterable[str]) -> tuple[str, ...]:
    """The canonical texts of fields that were checked at load time."""
    return tuple(parse_partition_field(t).text for t in texts)


def has_transform(texts: Iterable[str]) -> bool:
    """Whether a spec needs more than Flink DDL's PARTITIONED BY (columns only)."""
    return any(not parse_partition_field(t).is_identity for t in texts)


def source_columns(texts: Iterable[str]) -> tuple[str, ...]:
    """The sink columns the fields are computed from, in order, once each."""
    return tuple(dict.fromkeys(parse_partition_field(t).column for t in texts))
