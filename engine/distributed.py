"""A scan split by entity: which rules may run per partition, the pure per-partition work, and
the stages that put the partitions' alerts together with the rules that must see every row.

A rule runs per partition when all its hits for one entity of its partition key read only
that entity's rows: its kind works per entity (`PER_ENTITY`), it is a first-stage rule, and no
expression it applies across entities reads other rows (an aggregate such as `avg(amount)` in
a `where`, a window function). Everything else runs on the driver over the whole frame:
profiles (their period grid and peer ranks read every entity), graph patterns and anomaly
models (stage 2, no key), and those expressions.

`scan_partition` is the work of one partition: Arrow in, alerts and evidence as Arrow out, no
global state, so a Ray task runs it as it is (`engine.ray_engine`) and a Spark `mapInArrow`
adapter could too. `run_stages` is backend-neutral: it takes the function that maps
partitions, so results are the same whichever backend runs them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from engine.alerts import ALERT_SCHEMA, EVIDENCE_COLUMNS, alerts_of, empty_evidence
from engine.errors import InputError
from engine.evaluate import CompiledRule, evaluate
from engine.kinds import EvalContext
from engine.partition import key_values, split
from engine.stages import Level, run_levels

__all__ = [
    "PER_ENTITY",
    "MapPartitions",
    "Partition",
    "PartitionResult",
    "Scanned",
    "Shared",
    "map_in_process",
    "partition_key",
    "run_stages",
    "scan_frame",
    "scan_partition",
]

PER_ENTITY: dict[str, tuple[str, ...]] = {
    "transaction": (),
    "reference": ("ref_where",),  # over the reference list, which every partition holds whole
    "aggregate": ("measures",),  # aggregations inside one entity's window
    "shared_attribute": (),
    "velocity": (),
    "sequence": (),
}
"""Kinds whose hits for one entity read only its rows, with the logic fields that are
evaluated inside one entity's group (and so may aggregate). Every other expression of the
logic is applied to rows of many entities at once and must be row by row."""

_ROW_NODES = frozenset({"Column", "Literal", "BinaryExpr", "Ternary", "Cast", "Alias", "Function"})
_CROSS_ROW_FUNCTIONS = frozenset(
    {
        "NullCount", "Quantile", "Shift", "ShiftAndFill", "Diff", "PctChange", "Rank", "Unique",
        "UniqueCounts", "IsUnique", "IsDuplicated", "IsFirstDistinct", "IsLastDistinct",
        "ArgUnique", "ArgMin", "ArgMax", "ArgSort", "Reverse", "Interpolate", "InterpolateBy",
        "FillNullWithStrategy", "Mode", "Entropy", "DropNulls", "DropNans", "Repeat", "RLE",
        "RLEID", "Skew", "Kurtosis", "ValueCounts", "Hist", "Implode", "Explode", "Any", "All",
        "Gather", "GatherEvery", "Sample", "Shuffle", "TopK", "TopKBy", "Cov", "Corr", "PeakMin",
        "PeakMax", "SearchSorted", "Head", "Tail", "ExtendConstant", "ConcatVertical",
        "ApproxNUnique", "MaxBy", "MinBy", "Index", "Cut", "QCut",
    }
)  # fmt: skip
_CROSS_ROW_PREFIXES = ("Cum", "Rolling", "Ewm")


def _reads_other_rows(node: Any) -> bool:
    """Whether a serialized expression may read rows other than its own (conservative: any
    node not known to be row by row counts)."""
    if not isinstance(node, dict) or len(node) != 1:
        return True  # "Len", a wildcard, or a shape not known here
    ((variant, body),) = node.items()
    if variant not in _ROW_NODES:
        return True  # Agg, Over, Window, Sort, Filter, Slice, ...
    if variant in ("Column", "Literal"):
        return False
    if variant == "Alias":
        return _reads_other_rows(body[0])
    if variant == "Cast":
        return _reads_other_rows(body["expr"])
    if variant == "BinaryExpr":
        return _reads_other_rows(body["left"]) or _reads_other_rows(body["right"])
    if variant == "Ternary":
        return any(_reads_other_rows(body[k]) for k in ("predicate", "truthy", "falsy"))
    function = body["function"]
    names = {function} if isinstance(function, str) else set(function)
    for inner in function.values() if isinstance(function, dict) else ():
        names |= (
            {inner} if isinstance(inner, str) else set(inner) if isinstance(inner, dict) else set()
        )
    if names & _CROSS_ROW_FUNCTIONS or any(n.startswith(_CROSS_ROW_PREFIXES) for n in names):
        return True
    return any(_reads_other_rows(arg) for arg in body["input"])


def _expressions(value: Any) -> Iterator[pl.Expr]:
    if isinstance(value, pl.Expr):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _expressions(item)


def partition_key(item: CompiledRule) -> str | None:
    """The column this rule's work may be split by, or None when it must see every row."""
    exempt = PER_ENTITY.get(item.rule.kind)
    if exempt is None or item.stage != 1 or item.partition_key is None:
        return None
    if item.rule.batch_windows:  # a window function (OVER) reads the whole batch
        return None
    for field in dataclasses.fields(item.rule.logic):
        if field.name in exempt:
            continue
        for expr in _expressions(getattr(item.rule.logic, field.name)):
            if _reads_other_rows(json.loads(expr.meta.serialize(format="json"))):
                return None
    return item.partition_key


