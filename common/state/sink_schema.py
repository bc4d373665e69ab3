"""Sink schema evolution: bring an existing Iceberg table to the schema its pipeline declares.

Sinks are created with ``CREATE TABLE IF NOT EXISTS``, so a table made by an older config keeps
its old columns. Before any sink DDL or INSERT is planned, each existing sink is compared with
its declaration (columns, partition columns, primary key) and:

- evolved where Iceberg does it safely as a metadata change: a new nullable column (``ADD``; old
  rows read NULL), a widening Iceberg promotes (INT -> BIGINT, FLOAT -> DOUBLE, a DECIMAL's
  precision raised at the same scale; old files are read as the new type, by Iceberg's spec),
  a required column the pipeline now declares nullable (required -> optional);
- left alone where nothing needs to change: a nullable column the pipeline no longer writes (its
  INSERT names its columns, so Flink writes NULL there; the old rows keep their values), a column
  declared NOT NULL in a nullable table column (non-null values fit), or a type that is the same
  Iceberg type (TIMESTAMP(3) and TIMESTAMP(6) are both ``timestamp``; TINYINT..INT are ``int``);
- refused, before anything is changed or started, for what Iceberg cannot do without losing or
  inventing data: a narrowing or other type change, a new NOT NULL column (old rows have no value),
  a required column no longer written, a changed partition spec or primary key, or widening a
  partition / key column (their values also live in manifests and equality deletes). Partition
  specs are compared field by field in canonical text, transforms included (``day(event_time)``);
  the run phase reads a table's spec through Iceberg, and gives a table with no snapshot yet the
  declared spec instead of refusing it (no file is laid out by the old one).

The job's own dead-letter table is evolved the same way, with one addition: a column whose type
changed incompatibly (``raw_value`` was STRING before it became the exact BYTES) is kept under a
new name (``raw_value_string``) and the column is added again with the new type, so the old rows
keep their text and the job starts on an old warehouse.

Every change goes through the Flink catalog the job uses (``ALTER TABLE``, which Iceberg's
FlinkCatalog turns into one schema commit per statement): the same path for the local Hadoop
catalog and for S3 Tables (tested on the local one; moto's S3 Tables answers a metadata commit in a
shape the AWS SDK cannot parse, so a schema commit there cannot be tested).
``compare`` is pure (schemas in, changes and problems out) for tests and the plan diff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

from common.load.flink_types import FlinkType, FlinkTypeError, parse_type
from common.load.partitioning import PartitionFieldError, parse_partition_field
from common.sql import quote

log = logging.getLogger(__name__)

# Iceberg types of Flink's roots (FlinkTypeToType); parameterised and nested ones are built below.
_ICEBERG = {
    "BOOLEAN": "boolean",
    "TINYINT": "int",
    "SMALLINT": "int",
    "INT": "int",
    "BIGINT": "long",
    "FLOAT": "float",
    "DOUBLE": "double",
    "DATE": "date",
    "TIME": "time",
    "CHAR": "string",
    "VARCHAR": "string",
    "STRING": "string",
    "VARBINARY": "binary",
    "BYTES": "binary",
}
NEW_TABLE = "or write to a new sink_table"


@dataclass(frozen=True)
class TableSchema:
    """A sink's columns (name, Flink type text with NOT NULL where required), partition fields and key."""

    columns: tuple[tuple[str, str], ...]
    partition_by: tuple[str, ...] = ()  # canonical text (common/load/partitioning.py): `day(event_time)`, `city`
    primary_key: tuple[str, ...] = ()
    empty: bool = False  # an existing table with no snapshot: no file is laid out by its partition spec yet


@dataclass(frozen=True)
class Change:
    """One schema change the job makes to an existing table."""

    kind: str  # "add", "widen", "make nullable", "rename"
    column: str
    type: str  # the column's Flink type after the change ("rename": its unchanged type)
    before: str | None = None  # the table's type before ("widen"), or the new name ("rename")

    def describe(self) -> str:
        if self.kind == "add":
            return f"added column `{self.column}` {self.type} (rows already there read NULL)"
        if self.kind == "widen":
            return f"widened `{self.column}` from {self.before} to {self.type}"
        if self.kind == "rename":
            return f"kept the old `{self.column}` as `{self.before}` (its type changed incompatibly)"
        return f"made `{self.column}` nullable ({self.type})"


