"""Generate a synthetic bank: `generate(customers, days, seed, out)`.

The period is cut into chunks of days. Each chunk's baseline activity is drawn with its own
seeded generator, merged with the planted cases and written as row groups of one Parquet file
in `ts_utc` order, so memory stays flat however long the period. Events whose UTC instant falls
before the chunk boundary wait in a pending buffer until that boundary is passed.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from sample_data.business import business
from sample_data.draw import Calendar
from sample_data.events import DAY, day_start
from sample_data.finalise import Tables, finalise
from sample_data.household import household
from sample_data.links import World, build_world
from sample_data.lists import write_lists
from sample_data.plant import plant
from sample_data.spending import card_spending
from sample_data.tables import accounts_frame, tables_of

__all__ = ["DEFAULT_START", "GeneratedBank", "generate"]

DEFAULT_START = date(2024, 1, 1)
MIN_CUSTOMERS = 400  # every scenario and look-alike finds its personas, for any seed tried
_ROWS_PER_CHUNK = 1_500_000


@dataclass(frozen=True, slots=True)
class GeneratedBank:
    """Paths and counts of a generated bank.

    Attributes:
        root: Output folder.
        transactions: `transactions.parquet`.
        customers: `customers.parquet`.
        accounts: `accounts.parquet`.
        truth: `truth/truth.parquet` (labels; keep away from the rules).
        lists: Folder of the reference lists used, plus `external_identifiers.csv`.
        n_customers: Customers generated.
        n_accounts: Accounts generated.
        n_transactions: Transactions written.
        n_cases: Planted cases (scenarios and look-alikes).
    """

    root: Path
    transactions: Path
    customers: Path
    accounts: Path
    truth: Path
    lists: Path
    n_customers: int
    n_accounts: int
    n_transactions: int
    n_cases: int


def generate(
    customers: int, days: int, seed: int, out: Path, *, start: date = DEFAULT_START
) -> GeneratedBank:
    """Generate a bank of `customers` customers over `days` days into folder `out`.

    Args:
        customers: Number of customers (at least MIN_CUSTOMERS, so every scenario fits).
        days: Length of the period in days (at least 30).
        seed: Seed; the same arguments give byte-identical files.
        out: Output folder (created; existing generated files are replaced).
        start: First day of the period.

    Returns:
        Paths and counts of what was written.
    """
    if customers < MIN_CUSTOMERS or days < 30:
        raise ValueError(
            f"need at least {MIN_CUSTOMERS} customers and 30 days to plant every scenario"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(customers, days, start, np.random.default_rng([seed, 1]))
    planted = plant(world, np.random.default_rng([seed, 2]))
    tables = tables_of(world, planted.kyc)
    cal = Calendar(start, days)
    txn_path = out / "transactions.parquet"
    n_txn = _write_transactions(world, tables, planted.events, cal, seed, txn_path)

    planted.kyc.drop("idx").write_parquet(out / "customers.parquet")
    accounts_frame(world, tables).write_parquet(out / "accounts.parquet")
    (out / "truth").mkdir(exist_ok=True)
    planted.truth.write_parquet(out / "truth" / "truth.parquet")
    lists = out / "lists"
    if lists.exists():
        shutil.rmtree(lists)
    write_lists(lists)
    planted.identifiers.write_csv(lists / "external_identifiers.csv")
    return GeneratedBank(
        out,
        txn_path,
        out / "customers.parquet",
        out / "accounts.parquet",
        out / "truth" / "truth.parquet",
        lists,
        world.pop.n,
        len(world.pop.acct_cust),
        n_txn,
        planted.truth["case_id"].n_unique(),
    )


def _baseline(
    w: World, d0: int, d1: int, rng: np.random.Generator, cal: Calendar
) -> list[pl.DataFrame]:
    return [
        card_spending(w, d0, d1, rng, cal.dow),
        *household(w, d0, d1, rng, cal),
        *business(w, d0, d1, rng, cal),
    ]


def _with_utc(raw: pl.DataFrame, t: Tables) -> pl.DataFrame:
    acct, loc = raw["acct"].to_numpy(), raw["loc"].to_numpy()
    zone = np.where(loc >= 0, t.city_zone[np.maximum(loc, 0)], t.home_zone[t.acct_cust[acct]])
    return raw.with_columns(utc=pl.Series(t.clock.to_utc(raw["lt"].to_numpy(), zone)))


def _write_transactions(
    w: World, t: Tables, planted: pl.DataFrame, cal: Calendar, seed: int, path: Path
) -> int:
    per_day = max(1.0, w.pop.n * 2.5)
    chunk = int(max(1, min(w.days, _ROWS_PER_CHUNK // per_day)))
    t_begin = int(day_start(w.start, 0))
    t_end = int(day_start(w.start, w.days))
    planted = _with_utc(planted, t)
    balance = _opening_balances(w, np.random.default_rng([seed, 3]))
    pending = planted.clear().with_columns(utc=pl.lit(0, pl.Int64))
    written, next_id = 0, 1
    writer: pq.ParquetWriter | None = None
    bounds = [*range(0, w.days, chunk), w.days]
    for k, (d0, d1) in enumerate(itertools.pairwise(bounds)):
        last = d1 == w.days
        fresh = _with_utc(
            pl.concat(_baseline(w, d0, d1, np.random.default_rng([seed, 4, k]), cal)), t
        )
        lo = int(day_start(w.start, d0)) if k else np.iinfo(np.int64).min
        hi = np.iinfo(np.int64).max if last else int(day_start(w.start, d1))
        due = planted.filter((pl.col("utc") >= lo) & (pl.col("utc") < hi))
        pending = pl.concat([pending, fresh, due])
        # nothing drawn later can land more than a day before the next chunk's first midnight
        limit = t_end if last else hi - DAY
        ready = pending.filter((pl.col("utc") < limit) & (pl.col("utc") >= t_begin))
        pending = pending.filter(pl.col("utc") >= limit)
        if ready.height:
            frame = finalise(ready, t, next_id, balance)
            next_id += ready.height
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=_ROWS_PER_CHUNK)
            written += frame.height
    if writer is not None:
        writer.close()
    return written


def _opening_balances(w: World, rng: np.random.Generator) -> np.ndarray:
    income = w.pop.income[w.pop.acct_cust]
    return np.asarray(np.round(income / 12 * rng.uniform(1.0, 3.0, len(income)) * 100), np.int64)
