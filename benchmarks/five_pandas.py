"""The five benchmark rules (benchmarks/five_rules/*.yaml) written by hand in idiomatic pandas.

Returns the same triggers as the DuckDB and moneytrail versions, `(rule_id, entity,
trigger_ts)` (defined in benchmarks/five.py).

Windows are half-open: `groupby().rolling("10D", on="ts_utc", closed="right")` covers
(t - 10d, t]. Pandas gives each of several rows tied at one instant its own window, ending at
that row; the measures here only grow with more rows, so the last of the tied rows carries the
window of the instant, and keeping the distinct (entity, t) pairs that pass gives the same set
as the SQL frames that include ties.

Money is exact: amounts become integer cents on reading (from the Parquet decimals, without
a float on the way). Rolling sums of cents are computed by pandas in float64, which holds every
integer below 2**53 exactly (about 9e13 dollars), so the sums are still exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["COLUMNS", "five_pandas"]

COLUMNS = [
    "account_id",
    "ts_utc",
    "ts_local",
    "direction",
    "channel",
    "amount_base",
    "counterparty_type",
    "counterparty_account_id",
    "mcc",
    "txn_city",
]


def _read(path: Path) -> pd.DataFrame:
    table = pq.read_table(path, columns=COLUMNS)
    # decimal(18, 2) -> integer cents: the unscaled value of a decimal, exactly
    scaled = pc.multiply(table["amount_base"], pa.scalar(100, pa.decimal128(3, 0)))
    cents = pc.cast(scaled, pa.int64())
    table = table.set_column(table.schema.get_field_index("amount_base"), "cents", cents)
    return table.to_pandas()


def _distinct(values: np.ndarray) -> float:
    """Distinct non-null codes in a window (factorized codes; null is NaN)."""
    return float(len(np.unique(values[~np.isnan(values)])))


def _rolling(events: pd.DataFrame, window: str) -> pd.core.window.RollingGroupby:
    ordered = events.sort_values(["account_id", "ts_utc"], kind="stable")
    return ordered.groupby("account_id", sort=False).rolling(window, on="ts_utc", closed="right")


def _triggers(rule_id: str, measured: pd.DataFrame, passed: pd.Series) -> pd.DataFrame:
    hits = measured.loc[passed, ["account_id", "ts_utc"]].drop_duplicates()
    return pd.DataFrame(
        {"rule_id": rule_id, "entity": hits["account_id"], "trigger_ts": hits["ts_utc"]}
    )


def _structuring(df: pd.DataFrame) -> pd.DataFrame:
    events = df[
        df["channel"].isin(["cash", "atm"])
        & (df["direction"] == "in")
        & (df["cents"] >= 800_000)
        & (df["cents"] < 1_000_000)
    ]
    rolled = _rolling(events[["account_id", "ts_utc", "cents"]], "10D")["cents"]
    measured = pd.concat(
        [rolled.count().rename("deposits"), rolled.sum().rename("total")], axis=1
    ).reset_index()
    passed = (measured["deposits"] >= 3) & (measured["total"] >= 1_000_000)
    return _triggers("BENCH-STRUCT-01", measured, passed)


def _fan_in(df: pd.DataFrame) -> pd.DataFrame:
    events = df[
        (df["direction"] == "in")
        & df["channel"].isin(["p2p", "wire", "ach"])
        & (df["counterparty_type"] == "individual")
    ][["account_id", "ts_utc", "counterparty_account_id"]]
    codes, _ = pd.factorize(events["counterparty_account_id"])  # null -> -1
    events = events.assign(cpty=np.where(codes < 0, np.nan, codes.astype("float64")))
    rolled = _rolling(events.drop(columns="counterparty_account_id"), "7D")["cpty"]
    measured = rolled.apply(_distinct, raw=True).rename("senders").reset_index()
    return _triggers("BENCH-FANIN-01", measured, measured["senders"] >= 10)


def _pass_through(df: pd.DataFrame) -> pd.DataFrame:
    # running total of outflows per account; one row per (account, instant) so that ties at
    # one instant are all on the same side of the inflow
    outs = (
        df[df["direction"] == "out"]
        .groupby(["account_id", "ts_utc"], as_index=False)["cents"]
        .sum()
        .sort_values(["account_id", "ts_utc"])
    )
    outs["cum"] = outs.groupby("account_id")["cents"].cumsum()
    steps = outs[["account_id", "ts_utc", "cum"]].rename(columns={"ts_utc": "at"})
    steps = steps.sort_values("at")
    ins = df[(df["direction"] == "in") & (df["cents"] >= 100_000)][
        ["account_id", "ts_utc", "cents"]
    ]
    ins = ins.assign(until=ins["ts_utc"] + pd.Timedelta(hours=48)).sort_values("ts_utc")
    # out in (t, t + 48h] = running total at t + 48h minus running total at t
    at_t = pd.merge_asof(ins, steps, left_on="ts_utc", right_on="at", by="account_id")
    at_t = at_t.rename(columns={"cum": "c0"}).drop(columns="at").sort_values("until")
    both = pd.merge_asof(at_t, steps, left_on="until", right_on="at", by="account_id")
    out_next = both["cum"].fillna(0) - both["c0"].fillna(0)
    return _triggers("BENCH-PASS-01", both, out_next * 10 >= both["cents"] * 9)


def _night_cash(df: pd.DataFrame) -> pd.DataFrame:
    hour = df["ts_local"].dt.hour
    events = df[
        df["channel"].isin(["cash", "atm"])
        & (df["direction"] == "in")
        & ((hour >= 22) | (hour < 6))  # NaT compares False, as NULL filters out in SQL
    ]
    rolled = _rolling(events[["account_id", "ts_utc", "cents"]], "30D")["cents"]
    measured = rolled.count().rename("deposits").reset_index()
    return _triggers("BENCH-NIGHT-01", measured, measured["deposits"] >= 8)


def _lodging(df: pd.DataFrame, lodging_mcc: set[str]) -> pd.DataFrame:
    events = df[(df["direction"] == "out") & df["mcc"].isin(lodging_mcc)]
    codes, _ = pd.factorize(events["txn_city"])
    events = events.assign(city=np.where(codes < 0, np.nan, codes.astype("float64")))
    rolled = _rolling(events[["account_id", "ts_utc", "cents", "city"]], "30D")
    measured = pd.concat(
        [
            rolled["city"].apply(_distinct, raw=True).rename("cities"),
            rolled["cents"].sum().rename("total"),
        ],
        axis=1,
    ).reset_index()
    passed = (measured["cities"] >= 3) & (measured["total"] >= 130_000)
    return _triggers("BENCH-LODGE-01", measured, passed)


def five_pandas(transactions: Path, mcc_groups: Path) -> pd.DataFrame:
    """Triggers of the five rules over a canonical transactions Parquet file."""
    df = _read(transactions)
    groups = pd.read_csv(mcc_groups, dtype=str)
    lodging_mcc = set(groups.loc[groups["group"] == "LODGING", "value"])
    parts = [
        _structuring(df),
        _fan_in(df),
        _pass_through(df),
        _night_cash(df),
        _lodging(df, lodging_mcc),
    ]
    return pd.concat(parts, ignore_index=True)
