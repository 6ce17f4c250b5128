"""Ingestion: shipped mappings on foreign layouts, and every bad-input case, exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from engine.errors import InputError
from engine.ingest import load_customers, read_transactions
from engine.schema import MONEY, TRANSACTION_COLUMNS

HEADER = "txn_id,account_id,ts_utc,direction,amount,currency,channel\n"


@pytest.mark.external
@pytest.mark.parametrize(
    ("mapping", "relative", "rows"),
    [
        ("amlsim", "amlsim_generated/10K/transactions.csv.gz", 198_056),
        ("amlsim", "amlsim_generated/typologies/transactions.csv.gz", 9_909),
        (
            "amlworld_keyed",
            "schema_samples/amlworld_HI-Small_first1000_reformatted_by_third_party.csv",
            1_000,
        ),
        ("saml_d", "schema_samples/saml_d_sample_1k.csv", 1_000),
        ("paysim", "schema_samples/paysim1_subset_7557rows_shubhampandeyho.csv", 7_557),
        ("paysim", "schema_samples/paysim1_first2688rows_kumudunee.csv", 2_688),
    ],
)
def test_external_layouts_reconcile(external: Path, mapping: str, relative: str, rows: int) -> None:
    ingested = read_transactions([external / relative], mapping=mapping)

    assert ingested.rows_read == rows
    assert ingested.postings == ingested.transactions.height + ingested.rejects.height
    assert ingested.transactions.height > rows * 0.99  # these files are clean: nearly all accepted
    for column, dtype in ingested.transactions.schema.items():
        assert dtype == TRANSACTION_COLUMNS[column], column
    assert ingested.transactions["txn_id"].is_unique().all()


@pytest.mark.external
def test_transfer_layouts_make_two_postings(external: Path) -> None:
    ingested = read_transactions(
        [external / "amlsim_generated/typologies/transactions.csv.gz"], mapping="amlsim"
    )
    txns = ingested.transactions

    assert txns.height == 2 * ingested.rows_read
    pair = txns.filter(pl.col("txn_id").is_in(["1-out", "1-in"])).sort("direction")
    assert pair["direction"].to_list() == ["in", "out"]
    assert pair["account_id"][0] == pair["counterparty_account_id"][1]
    assert ingested.labels is not None and {"is_sar", "alert_id"} <= set(ingested.labels.columns)


@pytest.mark.external
def test_saml_d_cash_rows_make_one_posting(external: Path) -> None:
    ingested = read_transactions(
        [external / "schema_samples/saml_d_sample_1k.csv"], mapping="saml_d"
    )
    source = pl.read_csv(external / "schema_samples/saml_d_sample_1k.csv")
    cash = source.filter(pl.col("Payment_type").str.starts_with("Cash")).height

    assert ingested.postings == 2 * source.height - cash
    assert set(ingested.transactions["currency"].unique()) <= {
        "GBP",
        "EUR",
        "USD",
        "ALL",
        "AED",
        "INR",
        "MXN",
        "MAD",
        "NGN",
        "PKR",
        "CHF",
        "TRY",
        "JPY",
    }


def test_amlworld_original_layout_with_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "HI-Small_Trans.csv"
    path.write_text(
        "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
        "Amount Paid,Payment Currency,Payment Format,Is Laundering\n"
        "2022/09/01 00:20,010,8000EBD30,010,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0\n"
        "2022/09/01 00:20,03208,8000F4580,001,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,0\n"
    )
    ingested = read_transactions([path], mapping="amlworld")

    assert ingested.rejects.is_empty()
    out = ingested.transactions.filter(pl.col("direction") == "out").sort("amount")
    assert out["account_id"].to_list() == ["03208:8000F4580", "010:8000EBD30"]
    assert out["counterparty_account_id"][0] == "001:8000F5340"
    assert out["channel"].to_list() == ["cheque", "internal"]
    assert out["ts_local"][0] is not None  # AMLworld times have no zone: read as both


def _reject(tmp_path: Path, row: str, fx: Path | None = None) -> tuple[str, int, str]:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "ok1,A1,2024-01-01T00:00:00Z,in,10.00,USD,cash\n" + row + "\n")
    ingested = read_transactions([path], mapping="canonical")
    assert ingested.postings == 2 and ingested.transactions.height == 1
    line = ingested.rejects.row(0, named=True)
    assert line["file"] == str(path)
    return line["field"], line["line"], line["reason"]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("t2,,2024-01-01T00:00:00Z,in,10.00,USD,cash", "account_id", "missing required value"),
        (
            "t2,A1,2024-13-01T00:00:00Z,in,10.00,USD,cash",
            "ts_utc",
            "unparseable timestamp '2024-13-01T00:00:00Z'",
        ),
        ("t2,A1,2024-01-01T00:00:00Z,in,ten,USD,cash", "amount", "unparseable amount 'ten'"),
        ("t2,A1,2024-01-01T00:00:00Z,in,-5.00,USD,cash", "amount", "non-positive amount '-5.00'"),
        ("t2,A1,2024-01-01T00:00:00Z,in,0,USD,cash", "amount", "non-positive amount '0'"),
        (
            "t2,A1,2024-01-01T00:00:00Z,sideways,1.00,USD,cash",
            "direction",
            "unknown direction 'sideways' (use in or out)",
        ),
        (
            "t2,A1,2024-01-01T00:00:00Z,in,1.00,USD,carrier pigeon",
            "channel",
            "unknown channel 'carrier pigeon' after mapping",
        ),
        (
            "t2,A1,2024-01-01T00:00:00Z,in,1.00,ZZZ,cash",
            "currency",
            "no FX rate for currency 'ZZZ'",
        ),
        ("ok1,A1,2024-01-02T00:00:00Z,in,1.00,USD,cash", "txn_id", "duplicate txn_id 'ok1'"),
    ],
)
def test_each_bad_row_is_rejected_with_its_reason(
    tmp_path: Path, row: str, field: str, reason: str
) -> None:
    assert _reject(tmp_path, row) == (field, 3, reason)


def test_reject_keeps_the_raw_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "t1,A1,yesterday,in,10.00,USD,cash\n")
    rejects = read_transactions([path], mapping="canonical").rejects

    assert '"ts_utc":"yesterday"' in rejects["raw"][0]


def test_money_is_exact_and_converted_with_fx(tmp_path: Path) -> None:
    fx = tmp_path / "fx.csv"
    fx.write_text("currency,rate\nUSD,1\nCAD,0.73\n")
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "t1,A1,2024-01-01T00:00:00Z,in,13698.63,CAD,cash\n")
    from engine.ingest import load_fx

    txns = read_transactions([path], mapping="canonical", fx=load_fx(fx)).transactions

    assert txns.schema["amount_base"] == MONEY
    assert txns["amount_base"][0] == Decimal("10000.00")  # 13698.63 * 0.73 = 9999.9999 -> 10000.00


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file holds no rows"),
        (HEADER, "file holds no rows"),
        (
            "txn_id,account_id,ts_utc,direction,amount,currency\nt1,A1,2024-01-01,in,1,USD\n",
            "missing required column 'channel' (mapping canonical)",
        ),
    ],
)
def test_unusable_files_stop_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "unusable.csv"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_transactions([path], mapping="canonical")
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_corrupt_parquet(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        read_transactions([tmp_path / "nope.csv"])
    corrupt = tmp_path / "broken.parquet"
    corrupt.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match=r"broken\.parquet: unreadable"):
        read_transactions([corrupt])


def test_globs_folders_and_formats_read_alike(tmp_path: Path, canonical_csv: Path) -> None:
    frame = read_transactions([canonical_csv]).transactions
    folder = tmp_path / "many"
    folder.mkdir()
    frame.head(2).write_parquet(folder / "a.parquet")
    frame.tail(2).write_ndjson(folder / "b.ndjson")

    from_folder = read_transactions([folder]).transactions
    from_glob = read_transactions([str(folder / "*")]).transactions

    assert from_folder.sort("txn_id").equals(frame.sort("txn_id"))
    assert from_glob.sort("txn_id").equals(frame.sort("txn_id"))


def test_decimal_comma_semicolon_signed_amounts_and_local_zone(tmp_path: Path) -> None:
    mapping = tmp_path / "bank.yaml"
    mapping.write_text(
        """
