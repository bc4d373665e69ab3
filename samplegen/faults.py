"""Fault knobs (out-of-order, late and malformed records) and the encoding of records to bytes.

All knobs are fractions of the records sent, off by default, and picked by an exact
sampler: with a known total (``--count``) exactly ``round(total * fraction)`` records get
the fault, spread at random (one per stretch of ``1 / fraction`` records); with
``--duration`` it is one per such stretch. One record gets at most one fault: malformed
first, then late, then out of order (so late and out-of-order counts can come out a
hair below the asked share when knobs overlap; the manifest has the real counts).

- out of order: event time moved 1 ms .. the topic's max_out_of_orderness behind the
  newest event time already sent on that topic: older than events before it, but not
  behind the watermark (a watermark-based job keeps it);
- late: event time moved more than the bound behind (the bound + 1 s .. + ``late_by``):
  behind the watermark, a watermark-based job drops it;
- malformed: bad JSON (truncated, not JSON at all), a wrong type (a non-string column
  holding text), or missing fields (a column left out). An Avro topic's (samplegen.avro) are
  their counterparts in its wire format: not the wire format (the record as JSON), an unknown
  schema id, or the Avro binary cut short. A CDC topic's (samplegen.cdc) are about the row
  image of the change (after; before for a delete): a wrong type in one of its columns, or a
  key column left out of it; a Debezium Avro topic's are an Avro topic's. Late and out of order
  move the envelope's ts_ms. A tombstone never gets a fault: one that falls on a tombstone is
  not made (so a CDC topic's counts come out a little below the asked share).

Live (event time = the wall clock at sending, see ``EventModel.events``), an out-of-order
record also stays within the bound of the clock: its time is drawn from
[now - bound, newest - 1 ms], so it is behind the newest record yet never more than the
bound behind the clock (when the topic's newest record is already more than the bound old,
there is no such time and the record goes out in order, uncounted). A late record is more
than bound + 1 s behind the newest record, hence behind the clock by more than that too.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from samplegen.model import TopicPlan

try:  # a compiled JSON encoder, about ten times faster; same bytes as json.dumps compact
    import orjson

    def dumps(record: Any) -> bytes:
        return orjson.dumps(record)
except ImportError:  # pragma: no cover - orjson is in package/requirements-dev.txt
    _encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

    def dumps(record: Any) -> bytes:
        return _encoder.encode(record).encode()


MALFORMED_KINDS = ("bad_json", "wrong_type", "missing_field")
MALFORMED, LATE, OUT_OF_ORDER = "malformed", "late", "out_of_order"  # Faults.last_fault
LATE_MIN_EXTRA_MS = 1_000


@dataclass(frozen=True)
class FaultKnobs:
    out_of_order: float = 0.0
    late: float = 0.0
    malformed: float = 0.0
    late_by_ms: int = 60_000  # late events are up to this much further behind than the bound
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS

    @property
    def any(self) -> bool:
        return bool(self.out_of_order or self.late or self.malformed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_of_order": self.out_of_order,
            "late": self.late,
            "late_by_ms": self.late_by_ms,
            "malformed": self.malformed,
            "malformed_kinds": list(self.malformed_kinds),
        }


class Sampler:
    """Picks exactly one record in each stretch of records, at a random place in the stretch.

    Stretch b covers records [ceil(b * n / k), ceil((b + 1) * n / k)), where k / n is the
    fraction (k = round(total * fraction), n = total when the total is known).
    """

    def __init__(self, fraction: float, total: int | None, rng: random.Random) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"a fraction must be between 0 and 1, not {fraction}")
        self.rng = rng
        if total is not None:
            self.num, self.den = total, round(total * fraction)
        else:
            share = Fraction(fraction).limit_denominator(1_000_000)
            self.num, self.den = share.denominator, share.numerator
        self.block = -1
        self.target = -1
        self.enabled = self.den > 0

    def _start(self, block: int) -> int:
        return -(-block * self.num // self.den)

    def picks(self, index: int) -> bool:
        """Whether record `index` (0, 1, 2, ... in order) gets the fault."""
        if not self.enabled:
            return False
        block = index * self.den // self.num
        if block != self.block:
            self.block = block
            self.target = self.rng.randrange(self._start(block), self._start(block + 1))
        return index == self.target


class Faults:
    """Applies the knobs to records in sending order, counting into each topic's stats."""

    def __init__(self, knobs: FaultKnobs, seed: int, total: int | None, live: bool = False) -> None:
        self.knobs = knobs
        self.live = live  # event times given to encode() are clock readings: keep disorder within the bound
        self.rng = random.Random(f"{seed}:faults")
        self.malformed = Sampler(knobs.malformed, total, random.Random(f"{seed}:malformed"))
        self.late = Sampler(knobs.late, total, random.Random(f"{seed}:late"))
        self.out_of_order = Sampler(knobs.out_of_order, total, random.Random(f"{seed}:out_of_order"))
        self.index = 0
        self.newest: dict[str, int] = {}  # topic key -> newest event time sent
        self.last_fault: str | None = (
            None  # what encode() did to the last record: MALFORMED, LATE, OUT_OF_ORDER or None
        )
        self.malformers: dict[str, Callable[[TopicPlan, dict], bytes | None]] = {
            "bad_json": self._bad_json,
            "wrong_type": self._wrong_type,
            "missing_field": self._missing_field,
        }
        self.change_malformers: dict[str, Callable[[TopicPlan, dict], bytes | None]] = {
            "bad_json": self._bad_json,
            "wrong_type": self._wrong_type_in_image,
            "missing_field": self._key_missing_from_image,
        }

    def skip(self) -> None:
        """A record sent without a fault that is not encoded here (a CDC topic's tombstone): it takes its index."""
        self.index += 1
        self.last_fault = None

    def encode(self, plan: TopicPlan, ts: int, record: dict) -> tuple[bytes, int | None]:
        """The bytes to send for one record and its event time (None for a malformed record)."""
        index, self.index = self.index, self.index + 1
        stats = plan.stats
        self.last_fault = None
        if self.malformed.picks(index):
            kind = self.rng.choice(self.knobs.malformed_kinds)
            value: bytes | None
            malformers = self.malformers if plan.cdc is None else self.change_malformers
            if plan.writer is not None:  # an Avro topic: the kind's counterpart in its wire format
                kind, value = plan.writer.malformed(kind, record, self.rng)
            else:
                value = malformers[kind](plan, record)
            if value is None:  # e.g. no column that can hold a wrong type: leave one out instead
                leave_out = self._missing_field if plan.cdc is None else self._key_missing_from_image
                kind, value = "missing_field", leave_out(plan, record)
            stats.malformed += 1
            stats.malformed_kinds[kind] = stats.malformed_kinds.get(kind, 0) + 1
            self.last_fault = MALFORMED
            return value, None
        newest = self.newest.get(plan.key)
        bound = plan.max_out_of_orderness_ms
        if newest is not None and self.late.picks(index):
            ts = newest - bound - self.rng.randint(LATE_MIN_EXTRA_MS, max(LATE_MIN_EXTRA_MS, self.knobs.late_by_ms))
            record[plan.event_time] = plan.time_value(ts)
            stats.late += 1
            self.last_fault = LATE
        elif newest is not None and self.out_of_order.picks(index):
            if self.live:
                moved = self._live_disorder(ts, newest, bound)
            else:
                moved = newest - self.rng.randint(1, max(1, bound))
            if moved is not None:
                ts = moved
                record[plan.event_time] = plan.time_value(ts)
                stats.out_of_order += 1
                self.last_fault = OUT_OF_ORDER
            elif ts > newest:
                self.newest[plan.key] = ts
        elif newest is None or ts > newest:
            self.newest[plan.key] = ts
        return (dumps(record) if plan.writer is None else plan.writer.encode(record)), ts

    def _live_disorder(self, now: int, newest: int, bound: int) -> int | None:
        """A time in [now - bound, newest - 1], or None if the topic's newest is already that old.

        One random() whatever the clock says, so the rest of the run draws the same numbers.
        """
        low, high = now - max(1, bound), newest - 1
        draw = self.rng.random()
        if high < low:
            return None
        return low + int(draw * (high - low + 1))

    # --- malformed records ----------------------------------------------------------------------

    def _bad_json(self, plan: TopicPlan, record: dict) -> bytes:
        text = dumps(record)
        if self.rng.random() < 0.5:
            return text[: self.rng.randint(1, len(text) - 1)]  # cut short: never valid JSON
        return b"user_id=" + str(record.get("user_id", "?")).encode() + b"; not json {"

    def _wrong_type(self, plan: TopicPlan, record: dict) -> bytes | None:
        candidates = [c for c, t in plan.columns if not t.is_string]
        if not candidates:
            return None
        column = self.rng.choice(candidates)
        broken = dict(record)
        broken[column] = "oops-not-a-" + dict(plan.columns)[column].root.lower()
        return dumps(broken)

    def _missing_field(self, plan: TopicPlan, record: dict) -> bytes:
        broken = dict(record)
        del broken[self.rng.choice([c for c, _ in plan.columns])]
        return dumps(broken)

    # A change event's: the row image the op needs (after; before for a delete), copied (the
    # change log keeps the images).

    @staticmethod
    def _image(change: dict) -> str:
        return "after" if change["after"] is not None else "before"

    def _wrong_type_in_image(self, plan: TopicPlan, change: dict) -> bytes | None:
        candidates = [c for c, t in plan.columns if not t.is_string]
        if not candidates:
            return None
        column = self.rng.choice(candidates)
        image = self._image(change)
        broken_image = {**change[image], column: "oops-not-a-" + dict(plan.columns)[column].root.lower()}
        return dumps({**change, image: broken_image})

    def _key_missing_from_image(self, plan: TopicPlan, change: dict) -> bytes:
        assert plan.cdc is not None
        image = self._image(change)
        column = self.rng.choice(plan.cdc.primary_key)
        return dumps({**change, image: {k: v for k, v in change[image].items() if k != column}})
