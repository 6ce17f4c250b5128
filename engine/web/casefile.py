"""Everything known about one case, gathered once for the case page and its exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from engine.store import Store
from engine.web import queries
from engine.web.context import Context
from engine.web.network import Graph, case_graph
from engine.web.timeline import Series, subject_series

__all__ = ["CaseFile", "load_case"]


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A case, its alerts, evidence, money timeline, KYC facts, history and network."""

    case: dict[str, Any]
    alerts: list[dict[str, Any]]
    accounts: list[str]
    evidence: pl.DataFrame
    series: Series
    kyc: dict[str, Any] | None
    kyc_note: str
    history: pl.DataFrame
    graph: Graph


def _kyc(context: Context, case: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if case["subject_type"] != "customer":
        if case["subject_type"] == "network":
            return None, "The subject is a network: open its members for their KYC records."
        return None, f"The subject ({case['subject_type']}) is not a customer: no KYC record."
    if context.customers is None:
        return None, (
            "KYC facts are not in the alert store: start `moneytrail serve` with "
            "--customers FILE (or --sample) to see them."
        )
    rows = context.customers.filter(pl.col("customer_id") == case["subject"])
    if rows.is_empty():
        return None, f"No KYC record for customer {case['subject']} in the customers file."
    return rows.drop("_line", strict=False).row(0, named=True), ""


def load_case(
    store: Store, context: Context, case_id: str, *, sort: str = "ts_utc", desc: bool = False
) -> CaseFile | None:
    """The case file, or `None` when there is no such case."""
    case = queries.case_row(store, case_id)
    if case is None:
        return None
    alerts = queries.case_alerts(store, case_id)
    ids = [a["alert_id"] for a in alerts]
    accounts = queries.subject_accounts(store, ids)
    kyc, note = _kyc(context, case)
    return CaseFile(
        case=case,
        alerts=alerts,
        accounts=accounts,
        evidence=queries.evidence(store, ids, sort=sort, descending=desc),
        series=subject_series(store, context, subject=case["subject"], accounts=accounts),
        kyc=kyc,
        kyc_note=note,
        history=queries.history(store, "case", case_id),
        graph=case_graph(store, context, ids, accounts=accounts, role=case["subject_role"] or ""),
    )
