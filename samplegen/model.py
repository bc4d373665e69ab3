"""The event model: users, their sessions, and the bids, actions and orders those sessions make.

A fixed population of users (home city, preferred platform, spending level, how active they
are) and a catalog of products are drawn from the seed. ``sessions`` slots run user sessions
back to back in simulated event time; a user's sessions are at least ``user_gap_ms`` apart
(31 min by default, so a 30-minute session window finds exactly the generator's sessions).
A session logs in, browses a few products (searches, views, watchlist), bids on some of them
(placed, raised, sometimes won), may buy one outright, and usually logs out. Won auctions
and purchases are followed by an order a little later. Events of all sessions come out
merged in event-time order.

Records follow the topic schemas of config/topics.yaml: the three known topics (by key) get
their meaningful fields; any column the model does not know, and every column of a topic it
does not know, gets a plausible value of its Flink type (see samplegen.schema), so a new
topic needs no code here. Every draw comes from seeded generators: same seed, same events.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

from common.load.config import CDC_FORMATS, TopicConfig
from common.load.flink_types import FlinkType, parse_type
from samplegen.cdc import TOMBSTONE, ChangeLog
from samplegen.schema import convert, format_time, value_maker

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: the default start of event time
EVENT_TIME = "timestamp_ms"  # the model's own name for event time (BIGINT epoch millis)

# Cities and platforms with their shares of users (a long tail of smaller cities).
CITY_WEIGHTS = {1: 30, 2: 18, 3: 12, 4: 9, 5: 7, 7: 6, 11: 5, 13: 4, 17: 3, 19: 3, 23: 2, 29: 1}
PLATFORM_WEIGHTS = {"android": 50, "ios": 38, "web": 12}
CATEGORIES = ("electronics", "fashion", "home", "collectibles", "sports", "toys", "books", "art")

# Fields each known topic's events carry, in the shipped schema's order, with their types.
KIND_FIELDS: dict[str, dict[str, str]] = {
    "bid": {
        "event_name": "STRING",
        "user_id": "BIGINT",
        "city_id": "INT",
        "platform": "STRING",
        "session_id": "STRING",
        EVENT_TIME: "BIGINT",
        "bid_amount": "DOUBLE",
    },
    "user": {
        "event_type": "STRING",
        "user_id": "BIGINT",
        "action": "STRING",
        EVENT_TIME: "BIGINT",
        "metadata": "STRING",
    },
    "order": {
        "order_id": "STRING",
        "user_id": "BIGINT",
        "product_id": "STRING",
        "quantity": "INT",
        "price": "DOUBLE",
        EVENT_TIME: "BIGINT",
    },
}
KIND_OF_TOPIC = {"bid_events": "bid", "user_events": "user", "order_events": "order"}
GENERIC = "generic"
# Session values any topic may use for a column of that name.
SESSION_FIELDS = {"user_id": "BIGINT", "session_id": "STRING", "platform": "STRING", "city_id": "INT"}
SAMPLES = {"BIGINT": 1, "INT": 1, "DOUBLE": 1.5, "STRING": "x"}
GENERIC_PER_STEP = 0.3  # chance that a session step also emits one event to each unknown topic

_START = "start"  # heap entry: a session slot starts its next session

# Think time between two steps of a person, in ms: log-normal, median 4 s, a long tail up to about
# a minute. Drawn through a table of its quantiles: one random() per draw, far cheaper than
# random.lognormvariate.
THINK_MS = tuple(int(math.exp(8.3 + 0.8 * statistics.NormalDist().inv_cdf((i + 0.5) / 4096))) for i in range(4096))


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items: list | tuple, cumulative: list[float]) -> Any:
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


@dataclass(frozen=True)
class User:
    user_id: int
    key: bytes  # the Kafka message key: the user id as text
    home_city: int
    platform: str
    spend: float  # multiplies bid amounts: some users bid higher than others


@dataclass(frozen=True)
class Product:
    product_id: str
    category: str
    price: float


class Session:
    """Who is active in one session, and on which platform and from which city."""

    __slots__ = ("user", "session_id", "platform", "city_id")

    def __init__(self, user: User, session_id: str, platform: str, city_id: int) -> None:
        self.user, self.session_id, self.platform, self.city_id = user, session_id, platform, city_id


@dataclass
class TopicStats:
    """What was sent to one topic (counted by the runner and the fault injector)."""

    sent: int = 0
    bytes: int = 0
    malformed: int = 0
    malformed_kinds: dict[str, int] = field(default_factory=dict)
    late: int = 0
    out_of_order: int = 0
    min_ts: int = 2**63
    max_ts: int = -(2**63)
    changes: dict[str, int] = field(default_factory=dict)  # a CDC topic's: op (c, u, d) or "tombstone" -> count

    def count_change(self, change: dict | None) -> None:
        """One change event of a CDC topic sent (not malformed): its op, or a tombstone (None)."""
        op = TOMBSTONE if change is None else change["op"]
        self.changes[op] = self.changes.get(op, 0) + 1


class ValueWriter(Protocol):
    """How a topic's values are written when they are not JSON (samplegen.avro.AvroWriter for Avro)."""

    def encode(self, record: dict) -> bytes:
        """The value to send for a generated record."""
        ...

    def malformed(self, kind: str, record: dict, rng: random.Random) -> tuple[str, bytes]:
        """A bad value for one of samplegen.faults.MALFORMED_KINDS: (the kind it really is, the bytes)."""
        ...


