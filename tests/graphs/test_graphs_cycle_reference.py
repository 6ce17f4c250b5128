"""The Polars cycle search agrees with the obvious one: nx.simple_cycles + every transfer choice."""

from __future__ import annotations

import itertools
from datetime import timedelta

import networkx as nx
from graphs_testkit import at, postings
from hypothesis import example, given, settings
from hypothesis import strategies as st

from graphs.build import pruned_transfers
from graphs.cycles import TIME_ORDERS, CycleParams, _search

NODES = ["a", "b", "c", "d", "e"]

transfer = st.tuples(
    st.sampled_from(NODES),
    st.sampled_from(NODES),
    st.integers(min_value=100, max_value=400).map(lambda x: x * 2.5),
    st.integers(min_value=0, max_value=120),
).filter(lambda t: t[0] != t[1])


def reference(txns, params: CycleParams) -> set[frozenset[str]]:
    edges = pruned_transfers(txns, hygiene=params).collect()
    legs: dict[tuple[str, str], list[tuple]] = {}
    for row in edges.iter_rows(named=True):
        legs.setdefault((row["source"], row["target"]), []).append(row)
    graph = nx.DiGraph(list(legs))
    delay = params.max_hop_delay or params.span
    found = set()
    for nodes in nx.simple_cycles(graph, length_bound=params.max_length):
        if len(nodes) < params.min_length:
            continue
        n = len(nodes)
        for rotation in range(n):
            order = nodes[rotation:] + nodes[:rotation]
            choices = [legs[(order[i], order[(i + 1) % n])] for i in range(n)]
            for combo in itertools.product(*choices):
                ts = [h["ts_utc"] for h in combo]
                amounts = [float(h["amount"]) for h in combo]
                shaved = all(
                    params.min_hop_ratio <= amounts[i + 1] / amounts[i] <= params.max_hop_ratio
                    for i in range(n - 1)
                )
                if params.time_order == "none":
                    # any order: read from the earliest transfer, everything within the span
                    ok = ts[0] == min(ts) and max(ts) - ts[0] < params.span and shaved
                else:
                    lowest = timedelta(microseconds=1 if params.time_order == "strict" else 0)
                    ok = (
                        ts[-1] - ts[0] < params.span
                        and shaved
                        and all(lowest <= ts[i + 1] - ts[i] <= delay for i in range(n - 1))
                    )
                if ok:
                    found.add(frozenset(h["txn_id"] for h in combo))
    return found


@settings(max_examples=60, deadline=None)
@given(
    st.lists(transfer, min_size=2, max_size=12),
    st.sampled_from([None, 24, 48]),
    st.sampled_from(TIME_ORDERS),
    st.booleans(),
)
@example(
    [("a", "b", 1000.0, 0), ("b", "c", 900.0, 10), ("c", "a", 800.0, 20)],
    None,
    "same_time_ok",
    False,
)
@example([("a", "b", 500.0, 0), ("b", "a", 490.0, 30), ("b", "a", 480.0, 40)], 24, "strict", False)
@example(
    [("a", "b", 1000.0, 5), ("b", "c", 900.0, 5), ("c", "a", 800.0, 5)], None, "same_time_ok", False
)
@example([("a", "b", 1000.0, 5), ("b", "c", 900.0, 5), ("c", "a", 800.0, 9)], None, "strict", False)
@example([("a", "b", 1000.0, 40), ("b", "c", 900.0, 20), ("c", "a", 800.0, 0)], 24, "none", False)
@example([("a", "b", 1000.0, 5), ("b", "c", 900.0, 5), ("c", "a", 800.0, 5)], None, "none", False)
def test_search_matches_reference(
    items: list[tuple], delay_h: int | None, order: str, any_amount: bool
) -> None:
    """Every time order: same-time hops in order (the default), strictly increasing, none;
    with the §5 amount shave or (`any_amount`, the AMLSim profile) without it."""
    txns = postings([(s, t, a, at(hours=h)) for s, t, a, h in items])
    params = CycleParams(
        span=timedelta(hours=72),
        max_hop_delay=None if delay_h is None else timedelta(hours=delay_h),
        max_length=4,
        time_order=order,
        **({"min_hop_ratio": 0.0, "max_hop_ratio": float("inf")} if any_amount else {}),
    )
    fast = {
        frozenset(h.txn_id for h in hops)
        for _, hops in _search(pruned_transfers(txns, hygiene=params).collect(), params=params)
    }
    assert fast == reference(txns, params)
    if items[:1] == [("a", "b", 1000.0, 0)]:
        assert len(fast) == 1