@dataclass(frozen=True)
class Problem:
    """A difference Iceberg cannot evolve safely: what, about which column, and what would be valid."""

    column: str | None
    problem: str
    valid: str


@dataclass(frozen=True)
class Evolution:
    """What to do to one existing table: changes in the order they must run, or problems (then nothing)."""

    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()
    unwritten: tuple[str, ...] = ()  # nullable table columns the pipeline no longer writes: NULL in new rows
    respec: bool = False  # an empty table whose partition spec is not the declared one: the job sets it

    @property
    def unchanged(self) -> bool:
        return not (self.changes or self.problems or self.respec)

    def statements(self, table: str) -> list[str]:
        """Flink ALTER TABLE statements for ``table`` (qualified, quoted): each rename, then one
        MODIFY and one ADD holding all their columns (each statement is one Iceberg commit)."""
        result = [
            f"ALTER TABLE {table} RENAME {quote(c.column)} TO {quote(c.before or '')}"
            for c in self.changes
            if c.kind == "rename"
        ]
        modify = [c for c in self.changes if c.kind in ("widen", "make nullable")]
        if modify:
            result.append(f"ALTER TABLE {table} MODIFY ({', '.join(f'{quote(c.column)} {c.type}' for c in modify)})")
        add = [c for c in self.changes if c.kind == "add"]
        if add:
            result.append(f"ALTER TABLE {table} ADD ({', '.join(f'{quote(c.column)} {c.type}' for c in add)})")
        return result


def iceberg_type(flink: FlinkType) -> str:
    """The Iceberg type Flink's Iceberg catalog stores for a Flink type (Iceberg's FlinkTypeToType):
    what decides whether two Flink spellings are the same column."""
    root = flink.root
    if root in _ICEBERG:
        return _ICEBERG[root]
    if root == "BINARY":
        return f"fixed[{flink.params[0]}]"
    if root == "DECIMAL":
        return f"decimal({flink.params[0]}, {flink.params[1]})"
    if root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        base = "timestamp_ns" if flink.params[0] > 6 else "timestamp"
        return base + ("tz" if root == "TIMESTAMP_LTZ" else "")
    if root == "ARRAY":
        element = flink.children[0][1]
        return f"list<{_optional(element)}{iceberg_type(element)}>"
    if root == "MULTISET":
        return f"map<{iceberg_type(flink.children[0][1])}, int>"
    if root == "MAP":  # Iceberg map keys are always required
        (_, key), (_, value) = flink.children
        return f"map<{iceberg_type(key)}, {_optional(value)}{iceberg_type(value)}>"
    if root == "ROW":
        fields = ", ".join(f"{name}: {_optional(t)}{iceberg_type(t)}" for name, t in flink.children)
        return f"struct<{fields}>"
    return flink.text.removesuffix(" NOT NULL")  # no Iceberg type (INTERVAL): only equal texts match


def _optional(flink: FlinkType) -> str:
    return "required " if flink.not_null else "optional "


def _parse(text: str) -> FlinkType | None:
    """A type as Flink prints or the YAML declares it; None for one this grammar does not know (VARIANT)."""
    try:
        return parse_type(text)
    except FlinkTypeError:
        return None


def _without_not_null(flink: FlinkType) -> str:
    return flink.text.removesuffix(" NOT NULL")


def promotable(old: FlinkType, new: FlinkType) -> bool:
    """Iceberg's type promotions (format v2): int -> long, float -> double, decimal(P, S) -> decimal(P', S), P' > P."""
    old_ice, new_ice = iceberg_type(old), iceberg_type(new)
    if (old_ice, new_ice) in (("int", "long"), ("float", "double")):
        return True
    return old.root == new.root == "DECIMAL" and old.decimal[1] == new.decimal[1] and new.decimal[0] > old.decimal[0]