@dataclass
class TopicPlan:
    """How records of one topic are made: which column gets which value."""

    key: str
    topic_name: str
    kind: str  # bid | user | order | generic
    columns: tuple[tuple[str, FlinkType], ...]
    event_time: str  # the column that carries event time
    event_time_type: FlinkType
    max_out_of_orderness_ms: int
    identity: bool  # the model's record is already exactly the schema (the shipped topics)
    fillers: tuple[tuple[str, Callable[[dict, Session, int, random.Random], Any]], ...]
    enabled: bool = True  # topics.yaml may disable a topic: not sent unless asked for by name
    stats: TopicStats = field(default_factory=TopicStats)
    rng: random.Random = field(default_factory=random.Random)  # values of columns without a meaning
    writer: ValueWriter | None = None  # None: values are JSON (faults.dumps); else how they are written (Avro)
    cdc: ChangeLog | None = None  # a CDC topic's table: its records are change events (samplegen.cdc)

    def build(self, fields: dict, session: Session, ts: int, rng: random.Random) -> dict:
        """The record for this topic's schema from the model's fields of one event."""
        if self.identity:
            return fields
        return {column: fill(fields, session, ts, rng) for column, fill in self.fillers}

    def time_value(self, epoch_ms: int) -> Any:
        """Event time as the event-time column's type."""
        return format_time(self.event_time_type, epoch_ms)


