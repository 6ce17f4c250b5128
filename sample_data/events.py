"""Raw events: the compact, integer-coded rows every stream and scenario produces.

A raw event is one posting (or, when `cp >= 0`, one internal transfer that `finalise.py`
expands into its `out` and `in` postings). Places, merchants and parties are indices; the few
free-text fields are strings. Time is the local wall clock `lt` (µs since epoch, naive) of the
place where the event happened, so diurnal rhythms are drawn in local time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl

from engine.schema import CHANNELS

__all__ = [
    "DAY",
    "HOUR",
    "MINUTE",
    "RAW",
    "TXN_TYPES",
    "ch",
    "day_start",
    "empty",
    "events",
    "tt",
]

MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

TXN_TYPES: tuple[str, ...] = (
    "deposit", "withdrawal", "transfer", "purchase", "refund", "salary", "benefit",
    "loan_disbursement", "loan_repayment", "cash_advance", "prepaid_load", "crypto_buy",
    "crypto_sell", "fee", "interest", "other",
)  # fmt: skip

RAW: dict[str, pl.DataType] = {
    "acct": pl.Int32(),  # monitored account (the sender for internal transfers)
    "lt": pl.Int64(),  # local wall-clock time, µs since epoch
    "loc": pl.Int16(),  # city where it physically happened, -1 online / none
    "dir": pl.Int8(),  # 0 in, 1 out
    "cents": pl.Int64(),  # amount in minor units of `cur`
    "cur": pl.Int8(),  # index into reference.CURRENCIES
    "chan": pl.Int8(),  # index into engine.schema.CHANNELS
    "ttype": pl.Int8(),  # index into TXN_TYPES
    "merch": pl.Int32(),  # merchant index, -1 none
    "cp": pl.Int32(),  # internal counterparty account, -1 none
    "ext": pl.Int32(),  # external party index, -1 none
    "mcc": pl.Int16(),  # explicit MCC, -1 = the merchant's
    "dev": pl.Int32(),  # device index, -1 none
    "term": pl.Int16(),  # ATM or branch number within `loc`, -1 none
    "cond": pl.String(),  # conductor id of cash deposits
    "ref": pl.String(),  # reference text
    "ult": pl.String(),  # ultimate party name
    "caddr": pl.String(),  # crypto address
    "ctag": pl.String(),  # crypto risk tag
    "att": pl.String(),  # attempt status
}
_DEFAULT: dict[str, int | None] = {
    "loc": -1, "cur": 0, "merch": -1, "cp": -1, "ext": -1, "mcc": -1, "dev": -1, "term": -1,
}  # fmt: skip


def ch(name: str) -> int:
    """Channel code of `name` (a value of `engine.schema.CHANNELS`)."""
    return CHANNELS.index(name)


def tt(name: str) -> int:
    """Transaction-type code of `name` (a value of `TXN_TYPES`)."""
    return TXN_TYPES.index(name)


def day_start(start: date, day: np.ndarray | int) -> np.ndarray:
    """Local midnight (µs since epoch) of day offset(s) `day` from `start`."""
    base = (start - date(1970, 1, 1)).days
    return (base + np.asarray(day, dtype=np.int64)) * DAY


def empty() -> pl.DataFrame:
    """A raw event frame with no rows."""
    return pl.DataFrame(schema=RAW)


def events(**cols: Any) -> pl.DataFrame:
    """Build a raw event frame; scalars broadcast, omitted columns take their defaults.

    Args:
        **cols: Column name to array, list or scalar. `acct`, `lt`, `dir`, `cents`, `chan`
            and `ttype` are required; at least one of them must be an array.

    Returns:
        A frame with exactly the `RAW` schema.
    """
    n = max(
        (len(v) for v in cols.values() if isinstance(v, (np.ndarray, list, pl.Series))), default=0
    )
    data: dict[str, pl.Series] = {}
    for name, dtype in RAW.items():
        value = cols.pop(name, _DEFAULT.get(name))
        if isinstance(value, (np.ndarray, list, pl.Series)):
            data[name] = pl.Series(name, value).cast(dtype)
        else:
            # one-value series broadcast without a lazy round trip (this is called a lot)
            data[name] = pl.Series(name, [value], dtype=dtype).new_from_index(0, n)
    if cols:
        raise TypeError(f"unknown raw columns: {sorted(cols)}")
    return pl.DataFrame(data)