def _widenings(old: FlinkType) -> str:
    """The types a column of this type may still become, for a 'valid:' hint."""
    ice = iceberg_type(old)
    if ice == "int":
        return " (or BIGINT)"
    if ice == "float":
        return " (or DOUBLE)"
    if old.root == "DECIMAL" and old.decimal[0] < 38:
        return f" (or DECIMAL(p, {old.decimal[1]}) with p > {old.decimal[0]})"
    return ""


def compare(existing: TableSchema, declared: TableSchema, keep_incompatible: bool = False) -> Evolution:
    """The changes that take ``existing`` to ``declared``, or the problems that forbid it.

    ``keep_incompatible`` (the job's own tables): a nullable column whose type changed in a way
    Iceberg cannot promote is renamed to ``<column>_<old type>`` and added again with the new type.
    """
    problems: list[Problem] = []
    table_cols = {name: _parse(text) for name, text in existing.columns}
    table_text = dict(existing.columns)
    declared_names = [name for name, _ in declared.columns]
    keys = set(declared.primary_key) | {_source_column(f) for f in declared.partition_by}

    if sorted(existing.primary_key) != sorted(declared.primary_key):
        problems.append(
            Problem(
                _first_difference(existing.primary_key, declared.primary_key),
                f"primary key {_columns(declared.primary_key)} differs from the table's {_columns(existing.primary_key)}"
                ": Iceberg cannot re-key the rows already written",
                f"primary key {_columns(existing.primary_key)} as the table has it, {NEW_TABLE}",
            )
        )
    respec = tuple(existing.partition_by) != tuple(declared.partition_by)
    if respec and not existing.empty:
        problems.append(
            Problem(
                _source_column(_first_difference(existing.partition_by, declared.partition_by)),
                f"partition_by {_columns(declared.partition_by)} differs from the table's "
                f"{_columns(existing.partition_by)}: the files already written are laid out by the old spec",
                f"partition_by {_columns(existing.partition_by)} as the table has it, {NEW_TABLE}",
            )
        )

    renames: list[Change] = []
    modifies: list[Change] = []
    adds: list[Change] = []
    for name, text in declared.columns:
        new = _parse(text)
        if new is None:
            raise ValueError(f"column {name}: not a Flink type: {text}")
        if name in declared.primary_key and not new.not_null:
            new = parse_type(f"{new.text} NOT NULL")  # Flink makes key columns NOT NULL
        if name not in table_cols:
            if new.not_null and name not in declared.primary_key:  # a new key column is reported above
                problems.append(
                    Problem(
                        name,
                        f"new column `{name}` is {new.text}: rows already in the table have no value for it",
                        f"declare it nullable: `{name}` {_without_not_null(new)}, {NEW_TABLE}",
                    )
                )
            elif not new.not_null:
                adds.append(Change("add", name, new.text))
            continue
        old = table_cols[name]
        if old is None:  # a type this grammar cannot read: only the very same text is accepted
            if table_text[name].removesuffix(" NOT NULL") != _without_not_null(new):
                problems.append(
                    Problem(
                        name,
                        f"column `{name}` is {table_text[name]} in the table, declared {text}",
                        f"declare `{name}` {table_text[name]}, {NEW_TABLE}",
                    )
                )
            continue
        nullable_after = not (old.not_null and new.not_null)
        if iceberg_type(old) == iceberg_type(new):
            if old.not_null and not new.not_null:
                modifies.append(Change("make nullable", name, _without_not_null(old)))
            continue
        if promotable(old, new) and name not in keys:
            after = _without_not_null(new) + ("" if nullable_after else " NOT NULL")
            modifies.append(Change("widen", name, after, before=old.text))
            continue
        if keep_incompatible and not old.not_null and name not in keys:
            kept_as = f"{name}_{iceberg_type(old).split('(')[0].split('<')[0].split('[')[0]}"
            if kept_as in table_cols or kept_as in declared_names:
                problems.append(
                    Problem(
                        name,
                        f"column `{name}` changed from {old.text} to {new.text} and "
                        f"`{kept_as}`, the name to keep the old one under, is taken",
                        f"`{name}` {old.text}",
                    )
                )
                continue
            renames.append(Change("rename", name, old.text, before=kept_as))
            adds.append(Change("add", name, _without_not_null(new)))
            continue
        problems.append(_type_problem(name, old, new, name in keys))

    unwritten = []
    for name, text in existing.columns:
        if name in declared_names or any(c.before == name for c in renames):
            continue
        if text.endswith(" NOT NULL"):
            problems.append(
                Problem(
                    name,
                    f"the table's column `{name}` {text} is required and the pipeline "
                    "no longer writes it: its new rows would have no value there",
                    f"keep `{name}` {text} in the sink schema, {NEW_TABLE}",
                )
            )
        else:
            unwritten.append(name)
    if problems:
        return Evolution(problems=tuple(problems))
    return Evolution(tuple(renames + modifies + adds), (), tuple(unwritten), respec)