mapping: eu_bank
csv: {separator: ";", decimal_comma: true}
fields:
  txn_id: Ref
  account_id: Konto
  ts_utc: {column: Buchung, format: "%d.%m.%Y %H:%M", timezone: Europe/Berlin}
  amount: {column: Betrag, signed: true}
  currency: {const: EUR}
  channel: {column: Art, map: {Bar: cash, Karte: card}}
"""
    )
    data = tmp_path / "export.csv"
    data.write_text(
        "Ref;Konto;Buchung;Betrag;Art\nr1;DE1;31.12.2023 23:30;-1.234,50;Karte\nr2;DE1;01.01.2024 00:15;200,00;Bar\n"
    )
    fx = tmp_path / "fx.csv"
    fx.write_text("currency,rate\nUSD,1\nEUR,1.10\n")
    from engine.ingest import load_fx

    txns = read_transactions([data], mapping=mapping, fx=load_fx(fx)).transactions.sort("txn_id")

    assert txns["direction"].to_list() == ["out", "in"]
    assert txns["amount"].to_list() == [Decimal("1234.50"), Decimal("200.00")]
    assert txns["amount_base"].to_list() == [Decimal("1357.95"), Decimal("220.00")]
    assert str(txns["ts_utc"][0]) == "2023-12-31 22:30:00+00:00"
    assert str(txns["ts_local"][0]) == "2023-12-31 23:30:00"
    assert txns["channel"].to_list() == ["card", "cash"]


def test_customers_rejects_missing_and_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,customer_type,declared_annual_income\nC1,individual,30000\n,individual,1\nC1,business,2\n"
    )
    customers, rejects = load_customers(path)

    assert customers["customer_id"].to_list() == ["C1"]
    assert customers.schema["declared_annual_income"] == pl.Float64
    assert rejects.select("line", "reason").rows() == [
        (3, "missing required value"),
        (4, "duplicate customer_id 'C1'"),
    ]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_reading_a_file_slice_by_slice_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Lines, rejects and first-wins duplicates across slice boundaries, as one whole read
    (Parquet is read in slices; CSV, which cannot seek, whole)."""
    rows = [
        f"t{i},A{i % 3},2024-01-{1 + i % 28:02d}T0{i % 10}:00:00Z,in,{i + 1}.50,USD,cash"
        for i in range(20)
    ]
    rows[4] = "t4,A1,2024-01-05T00:00:00Z,in,ten,USD,cash"  # unparseable amount
    rows[9] = "t2,A2,2024-01-09T00:00:00Z,out,3.00,USD,cash"  # a later duplicate of t2
    rows[13] = "t4,A0,2024-01-13T00:00:00Z,out,4.00,USD,cash"  # t4's first valid posting
    rows[17] = "t13,A2,2024-01-17T00:00:00Z,in,5.00,USD,carrier pigeon"  # bad channel
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    if suffix == "parquet":
        pl.read_csv(path, infer_schema=False).write_parquet(tmp_path / "t.parquet")
        path = tmp_path / "t.parquet"
    whole = read_transactions([path])

    monkeypatch.setattr("engine.ingest._ROWS_AT_ONCE", 3)
    sliced = read_transactions([path])

    assert sliced.transactions.equals(whole.transactions)
    assert sliced.rejects.equals(whole.rejects)
    assert whole.transactions.height == 17
    assert whole.rejects.select("line", "field").rows() == (
        [(6, "amount"), (11, "txn_id"), (19, "channel")]
        if suffix == "csv"
        else [(5, "amount"), (10, "txn_id"), (18, "channel")]
    )


def test_each_file_derives_the_base_amount_it_lacks(tmp_path: Path) -> None:
    """One file gives `amount_base`, the next does not: the second's are converted, not
    rejected for a missing base amount."""
    given = tmp_path / "a.csv"
    given.write_text(
        "txn_id,account_id,ts_utc,direction,amount,currency,channel,amount_base\n"
        "t1,A1,2024-01-01T00:00:00Z,in,10.00,USD,cash,10.00\n"
    )
    derived = tmp_path / "b.csv"
    derived.write_text(HEADER + "t2,A1,2024-01-02T00:00:00Z,in,20.00,USD,cash\n")

    ingested = read_transactions([given, derived])

    assert ingested.rejects.is_empty()
    assert ingested.transactions["amount_base"].to_list() == [Decimal("10.00"), Decimal("20.00")]
