"""Raw events to canonical transactions: ids, pairs, places, money and balances.

One call per chunk. Internal transfers are expanded into their `out` and `in` postings here, so
no stream can produce an unmatched half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from engine.schema import CHANNELS, MONEY, TRANSACTION_COLUMNS, TS_LOCAL, TS_UTC
from sample_data.clock import Clock
from sample_data.events import TXN_TYPES
from sample_data.reference import CURRENCIES

__all__ = ["OWN_BANK", "Tables", "decimal", "finalise", "ip_of"]

OWN_BANK = "SYNBUS33"
_ONLINE = [CHANNELS.index(c) for c in ("p2p", "wire", "remittance", "crypto", "prepaid")]


@dataclass(frozen=True, slots=True)
class Tables:
    """Lookup tables that turn indices into canonical values.

    Attributes:
        acct_ids: Account id per account index.
        acct_cust: Customer index per account index.
        cust_ids: Customer id per customer index.
        cust_names: Full name per customer index.
        cust_types: `individual` or `business` per customer index.
        home_zone: Clock zone index of each customer's home.
        city_zone: Clock zone index per city.
        cities: City frame with name, region and country.
        merchants: Merchant frame with merchant_id, name, mcc and country.
        parties: External party frame with ext_id, name, type, country and bank.
        fx_micro: Millionths of USD per unit of each currency of `CURRENCIES`.
        clock: Local/UTC converter.
    """

    acct_ids: pl.Series
    acct_cust: np.ndarray
    cust_ids: pl.Series
    cust_names: pl.Series
    cust_types: pl.Series
    home_zone: np.ndarray
    city_zone: np.ndarray
    cities: pl.DataFrame
    merchants: pl.DataFrame
    parties: pl.DataFrame
    fx_micro: np.ndarray
    clock: Clock


def decimal(cents: np.ndarray) -> pl.Series:
    """Exact `Decimal(18, 2)` series from integer minor units (no float on the way)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty(2 * len(cents), dtype=np.int64)
    words[0::2], words[1::2] = cents, np.where(cents < 0, -1, 0)
    arr = pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words)])
    return pl.Series(pl.from_arrow(arr)).cast(MONEY)