def nested_difference(old: FlinkType, new: FlinkType, path: str) -> str | None:
    """The first place two nested types differ as Iceberg stores them, named by its SQL path
    (``device.model added``, ``items[].price is DECIMAL(10, 2), declared DOUBLE``); None when equal."""
    if iceberg_type(old) == iceberg_type(new):
        return None
    if old.root != new.root or old.root not in ("ROW", "ARRAY", "MAP"):
        return f"{path} is {old.text}, declared {new.text}"
    if old.root == "ROW":
        before, after = dict(old.children), dict(new.children)
        for name, child in new.children:
            if name not in before:
                return f"{path}.{name} added"
            if before[name].not_null != child.not_null:
                return f"{path}.{name} is {before[name].text}, declared {child.text}"
            found = nested_difference(before[name], child, f"{path}.{name}")
            if found:
                return found
        gone = [name for name in before if name not in after]
        if gone:
            return f"{path}.{gone[0]} removed"
        return f"{path}: its fields are in another order"
    steps = ("[]",) if old.root == "ARRAY" else ("[key]", "[value]")
    for step, (_, old_child), (_, new_child) in zip(steps, old.children, new.children):
        if old_child.not_null != new_child.not_null:
            return f"{path}{step} is {old_child.text}, declared {new_child.text}"
        found = nested_difference(old_child, new_child, path + step)
        if found:
            return found
    return f"{path} is {old.text}, declared {new.text}"


def _type_problem(name: str, old: FlinkType, new: FlinkType, key: bool) -> Problem:
    nested = nested_difference(old, new, name) if old.root == new.root and old.root in ("ROW", "ARRAY", "MAP") else None
    if nested:
        return Problem(
            name,
            f"column `{name}` changed inside: {nested}; the job evolves top-level columns only "
            "(Flink's ALTER TABLE on Iceberg changes no nested field)",
            f"declare `{name}` {_without_not_null(old)} as the table has it and add a new top-level column, {NEW_TABLE}",
        )
    if key and promotable(old, new):
        what = "a partition or primary-key column keeps its type (its values are also in manifests and deletes)"
        valid = f"declare `{name}` {old.text}, {NEW_TABLE}"
    else:
        narrowing = promotable(new, old)
        what = (
            "a narrowing, which Iceberg cannot do (values already written may not fit)"
            if narrowing
            else "a type change Iceberg cannot make (old files cannot be read as the new type)"
        )
        valid = f"declare `{name}` {_without_not_null(old)}{'' if key else _widenings(old)}, {NEW_TABLE}"
    return Problem(name, f"column `{name}` is {old.text} in the table, declared {new.text}: {what}", valid)


def _columns(names: Sequence[str]) -> str:
    return f"({', '.join(names)})" if names else "(none)"


def _source_column(field: str | None) -> str | None:
    """The column a partition field is computed from (a table's `void(c)` too: a field Iceberg dropped)."""
    if field is None:
        return None
    try:
        return parse_partition_field(field).column
    except PartitionFieldError:
        return field.rstrip(")").split("(")[-1].split(",")[-1].strip()


def _first_difference(before: Sequence[str], after: Sequence[str]) -> str | None:
    """A column that makes two key / partition lists differ: a new one first, else a removed one."""
    return next((c for c in after if c not in before), next((c for c in before if c not in after), None))
