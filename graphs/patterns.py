"""The registry of graph patterns, keyed by the word a `kind: graph` rule uses in YAML.

A rule names its pattern and gives `params:`; the loader builds `PATTERNS[name].params` from
them (unknown keys are the dataclass's missing fields) and the evaluator calls
`PATTERNS[name].run(txns, params=..., context=...)`, which returns `engine.schema.HIT_SCHEMA`
rows.

| pattern | typology | entity |
|---|---|---|
| fan_in | ML-FANIN-01 | the receiving account |
| fan_out | ML-FANOUT-01 | the paying account |
| cycle | ML-CYCLE-01 | every member (one row each) |
| scatter_gather | ML-SCATGATH-01 | the source and the sink (two rows) |
| gather_scatter | ML-GATHSCAT-01 | the hub |
| bipartite | ML-BIPART-01 | every originator |
| stack | ML-STACK-01 | every first-layer originator |
| chain | ML-RANDOM-01 | the account the path starts from |
| hub | HT-HUB-01 | the controller account |
| wage_pool | HT-WAGE-01 | the account receiving the wages |
| shared_beneficiary | HT-SHARED-01 | the common beneficiary account |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from graphs.annotated import (
    HubParams,
    SharedBeneficiaryParams,
    WagePoolParams,
    hub,
    shared_beneficiary,
    wage_pool,
)
from graphs.cycles import CycleParams, cycle
from graphs.hits import GraphContext
from graphs.motifs import (
    BipartiteParams,
    FanParams,
    GatherScatterParams,
    bipartite,
    fan_in,
    fan_out,
    gather_scatter,
)
from graphs.paths import (
    ChainParams,
    ScatterGatherParams,
    StackParams,
    chain,
    scatter_gather,
    stack,
)

__all__ = ["PATTERNS", "GraphContext", "Pattern", "run_pattern"]

PatternFn = Callable[..., pl.DataFrame]


@dataclass(frozen=True, slots=True)
class Pattern:
    """One graph pattern: its typology, its parameter type and its function.

    Attributes:
        typology: The typologies.md id it implements.
        params: Frozen dataclass of its YAML `params:`; every field has a default.
        run: `(txns, /, *, params, context) -> HIT_SCHEMA frame`.
    """

    typology: str
    params: type[Any]
    run: PatternFn


PATTERNS: dict[str, Pattern] = {
    "bipartite": Pattern("ML-BIPART-01", BipartiteParams, bipartite),
    "chain": Pattern("ML-RANDOM-01", ChainParams, chain),
    "cycle": Pattern("ML-CYCLE-01", CycleParams, cycle),
    "fan_in": Pattern("ML-FANIN-01", FanParams, fan_in),
    "fan_out": Pattern("ML-FANOUT-01", FanParams, fan_out),
    "gather_scatter": Pattern("ML-GATHSCAT-01", GatherScatterParams, gather_scatter),
    "hub": Pattern("HT-HUB-01", HubParams, hub),
    "scatter_gather": Pattern("ML-SCATGATH-01", ScatterGatherParams, scatter_gather),
    "shared_beneficiary": Pattern("HT-SHARED-01", SharedBeneficiaryParams, shared_beneficiary),
    "stack": Pattern("ML-STACK-01", StackParams, stack),
    "wage_pool": Pattern("HT-WAGE-01", WagePoolParams, wage_pool),
}


def run_pattern(
    name: str,
    txns: pl.DataFrame,
    /,
    *,
    params: Any = None,
    context: GraphContext | None = None,
) -> pl.DataFrame:
    """Run a registered pattern with its defaults (or `params`) and an empty context.

    Raises:
        KeyError: `name` is not a registered pattern.
        TypeError: `params` is not the pattern's parameter type.
    """
    pattern = PATTERNS[name]
    chosen = pattern.params() if params is None else params
    if not isinstance(chosen, pattern.params):
        raise TypeError(
            f"{name}: params must be {pattern.params.__name__}, not {type(chosen).__name__}"
        )
    result: pl.DataFrame = pattern.run(txns, params=chosen, context=context or GraphContext())
    return result
