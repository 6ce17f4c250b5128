"""Timing of the graph stage on a synthetic random frame (not a test; run by hand).

    python tests/graphs/bench_graphs_1m.py [n_postings] [n_accounts]

Random transfers between internal accounts (two postings each) over 90 days, amounts
10-5,000, some merchant counterparties. Prints seconds per step.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

from engine.schema import MONEY, TRANSACTION_COLUMNS  # noqa: E402
from graphs.build import Hygiene, edge_table, pruned_transfers  # noqa: E402
from graphs.networks import grow_networks  # noqa: E402
from graphs.patterns import PATTERNS, GraphContext, run_pattern  # noqa: E402


def random_postings(n_postings: int, n_accounts: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_postings // 2
    src = rng.integers(0, n_accounts, n)
    dst = (src + rng.integers(1, n_accounts, n)) % n_accounts
    start = datetime(2024, 1, 1, tzinfo=UTC)
    seconds = rng.integers(0, 90 * 86400, n)
    cents = rng.integers(1_000, 500_000, n)
    kinds = rng.choice(["individual", "individual", "individual", "business", "merchant"], n)
    channels = rng.choice(["wire", "p2p", "ach", "card"], n)
    base = pl.DataFrame(
        {
            "tid": np.arange(n),
            "src": src,
            "dst": dst,
            "ts_utc": pl.Series([start], dtype=pl.Datetime("us", "UTC")).repeat_by(n).explode()
            + pl.Series(seconds * 1_000_000).cast(pl.Duration("us")),
            "amount": pl.Series(cents).cast(pl.Decimal(18, 0)) / 100,
            "counterparty_type": kinds,
            "channel": channels,
        }
    )
    sides = []
    for direction, acct, cpty in (("out", "src", "dst"), ("in", "dst", "src")):
        sides.append(
            base.select(
                (pl.col("tid").cast(pl.String) + f"-{direction}").alias("txn_id"),
                ("A" + pl.col(acct).cast(pl.String)).alias("account_id"),
                "ts_utc",
                pl.lit(direction).alias("direction"),
                pl.col("amount").cast(MONEY),
                pl.lit("EUR").alias("currency"),
                "channel",
                ("C" + pl.col(acct).cast(pl.String)).alias("customer_id"),
                pl.col("amount").cast(MONEY).alias("amount_base"),
                pl.lit("transfer").alias("txn_type"),
                ("A" + pl.col(cpty).cast(pl.String)).alias("counterparty_account_id"),
                "counterparty_type",
            )
        )
    out = pl.concat(sides)
    missing = [
        pl.lit(None, t).alias(c) for c, t in TRANSACTION_COLUMNS.items() if c not in out.columns
    ]
    return out.with_columns(missing).select(list(TRANSACTION_COLUMNS))


def main() -> None:
    n_postings = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_accounts = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    t = time.perf_counter()
    txns = random_postings(n_postings, n_accounts)
    print(
        f"frame: {txns.height:,} postings, {n_accounts:,} accounts ({time.perf_counter() - t:.1f}s)"
    )
    t = time.perf_counter()
    edges = edge_table(pruned_transfers(txns, hygiene=Hygiene())).collect()
    took = time.perf_counter() - t
    print(f"| transfers + hygiene + edge table | {took:.1f} s | {edges.height:,} edges |")
    alerts = pl.DataFrame(
        {
            "rule_id": "HT-P2P-01",
            "entity": [f"A{i}" for i in range(0, n_accounts, 1000)],
            "pillar": "x",
        }
    )
    for name in sorted(PATTERNS):
        t = time.perf_counter()
        hits = run_pattern(name, txns, context=GraphContext(alerts=alerts))
        print(f"| {name} | {time.perf_counter() - t:.1f} s | {hits.height:,} hits |")
    alerts = pl.DataFrame(
        {
            "rule_id": "HT-P2P-01",
            "entity": [f"A{i}" for i in range(0, n_accounts, 1000)],
            "pillar": "x",
        }
    )
    t = time.perf_counter()
    nets = grow_networks(txns, alerts, hops=2, min_flow=500, window=timedelta(days=90))
    took = time.perf_counter() - t
    print(
        f"| grow_networks ({alerts.height} alerted accounts, 2 hops) | {took:.1f} s "
        f"| {nets.networks.height:,} networks, {nets.members.height:,} members |"
    )


if __name__ == "__main__":
    main()
