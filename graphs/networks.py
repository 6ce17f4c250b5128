"""Networks grown from alerted accounts along the money flow, scored, with member roles.

Growth is a bounded breadth-first search over the aggregated, pruned edge table, done as
Polars joins (both directions of flow count as adjacency). Each seed's neighbourhood is a
candidate network; neighbourhoods that share an account are joined (connected components of
the seed-member graph in NetworkX). Internal edges, member rows and summaries of all networks
come from one (network, account) membership table by joins and group-bys; only betweenness
is computed network by network, on each one's own small graph.

Busy accounts (an employer paying dozens of staff, a landlord, a popular shop's owner) would
otherwise chain unrelated people into one giant network two hops at a time. An account with
more than `max_degree` distinct counterparties is therefore a *boundary* member: it is reached
and kept, but growth does not pass through it and two neighbourhoods that share only boundary
accounts stay apart. Seeds are always expanded, whatever their degree.

The three frames (`networks`, `members`, `edges`) follow `NETWORK_SCHEMA`, `MEMBER_SCHEMA`
and `EDGE_SCHEMA`, so the store can create its tables from them; `alerts` maps every alert
whose accounts belong to a network to it, so cases can group alerts by network.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import networkx as nx
import polars as pl

from graphs.build import TOTAL, Hygiene, edge_table, internal_accounts, pruned_transfers

__all__ = [
    "ALERT_LINK_SCHEMA",
    "EDGE_SCHEMA",
    "MEMBER_SCHEMA",
    "NETWORK_COLUMNS",
    "NETWORK_HYGIENE",
    "NETWORK_SCHEMA",
    "ROLES",
    "Networks",
    "grow_networks",
    "network_id",
]

TS = pl.Datetime("us", "UTC")

NETWORK_SCHEMA: dict[str, pl.DataType] = {
    "network_id": pl.String(),
    "n_members": pl.Int32(),
    "n_internal": pl.Int32(),
    "n_alerts": pl.Int32(),
    "n_pillars": pl.Int32(),
    "pillars": pl.List(pl.String()),
    "total_flow": TOTAL,
    "max_centrality": pl.Float64(),
    "score": pl.Float64(),
    "first_ts": TS,
    "last_ts": TS,
    "seeds": pl.List(pl.String()),
}
MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "network_id": pl.String(),
    "account_id": pl.String(),
    "name": pl.String(),
    "role": pl.String(),
    "is_seed": pl.Boolean(),
    "is_internal": pl.Boolean(),
    "hops": pl.Int32(),
    "n_alerts": pl.Int32(),
    "rule_ids": pl.List(pl.String()),
    "in_flow": TOTAL,
    "out_flow": TOTAL,
    "n_in": pl.Int32(),
    "n_out": pl.Int32(),
    "centrality": pl.Float64(),
}
EDGE_SCHEMA: dict[str, pl.DataType] = {
    "network_id": pl.String(),
    "source": pl.String(),
    "target": pl.String(),
    "amount": TOTAL,
    "count": pl.UInt32(),
    "first_ts": TS,
    "last_ts": TS,
    "channels": pl.List(pl.String()),
}

NETWORK_COLUMNS = (
    "txn_id",
    "account_id",
    "customer_id",
    "ts_utc",
    "direction",
    "amount",
    "amount_base",
    "channel",
    "counterparty_account_id",
    "counterparty_name",
    "counterparty_type",
    "txn_type",
    "reference_text",
)
"""The posting columns network growth reads (when present)."""

NETWORK_HYGIENE = Hygiene(
    min_amount=0.0,
    drop_counterparty_types=(*Hygiene().drop_counterparty_types, "financial_institution"),
)
"""§5 hygiene without its per-transfer floor, and without banks and lenders: networks follow
the total flow of an edge (`min_flow`), so forty remittances of USD 15 to one facilitator
abroad still link the buyers (typologies.md S7), while the floor stays for the pattern rules;
a lender's disbursements and repayments would link every borrower to every other."""

ALERT_LINK_SCHEMA: dict[str, pl.DataType] = {"network_id": pl.String(), "alert_id": pl.String()}

ROLES = ("hub", "collector", "mule", "possible_victim", "external", "member")
"""Member roles, in the order they are decided (the first that applies wins)."""

_EXACT_CENTRALITY = 500
"""Up to this many members betweenness is exact; above, estimated from this many pivots."""

VICTIM_RULES = ("HT-WAGE-02", "HT-P2P-01", "HT-CASH-01", "HT-SHARED-01", "HT-CREDIT-01")
"""Alerts whose subject is usually the exploited person (typologies.md, subject hints)."""