@dataclass(frozen=True, slots=True)
class Scanned:
    """Alerts, their evidence and the skipped rules of one scanned frame."""

    alerts: pl.DataFrame
    evidence: pl.DataFrame
    skipped: dict[str, str]


def scan_frame(
    frame: pl.DataFrame,
    rules: Sequence[CompiledRule],
    /,
    *,
    customers: pl.DataFrame | None,
    context: EvalContext,
    streaming: bool,
) -> Scanned:
    """Evaluate `rules` over `frame` and build their alerts, as a one-process scan does."""
    evaluation = evaluate(frame, rules, customers=customers, context=context, streaming=streaming)
    alerts, evidence = alerts_of(rules, evaluation.hits, frame)
    return Scanned(alerts, evidence, evaluation.skipped)


@dataclass(frozen=True, slots=True)
class Shared:
    """What every partition reads whole: customers, reference lists, the collect engine."""

    customers: pa.Table | None
    lists: Mapping[str, pa.Table]
    streaming: bool


@dataclass(frozen=True, slots=True)
class Partition:
    """One bucket of the rows for the rules keyed on one column."""

    key: str
    bucket: int
    rows: pa.Table
    rules: tuple[CompiledRule, ...]


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """What one partition found: alerts and evidence (Arrow) and the rules it skipped."""

    alerts: pa.Table
    evidence: pa.Table
    skipped: Mapping[str, str]


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def scan_partition(
    rows: pa.Table, /, *, rules: Sequence[CompiledRule], shared: Shared
) -> PartitionResult:
    """The work of one partition: its rows in, its alerts and evidence out (all Arrow).

    Pure: it reads nothing but its arguments, so it may run anywhere, any number of times.
    """
    customers = None if shared.customers is None else _frame(shared.customers)
    lists = {name: _frame(table) for name, table in shared.lists.items()}
    context = EvalContext(customers=None if customers is None else customers.lazy(), lists=lists)
    found = scan_frame(
        _frame(rows), rules, customers=customers, context=context, streaming=shared.streaming
    )
    return PartitionResult(found.alerts.to_arrow(), found.evidence.to_arrow(), found.skipped)


MapPartitions = Callable[[Sequence[Partition], Shared], list[PartitionResult]]
"""Runs `scan_partition` on each partition (anywhere) and returns the results in order."""


def map_in_process(partitions: Sequence[Partition], shared: Shared) -> list[PartitionResult]:
    """Every partition here, one after another (the reference the backends must match)."""
    return [scan_partition(p.rows, rules=p.rules, shared=shared) for p in partitions]