def ip_of(device: pl.Expr) -> pl.Expr:
    """Carrier-NAT style IPv4 of a device index (both devices of a customer share it)."""
    who = device // 10
    parts = [64 + (who // 65536) % 64, (who // 256) % 256, who % 256]
    return pl.concat_str(pl.lit("100"), *[p.cast(pl.String) for p in parts], separator=".")


def _pick(series: pl.Series, idx: np.ndarray) -> pl.Series:
    """`series[idx]` with nulls where idx < 0."""
    out = series.gather(np.maximum(idx, 0))
    return out.scatter(np.flatnonzero(idx < 0), None) if (idx < 0).any() else out


def finalise(raw: pl.DataFrame, t: Tables, first_id: int, balance: np.ndarray) -> pl.DataFrame:
    """Turn raw events (with a `utc` column) into canonical transactions.

    Args:
        raw: Raw events of one chunk plus `utc` (µs since epoch).
        t: Lookup tables.
        first_id: Number of the first transaction id of the chunk.
        balance: Running balance per account in base cents; updated in place.

    Returns:
        Transactions with `TRANSACTION_COLUMNS`, sorted by ts_utc then txn_id.
    """
    raw = raw.sort("utc", maintain_order=True).with_columns(
        base=pl.lit(first_id, pl.Int64) + pl.int_range(pl.len(), dtype=pl.Int64)
    )
    pairs = raw.filter(pl.col("cp") >= 0)
    mirrored = pairs.with_columns(acct="cp", cp="acct", dir=pl.lit(0, pl.Int8))
    tag = (
        pl.when(pl.col("cp") < 0)
        .then(pl.lit(""))
        .when(pl.col("dir") == 1)
        .then(pl.lit("-out"))
        .otherwise(pl.lit("-in"))
    )
    rows = (
        pl.concat([raw, mirrored])
        .with_columns(
            txn_id=pl.concat_str(pl.lit("T"), pl.col("base").cast(pl.String).str.zfill(10), tag)
        )
        .sort("utc", "txn_id")
    )
    col = {
        name: rows[name].to_numpy()
        for name in (
            "acct",
            "loc",
            "dir",
            "cents",
            "cur",
            "chan",
            "merch",
            "cp",
            "ext",
            "mcc",
            "dev",
            "utc",
        )
    }
    cust = t.acct_cust[col["acct"]]
    cp_cust = np.where(col["cp"] >= 0, t.acct_cust[np.maximum(col["cp"], 0)], -1)
    has_loc = col["loc"] >= 0
    zone = np.where(has_loc, t.city_zone[np.maximum(col["loc"], 0)], t.home_zone[cust])
    base_cents = (col["cents"] * t.fx_micro[col["cur"]] + 500_000) // 1_000_000
    settled = rows["att"].is_null().to_numpy()
    signed = np.where(col["dir"] == 1, -base_cents, base_cents) * settled
    order = np.argsort(col["acct"], kind="stable")
    running = np.empty_like(signed)
    sorted_acct, sorted_signed = col["acct"][order], signed[order]
    csum = np.cumsum(sorted_signed)
    first = np.r_[True, sorted_acct[1:] != sorted_acct[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    before = np.where(group_start > 0, csum[group_start - 1], 0)
    running[order] = balance[sorted_acct] + csum - before
    np.add.at(balance, col["acct"], signed)

    merch, ext, cp = col["merch"], col["ext"], col["cp"]
    m, p = t.merchants, t.parties
    is_card = col["chan"] == CHANNELS.index("card")
    out_card = is_card & (col["dir"] == 1)
    location = np.select(
        [
            col["chan"] == CHANNELS.index("atm"),
            col["chan"] == CHANNELS.index("cash"),
            is_card & has_loc,
            is_card,
            has_loc,
            np.isin(col["chan"], _ONLINE),
        ],
        ["atm", "branch", "merchant", "online", "branch", "online"],
        "none",
    )
    w = pl.DataFrame(
        {
            "cp": cp,
            "ext": ext,
            "merch": merch,
            "dir": col["dir"],
            "mcc": col["mcc"],
            "dev": col["dev"],
            "term": rows["term"],
            "loc": col["loc"],
            "out_card": out_card,
            "is_card": is_card,
            "has_loc": has_loc,
            "loc_type": location,
            "acct_id": t.acct_ids.gather(col["acct"]),
            "cp_acct": _pick(t.acct_ids, cp),
            "cp_cust": _pick(t.cust_ids, cp_cust),
            "cp_name": _pick(t.cust_names, cp_cust),
            "cp_type": _pick(t.cust_types, cp_cust),
            "x_id": _pick(p["ext_id"], ext),
            "x_name": _pick(p["name"], ext),
            "x_type": _pick(p["type"], ext),
            "x_bank": _pick(p["bank"], ext),
            "x_country": _pick(p["country"], ext),
            "m_id": _pick(m["merchant_id"], merch),
            "m_name": _pick(m["name"], merch),
            "m_mcc": _pick(m["mcc"], merch),
            "m_country": _pick(m["country"], merch),
        }
    )
    internal, external = pl.col("cp") >= 0, pl.col("ext") >= 0
    shop = (pl.col("dir") == 1) & (pl.col("merch") >= 0)
    dev = pl.col("dev")
    frame = w.select(
        txn_id=rows["txn_id"],
        account_id="acct_id",
        ts_utc=pl.lit(pl.Series(col["utc"])).cast(TS_UTC),
        direction=pl.lit(pl.Series(["in", "out"]).gather(col["dir"])),
        amount=pl.lit(decimal(col["cents"])),
        currency=pl.lit(pl.Series(CURRENCIES).gather(col["cur"])),
        channel=pl.lit(pl.Series(CHANNELS).gather(col["chan"])),
        customer_id=pl.lit(t.cust_ids.gather(cust)),
        amount_base=pl.lit(decimal(base_cents)),
        txn_type=pl.lit(pl.Series(TXN_TYPES).gather(rows["ttype"].to_numpy())),
        ts_local=pl.lit(pl.Series(t.clock.to_local(col["utc"], zone))).cast(TS_LOCAL),
        counterparty_account_id=pl.when(internal).then("cp_acct").otherwise("x_id"),
        counterparty_customer_id="cp_cust",
        counterparty_name=pl.when(internal)
        .then("cp_name")
        .when(external)
        .then("x_name")
        .when(shop)
        .then("m_name"),
        counterparty_type=pl.when(internal)
        .then("cp_type")
        .when(external)
        .then("x_type")
        .when(shop)
        .then(pl.lit("merchant")),
        counterparty_bank_id=pl.when(internal).then(pl.lit(OWN_BANK)).otherwise("x_bank"),
        counterparty_country=pl.when(internal)
        .then(pl.lit("US"))
        .when(external)
        .then("x_country")
        .when(shop)
        .then("m_country"),
        ultimate_party_name=rows["ult"],
        mcc=pl.when(pl.col("mcc") >= 0)
        .then(pl.col("mcc").cast(pl.String).str.zfill(4))
        .otherwise("m_mcc"),
        merchant_id="m_id",
        location_type="loc_type",
        terminal_id=pl.when(pl.col("term") >= 0).then(
            pl.concat_str(
                pl.when(pl.col("loc_type") == "atm").then(pl.lit("ATM")).otherwise(pl.lit("BR")),
                pl.col("loc").cast(pl.String).str.zfill(2),
                pl.lit("-"),
                pl.col("term").cast(pl.String),
            )
        ),
        txn_city=pl.lit(_pick(t.cities["name"], col["loc"])),
        txn_region=pl.lit(_pick(t.cities["region"], col["loc"])),
        txn_country=pl.lit(_pick(t.cities["country"], col["loc"])),
        card_id=pl.when("out_card").then(
            pl.concat_str(pl.lit("K"), pl.col("acct_id").str.slice(1))
        ),
        card_present=pl.when("is_card").then("has_loc"),
        conductor_id=rows["cond"],
        device_id=pl.when(dev >= 0).then(
            pl.concat_str(pl.lit("DV"), dev.cast(pl.String).str.zfill(8))
        ),
        ip_address=pl.when(dev >= 0).then(ip_of(dev)),
        reference_text=rows["ref"],
        crypto_address=rows["caddr"],
        crypto_risk_tag=rows["ctag"],
        attempt_status=rows["att"].fill_null("completed"),
        balance_after=pl.lit(decimal(running)),
    )
    return frame.cast(TRANSACTION_COLUMNS)  # type: ignore[arg-type]