def plan_topic(topic: TopicConfig) -> TopicPlan:
    """Decide, once per topic, where each column's value comes from.

    A CDC topic's event time is its envelopes' ts_ms (epoch millis), not a column: its columns
    are the row's, and its plan has the ChangeLog that makes the changes (samplegen.cdc)."""
    kind = KIND_OF_TOPIC.get(topic.key, GENERIC)
    columns = tuple((name, parse_type(text)) for name, text in topic.schema)
    known = {n: parse_type(t) for n, t in KIND_FIELDS.get(kind, {}).items()}
    cdc = ChangeLog(topic.primary_key, columns) if topic.format in CDC_FORMATS else None
    time_column = None if cdc is not None else topic.event_time.field
    et_type = dict(columns)[topic.event_time.field] if cdc is None else parse_type("BIGINT NOT NULL")
    identity = (
        kind != GENERIC
        and topic.event_time.field == EVENT_TIME
        and [(n, t.root) for n, t in columns] == [(n, t.root) for n, t in known.items()]
    )
    fillers = []
    for name, ftype in columns:
        if name == time_column:
            fillers.append((name, _time_filler(ftype)))
        elif name in known and _fits(known[name], ftype):
            fillers.append((name, _field_filler(name, known[name], ftype)))
        elif name in SESSION_FIELDS and _fits(parse_type(SESSION_FIELDS[name]), ftype):
            fillers.append((name, _session_filler(name, ftype)))
        else:
            make = value_maker(ftype, name)
            fillers.append((name, lambda f, s, ts, rng, make=make: make(rng, ts)))
    return TopicPlan(
        key=topic.key,
        topic_name=topic.topic_name,
        kind=kind,
        columns=columns,
        event_time=topic.event_time.field,
        event_time_type=et_type,
        max_out_of_orderness_ms=topic.event_time.max_out_of_orderness_ms,
        identity=identity,
        fillers=tuple(fillers),
        enabled=getattr(topic, "enabled", True),
        cdc=cdc,
    )


def _fits(source: FlinkType, target: FlinkType) -> bool:
    try:
        convert(SAMPLES[source.root], target)
        return True
    except (TypeError, ValueError, KeyError):
        return False


def _time_filler(ftype: FlinkType) -> Callable:
    if ftype.is_integer:
        return lambda f, s, ts, rng: ts
    return lambda f, s, ts, rng: format_time(ftype, ts)


def _field_filler(name: str, source: FlinkType, target: FlinkType) -> Callable:
    if source.root == target.root:
        return lambda f, s, ts, rng: f[name]
    return lambda f, s, ts, rng: convert(f[name], target)


def _session_filler(name: str, target: FlinkType) -> Callable:
    attribute = {"user_id": None, "session_id": "session_id", "platform": "platform", "city_id": "city_id"}[name]
    if attribute is None:
        return lambda f, s, ts, rng: convert(s.user.user_id, target)
    return lambda f, s, ts, rng: convert(getattr(s, attribute), target)


@dataclass(frozen=True)
class ModelOptions:
    """The knobs of the simulation itself (faults are applied later, see samplegen.faults)."""

    seed: int = 42
    start_ms: int = START_MS
    users: int = 200
    sessions: int = 5  # sessions running at the same time: how dense event time is
    products: int = 2000
    idle_ms: int = 30_000  # mean pause of a session slot between two sessions
    user_gap_ms: int = 31 * 60_000  # least time between two sessions of one user


