"""Change streams for CDC topics (``format: debezium-json`` / ``debezium-avro`` in topics.yaml).

A CDC topic's generated rows become the changes of a table keyed by its ``primary_key``, as
Debezium writes them: an envelope ``{"before", "after", "source", "op", "ts_ms"}`` per change,
keyed by the JSON of the key columns (``{"id":5}``), so one key's changes stay in one partition,
in order. Each generated row is one change of one key:

- the key is a new one (chance ``NEW_KEY``, and always for the first row) or one drawn from the
  keys already made (uniformly, deleted ones included): so keys repeat and each gets about
  1 / NEW_KEY changes, whatever the length of the run (--count or --duration);
- a key with no row (new, or deleted) gets ``c``: before null, after the row;
- a key with a row gets ``u`` (before the row as it was, after the generated row with the
  same key), or with chance ``DELETE`` ``d`` (before the row as it was, after null), followed
  at once by a tombstone (a null value with the same Kafka key), as Debezium does; a later
  change of that key creates it again (``c``).

The key columns' values come from the key's index (integers 1, 2, ...; text ``<column>-1``...;
other types: the generated row's value when the key is first made), every other column from the
generated row. ``ts_ms`` (the change's event time) is the row's event time: the simulated timeline,
or the clock at sending when live; ``source`` is ``{"connector": "sample_gen", "ts_ms": ...}``.
Every draw comes from the topic's own seeded generator: same seed, same changes.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable, Iterator

from common.load.flink_types import MAX_LENGTH, FlinkType
from samplegen.schema import FLOATS, INTEGER_RANGES

NEW_KEY = 0.25  # chance that a change is about a key not seen yet
DELETE = 0.125  # chance that a change of a key with a row deletes it
CONNECTOR = "sample_gen"  # source.connector of every change
CREATE, UPDATE, DELETE_OP = "c", "u", "d"
TOMBSTONE = "tombstone"  # the manifest's name for the null values after deletes

Envelope = dict[str, Any]
KeyMaker = Callable[[int, dict], Any]


def envelope(before: dict | None, after: dict | None, op: str, ts_ms: int) -> Envelope:
    """A Debezium change event (the JSON converter's payload with schemas.enable=false), in Debezium's field order."""
    return {
        "before": before,
        "after": after,
        "source": {"connector": CONNECTOR, "ts_ms": ts_ms},
        "op": op,
        "ts_ms": ts_ms,
    }


class ChangeLog:
    """One CDC topic's table as the changes made so far left it, and the next changes."""

    def __init__(
        self, primary_key: tuple[str, ...], columns: tuple[tuple[str, FlinkType], ...], rng: random.Random | None = None
    ) -> None:
        types = dict(columns)
        self.primary_key = primary_key
        self.key_makers = tuple(_key_maker(name, types[name]) for name in primary_key)
        self.rng = rng if rng is not None else random.Random()
        self.keys: list[tuple] = []  # the key values of each key index, in the order the keys were made
        self.rows: dict[tuple, dict] = {}  # key values -> the row as it is now; absent: never created, or deleted

    def changes(self, row: dict, ts: int) -> Iterator[tuple[bytes, Envelope | None]]:
        """(Kafka key, envelope; None for a tombstone) for one generated row: one change, or a
        delete and its tombstone. Row images are never changed once made (the envelopes share them)."""
        rng = self.rng
        if not self.keys or rng.random() < NEW_KEY:
            index = len(self.keys)
            values = tuple(make(index, row) for make in self.key_makers)
            self.keys.append(values)
        else:
            values = self.keys[rng.randrange(len(self.keys))]
        key_fields = dict(zip(self.primary_key, values))
        kafka_key = json.dumps(key_fields, separators=(",", ":"), ensure_ascii=False).encode()
        old = self.rows.get(values)
        if old is not None and rng.random() < DELETE:
            del self.rows[values]
            yield kafka_key, envelope(old, None, DELETE_OP, ts)
            yield kafka_key, None
            return
        new = {**row, **key_fields}
        self.rows[values] = new
        yield kafka_key, envelope(old, new, CREATE if old is None else UPDATE, ts)


def _key_maker(column: str, ftype: FlinkType) -> KeyMaker:
    """The value of a key column for a key index (0, 1, ...): distinct per index where the type allows."""
    root = ftype.root
    if ftype.is_integer:
        high = INTEGER_RANGES[root][1]
        return lambda index, row: index % high + 1
    if root in FLOATS:
        return lambda index, row: float(index + 1)
    if root == "DECIMAL":
        precision, scale = ftype.decimal
        top = 10 ** (precision - scale) - 1
        if top >= 1:
            return lambda index, row: index % top + 1 if scale == 0 else float(index % top + 1)
    if ftype.is_string:
        limit = None if ftype.length >= MAX_LENGTH else ftype.length

        def text(index: int, row: dict) -> str:
            value = f"{column}-{index + 1}"
            if limit is not None and len(value) > limit:
                value = str(index + 1)[-limit:]
            return value.ljust(limit) if root == "CHAR" and limit is not None else value

        return text
    return lambda index, row: row[column]  # a date, a boolean...: the row's, as first made
