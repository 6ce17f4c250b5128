"""Reference implementations of the rule kinds, and the engine path they are checked against.

The reference side is plain Python over rows: a row is a dict of canonical column -> Python
value (aware UTC `datetime`, `Decimal` money, None for a null), and the rule's SQL strings are
restated as Python functions by the test. Every window is found by scanning every row, money is
summed as `Decimal`, and nothing is clever, so that it is obviously right:

- a window is half-open, `(start, end]`; a rolling `w` window ending at `t` is `(t - w, t]`;
- a calendar period is `[start, next start)` in UTC, reported as `(start - 1us, next - 1us]`;
- hits of one rule and entity whose windows overlap merge into one alert (windows that only
  touch stay apart); an alert spans its evidence transactions and carries their ids.

The engine side runs a rule written as YAML through `engine.spec.load_pack`,
`engine.evaluate.compile_rule` + `evaluate` and `engine.alerts.build_alerts`, and returns the
same `Alert` records, so a test compares two sorted lists.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from engine.alerts import build_alerts
from engine.evaluate import compile_rule, evaluate
from engine.kinds import EvalContext
from engine.lists import RefLists
from engine.schema import TRANSACTION_COLUMNS
from engine.spec import Rule, load_pack

Row = Mapping[str, Any]
Where = Callable[[Row], bool]
Measure = Callable[[list[Row]], dict[str, Any]]
Having = Callable[[dict[str, Any]], bool]

US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Hit:
    """One triggering window `(start, end]` of an entity and the txn ids it looked at."""

    entity: str
    start: datetime
    end: datetime
    evidence: frozenset[str]


@dataclass(frozen=True, slots=True, order=True)
class Alert:
    """One episode: entity, first and last evidence timestamps, evidence ids."""

    entity: str
    start: datetime
    end: datetime
    evidence: tuple[str, ...]


# --- episodes -----------------------------------------------------------------------------


def alerts(hits: Iterable[Hit], rows: Sequence[Row]) -> list[Alert]:
    """Merge overlapping windows per entity into episodes spanning their evidence."""
    ts = {r["txn_id"]: r["ts_utc"] for r in rows}
    out = []
    by_entity: dict[str, list[Hit]] = {}
    for hit in hits:
        by_entity.setdefault(hit.entity, []).append(hit)
    for entity, mine in by_entity.items():
        mine.sort(key=lambda h: (h.start, h.end))
        episodes: list[tuple[datetime, set[str]]] = []  # (latest end so far, evidence)
        for hit in mine:
            if episodes and hit.start < episodes[-1][0]:  # (a, b] and (c, d] overlap iff c < b
                end, ids = episodes[-1]
                episodes[-1] = (max(end, hit.end), ids | hit.evidence)
            else:
                episodes.append((hit.end, set(hit.evidence)))
        for end, ids in episodes:
            if ids:
                times = [ts[i] for i in ids]
                out.append(Alert(entity, min(times), max(times), tuple(sorted(ids))))
            else:  # nothing inside the window: the alert sits at the window's end
                out.append(Alert(entity, end, end, ()))
    return sorted(out)


# --- row kinds ----------------------------------------------------------------------------


def transaction(rows: Sequence[Row], *, by: str, where: Where, window: timedelta) -> list[Hit]:
    """Every row passing `where` is a hit over `(ts - window, ts]`."""
    return [
        Hit(r[by], r["ts_utc"] - window, r["ts_utc"], frozenset([r["txn_id"]]))
        for r in rows
        if r[by] is not None and where(r)
    ]


def reference(
    rows: Sequence[Row],
    *,
    by: str,
    column: str,
    values: Iterable[str],
    where: Where,
    window: timedelta,
) -> list[Hit]:
    """A row passing `where` whose `column` is one of `values` is a hit."""
    listed = set(values)
    return transaction(
        rows,
        by=by,
        where=lambda r: r[column] is not None and str(r[column]) in listed and where(r),
        window=window,
    )


# --- window kinds -------------------------------------------------------------------------


def _events(rows: Sequence[Row], by: str, where: Where) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        if r[by] is not None and where(r):
            out.setdefault(r[by], []).append(r)
    return out


def _ids(rows: Iterable[Row]) -> frozenset[str]:
    return frozenset(r["txn_id"] for r in rows)


def aggregate_rolling(
    rows: Sequence[Row],
    *,
    by: str,
    where: Where,
    window: timedelta,
    measure: Measure,
    having: Having,
) -> list[Hit]:
    """At each event time t of an entity, measure the entity's events in `(t - window, t]`."""
    hits = []
    for entity, events in _events(rows, by, where).items():
        for t in sorted({e["ts_utc"] for e in events}):
            inside = [e for e in events if t - window < e["ts_utc"] <= t]
            if having(measure(inside)):
                hits.append(Hit(entity, t - window, t, _ids(inside)))
    return hits


