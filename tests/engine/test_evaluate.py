"""Evaluation over the joined frame."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

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