@dataclass(frozen=True, slots=True)
class Networks:
    """Networks found in one run.

    Attributes:
        networks: One row per network (`NETWORK_SCHEMA`), highest score first.
        members: One row per (network, account) (`MEMBER_SCHEMA`).
        edges: Aggregated money flows inside each network (`EDGE_SCHEMA`).
        alerts: (`network_id`, `alert_id`) for alerts that seeded a network, when the
            alerts given carried `alert_id`.
    """

    networks: pl.DataFrame
    members: pl.DataFrame
    edges: pl.DataFrame
    alerts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ALERT_LINK_SCHEMA))


def network_id(members: list[str] | tuple[str, ...], /) -> str:
    """Stable id of a network: a hash of its sorted member account ids."""
    digest = hashlib.sha256("\x1f".join(sorted(members)).encode()).hexdigest()
    return f"net-{digest[:16]}"


def _empty() -> Networks:
    return Networks(
        networks=pl.DataFrame(schema=NETWORK_SCHEMA),
        members=pl.DataFrame(schema=MEMBER_SCHEMA),
        edges=pl.DataFrame(schema=EDGE_SCHEMA),
        alerts=pl.DataFrame(schema=ALERT_LINK_SCHEMA),
    )


def grow_networks(
    txns: pl.DataFrame,
    alerts: pl.DataFrame,
    /,
    *,
    hops: int = 2,
    min_flow: float = 500.0,
    window: timedelta = timedelta(days=90),
    max_degree: int = 12,
    hygiene: Hygiene | None = None,
    evidence: pl.DataFrame | None = None,
) -> Networks:
    """Grow networks around alerted accounts.

    Args:
        txns: Canonical postings.
        alerts: Alerts of the run: at least `rule_id`, `entity` (an account or customer id)
            and `pillar`; `window_start`/`window_end` when present bound the time considered.
        hops: Largest distance (in flow edges, either direction) from a seed. [default] 2.
        min_flow: Edges carrying less in total are not followed. [default] 500.
        window: Flows this long before the first alert window and after the last are kept.
            [default] 90 d.
        max_degree: Accounts with more distinct counterparties (over the kept flows) are
            boundary members: kept, not grown through, never joining two networks.
            [default] 12: above the 3-8 victims or buyers of the controllers in
            typologies.md §2-§3, below an employer's or landlord's book.
        hygiene: Edge hygiene (types, minimum amount, hub suppression); `NETWORK_HYGIENE`
            if None.
        evidence: The alerts' evidence (`alert_id` with `account_id`, or with `txn_id` to look
            up in `txns`): an alert keyed on something that is neither a customer nor an
            account (a device, an address) seeds the accounts of the postings it cites.

    Returns:
        The networks, their members with roles, and their internal edges.
    """
    if alerts.is_empty() or txns.is_empty():
        return _empty()
    flagged = _alerted_accounts(txns, alerts, evidence)
    if flagged.is_empty():
        return _empty()
    flows = pruned_transfers(txns, hygiene=hygiene or NETWORK_HYGIENE)
    if {"window_start", "window_end"} <= set(alerts.columns):
        lo, hi = alerts.select(pl.col("window_start").min(), pl.col("window_end").max()).row(0)
        if lo is not None and hi is not None:
            flows = flows.filter(
                (pl.col("ts_utc") > lo - window) & (pl.col("ts_utc") <= hi + window)
            )
    edges = (
        edge_table(flows).filter(pl.col("amount") >= pl.lit(str(min_flow)).cast(TOTAL)).collect()
    )
    seeds = flagged.select("account_id").unique()
    reach = _reach(edges, seeds, hops=hops, max_degree=max_degree)
    if reach.is_empty():
        return _empty()
    membership = _membership(_join_overlapping(reach))
    inside = _internal_edges(edges, membership)
    internal = internal_accounts(txns).collect().get_column("node")
    members = _members(membership, inside, reach, flagged, internal).join(
        _names(txns), on="account_id", how="left", maintain_order="left"
    )
    links = (
        membership.join(flagged, on="account_id")
        .select("network_id", "alert_id")
        .drop_nulls()
        .unique()
    )
    return Networks(
        networks=_summary(members, inside, flagged)
        .select(list(NETWORK_SCHEMA))
        .cast(NETWORK_SCHEMA)  # type: ignore[arg-type]
        .sort("score", "network_id", descending=[True, False]),
        members=members.select(list(MEMBER_SCHEMA)).cast(MEMBER_SCHEMA),  # type: ignore[arg-type]
        edges=inside.select(list(EDGE_SCHEMA)).cast(EDGE_SCHEMA),  # type: ignore[arg-type]
        alerts=links.cast(ALERT_LINK_SCHEMA).sort("network_id", "alert_id"),  # type: ignore[arg-type]
    )