def period_start(ts: datetime, period: str) -> datetime:
    """The UTC calendar period holding `ts`: day, week (from Monday), month or quarter."""
    day = datetime(ts.year, ts.month, ts.day, tzinfo=UTC)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    raise ValueError(period)


def next_period(start: datetime, period: str) -> datetime:
    """The start of the period after the one starting at `start`."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(weeks=1)
    months = {"month": 1, "quarter": 3}[period]
    index = start.month - 1 + months
    return start.replace(year=start.year + index // 12, month=index % 12 + 1)


def aggregate_calendar(
    rows: Sequence[Row],
    *,
    by: str,
    where: Where,
    period: str,
    measure: Measure,
    having: Having,
) -> list[Hit]:
    """Per entity and calendar period `[start, next)`, measure the events of that period."""
    hits = []
    for entity, events in _events(rows, by, where).items():
        for start in sorted({period_start(e["ts_utc"], period) for e in events}):
            end = next_period(start, period)
            inside = [e for e in events if start <= e["ts_utc"] < end]
            if having(measure(inside)):
                hits.append(Hit(entity, start - US, end - US, _ids(inside)))
    return hits


def shared_attribute(
    rows: Sequence[Row],
    *,
    attribute: str,
    min_customers: int,
    window: timedelta,
    where: Where,
    distinct: Mapping[str, int] | None = None,
) -> list[Hit]:
    """An attribute value used by `min_customers` customers (nulls are no customer) in a window."""

    def measure(inside: list[Row]) -> dict[str, Any]:
        counts = {"customers": len({e["customer_id"] for e in inside} - {None})}
        for column in distinct or {}:
            counts[column] = len({e[column] for e in inside} - {None})
        return counts

    def having(m: dict[str, Any]) -> bool:
        enough = m["customers"] >= min_customers
        return enough and all(m[c] >= n for c, n in (distinct or {}).items())

    return aggregate_rolling(
        rows, by=attribute, where=where, window=window, measure=measure, having=having
    )


# --- velocity -----------------------------------------------------------------------------


def velocity(
    rows: Sequence[Row],
    *,
    by: str,
    inflow: Where,
    outflow: Where,
    span: timedelta,
    having: Having,
    repeat: int = 1,
    within: timedelta | None = None,
) -> list[Hit]:
    """Each inflow at t against the entity's outflows in `(t, t + span]`.

    With `repeat`, a hit is `repeat` or more qualifying inflows in `(t - within, t]`, t being
    each qualifying inflow's time; it reaches to the last of their spans.
    """
    qualifying: dict[str, list[tuple[Row, Hit]]] = {}
    for r in rows:
        if r[by] is None or not inflow(r):
            continue
        t = r["ts_utc"]
        outs = [o for o in rows if o[by] == r[by] and outflow(o) and t < o["ts_utc"] <= t + span]
        in_amount = None if r["amount_base"] is None else float(r["amount_base"])
        out_amount = float(sum((o["amount_base"] for o in outs), Decimal(0)))
        first = min((o["ts_utc"] for o in outs), default=None)
        measured = {
            "in_amount": in_amount,
            "out_amount": out_amount,
            "n_out": len(outs),
            "ratio": None if in_amount is None else out_amount / in_amount,
            "dwell_hours": None if first is None else (first - t) / US / 3.6e9,
        }
        if having(measured):
            hit = Hit(r[by], t - US, t + span, _ids([r, *outs]))
            qualifying.setdefault(r[by], []).append((r, hit))
    if repeat <= 1 or within is None:
        return [hit for found in qualifying.values() for _, hit in found]
    hits = []
    for entity, found in qualifying.items():
        for t in sorted({r["ts_utc"] for r, _ in found}):
            inside = [h for r, h in found if t - within < r["ts_utc"] <= t]
            if len(inside) >= repeat:
                evidence = frozenset().union(*(h.evidence for h in inside))
                hits.append(Hit(entity, t - within, max(h.end for h in inside), evidence))
    return hits


# --- sequence -----------------------------------------------------------------------------


def sequence(
    rows: Sequence[Row],
    *,
    by: str,
    steps: Sequence[Where],
    within: timedelta,
    match: Callable[[tuple[Row, ...]], bool] | None = None,
    repeat: int = 1,
    repeat_within: timedelta | None = None,
) -> list[Hit]:
    """Every chain of one row per step, strictly later each, the last at most `within` after
    the first, that satisfies `match`.

    With `repeat`, a hit is `repeat` or more chains ending in `(t - repeat_within, t]`, t being
    each chain's end; it reaches back to the first of their starts.
    """
    chains: dict[str, list[Hit]] = {}
    entities = {r[by] for r in rows} - {None}
    for entity in entities:
        candidates = [[r for r in rows if r[by] == entity and step(r)] for step in steps]
        for chain in itertools.product(*candidates):
            times = [r["ts_utc"] for r in chain]
            ordered = all(a < b for a, b in itertools.pairwise(times))
            if ordered and times[-1] <= times[0] + within and (match is None or match(chain)):
                hit = Hit(entity, times[0] - US, times[-1], _ids(chain))
                chains.setdefault(entity, []).append(hit)
    if repeat <= 1 or repeat_within is None:
        return [hit for found in chains.values() for hit in found]
    hits = []
    for entity, found in chains.items():
        for t in sorted({h.end for h in found}):
            inside = [h for h in found if t - repeat_within < h.end <= t]
            if len(inside) >= repeat:
                evidence = frozenset().union(*(h.evidence for h in inside))
                hits.append(Hit(entity, min(h.start for h in inside), t, evidence))
    return hits


# --- profile ------------------------------------------------------------------------------


def profile(
    rows: Sequence[Row],
    *,
    by: str,
    where: Where,
    period: str,
    measure: Measure,
    baseline: int,
    min_baseline: int,
    having: Having,
    segment: Callable[[Row], Any] | None = None,
) -> list[Hit]:
    """Per entity and calendar period, measures against the entity's previous `baseline`
    periods (mean, sample std, z, ratio) and against its segment in the same period (rank
    percentile, median of the others). Every entity that transacts has every period the data
    has from the period of its first transaction on; a quiet one measures zero. Peers are the
    entities of the segment that have a cell in that period."""
    base = [r for r in rows if r[by] is not None]
    periods = sorted({period_start(r["ts_utc"], period) for r in base})
    entities = sorted({r[by] for r in base})
    group_of = {
        e: (segment(next(r for r in base if r[by] == e)) if segment else None) for e in entities
    }
    events = _events(base, by, where)
    grid: dict[tuple[str, datetime], dict[str, Any]] = {}
    first = {
        e: min(period_start(r["ts_utc"], period) for r in base if r[by] == e) for e in entities
    }
    for e in entities:
        for p in periods:
            if p < first[e]:
                continue
            inside = [x for x in events.get(e, []) if period_start(x["ts_utc"], period) == p]
            measured = measure(inside) if inside else {}
            grid[e, p] = {"_evidence": _ids(inside)} | {
                k: 0.0 if v is None else float(v) for k, v in measured.items()
            }
    names = list(measure([]))
    for cell in grid.values():  # a quiet period measures zero
        for name in names:
            cell.setdefault(name, 0.0)
    for e in entities:
        own = [p for p in periods if (e, p) in grid]
        for i, p in enumerate(own):
            cell = grid[e, p]
            for n in names:
                previous = [grid[e, q][n] for q in own[max(0, i - baseline) : i]]
                mean = std = None
                if len(previous) >= min_baseline:
                    mean = sum(previous) / len(previous)
                    std = statistics.stdev(previous) if len(previous) > 1 else None
                value = cell[n]
                peers = [
                    grid[o, p][n] for o in entities if group_of[o] == group_of[e] and (o, p) in grid
                ]
                cell[f"{n}_baseline"] = mean
                cell[f"{n}_std"] = std
                cell[f"{n}_z"] = (value - mean) / std if mean is not None and std else None
                cell[f"{n}_ratio"] = value / mean if mean is not None and mean > 0 else None
                cell[f"{n}_peer_pct"] = (sum(v <= value for v in peers) - 1) / max(
                    len(peers) - 1, 1
                )
                others = list(peers)
                others.remove(value)
                cell[f"{n}_peer_median"] = statistics.median(others) if others else None
    hits = []
    for (e, p), cell in grid.items():
        if having(cell):
            hits.append(Hit(e, p - US, next_period(p, period) - US, cell["_evidence"]))
    return hits


# --- small measures, as SQL would compute them -------------------------------------------


def total(rows: Iterable[Row], column: str = "amount_base") -> float | None:
    """`sum(column)`: exact, then a float; NULL when every value is null."""
    values = [r[column] for r in rows if r[column] is not None]
    return float(sum(values, Decimal(0))) if values else None


def distinct(rows: Iterable[Row], column: str) -> int:
    """`count(DISTINCT column)`: nulls are not a value."""
    return len({r[column] for r in rows} - {None})


def ge(value: float | None, limit: float) -> bool:
    """`value >= limit` where NULL is false."""
    return value is not None and value >= limit


# --- the engine path ----------------------------------------------------------------------


_LOADED: dict[tuple[str, int], tuple[RefLists | None, tuple[Rule, ...]]] = {}


def pack(text: str, lists: RefLists | None = None) -> tuple[Rule, ...]:
    """The rules of a YAML text (one or more documents), loaded through
    `engine.spec.load_pack` from a temporary file; cached by text and lists."""
    cached = _LOADED.get((text, id(lists)))
    if cached is not None and cached[0] is lists:
        return cached[1]
    with tempfile.TemporaryDirectory(prefix="moneytrail-naive-") as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        rules = load_pack(path, lists=lists or RefLists({})).rules
    _LOADED[text, id(lists)] = (lists, rules)
    return rules


def rule(text: str, lists: RefLists | None = None) -> Rule:
    """The one rule of a YAML text."""
    (only,) = pack(text, lists)
    return only


def frame(rows: Sequence[Row]) -> pl.DataFrame:
    """A canonical transaction frame of every column the rows name."""
    columns = [c for c in TRANSACTION_COLUMNS if any(c in r for r in rows)] or list(
        TRANSACTION_COLUMNS
    )
    schema = {c: TRANSACTION_COLUMNS[c] for c in columns}
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema=schema, orient="row")


def engine_hits(
    rules: Sequence[Rule],
    txns: pl.DataFrame,
    *,
    customers: pl.DataFrame | None = None,
    lists: RefLists | None = None,
    streaming: bool = False,
) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """(alerts, evidence) per rule id, as a scan computes them."""
    compiled = [compile_rule(r) for r in rules]
    context = EvalContext(
        customers=None if customers is None else customers.lazy(),
        lists=(lists or RefLists({})).tables,
    )
    evaluation = evaluate(txns, compiled, customers=customers, context=context, streaming=streaming)
    assert not evaluation.skipped, evaluation.skipped
    return {
        c.rule.id: build_alerts(
            c.rule, evaluation.hits[c.rule.id], txns, entity_type=c.partition_key or "-"
        )
        for c in compiled
    }


def as_alerts(alerts_frame: pl.DataFrame, evidence: pl.DataFrame) -> list[Alert]:
    """The engine's alerts as `Alert` records."""
    ids: dict[str, list[str]] = {}
    for alert_id, txn_id in evidence.select("alert_id", "txn_id").iter_rows():
        ids.setdefault(alert_id, []).append(txn_id)
    return sorted(
        Alert(
            row["entity"],
            row["episode_start"],
            row["episode_end"],
            tuple(sorted(ids.get(row["alert_id"], []))),
        )
        for row in alerts_frame.iter_rows(named=True)
    )


def engine_alerts(
    rule_: Rule,
    rows: Sequence[Row],
    *,
    customers: pl.DataFrame | None = None,
    lists: RefLists | None = None,
    streaming: bool = False,
) -> list[Alert]:
    """The alerts of one rule over `rows`, through the real engine path."""
    txns = frame(rows)
    found = engine_hits([rule_], txns, customers=customers, lists=lists, streaming=streaming)
    return as_alerts(*found[rule_.id])
