"""Evaluation over the joined frame, case scoring by indicator, backtest attribution."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from engine.backtest import alert_subjects
from engine.cases import build_cases
from engine.evaluate import compile_rule, evaluate
from engine.schema import MONEY
from engine.spec import load_pack

KYC_RULE = """
id: TS-KYC-01
title: an account rule reading a KYC column
kind: aggregate
by: account_id
where: "direction = 'in'"
window: 30d
measures: {total: "sum(amount_base)", income: "max(declared_annual_income)"}
having: "total >= 0.5 * income"
"""


def test_account_rule_can_read_kyc_columns(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(KYC_RULE)
    rule = load_pack(tmp_path).rules[0]
    txns = pl.DataFrame(
        {
            "txn_id": ["t1"], "account_id": ["A1"], "customer_id": ["C1"],
            "ts_utc": [datetime(2024, 1, 1, tzinfo=UTC)], "direction": ["in"],
            "amount_base": [Decimal("600.00")], "channel": ["cash"],
        },
        schema_overrides={"amount_base": MONEY},
    )  # fmt: skip
    customers = pl.DataFrame({"customer_id": ["C1"], "declared_annual_income": [1000.0]})

    hits = evaluate(txns, [compile_rule(rule)], customers=customers).hits["TS-KYC-01"]

    assert hits["entity"].to_list() == ["A1"]


def _alerts(rows: list[tuple[str, str, str | None, str, str]]) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        [
            {
                "alert_id": a, "rule_id": r, "customer_id": c, "entity": e, "entity_type": "account_id",
                "pillar": p, "weight": 1.0, "specificity": "high" if r.startswith("HT-WAGE") else "normal",
                "subject_role": "controller", "episode_start": start, "episode_end": start,
            }
            for a, r, c, e, p in rows
        ]
    )  # fmt: skip


def test_variants_of_one_indicator_count_once() -> None:
    alerts = _alerts(
        [
            ("a1", "HT-STRUCT-01", "C1", "A1", "moving_proceeds"),
            ("a2", "HT-STRUCT-02", "C1", "A1", "moving_proceeds"),
            ("a3", "HT-WAGE-01", "C1", "A1", "moving_proceeds"),
        ]
    )
    by_rule, _ = build_cases(alerts)
    by_indicator, _ = build_cases(alerts, indicators={"HT-STRUCT-02": "HT-STRUCT-01"})

    assert by_rule["escalated"].to_list() == [True]  # three rules, one high-specificity
    assert by_indicator["escalated"].to_list() == [False]  # but only two indicators


def test_alerts_keyed_on_a_beneficiary_concern_the_cited_customers() -> None:
    alerts = _alerts([("a1", "HT-SMURF-01", None, "BENEFICIARY-9", "moving_proceeds")])
    evidence = pl.DataFrame({"alert_id": ["a1", "a1", "a1"], "customer_id": ["C1", "C2", "C2"]})

    subjects = alert_subjects(alerts, evidence)

    assert sorted(subjects["subject"].to_list()) == ["C1", "C2"]


def test_a_case_with_no_business_pillar_scores_its_weights() -> None:
    alerts = _alerts(
        [
            ("a1", "ML-GATHSCAT-01", "C1", "A1", "network"),
            ("a2", "ML-FANIN-01", "C1", "A1", "network"),
        ]
    )

    cases, _ = build_cases(alerts)

    assert cases["score"].to_list() == [2.0]  # weights 1 + 1, no pillar bonus, no wrap-around
    assert cases["escalated"].to_list() == [False]