def _alerted_accounts(
    txns: pl.DataFrame, alerts: pl.DataFrame, evidence: pl.DataFrame | None
) -> pl.DataFrame:
    """account_id, rule_id, pillar, alert_id for every alert, mapped to accounts.

    A customer entity maps to the customer's accounts. Any other entity is taken as an
    account (ours, or an external counterparty such as a shared beneficiary; it seeds only if
    it carries flow), unless it is no account at all (a device, an address): then the
    accounts of the postings the alert cites, when evidence is given.
    """
    holders = (
        txns.select("account_id", "customer_id").unique()
        if "customer_id" in txns.columns
        else txns.select("account_id", pl.lit(None, pl.String).alias("customer_id")).unique()
    )
    pillar = pl.col("pillar") if "pillar" in alerts.columns else pl.lit(None, pl.String)
    alert_id = pl.col("alert_id") if "alert_id" in alerts.columns else pl.lit(None, pl.String)
    slim = alerts.select(
        pl.col("entity").cast(pl.String),
        "rule_id",
        pillar.alias("pillar"),
        alert_id.alias("alert_id"),
    )
    by_customer = slim.join(holders, left_on="entity", right_on="customer_id").select(
        "account_id", "rule_id", "pillar", "alert_id"
    )
    known = pl.concat(
        [
            txns.select(pl.col("account_id").alias("id")),
            txns.select(pl.col("counterparty_account_id").alias("id"))
            if "counterparty_account_id" in txns.columns
            else pl.DataFrame(schema={"id": pl.String}),
        ]
    ).unique()
    as_account = slim.join(known, left_on="entity", right_on="id", how="semi")
    parts = [by_customer, as_account.rename({"entity": "account_id"})]
    if evidence is not None and "alert_id" in alerts.columns:
        elsewhere = slim.join(holders, left_on="entity", right_on="customer_id", how="anti").join(
            known, left_on="entity", right_on="id", how="anti"
        )
        cited_accounts = (
            evidence.select("alert_id", "account_id")
            if "account_id" in evidence.columns
            else evidence.select("alert_id", "txn_id").join(
                txns.select("txn_id", "account_id"), on="txn_id"
            )
        )
        cited = elsewhere.join(cited_accounts.unique(), on="alert_id").select(
            "account_id", "rule_id", "pillar", "alert_id"
        )
        parts.append(cited)
    return pl.concat(parts).unique()


def _names(txns: pl.DataFrame) -> pl.DataFrame:
    """The name each counterparty account is most often given in the postings (untrusted)."""
    if not {"counterparty_account_id", "counterparty_name"} <= set(txns.columns):
        return pl.DataFrame(schema={"account_id": pl.String, "name": pl.String})
    return (
        txns.filter(pl.col("counterparty_name").is_not_null())
        .group_by(pl.col("counterparty_account_id").alias("account_id"))
        .agg(pl.col("counterparty_name").mode().sort().first().alias("name"))
    )


def _reach(edges: pl.DataFrame, seeds: pl.DataFrame, *, hops: int, max_degree: int) -> pl.DataFrame:
    """(seed, account_id, hops, boundary) for every account within `hops` of a seed.

    Breadth-first in Polars joins; a non-seed account with more than `max_degree` distinct
    counterparties is reached but not expanded (`boundary`).
    """
    adjacency = pl.concat(
        [
            edges.select(pl.col("source").alias("a"), pl.col("target").alias("b")),
            edges.select(pl.col("target").alias("a"), pl.col("source").alias("b")),
        ]
    ).unique()
    busy = adjacency.group_by("a").len().filter(pl.col("len") > max_degree).get_column("a")
    present = pl.concat([adjacency.get_column("a"), adjacency.get_column("b")]).unique()
    start = seeds.filter(pl.col("account_id").is_in(present.implode())).select(
        pl.col("account_id").alias("seed"),
        pl.col("account_id"),
        pl.lit(0, pl.Int32).alias("hops"),
        pl.lit(False).alias("boundary"),
    )
    found, frontier = start, start
    for depth in range(1, hops + 1):
        frontier = (
            frontier.filter(~pl.col("boundary"))
            .join(adjacency, left_on="account_id", right_on="a")
            .select("seed", pl.col("b").alias("account_id"), pl.lit(depth, pl.Int32).alias("hops"))
            .unique()
            .join(found, on=["seed", "account_id"], how="anti")
            .with_columns(pl.col("account_id").is_in(busy.implode()).alias("boundary"))
        )
        if frontier.is_empty():
            break
        found = pl.concat([found, frontier])
    # an account that seeds itself is never a boundary, whoever else reaches it
    own = found.filter(pl.col("hops") == 0).get_column("account_id")
    return found.with_columns(pl.col("boundary") & ~pl.col("account_id").is_in(own.implode()))