class EventModel:
    """An endless, event-time ordered stream of (plan, key, event time ms, record) for the topics.

    A CDC topic's records are its change events (samplegen.cdc): the envelope, or None for the
    tombstone (a null value) after a delete, keyed by the JSON of the row's key columns.

    Every topic's events are simulated whatever ``selected`` says (so a topic's events do not
    depend on which other topics are sent); only the selected ones come out.
    """

    def __init__(self, topics: list[TopicConfig], options: ModelOptions, selected: list[str] | None = None) -> None:
        if options.users < 1 or options.sessions < 1 or options.products < 1:
            raise ValueError("users, sessions and products must be at least 1")
        self.options = options
        self.plans = [plan_topic(t) for t in topics]
        wanted = set(selected) if selected else {p.key for p in self.plans if p.enabled}
        self.selected = [p for p in self.plans if p.key in wanted]
        self.rng = random.Random(f"{options.seed}:model")
        for plan in self.plans:  # one stream per topic: its records do not depend on the others
            plan.rng = random.Random(f"{options.seed}:fill:{plan.key}")
            if plan.cdc is not None:
                plan.cdc.rng = random.Random(f"{options.seed}:cdc:{plan.key}")
        # kind -> the selected plans that take its events (a known kind feeds its topic only)
        self.routes: dict[str, list[TopicPlan]] = {kind: [] for kind in KIND_FIELDS}
        for plan in self.selected:
            if plan.kind != GENERIC:
                self.routes[plan.kind].append(plan)
        self.generic = [p for p in self.plans if p.kind == GENERIC]
        for plan in self.generic:
            self.routes[f"{GENERIC}:{plan.key}"] = [plan] if plan in self.selected else []
        self._make_world()

    # --- the world: users and products -----------------------------------------------------------

    def _make_world(self) -> None:
        rng = random.Random(f"{self.options.seed}:world")
        cities, platforms = list(CITY_WEIGHTS), list(PLATFORM_WEIGHTS)
        city_cum = _cumulative(list(CITY_WEIGHTS.values()))
        platform_cum = _cumulative(list(PLATFORM_WEIGHTS.values()))
        self.cities, self.city_cum = cities, city_cum
        self.platforms, self.platform_cum = platforms, platform_cum
        self.users = []
        activity = []
        for i in range(self.options.users):
            user_id = 100_001 + i
            self.users.append(
                User(
                    user_id=user_id,
                    key=str(user_id).encode(),
                    home_city=_pick(rng, cities, city_cum),
                    platform=_pick(rng, platforms, platform_cum),
                    spend=round(rng.lognormvariate(0, 0.25), 3),
                )
            )
            activity.append(rng.lognormvariate(0, 1.0))  # a few users are far more active than most
        self.user_cum = _cumulative(activity)
        self.busy_until = [0] * len(self.users)
        self.products = [
            Product(
                product_id=f"p-{i:05d}",
                category=rng.choice(CATEGORIES),
                price=round(max(1.0, rng.lognormvariate(math.log(35), 0.9)), 2),
            )
            for i in range(self.options.products)
        ]
        self.product_cum = _cumulative([1 / (rank + 1) ** 0.8 for rank in range(self.options.products)])

    def _pick_user(self, now: int) -> int | None:
        """A user free for a new session, weighted by activity; None if a few tries find none."""
        for _ in range(8):
            index = bisect.bisect_right(self.user_cum, self.rng.random() * self.user_cum[-1])
            if self.busy_until[index] <= now:
                return index
        return None

    # --- sessions --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[TopicPlan, bytes, int, dict | None]]:
        return self.events()

    def events(self, clock: Callable[[], int] | None = None) -> Iterator[tuple[TopicPlan, bytes, int, dict | None]]:
        """The stream; with a `clock` (epoch ms), live: each event's time is the clock when it comes out.

        Live, the simulated timeline still decides what happens and in which order (sessions,
        their steps, orders after wins), but its pauses shrink to the sending pace: event time
        is read from the clock as the consumer asks for the event, never ahead of it.
        """
        heap: list = []
        seq = itertools.count()
        push = heapq.heappush
        opts = self.options
        for slot in range(opts.sessions):
            push(heap, (opts.start_ms + int(self.rng.uniform(0, opts.idle_ms)), next(seq), _START, slot, None))
        routes, pop = self.routes, heapq.heappop
        while True:
            ts, _, kind, fields, session = pop(heap)
            if kind is _START:
                self._session(heap, seq, ts)
                continue
            if clock is not None:
                ts = clock()
                if fields is not None:
                    fields[EVENT_TIME] = ts
            for plan in routes[kind]:
                record = fields if plan.identity else plan.build(fields, session, ts, plan.rng)
                if plan.cdc is None:
                    yield plan, session.user.key, ts, record
                else:
                    for key, change in plan.cdc.changes(record, ts):
                        yield plan, key, ts, change

    def _session(self, heap: list, seq: Iterator[int], t: int) -> None:
        """Push every event of one new session (and the slot's next session start) onto the heap."""
        rng, push = self.rng, heapq.heappush
        index = self._pick_user(t)
        if index is None:  # everyone picked is in a session or just had one: try again in a minute
            push(heap, (t + 60_000, next(seq), _START, None, None))
            return
        user = self.users[index]
        uid = user.user_id
        platform = user.platform if rng.random() < 0.85 else _pick(rng, self.platforms, self.platform_cum)
        city = user.home_city if rng.random() < 0.92 else _pick(rng, self.cities, self.city_cum)
        sid = "s-%012x" % rng.getrandbits(48)
        session = Session(user, sid, platform, city)
        meta = f'{{"session_id":"{sid}","platform":"{platform}","city_id":{city}'
        generic = [f"{GENERIC}:{p.key}" for p in self.generic]

        def action(event_type: str, name: str, extra: str = "") -> None:
            push(
                heap,
                (
                    t,
                    next(seq),
                    "user",
                    {
                        "event_type": event_type,
                        "user_id": uid,
                        "action": name,
                        EVENT_TIME: t,
                        "metadata": meta + extra + "}",
                    },
                    session,
                ),
            )
            for key in generic:
                if rng.random() < GENERIC_PER_STEP:
                    push(heap, (t, next(seq), key, None, session))

        def bid(name: str, amount: float) -> None:
            push(
                heap,
                (
                    t,
                    next(seq),
                    "bid",
                    {
                        "event_name": name,
                        "user_id": uid,
                        "city_id": city,
                        "platform": platform,
                        "session_id": sid,
                        EVENT_TIME: t,
                        "bid_amount": amount,
                    },
                    session,
                ),
            )

        def order(at: int, product: Product, quantity: int, price: float) -> None:
            push(
                heap,
                (
                    at,
                    next(seq),
                    "order",
                    {
                        "order_id": "o-%016x" % rng.getrandbits(64),
                        "user_id": uid,
                        "product_id": product.product_id,
                        "quantity": quantity,
                        "price": price,
                        EVENT_TIME: at,
                    },
                    session,
                ),
            )

        def think(draw=rng.random, table=THINK_MS, size=len(THINK_MS)) -> int:
            return table[int(draw() * size)]

        action("session", "login")
        last_order = t
        items = min(1 + int(rng.expovariate(0.6)), 8)
        for _ in range(items):
            product = _pick(rng, self.products, self.product_cum)
            pid = product.product_id
            if rng.random() < 0.3:
                t += think()
                action("navigation", "search", f',"query":"{product.category}"')
            t += think()
            action("navigation", "view_item", f',"product_id":"{pid}","category":"{product.category}"')
            if rng.random() < 0.6:
                t += think()
                amount = round(product.price * rng.uniform(0.45, 0.9) * user.spend, 2)
                bid("bid_placed", amount)
                raises = 0
                while raises < 6 and rng.random() < 0.55:
                    raises += 1
                    t += think()
                    amount = round(amount * (1 + rng.uniform(0.03, 0.15)), 2)
                    bid("bid_raised", amount)
                if rng.random() < 0.3:
                    t += think()
                    bid("bid_won", amount)
                    last_order = t + rng.randint(10_000, 300_000)
                    order(last_order, product, 1, amount)
            elif rng.random() < 0.15:
                t += think()
                action("engagement", "add_to_watchlist", f',"product_id":"{pid}"')
            elif rng.random() < 0.06:
                t += think()
                action("checkout", "buy_now", f',"product_id":"{pid}"')
                quantity = 1 if rng.random() < 0.8 else rng.randint(2, 3)
                last_order = t + rng.randint(2_000, 30_000)
                order(last_order, product, quantity, product.price)
        if rng.random() < 0.75:
            t += think()
            action("session", "logout")
        self.busy_until[index] = max(t, last_order) + self.options.user_gap_ms
        push(heap, (t + int(rng.expovariate(1 / self.options.idle_ms)), next(seq), _START, None, None))

    # --- convenience -----------------------------------------------------------------------------

    def take(self, count: int) -> Iterator[tuple[TopicPlan, bytes, int, dict | None]]:
        return itertools.islice(iter(self), count)
