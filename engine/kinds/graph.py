"""The `graph` kind: a rule that runs one of the patterns of `graphs.patterns` by name.

```yaml
kind: graph
pattern: fan_in
params:
  min_cpty: {value: 5, src: "AMLW: Max 16-degree fan-in"}
  window: 72h
```

The rule's `params` are the pattern's parameters: each must be a field of the pattern's
parameter dataclass (an unknown one is a located diagnostic) and is converted to the field's
type (durations from `72h`, tuples from lists). Graph rules run in the second stage of a
scan, after the row and window rules, because some patterns read the run's earlier alerts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import weakref
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.errors import suggest
from engine.kinds.common import WHOLE_HISTORY, EvalContext, History, Kind, Plan
from engine.spec import ParseContext, parse_duration

__all__ = ["GRAPH"]

REQUIRED = ("counterparty_account_id", "direction", "amount_base")


@dataclass(frozen=True, slots=True)
class Graph:
    """Logic of a `graph` rule: the pattern name and its typed parameters."""

    pattern: str
    params: Any


def _convert(ctx: ParseContext, name: str, raw: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    target = args[0] if origin in (typing.Union, types.UnionType) and args else hint
    if raw is None:
        return None
    if target is timedelta:
        value = parse_duration(str(raw))
        if value is None:
            ctx.error(("params", name), f"bad duration '{raw}'", "use a number and a unit: 48h, 7d")
        return value
    if typing.get_origin(target) is tuple:
        return tuple(str(v) for v in (raw if isinstance(raw, list | tuple) else [raw]))
    if target in (int, float):
        try:
            return target(raw)
        except (TypeError, ValueError):
            ctx.error(("params", name), f"expected a number, not {raw!r}")
            return None
    if target is bool:
        return bool(raw)
    return raw


def _parse(ctx: ParseContext, data: Any) -> Graph | None:
    from graphs.patterns import PATTERNS

    name = str(data.get("pattern", ""))
    pattern = PATTERNS.get(name)
    if pattern is None:
        ctx.error(
            ("pattern",),
            f"unknown graph pattern '{name}'",
            suggest(name, PATTERNS) or "patterns: " + ", ".join(sorted(PATTERNS)),
        )
        return None
    hints = typing.get_type_hints(pattern.params)
    fields = {f.name for f in dataclasses.fields(pattern.params)}
    values: dict[str, Any] = {}
    for key, param in ctx.params.items():
        if key not in fields:
            ctx.error(
                ("params", key), f"pattern {name} has no parameter '{key}'", suggest(key, fields)
            )
            continue
        ctx.used_params.add(key)
        values[key] = _convert(ctx, key, param.value, hints[key])
    ctx.columns.update(REQUIRED)
    try:
        return Graph(name, pattern.params(**values))
    except (TypeError, ValueError) as exc:
        ctx.error(("params",), f"bad parameters for {name}: {exc}")
        return None


class _Collected:
    """The last stage frame, collected once for every graph rule of the stage.

    The evaluator hands each rule of a stage the same LazyFrame; collecting it once (and
    handing every pattern the same DataFrame) also lets `graphs.build` share the pruned
    edge table between patterns. Weakly keyed on the LazyFrame: gone with it.
    """

    key: weakref.ref[pl.LazyFrame] | None = None
    value: pl.DataFrame | None = None

    @classmethod
    def get(cls, frame: pl.LazyFrame) -> pl.DataFrame:
        if cls.key is None or cls.key() is not frame or cls.value is None:
            cls.key, cls.value = weakref.ref(frame, cls._forget), frame.collect()
        return cls.value

    @classmethod
    def _forget(cls, ref: object) -> None:
        if cls.key is ref:
            cls.key, cls.value = None, None


def _build(logic: Graph) -> Plan:
    def plan(frame: pl.LazyFrame, ctx: EvalContext) -> pl.LazyFrame:
        from graphs.patterns import PATTERNS, GraphContext

        customers = None if ctx.customers is None else ctx.customers.collect()
        context = GraphContext(customers=customers, alerts=ctx.alerts)
        found: pl.DataFrame = PATTERNS[logic.pattern].run(
            _Collected.get(frame), params=logic.params, context=context
        )
        return found.lazy()

    return plan


def _graph_history(logic: Graph) -> History:
    """Whole history: a pattern merges overlapping windows into one finding
    (`graphs.hits.finish_hits`), so a finding that reaches a new posting may start anywhere
    before it, and patterns that read other rules' alerts (hub) look back as far as those
    alerts go."""
    return WHOLE_HISTORY


GRAPH = Kind(
    name="graph",
    history=_graph_history,
    keys=("pattern",),
    parse=_parse,
    build=_build,
    partition_key=lambda logic: None,
    stage=2,
)