def _join_overlapping(reach: pl.DataFrame) -> list[list[str]]:
    """Seed neighbourhoods that share a non-boundary account become one network.

    Boundary accounts join every network that reached them, without linking those networks.
    """
    graph: nx.Graph[tuple[str, str]] = nx.Graph()
    inner = reach.filter(~pl.col("boundary"))
    for seed, account in inner.select("seed", "account_id").iter_rows():
        graph.add_edge(("seed", seed), ("account", account))
    component_of = {}
    for index, component in enumerate(nx.connected_components(graph)):
        for kind, name in component:
            if kind == "seed":
                component_of[name] = index
    groups: dict[int, set[str]] = {}
    for seed, account in reach.select("seed", "account_id").iter_rows():
        groups.setdefault(component_of[seed], set()).add(account)
    return sorted(sorted(members) for members in groups.values())


def _membership(groups: list[list[str]]) -> pl.DataFrame:
    """(block, network_id, account_id): one row per member, networks in the order of `groups`
    (`block` numbers them), accounts sorted within a network.

    A boundary account has a row in every network that reached it.
    """
    return (
        pl.DataFrame(
            {"network_id": [network_id(g) for g in groups], "account_id": groups},
            schema={"network_id": pl.String, "account_id": pl.List(pl.String)},
        )
        .with_row_index("block")
        .explode("account_id")
    )


def _internal_edges(edges: pl.DataFrame, membership: pl.DataFrame) -> pl.DataFrame:
    """The edges whose two ends belong to the same network, with its `network_id` and `block`.

    Networks in `membership` order; within one, by (source, target): `edge_table` has no row
    order of its own, and betweenness sums in the order edges were added.
    """
    return (
        edges.join(membership, left_on="source", right_on="account_id")
        .join(
            membership,
            left_on=["target", "network_id"],
            right_on=["account_id", "network_id"],
            how="semi",
        )
        .sort("block", "source", "target")
    )


def _centrality(membership: pl.DataFrame, inside: pl.DataFrame) -> pl.DataFrame:
    """(network_id, account_id, centrality): betweenness of each member on its network's graph."""
    edges_of = {
        net: list(zip(sources, targets, strict=True))
        for net, sources, targets in inside.group_by("network_id", maintain_order=True)
        .agg("source", "target")
        .iter_rows()
    }
    ids: list[str] = []
    accounts: list[str] = []
    values: list[float] = []
    for net, members in (
        membership.group_by("network_id", maintain_order=True).agg("account_id").iter_rows()
    ):
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(members)
        graph.add_edges_from(edges_of.get(net, []))
        # Exact betweenness is O(n m); large networks use a fixed-seed sample of pivots.
        sample = None if len(members) <= _EXACT_CENTRALITY else _EXACT_CENTRALITY
        centrality = (
            nx.betweenness_centrality(graph, k=sample, seed=0)
            if len(members) > 2
            else dict.fromkeys(members, 0.0)
        )
        ids.extend([net] * len(members))
        accounts.extend(members)
        values.extend(float(centrality[a]) for a in members)
    return pl.DataFrame(
        {"network_id": ids, "account_id": accounts, "centrality": values},
        schema={"network_id": pl.String, "account_id": pl.String, "centrality": pl.Float64},
    )


