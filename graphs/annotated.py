"""Node-annotated trafficking patterns: controller hub, wage pool, shared beneficiary.

These read more than the money graph: prior alerts of the run (`hub`), salary references and
the holder's name (`wage_pool`), and shared KYC identifiers (`shared_beneficiary`), all from
`GraphContext`.

Entities: `hub` the controller account; `wage_pool` the receiving account;
`shared_beneficiary` the common beneficiary (a counterparty account id, possibly external).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import networkx as nx
import polars as pl

from graphs.build import Hygiene, pruned_transfers
from graphs.hits import GraphContext, empty_hits, finish_hits, to_float

__all__ = [
    "HubParams",
    "SharedBeneficiaryParams",
    "WagePoolParams",
    "hub",
    "shared_beneficiary",
    "wage_pool",
]


@dataclass(frozen=True, slots=True)
class HubParams(Hygiene):
    """HT-HUB-01 thresholds.

    Attributes:
        window: Graph window. [src] HT-HUB-01: 30 d.
        feeder_rules: Alerts that make a sender a suspected victim. [src] HT-HUB-01.
            HT-SHARED-01 names the common beneficiary, not the victims, and runs in the same
            scan stage as this rule, so its victims are found here: the cluster members whose
            payments make an HT-SHARED-01 finding (its default thresholds) on the same data.
        signal_rules: Alerts on the hub that count as its outflow signal. [src] HT-HUB-01.
        min_feeders: Distinct flagged senders. [default] HT-HUB-01: 3.
        min_feeder_share: Their share of the hub's inflows. [default] HT-HUB-01: 0.5.
        min_cash_out_share: Cash withdrawals over outflows, the other outflow signal.
            [default] HT-HUB-01: 0.5.
        max_reciprocal_share: Share of feeders the hub pays back in the window; above it the
            hub looks like a ROSCA or a family pool. [default] from the HT-HUB-01 look-alikes.
    """

    window: timedelta = timedelta(days=30)
    feeder_rules: tuple[str, ...] = ("HT-P2P-01", "HT-CASH-01", "HT-WAGE-02", "HT-SHARED-01")
    signal_rules: tuple[str, ...] = ("HT-XBORDER-01", "HT-ADS-01", "HT-LODGE-01")
    min_feeders: int = 3
    min_feeder_share: float = 0.5
    min_cash_out_share: float = 0.5
    max_reciprocal_share: float = 0.5


def _flagged(txns: pl.DataFrame, alerts: pl.DataFrame, rules: tuple[str, ...]) -> pl.Series:
    """Accounts carrying one of `rules`, whether the alert names the account or its customer."""
    entities = alerts.filter(pl.col("rule_id").is_in(list(rules))).get_column("entity").implode()
    holder = pl.col("customer_id") if "customer_id" in txns.columns else pl.lit(None, pl.String)
    return (
        txns.filter(pl.col("account_id").is_in(entities) | holder.is_in(entities))
        .get_column("account_id")
        .unique()
    )


def _shared_payers(txns: pl.DataFrame, context: GraphContext) -> pl.Series:
    """Accounts of HT-SHARED-01 suspected victims: cluster members whose payments to a common
    beneficiary make a `shared_beneficiary` finding (its evidence), on the same data."""
    found = shared_beneficiary(txns, params=SharedBeneficiaryParams(), context=context)
    ids = found.get_column("evidence").explode().drop_nulls().implode()
    return txns.filter(pl.col("txn_id").is_in(ids)).get_column("account_id").unique()


def hub(txns: pl.DataFrame, /, *, params: HubParams, context: GraphContext) -> pl.DataFrame:
    """HT-HUB-01: an account fed by several suspected victims that pays out in cash or abroad.

    Fires in a window `(t - window, t]` when at least `min_feeders` accounts with feeder alerts
    send to the hub, they bring at least `min_feeder_share` of all its inflows, the hub pays at
    most `max_reciprocal_share` of them back, and the hub carries a signal alert or withdraws
    at least `min_cash_out_share` of its outflows in cash.
    """
    prior = (
        context.alerts
        if context.alerts is not None
        else pl.DataFrame(schema={"rule_id": pl.String, "entity": pl.String})
    )
    feeders = _flagged(txns, prior, params.feeder_rules)
    if "HT-SHARED-01" in params.feeder_rules:
        feeders = pl.concat([feeders, _shared_payers(txns, context)]).unique()
    if feeders.is_empty():
        return empty_hits()
    signalled = _flagged(txns, prior, params.signal_rules).implode()
    edges = pruned_transfers(txns, hygiene=params).filter(pl.col("source") != pl.col("target"))
    fed = edges.filter(pl.col("source").is_in(feeders.implode())).select(
        pl.col("target").alias("hub"),
        pl.col("source").alias("feeder"),
        "txn_id",
        "ts_utc",
        "amount",
    )
    hubs = (
        fed.group_by("hub")
        .agg(pl.col("feeder").n_unique().alias("n"))
        .filter(pl.col("n") >= params.min_feeders)
        .select("hub")
    )
    postings = (
        txns.lazy()
        .select(
            pl.col("account_id").alias("hub"),
            "txn_id",
            "ts_utc",
            "direction",
            pl.col("channel").is_in(["cash", "atm"]).alias("is_cash"),
            to_float(
                pl.col("amount_base") if "amount_base" in txns.columns else pl.col("amount")
            ).alias("amt"),
            (
                pl.col("counterparty_account_id")
                if "counterparty_account_id" in txns.columns
                else pl.lit(None, pl.String)
            ).alias("cpty"),
        )
        .join(hubs, on="hub", how="semi")
    )
    anchors = postings.select("hub", pl.col("ts_utc").alias("end")).unique()

    def in_window(frame: pl.LazyFrame) -> pl.LazyFrame:
        return anchors.join(frame, on="hub").filter(
            (pl.col("ts_utc") > pl.col("end") - params.window) & (pl.col("ts_utc") <= pl.col("end"))
        )

    from_feeders = (
        in_window(fed)
        .group_by("hub", "end")
        .agg(
            pl.col("feeder").unique().alias("feeders"),
            to_float(pl.col("amount").sum()).alias("feeder_in"),
            pl.col("txn_id").alias("fed_ids"),
            pl.col("ts_utc").min().alias("first_ts"),
        )
    )
    flows = (
        in_window(postings)
        .group_by("hub", "end")
        .agg(
            pl.col("amt").filter(pl.col("direction") == "in").sum().alias("total_in"),
            pl.col("amt").filter(pl.col("direction") == "out").sum().alias("total_out"),
            pl.col("amt")
            .filter((pl.col("direction") == "out") & pl.col("is_cash"))
            .sum()
            .alias("cash_out"),
            pl.col("txn_id")
            .filter((pl.col("direction") == "out") & pl.col("is_cash"))
            .alias("cash_ids"),
        )
    )
    # Reciprocity looks a window ahead too: a ROSCA pays its members in turn, later.
    paid = (
        anchors.join(postings.filter(pl.col("direction") == "out"), on="hub")
        .filter(
            (pl.col("ts_utc") > pl.col("end") - params.window)
            & (pl.col("ts_utc") <= pl.col("end") + params.window)
        )
        .group_by("hub", "end")
        .agg(pl.col("cpty").drop_nulls().unique().alias("paid"))
    )
    found = (
        from_feeders.join(flows, on=["hub", "end"])
        .join(paid, on=["hub", "end"], how="left")
        .with_columns(pl.col("paid").fill_null([]))
        .with_columns(
            pl.col("feeders").list.len().alias("n_feeders"),
            (pl.col("feeder_in") / pl.col("total_in")).alias("feeder_share"),
            (pl.col("cash_out") / pl.col("total_out")).fill_nan(0.0).alias("cash_out_share"),
            (
                pl.col("feeders").list.set_intersection("paid").list.len()
                / pl.col("feeders").list.len()
            ).alias("reciprocal_share"),
            pl.col("hub").is_in(signalled).alias("signal_alert"),
        )
        .filter(
            (pl.col("n_feeders") >= params.min_feeders)
            & (pl.col("feeder_share") >= params.min_feeder_share)
            & (pl.col("reciprocal_share") <= params.max_reciprocal_share)
            & (pl.col("signal_alert") | (pl.col("cash_out_share") >= params.min_cash_out_share))
        )
        .select(
            pl.col("hub").alias("entity"),
            "first_ts",
            pl.col("end").alias("last_ts"),
            pl.concat_list("fed_ids", "cash_ids").alias("evidence"),
            "n_feeders",
            "feeder_share",
            "cash_out_share",
            "reciprocal_share",
            "signal_alert",
        )
    )
    return finish_hits(
        found,
        measures=[
            "n_feeders",
            "feeder_share",
            "cash_out_share",
            "reciprocal_share",
            "signal_alert",
        ],
        window=params.window,
    )


@dataclass(frozen=True, slots=True)
class WagePoolParams:
    """HT-WAGE-01 thresholds.

    Attributes:
        window: One monthly pay cycle plus slack. [src] HT-WAGE-01: 35 d.
        min_employee_refs: Distinct employee names not the holder's. [default] HT-WAGE-01: 3.
        min_payroll_originators: Distinct payers of salaries naming someone else.
            [default] HT-WAGE-01: 3.
        payroll_words: Words dropped from references before names are compared. [default]
    """

    window: timedelta = timedelta(days=35)
    min_employee_refs: int = 3
    min_payroll_originators: int = 3
    payroll_words: tuple[str, ...] = (
        "SALARY", "SALA", "WAGE", "WAGES", "PAY", "PAYROLL", "PAYMENT", "NET", "MONTHLY",
        "WEEKLY", "FORTNIGHTLY", "FOR", "EMP", "EMPLOYEE", "REF", "THE", "OF",
    )  # fmt: skip


def _tokens(expr: pl.Expr, drop: tuple[str, ...]) -> pl.Expr:
    """Upper-case alphabetic name tokens of at least two letters, payroll words removed."""
    return (
        expr.fill_null("")
        .str.to_uppercase()
        .str.extract_all(r"[A-Z]{2,}")
        .list.set_difference(pl.lit(list(drop), dtype=pl.List(pl.String)))
        .list.unique()
        .list.sort()
    )


def wage_pool(
    txns: pl.DataFrame, /, *, params: WagePoolParams, context: GraphContext
) -> pl.DataFrame:
    """HT-WAGE-01: several workers' salaries paid into one account.

    The employee reference is `reference_text` (typologies.md HT-WAGE-01: employee names or ids
    in the payment reference). `ultimate_party_name` is not read: on a credit it is the ultimate
    debtor (the employer behind a payroll bureau), never the employee. It names the holder
    when it holds the holder's surname and one of their other names (KYC `full_name`,
    `surname_norm`). Without KYC, distinct employee names differ from one another, so at
    least all but one of them are not the holder's; the rule then counts distinct names.
    A credit without any name is unknown and never counts as someone else's.
    """
    needed = {"txn_type", "customer_id"}
    if not needed <= set(txns.columns):
        return empty_hits()
    if "reference_text" not in txns.columns:
        return empty_hits()
    originator = pl.coalesce(
        *[pl.col(c) for c in ("counterparty_account_id", "counterparty_name") if c in txns.columns],
        pl.lit(None, pl.String),
    )
    credits = txns.lazy().filter((pl.col("direction") == "in") & (pl.col("txn_type") == "salary"))
    credits = credits.select(
        "account_id",
        "customer_id",
        "txn_id",
        "ts_utc",
        originator.alias("originator"),
        _tokens(pl.col("reference_text"), params.payroll_words).alias("ref"),
    )
    customers = context.customers
    if customers is not None and "full_name" in customers.columns:
        surname = (
            pl.col("surname_norm").str.to_uppercase()
            if "surname_norm" in customers.columns
            else pl.col("full_name").str.to_uppercase().str.extract_all(r"[A-Z]{2,}").list.last()
        )
        holders = customers.lazy().select(
            "customer_id",
            surname.alias("surname"),
            _tokens(pl.col("full_name"), ()).alias("holder"),
        )
        credits = credits.join(holders, on="customer_id", how="left").with_columns(
            (
                pl.col("ref").list.contains(pl.col("surname"))
                & (pl.col("ref").list.set_intersection(pl.col("holder")).list.len() >= 2)
            )
            .fill_null(False)
            .alias("is_holder")
        )
        with_kyc = True
    else:
        credits = credits.with_columns(pl.lit(False).alias("is_holder"))
        with_kyc = False
    credits = credits.with_columns(
        ((pl.col("ref").list.len() > 0) & ~pl.col("is_holder")).alias("other"),
        pl.col("ref").list.join(" ").alias("employee"),
    )
    windows = (
        credits.sort("account_id", "ts_utc")
        .rolling(index_column="ts_utc", period=params.window, group_by="account_id")
        .agg(
            pl.col("employee").filter(pl.col("other")).n_unique().alias("n_employee_refs"),
            pl.col("originator")
            .filter(pl.col("other"))
            .drop_nulls()
            .n_unique()
            .alias("n_payroll_originators"),
            pl.col("txn_id").filter(pl.col("other")).alias("evidence"),
            pl.col("ts_utc").filter(pl.col("other")).min().alias("first_ts"),
            pl.len().alias("n_salary_credits"),
        )
        .with_columns(pl.lit(with_kyc).alias("holder_known"))
        .filter(
            (pl.col("n_employee_refs") >= params.min_employee_refs)
            | (
                pl.lit(with_kyc)
                & (pl.col("n_payroll_originators") >= params.min_payroll_originators)
            )
        )
        .rename({"account_id": "entity", "ts_utc": "last_ts"})
    )
    return finish_hits(
        windows,
        measures=["n_employee_refs", "n_payroll_originators", "n_salary_credits", "holder_known"],
        window=params.window,
    )


@dataclass(frozen=True, slots=True)
class SharedBeneficiaryParams:
    """HT-SHARED-01 thresholds.

    Attributes:
        window: Payments window. [src] HT-SHARED-01: 90 d.
        min_address_customers: Customers at one address. [default] HT-SHARED-01: 5.
        min_address_surnames: Distinct surnames among them. [default] HT-SHARED-01: 3.
        min_contact_customers: Customers sharing a phone or email. [default] HT-SHARED-01: 3.
        min_contact_surnames: Distinct surnames among them. [default] HT-SHARED-01: 2.
        suppress_address_types: Address types that are shared by design or not residential.
            [src] HT-SHARED-01 false positives (as the shipped rule).
        min_payers: Cluster members paying the same beneficiary. [src] HT-SHARED-01: 2.
        drop_counterparty_types: Beneficiaries that are never "common" (shops, utilities).
            [default] §5 hygiene.
    """

    window: timedelta = timedelta(days=90)
    min_address_customers: int = 5
    min_address_surnames: int = 3
    min_contact_customers: int = 3
    min_contact_surnames: int = 2
    suppress_address_types: tuple[str, ...] = (
        "student_housing", "care_home", "shelter", "commercial", "hotel", "po_box",
    )  # fmt: skip
    min_payers: int = 2
    drop_counterparty_types: tuple[str, ...] = (
        "merchant",
        "government",
        "biller",
        "payroll_provider",
        "financial_institution",  # repaying one lender links no one
    )


def _clusters(customers: pl.DataFrame, params: SharedBeneficiaryParams) -> pl.DataFrame:
    """customer_id -> cluster id and the identifiers that made the cluster."""
    surname = (
        pl.col("surname_norm").str.to_uppercase()
        if "surname_norm" in customers.columns
        else pl.col("full_name").str.to_uppercase().str.extract_all(r"[A-Z]{2,}").list.last()
    )
    people = customers.with_columns(surname.alias("surname"))
    parts = []
    if "address_norm" in people.columns:
        kept = people
        if "address_type" in people.columns:
            kept = people.filter(
                ~pl.col("address_type").fill_null("").is_in(list(params.suppress_address_types))
            )
        parts.append(
            kept.select(
                "customer_id",
                "surname",
                pl.lit("address").alias("kind"),
                pl.col("address_norm").alias("value"),
            )
        )
    for column in ("phone_e164", "email"):
        if column in people.columns:
            parts.append(
                people.select(
                    "customer_id",
                    "surname",
                    pl.lit(column).alias("kind"),
                    pl.col(column).alias("value"),
                )
            )
    if not parts:
        return pl.DataFrame(schema={"customer_id": pl.String, "cluster": pl.String})
    links = pl.concat(parts).filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    is_address = pl.col("kind") == "address"
    qualifying = (
        links.group_by("kind", "value")
        .agg(
            pl.col("customer_id").n_unique().alias("n"),
            pl.col("surname").n_unique().alias("s"),
            pl.col("customer_id").unique().alias("members"),
        )
        .filter(
            pl.when(is_address)
            .then(
                (pl.col("n") >= params.min_address_customers)
                & (pl.col("s") >= params.min_address_surnames)
            )
            .otherwise(
                (pl.col("n") >= params.min_contact_customers)
                & (pl.col("s") >= params.min_contact_surnames)
            )
        )
    )
    graph: nx.Graph[str] = nx.Graph()
    for kind, value, members in qualifying.select("kind", "value", "members").iter_rows():
        node = f"{kind}:{value}"
        graph.add_edges_from((node, f"customer:{m}") for m in members)
    rows: list[dict[str, str]] = []
    for component in nx.connected_components(graph):
        label = "|".join(sorted(n for n in component if not n.startswith("customer:")))
        rows.extend(
            {"customer_id": n.removeprefix("customer:"), "cluster": label}
            for n in component
            if n.startswith("customer:")
        )
    return pl.DataFrame(rows, schema={"customer_id": pl.String, "cluster": pl.String})


def shared_beneficiary(
    txns: pl.DataFrame, /, *, params: SharedBeneficiaryParams, context: GraphContext
) -> pl.DataFrame:
    """HT-SHARED-01: unrelated customers sharing an address or contact pay one beneficiary.

    Clusters are the connected components of the customer-identifier graph over identifiers
    shared by enough customers with enough distinct surnames; a hit is a beneficiary paid by
    at least `min_payers` members of one cluster within `(t - window, t]`.
    """
    customers = context.customers
    needed = {"customer_id", "counterparty_account_id"}
    if (
        customers is None
        or "customer_id" not in customers.columns
        or not needed <= set(txns.columns)
    ):
        return empty_hits()
    clusters = _clusters(customers, params)
    if clusters.is_empty():
        return empty_hits()
    cpty_type = (
        pl.col("counterparty_type")
        if "counterparty_type" in txns.columns
        else pl.lit(None, pl.String)
    )
    payments = (
        txns.lazy()
        .filter(
            (pl.col("direction") == "out")
            & pl.col("counterparty_account_id").is_not_null()
            & ~cpty_type.fill_null("").is_in(list(params.drop_counterparty_types))
        )
        .join(clusters.lazy(), on="customer_id")
    )
    own = payments.select("cluster", pl.col("account_id").alias("counterparty_account_id")).unique()
    payments = payments.join(own, on=["cluster", "counterparty_account_id"], how="anti")
    windows = (
        payments.sort("cluster", "counterparty_account_id", "ts_utc")
        .rolling(
            index_column="ts_utc",
            period=params.window,
            group_by=["cluster", "counterparty_account_id"],
        )
        .agg(
            pl.col("customer_id").n_unique().alias("n_payers"),
            pl.col("txn_id").alias("evidence"),
            pl.col("ts_utc").min().alias("first_ts"),
            to_float(
                (pl.col("amount_base") if "amount_base" in txns.columns else pl.col("amount")).sum()
            ).alias("total"),
        )
        .filter(pl.col("n_payers") >= params.min_payers)
        .rename({"counterparty_account_id": "entity", "ts_utc": "last_ts"})
    )
    return finish_hits(windows, measures=["cluster", "n_payers", "total"], window=params.window)
