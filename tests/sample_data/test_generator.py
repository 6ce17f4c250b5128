"""The synthetic bank generator: determinism, schema, prevalence, scenarios and consistency."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.schema import CUSTOMER_COLUMNS, MONEY, TRANSACTION_COLUMNS
from sample_data.generator import GeneratedBank, generate
from sample_data.lookalikes import LOOKALIKES
from sample_data.scenarios import SCENARIOS, TRAFFICKING

N, DAYS, SEED = 1000, 45, 11


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> GeneratedBank:
    return generate(N, DAYS, SEED, tmp_path_factory.mktemp("bank"))


@pytest.fixture(scope="module")
def txns(bank: GeneratedBank) -> pl.DataFrame:
    return pl.read_parquet(bank.transactions)


@pytest.fixture(scope="module")
def truth(bank: GeneratedBank) -> pl.DataFrame:
    return pl.read_parquet(bank.truth)


def test_same_seed_gives_byte_identical_files(bank: GeneratedBank, tmp_path: Path) -> None:
    again = generate(N, DAYS, SEED, tmp_path)
    for name in ("transactions.parquet", "customers.parquet", "accounts.parquet"):
        assert (bank.root / name).read_bytes() == (again.root / name).read_bytes(), name
    assert bank.truth.read_bytes() == again.truth.read_bytes()


def test_schemas_match_the_canonical_contract(txns: pl.DataFrame, bank: GeneratedBank) -> None:
    assert txns.schema == pl.Schema(TRANSACTION_COLUMNS)
    assert pl.read_parquet(bank.customers).schema == pl.Schema(CUSTOMER_COLUMNS)


def test_transactions_are_sorted_unique_and_positive(txns: pl.DataFrame) -> None:
    assert txns["txn_id"].is_unique().all()
    assert txns.select(pl.struct("ts_utc", "txn_id").is_sorted()).item() or txns.equals(
        txns.sort("ts_utc", "txn_id")
    )
    assert (txns["amount"] > 0).all()
    assert txns["direction"].is_in(["in", "out"]).all()


def test_money_columns_are_exact_decimals(txns: pl.DataFrame) -> None:
    for col in ("amount", "amount_base", "balance_after"):
        assert txns.schema[col] == MONEY
    usd = txns.filter(pl.col("currency") == "USD")
    assert (usd["amount"] == usd["amount_base"]).all()
    assert txns.filter(pl.col("currency") != "USD").height > 0


def test_internal_transfers_come_in_matched_pairs(txns: pl.DataFrame) -> None:
    pairs = txns.filter(pl.col("counterparty_customer_id").is_not_null())
    base = pairs.with_columns(base=pl.col("txn_id").str.replace(r"-(in|out)$", ""))
    outs = base.filter(pl.col("direction") == "out")
    ins = base.filter(pl.col("direction") == "in")
    assert outs["txn_id"].str.ends_with("-out").all() and ins["txn_id"].str.ends_with("-in").all()
    joined = outs.join(ins, on="base", suffix="_in", how="full", coalesce=True)
    assert joined.height == outs.height == ins.height > 0
    assert (joined["counterparty_account_id"] == joined["account_id_in"]).all()
    assert (joined["account_id"] == joined["counterparty_account_id_in"]).all()
    assert (joined["amount"] == joined["amount_in"]).all()
    assert (joined["ts_utc"] == joined["ts_utc_in"]).all()


def test_ts_local_is_the_wall_clock_of_the_zone(txns: pl.DataFrame, bank: GeneratedBank) -> None:
    cust = pl.read_parquet(bank.customers).select("customer_id", "timezone")
    online = txns.filter(pl.col("txn_city").is_null()).join(cust, on="customer_id")
    assert online["timezone"].n_unique() >= 2
    for (zone,), part in online.group_by("timezone"):
        local = part["ts_utc"].dt.convert_time_zone(str(zone)).dt.replace_time_zone(None)
        assert (local == part["ts_local"]).all(), zone


def test_every_scenario_and_lookalike_is_present(truth: pl.DataFrame) -> None:
    assert set(truth["scenario"]) == {n for n, _ in SCENARIOS} | {n for n, _ in LOOKALIKES}
    assert truth.filter(pl.col("is_lookalike"))["role"].unique().to_list() == ["lookalike"]
    planted = truth.filter(~pl.col("is_lookalike"))
    assert planted["scenario"].str.starts_with("S").all()
    assert planted["expected_indicator_ids"].list.len().min() > 0


def test_cases_do_not_share_customers(truth: pl.DataFrame) -> None:
    assert (
        truth.group_by("customer_id")
        .agg(pl.col("case_id").n_unique().max())
        .select(pl.col("case_id").max())
        .item()
        == 1
    )


def test_trafficking_prevalence_is_below_one_percent(tmp_path: Path) -> None:
    big = generate(4000, 30, 3, tmp_path)
    truth = pl.read_parquet(big.truth).filter(pl.col("scenario").is_in(TRAFFICKING))
    assert truth["customer_id"].n_unique() / big.n_customers < 0.01


def test_planted_cash_deposits_leave_some_conductors_missing(txns: pl.DataFrame) -> None:
    cash = txns.filter(pl.col("channel").is_in(["cash", "atm"]) & (pl.col("txn_type") == "deposit"))
    share = cash["conductor_id"].is_null().mean()
    assert share is not None and 0.15 < share < 0.6