def _members(
    membership: pl.DataFrame,
    inside: pl.DataFrame,
    reach: pl.DataFrame,
    flagged: pl.DataFrame,
    internal: pl.Series,
) -> pl.DataFrame:
    """Member rows of every network, in `membership` order, with flows inside the network."""
    keys = ["network_id", "account_id"]
    flows_in = inside.group_by("network_id", pl.col("target").alias("account_id")).agg(
        pl.col("amount").sum().alias("in_flow"), pl.len().cast(pl.Int32).alias("n_in")
    )
    flows_out = inside.group_by("network_id", pl.col("source").alias("account_id")).agg(
        pl.col("amount").sum().alias("out_flow"), pl.len().cast(pl.Int32).alias("n_out")
    )
    rules = flagged.group_by("account_id").agg(pl.col("rule_id").unique().sort().alias("rule_ids"))
    # over every seed that reached the account: a boundary member of several networks has the
    # same hops (and is_seed) in each
    hops = reach.group_by("account_id").agg(pl.col("hops").min())
    zero = pl.lit("0").cast(TOTAL)
    frame = (
        membership.select(keys)
        .join(_centrality(membership, inside), on=keys, how="left", maintain_order="left")
        .join(flows_in, on=keys, how="left", maintain_order="left")
        .join(flows_out, on=keys, how="left", maintain_order="left")
        .join(rules, on="account_id", how="left", maintain_order="left")
        .join(hops, on="account_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("in_flow").fill_null(zero),
            pl.col("out_flow").fill_null(zero),
            pl.col("n_in").fill_null(0),
            pl.col("n_out").fill_null(0),
            pl.col("rule_ids").fill_null([]),
            (pl.col("hops") == 0).fill_null(False).alias("is_seed"),
            pl.col("account_id").is_in(internal.implode()).alias("is_internal"),
        )
        .with_columns(pl.col("rule_ids").list.len().cast(pl.Int32).alias("n_alerts"))
    )
    return frame.with_columns(_role().alias("role"))


def _role() -> pl.Expr:
    """Role of a member from its flows, centrality and alerts (first match in `ROLES`)."""
    inflow = pl.col("in_flow").cast(pl.Float64)
    outflow = pl.col("out_flow").cast(pl.Float64)
    top = pl.col("centrality") == pl.col("centrality").max().over("network_id")
    passes = (inflow > 0) & (outflow >= 0.8 * inflow) & (outflow <= 1.05 * inflow)
    victim = pl.col("rule_ids").list.set_intersection(pl.lit(list(VICTIM_RULES))).list.len() > 0
    return (
        pl.when(~pl.col("is_internal"))
        .then(pl.lit("external"))
        .when((pl.col("n_in") >= 3) & (pl.col("n_out") >= 1) & top & (pl.col("centrality") > 0))
        .then(pl.lit("hub"))
        .when((pl.col("n_in") >= 3) & (outflow < 0.5 * inflow))
        .then(pl.lit("collector"))
        .when(victim & (pl.col("n_out") >= 1))
        .then(pl.lit("possible_victim"))
        .when(passes & (pl.col("n_in") <= 3) & (pl.col("n_out") <= 3))
        .then(pl.lit("mule"))
        .otherwise(pl.lit("member"))
    )


def _summary(members: pl.DataFrame, inside: pl.DataFrame, flagged: pl.DataFrame) -> pl.DataFrame:
    """One row per network: its alerts, pillars, money moved, hub centrality and score."""
    mine = members.select("network_id", "account_id").join(flagged, on="account_id")
    alerts = mine.group_by("network_id").agg(
        pl.struct("account_id", "rule_id").n_unique().alias("n_alerts"),
        pl.col("pillar")
        .cast(pl.String)
        .filter(pl.col("pillar") != "")
        .unique()
        .sort()
        .alias("pillars"),
    )
    flows = inside.group_by("network_id").agg(
        pl.col("amount").sum().alias("total_flow"),
        pl.col("first_ts").min(),
        pl.col("last_ts").max(),
    )
    summary = (
        members.group_by("network_id", maintain_order=True)
        .agg(
            pl.len().alias("n_members"),
            pl.col("is_internal").sum().alias("n_internal"),
            pl.col("centrality").max().alias("max_centrality"),
            pl.col("account_id").filter(pl.col("is_seed")).sort().alias("seeds"),
        )
        .join(alerts, on="network_id", how="left", maintain_order="left")
        .join(flows, on="network_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("n_alerts").fill_null(0),
            pl.col("pillars").fill_null([]),
            pl.col("total_flow").fill_null(pl.lit("0").cast(TOTAL)),
        )
        .with_columns(pl.col("pillars").list.len().alias("n_pillars"))
    )
    scores = [
        _score(*row)
        for row in summary.select("n_alerts", "n_pillars", "total_flow", "max_centrality").rows()
    ]
    return summary.with_columns(pl.Series("score", scores, dtype=pl.Float64))


def _score(n_alerts: int, n_pillars: int, total: Decimal, max_centrality: float) -> float:
    """Alerts inside, pillars spanned (weighted most: the case-escalation rule of typologies.md
    §0.3 counts pillars), money moved (log scale) and how central the hub is.

    In Python, one network at a time: `float(Decimal)` and `round` are exactly rounded, which
    keeps scores (and so the order of networks) independent of Polars' float conversions.
    """
    score = n_alerts + 3.0 * n_pillars + math.log10(1.0 + float(total)) + 2.0 * max_centrality
    return round(score, 6)
