from datetime import timedelta
from decimal import Decimal

import polars as pl
from graphs_testkit import at, frame, postings

from graphs.build import EDGE_COLUMNS, Hygiene, edge_table, prune, to_digraph, transfers


def test_internal_transfer_counts_once_and_external_inflow_is_kept() -> None:
    txns = postings([("a", "b", 100, at(0)), ("x", "a", 250, at(1))], external=["x"])
    # ids that do not follow the "-out"/"-in" convention must not matter
    txns = txns.with_columns(pl.Series("txn_id", ["p1", "q7", "z3"]))
    out = transfers(txns).collect().sort("ts_utc")
    assert out.select("txn_id", "source", "target").rows() == [("p1", "a", "b"), ("z3", "x", "a")]


def test_external_receiver_keeps_the_out_posting() -> None:
    out = transfers(postings([("a", "ext", 100, at(0))], external=["ext"])).collect()
    assert out.select("source", "target").rows() == [("a", "ext")]


def test_cash_postings_are_not_edges() -> None:
    rows = [
        {
            "txn_id": "c1",
            "account_id": "a",
            "ts_utc": at(0),
            "direction": "in",
            "amount": Decimal("900.00"),
            "currency": "EUR",
            "channel": "cash",
        },
    ]
    assert transfers(frame(rows)).collect().is_empty()


def test_edge_table_sums_exactly() -> None:
    txns = postings([("a", "b", "0.10", at(i)) for i in range(10)] + [("a", "b", "0.20", at(20))])
    edges = edge_table(transfers(txns)).collect()
    assert edges.schema == pl.Schema(EDGE_COLUMNS)
    assert edges.row(0, named=True)["amount"] == Decimal("1.20")
    assert edges.row(0, named=True)["count"] == 11


def test_hygiene_drops_merchants_small_amounts_and_self_loops() -> None:
    txns = postings(
        [
            ("a", "shop", 500, at(0), {"counterparty_type": "merchant"}),
            ("a", "b", 99.99, at(1)),
            ("a", "c", 100, at(2)),
        ]
    )
    kept = prune(transfers(txns), hygiene=Hygiene()).collect()
    assert kept.get_column("target").to_list() == ["c"]


def test_hub_suppression_needs_the_floor() -> None:
    fan = [(f"s{i}", "hub", 200, at(i)) for i in range(30)] + [("x", "y", 200, at(0))]
    txns = postings(fan)
    low = Hygiene(hub_quantile=0.5, hub_min_degree=10)
    high = Hygiene(hub_quantile=0.5, hub_min_degree=50)
    assert "hub" not in prune(transfers(txns), hygiene=low).collect().get_column("target")
    assert "hub" in prune(transfers(txns), hygiene=high).collect().get_column("target")


def test_hub_degree_is_counted_per_period() -> None:
    spread = [(f"s{i}", "hub", 200, at(days=40 * i)) for i in range(12)]
    hygiene = Hygiene(hub_quantile=0.0, hub_min_degree=3, hub_period=timedelta(days=90))
    kept = prune(transfers(postings(spread)), hygiene=hygiene).collect()
    assert kept.height == 12


def test_digraph_is_built_from_the_edge_table() -> None:
    txns = postings([("a", "b", 100, at(0)), ("a", "b", 50, at(1)), ("b", "c", 70, at(2))])
    graph = to_digraph(edge_table(transfers(txns)).collect())
    assert graph.number_of_edges() == 2
    assert graph.edges["a", "b"]["amount_exact"] == "150.00"
