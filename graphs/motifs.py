"""Star-shaped network patterns: fan-in, fan-out, gather-scatter and bipartite (typologies.md §5).

Each works on the hygiene-pruned transfers in Polars; only the bipartite pattern hands a small
graph of similar originators to NetworkX.

Entities: `fan_in` flags the sink, `fan_out` the source, `gather_scatter` the hub, `bipartite`
one row per originator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import networkx as nx
import polars as pl

from graphs.build import Hygiene, pruned_transfers, time_join
from graphs.hits import GraphContext, empty_hits, finish_hits, to_float

__all__ = [
    "BipartiteParams",
    "FanParams",
    "GatherScatterParams",
    "bipartite",
    "fan_in",
    "fan_out",
    "gather_scatter",
]


@dataclass(frozen=True, slots=True)
class FanParams(Hygiene):
    """ML-FANIN-01 / ML-FANOUT-01 thresholds.

    Attributes:
        window: Rolling window per account. [default] §5: 72 h (7 d as a second rule).
        min_cpty: Distinct counterparties in the window. [default] §5: 5.
        min_new_share: Share of them first seen within `novelty`. [default] §5: 0.8.
        novelty: How far back a relationship must not reach to be new. [default] §5: 90 d.
        max_amount_cv: Amount coefficient of variation ("similar amounts"). [default] §5: 0.3.
        min_round_share: Share of round amounts, the alternative to low dispersion.
            [default] §5: 0.5.
        round_unit: A round amount is a multiple of this. [default] 100.
        max_periodic_share: Periodicity suppressor (landlords, payroll runs): at most this
            share of counterparties may be regular, i.e. transact with the account at least
            `periodic_min_count` times in the frame. [default] §5 names the suppressor: 0.5.
        periodic_min_count: Transfers that make a relationship regular. [default] 3.
        min_novel_cpty: Counterparties that are both new and not regular ("a one-off burst
            to new receivers", §5 generator); 0 leaves it to the shares. [default] 0.
    """

    window: timedelta = timedelta(hours=72)
    min_cpty: int = 5
    min_new_share: float = 0.8
    novelty: timedelta = timedelta(days=90)
    max_amount_cv: float = 0.3
    min_round_share: float = 0.5
    round_unit: float = 100.0
    max_periodic_share: float = 0.5
    periodic_min_count: int = 3
    min_novel_cpty: int = 0


def fan_in(txns: pl.DataFrame, /, *, params: FanParams, context: GraphContext) -> pl.DataFrame:
    """ML-FANIN-01: many new senders converge on one account within a short window.

    Entity: the receiving account (sink).
    """
    return _fan(txns, params=params, side="in")


def fan_out(txns: pl.DataFrame, /, *, params: FanParams, context: GraphContext) -> pl.DataFrame:
    """ML-FANOUT-01: one account pays many new receivers within a short window.

    Entity: the paying account (source).
    """
    return _fan(txns, params=params, side="out")


def _fan(txns: pl.DataFrame, /, *, params: FanParams, side: Literal["in", "out"]) -> pl.DataFrame:
    entity, cpty = ("target", "source") if side == "in" else ("source", "target")
    unit_cents = round(params.round_unit * 100)
    edges = pruned_transfers(txns, hygiene=params).select(
        pl.col(entity).alias("entity"),
        pl.col(cpty).alias("cpty"),
        "txn_id",
        "ts_utc",
        to_float(pl.col("amount")).alias("amount"),
        ((pl.col("amount") * 100).cast(pl.Int64()) % unit_cents == 0).alias("is_round"),
    )
    # Prune in Polars: only accounts that ever reach the degree go to the rolling windows.
    candidates = (
        edges.group_by("entity")
        .agg(pl.col("cpty").n_unique().alias("n"))
        .filter(pl.col("n") >= params.min_cpty)
        .select("entity")
    )
    edges = edges.join(candidates, on="entity", how="semi").with_columns(
        pl.col("ts_utc").min().over("entity", "cpty").alias("pair_first"),
        pl.len().over("entity", "cpty").alias("pair_count"),
    )
    end = pl.col("ts_utc").max()
    windows = (
        edges.sort("entity", "ts_utc")
        .rolling(index_column="ts_utc", period=params.window, group_by="entity")
        .agg(
            pl.col("cpty").n_unique().alias("n_cpty"),
            pl.col("cpty")
            .filter(pl.col("pair_first") > end - params.novelty)
            .n_unique()
            .alias("n_new"),
            pl.col("cpty")
            .filter(pl.col("pair_count") >= params.periodic_min_count)
            .n_unique()
            .alias("n_periodic"),
            pl.col("cpty")
            .filter(
                (pl.col("pair_first") > end - params.novelty)
                & (pl.col("pair_count") < params.periodic_min_count)
            )
            .n_unique()
            .alias("n_novel_cpty"),
            (pl.col("amount").std(ddof=0) / pl.col("amount").mean()).alias("amount_cv"),
            pl.col("is_round").mean().alias("round_share"),
            pl.col("amount").sum().alias("total"),
            pl.col("ts_utc").min().alias("first_ts"),
            pl.col("txn_id").alias("evidence"),
        )
        .rename({"ts_utc": "last_ts"})
        .filter(pl.col("n_cpty") >= params.min_cpty)
        .with_columns(
            (pl.col("n_new") / pl.col("n_cpty")).alias("new_cpty_share"),
            (pl.col("n_periodic") / pl.col("n_cpty")).alias("periodic_share"),
        )
        .filter(
            (pl.col("new_cpty_share") >= params.min_new_share)
            & (pl.col("periodic_share") <= params.max_periodic_share)
            & (pl.col("n_novel_cpty") >= params.min_novel_cpty)
            & (
                (pl.col("amount_cv") <= params.max_amount_cv)
                | (pl.col("round_share") >= params.min_round_share)
            )
        )
        .rename({"n_cpty": f"n_{side}_cpty"})
    )
    return finish_hits(
        windows,
        measures=[
            f"n_{side}_cpty",
            "n_novel_cpty",
            "new_cpty_share",
            "periodic_share",
            "amount_cv",
            "round_share",
            "total",
        ],
        window=params.window,
    )


@dataclass(frozen=True, slots=True)
class GatherScatterParams(Hygiene):
    """ML-GATHSCAT-01 thresholds.

    Attributes:
        window: Window holding the inflows and outflows. [default] §5: 7 d.
        max_hop_delay: Outflows count when within this delay after the last inflow.
            [default] §5: 48 h.
        min_in_cpty: Distinct senders. [default] §5: 3.
        min_out_cpty: Distinct receivers. [default] §5: 3.
        min_pass_share: Outflow over inflow. [default] §5: 0.8.
        max_pass_share: Upper bound of it: a pass-through hub moves at most what it gathered;
            one that pays out more in the window spends its own reserves, as a charity or a
            payroll bureau disbursing many grants or wages against a few gifts does (§7.3
            look-alikes). [default] 1.0, as `scatter_gather` and `stack`.
        max_overlap: Accounts allowed on both sides; 0 keeps the sides disjoint, which is
            what separates a ROSCA (members pay in and are paid out). [default] §5: 0.
    """

    window: timedelta = timedelta(days=7)
    max_hop_delay: timedelta = timedelta(hours=48)
    min_in_cpty: int = 3
    min_out_cpty: int = 3
    min_pass_share: float = 0.8
    max_pass_share: float = 1.0
    max_overlap: int = 0


def gather_scatter(
    txns: pl.DataFrame, /, *, params: GatherScatterParams, context: GraphContext
) -> pl.DataFrame:
    """ML-GATHSCAT-01: a hub gathers from several senders and scatters to other receivers.

    Windows end at each outflow of the hub: inflows in `(t - window, t]`; outflows in the same
    window, after the first inflow and no later than `max_hop_delay` after the last one.

    Entity: the hub.
    """
    edges = pruned_transfers(txns, hygiene=params)
    ins = edges.select(
        pl.col("target").alias("hub"),
        pl.col("source").alias("cpty"),
        "txn_id",
        "ts_utc",
        "amount",
    )
    outs = edges.select(
        pl.col("source").alias("hub"),
        pl.col("target").alias("cpty"),
        "txn_id",
        "ts_utc",
        "amount",
    )
    degree_in = ins.group_by("hub").agg(pl.col("cpty").n_unique().alias("d_in"))
    degree_out = outs.group_by("hub").agg(pl.col("cpty").n_unique().alias("d_out"))
    hubs = (
        degree_in.join(degree_out, on="hub")
        .filter((pl.col("d_in") >= params.min_in_cpty) & (pl.col("d_out") >= params.min_out_cpty))
        .select("hub")
    )
    ins = ins.join(hubs, on="hub", how="semi")
    outs = outs.join(hubs, on="hub", how="semi")
    anchors = outs.select("hub", pl.col("ts_utc").alias("end")).unique()
    gathered = (
        time_join(anchors, ins, on="hub", left_ts="end", right_ts="ts_utc", reach=params.window)
        .filter(
            (pl.col("ts_utc") > pl.col("end") - params.window) & (pl.col("ts_utc") <= pl.col("end"))
        )
        .group_by("hub", "end")
        .agg(
            pl.col("cpty").unique().alias("in_set"),
            pl.col("amount").sum().alias("sum_in"),
            pl.col("ts_utc").min().alias("first_in"),
            pl.col("ts_utc").max().alias("last_in"),
            pl.col("txn_id").alias("in_ids"),
        )
        .filter(pl.col("in_set").list.len() >= params.min_in_cpty)
    )
    scattered = (
        time_join(gathered, outs, on="hub", left_ts="end", right_ts="ts_utc", reach=params.window)
        .filter(
            (pl.col("ts_utc") > pl.col("first_in"))
            & (pl.col("ts_utc") > pl.col("end") - params.window)
            & (pl.col("ts_utc") <= pl.col("end"))
            & (pl.col("ts_utc") <= pl.col("last_in") + params.max_hop_delay)
        )
        .group_by("hub", "end")
        .agg(
            pl.col("cpty").unique().alias("out_set"),
            pl.col("amount").sum().alias("sum_out"),
            pl.col("txn_id").alias("out_ids"),
        )
    )
    found = (
        gathered.join(scattered, on=["hub", "end"])
        .with_columns(
            pl.col("in_set").list.len().alias("n_in_cpty"),
            pl.col("out_set").list.len().alias("n_out_cpty"),
            pl.col("in_set").list.set_intersection("out_set").list.len().alias("n_overlap"),
            (to_float(pl.col("sum_out")) / to_float(pl.col("sum_in"))).alias("pass_share"),
        )
        .filter(
            (pl.col("n_out_cpty") >= params.min_out_cpty)
            & (pl.col("n_overlap") <= params.max_overlap)
            & (pl.col("pass_share") >= params.min_pass_share)
            & (pl.col("pass_share") <= params.max_pass_share)
        )
        .select(
            pl.col("hub").alias("entity"),
            pl.col("first_in").alias("first_ts"),
            pl.col("end").alias("last_ts"),
            pl.concat_list("in_ids", "out_ids").alias("evidence"),
            "n_in_cpty",
            "n_out_cpty",
            "n_overlap",
            "pass_share",
            to_float(pl.col("sum_in")).alias("total_in"),
            to_float(pl.col("sum_out")).alias("total_out"),
        )
    )
    return finish_hits(
        found,
        measures=["n_in_cpty", "n_out_cpty", "n_overlap", "pass_share", "total_in", "total_out"],
        window=params.window,
    )


@dataclass(frozen=True, slots=True)
class BipartiteParams(Hygiene):
    """ML-BIPART-01 thresholds.

    Attributes:
        window: Length of the graph windows (they slide by half a window). [default] §5: 30 d.
        min_originators: |A|. [default] §5: 2.
        min_beneficiaries: |B|. [default] §5: 3.
        min_density: A -> B edge density. [default] §5: 0.6.
        min_jaccard: Out-neighbourhood Jaccard that links two originators. [default] §5: 0.6.
    """

    window: timedelta = timedelta(days=30)
    min_originators: int = 2
    min_beneficiaries: int = 3
    min_density: float = 0.6
    min_jaccard: float = 0.6


def bipartite(
    txns: pl.DataFrame, /, *, params: BipartiteParams, context: GraphContext
) -> pl.DataFrame:
    """ML-BIPART-01: a set of originators paying a common set of beneficiaries.

    Originators are linked when their out-neighbourhoods in a window have Jaccard similarity
    at or above `min_jaccard`; each connected group A pays B (the targets reached by at least
    two of A) with density at or above `min_density`. KYC links between members are not
    checked here (no identifiers in the transactions).

    Entity: one row per originator.
    """
    half = params.window / 2
    step = f"{int(half.total_seconds())}s"
    edges = pruned_transfers(txns, hygiene=params).with_columns(
        pl.col("ts_utc").dt.truncate(step).alias("bucket")
    )
    # Every window of length `window` is two consecutive half-window buckets.
    windowed = pl.concat(
        [
            edges.with_columns(pl.col("bucket").alias("win")),
            edges.with_columns((pl.col("bucket") - half).alias("win")),
        ]
    )
    links = windowed.select("win", "source", "target").unique()
    out_deg = links.group_by("win", "source").agg(pl.len().alias("deg")).filter(pl.col("deg") >= 2)
    links = links.join(out_deg, on=["win", "source"], how="semi")
    shared = (
        links.join(links, on=["win", "target"], suffix="_b")
        .filter(pl.col("source") < pl.col("source_b"))
        .group_by("win", "source", "source_b")
        .agg(pl.len().alias("common"))
        .join(out_deg, on=["win", "source"])
        .join(out_deg.rename({"source": "source_b", "deg": "deg_b"}), on=["win", "source_b"])
        .with_columns(
            (pl.col("common") / (pl.col("deg") + pl.col("deg_b") - pl.col("common"))).alias(
                "jaccard"
            )
        )
        .filter(pl.col("jaccard") >= params.min_jaccard)
        .select("win", "source", "source_b")
        .collect()
    )
    if shared.is_empty():
        return empty_hits()
    groups: list[dict[str, object]] = []
    for (win,), pairs in shared.group_by("win"):
        graph: nx.Graph[str] = nx.Graph()
        graph.add_edges_from(pairs.select("source", "source_b").iter_rows())
        for n, component in enumerate(nx.connected_components(graph)):
            groups.extend({"win": win, "group": n, "source": a} for a in component)
    members = pl.LazyFrame(
        groups,
        schema={"win": edges.collect_schema()["ts_utc"], "group": pl.Int64, "source": pl.String},
    )
    flows = windowed.join(members, on=["win", "source"])
    size_a = members.group_by("win", "group").agg(pl.len().alias("n_a"))
    reached = (
        flows.group_by("win", "group", "target")
        .agg(pl.col("source").n_unique().alias("n_from"))
        .join(size_a, on=["win", "group"])
        .filter(pl.col("n_from") >= pl.min_horizontal(pl.lit(2), pl.col("n_a")))
        .join(members.rename({"source": "target"}), on=["win", "group", "target"], how="anti")
    )
    found = (
        flows.join(reached.select("win", "group", "target"), on=["win", "group", "target"])
        .group_by("win", "group")
        .agg(
            pl.col("source").n_unique().alias("n_originators"),
            pl.col("target").n_unique().alias("n_beneficiaries"),
            pl.struct("source", "target").n_unique().alias("n_links"),
            pl.col("source").unique().alias("originators"),
            pl.col("ts_utc").min().alias("first_ts"),
            pl.col("ts_utc").max().alias("last_ts"),
            pl.col("txn_id").alias("evidence"),
            to_float(pl.col("amount").sum()).alias("total"),
        )
        .with_columns(
            (pl.col("n_links") / (pl.col("n_originators") * pl.col("n_beneficiaries"))).alias(
                "density"
            )
        )
        .filter(
            (pl.col("n_originators") >= params.min_originators)
            & (pl.col("n_beneficiaries") >= params.min_beneficiaries)
            & (pl.col("density") >= params.min_density)
        )
        .explode("originators")
        .rename({"originators": "entity"})
    )
    return finish_hits(
        found,
        measures=["n_originators", "n_beneficiaries", "density", "total"],
        window=params.window,
    )
