"""Evaluation over the joined frame."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

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


def test_a_scan_reading_only_the_packs_columns_finds_what_a_scan_of_every_column_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.scan
    from engine.scan import ScanOptions, run_scan
    from sample_data.generator import generate

    bank = generate(400, 30, 11, tmp_path / "bank")
    options = ScanOptions(customers=bank.customers, lists=bank.lists, db=tmp_path / "lean.duckdb")
    lean = run_scan([bank.transactions], options=options)
    monkeypatch.setattr(engine.scan, "scan_columns", lambda compiled: None)
    full = run_scan(
        [bank.transactions], options=dataclasses.replace(options, db=tmp_path / "full.duckdb")
    )

    assert lean.ingested.transactions.width < full.ingested.transactions.width
    assert lean.alerts.height > 0
    assert_frame_equal(lean.alerts, full.alerts)
    assert_frame_equal(lean.cases, full.cases)