def _partitions(
    txns: pl.DataFrame,
    rules: Sequence[CompiledRule],
    customers: pl.DataFrame | None,
    buckets: int,
) -> list[Partition]:
    """Rules keyed on one column share one pass: one partition per (key, bucket) with rows."""
    by_key: dict[str, list[CompiledRule]] = {}
    for item in rules:
        by_key.setdefault(str(partition_key(item)), []).append(item)
    out: list[Partition] = []
    for key, keyed in by_key.items():
        used = set().union(*(c.columns for c in keyed)) | set(EVIDENCE_COLUMNS) | {"customer_id"}
        projected = txns.select([c for c in txns.columns if c in used])
        # rows with a null key are left out: every kind here drops them before it groups
        parts, _ = split(projected, key, buckets, customers=customers)
        for b, part in enumerate(parts):
            if part.height:
                out.append(Partition(key, b, part.to_arrow(), tuple(keyed)))
    return out


def run_stages(
    txns: pl.DataFrame,
    compiled: Sequence[CompiledRule],
    customers: pl.DataFrame | None,
    context: EvalContext,
    /,
    *,
    buckets: int,
    map_partitions: MapPartitions,
    streaming: bool = False,
    on_stage: Callable[[str], None] = lambda _: None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """A scan's evaluation with the partition-safe rules split into `buckets` per key.

    Returns (alerts, evidence, skipped) equal to a one-process scan's, alerts in the same
    order: by stage, then rule, then entity and episode.

    Raises:
        InputError: `buckets` < 1.
    """
    if buckets < 1:
        raise InputError(f"--buckets {buckets}: need at least 1")
    shared = Shared(
        None if customers is None else customers.to_arrow(),
        {name: table.to_arrow() for name, table in (context.lists or {}).items()},
        streaming,
    )

    def run_level(batch: list[CompiledRule], context: EvalContext) -> Level:
        # with no rows, no partition would report the rules it skips: the driver does it all
        splittable = [
            c
            for c in batch
            if not txns.is_empty()
            and (key := partition_key(c)) is not None
            and key_values(txns.head(0), key, customers=customers) is not None
        ]
        local = [c for c in batch if c not in splittable]
        parts = _partitions(txns, splittable, customers, buckets)
        results = [
            Scanned(_frame(r.alerts), _frame(r.evidence), dict(r.skipped))
            for r in map_partitions(parts, shared)
        ]
        results.append(
            scan_frame(txns, local, customers=customers, context=context, streaming=streaming)
        )
        alerts = pl.concat([r.alerts for r in results], how="vertical_relaxed")
        found_skips = {k: v for r in results for k, v in r.skipped.items()}
        # the order of a one-process scan: rule, then entity, then episode
        mine = [
            alerts.filter(pl.col("rule_id") == item.rule.id).sort(
                "entity", "window_start", maintain_order=True
            )
            for item in batch
        ]
        return Level(
            pl.concat([pl.DataFrame(schema=ALERT_SCHEMA), *mine]),
            pl.concat([r.evidence for r in results], how="vertical_relaxed"),
            {
                item.rule.id: found_skips[item.rule.id]
                for item in batch
                if item.rule.id in found_skips
            },
        )

    levels = run_levels(compiled, context, run_level, on_stage=on_stage)
    alert_parts = [x.alerts for x in levels]
    evidence_parts = [x.evidence for x in levels]
    skipped = {k: v for x in levels for k, v in x.skipped.items()}
    all_alerts = pl.concat([pl.DataFrame(schema=ALERT_SCHEMA), *alert_parts])
    evidence = pl.concat([empty_evidence(txns), *evidence_parts], how="vertical_relaxed")
    order = all_alerts.select("alert_id").with_row_index("_order")
    evidence = (
        evidence.join(order, on="alert_id", how="left")
        .sort("_order", "txn_id", maintain_order=True)
        .drop("_order")
    )
    return all_alerts, evidence, skipped
