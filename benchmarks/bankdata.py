"""Benchmark inputs: synthetic banks from `sample_data.generate`, made once and reused.

A size such as `5M` is a target number of transactions. The generator writes about 1.7
transactions per customer per day, so a size becomes a number of customers over a fixed
90-day period (the density per account stays the same at every size, which is what a
linearity check needs). The real row count is whatever the generator wrote; the results use it.

A bank lives in `DATA/bank-<customers>c-<days>d-s<seed>/` and counts as present only when its
`done.json` (written last) matches: an interrupted generation is regenerated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DAYS", "Bank", "customers_for", "ensure_bank", "format_size", "parse_size"]

DAYS = 90
ROWS_PER_CUSTOMER_DAY = 1.70  # measured on the shipped sample: 305,267 rows / (2,000 x 90)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")


@dataclass(frozen=True, slots=True)
class Bank:
    """A generated bank on disk."""

    root: Path
    rows: int
    customers: int
    days: int
    seed: int
    generate_seconds: float

    @property
    def transactions(self) -> Path:
        """The transactions Parquet file."""
        return self.root / "transactions.parquet"

    @property
    def customers_file(self) -> Path:
        """The customers (KYC) Parquet file."""
        return self.root / "customers.parquet"

    @property
    def lists(self) -> Path:
        """The reference lists the bank was generated with."""
        return self.root / "lists"


def parse_size(text: str) -> int:
    """`200k`, `1M`, `20M`, `1500000` -> a row count."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"bad size {text!r}: use e.g. 200k, 1M, 5M or 20M")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def format_size(rows: int) -> str:
    """A row count as a label: 200000 -> `200k`, 5000000 -> `5M`."""
    if rows >= 1_000_000 and rows % 100_000 == 0:
        return f"{rows / 1_000_000:g}M"
    if rows >= 1_000 and rows % 100 == 0:
        return f"{rows / 1_000:g}k"
    return str(rows)


def customers_for(rows: int) -> int:
    """Customers that make about `rows` transactions over `DAYS` days (at least 300)."""
    return max(300, round(rows / (ROWS_PER_CUSTOMER_DAY * DAYS)))


def _wait_for_other(root: Path, log: Callable[[str], object]) -> bool:
    """Wait while another live process generates this bank; True if it did."""
    marker = root / "generating.pid"
    try:
        pid = int(marker.read_text())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    waited = False
    while (root / "generating.pid").is_file():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break  # it died without finishing: regenerate
        if not waited:
            log(f"waiting for process {pid}, which is generating {root} ...")
            waited = True
        time.sleep(5)
    return waited


def ensure_bank(data: Path, rows: int, *, seed: int, log: Callable[[str], object] = print) -> Bank:
    """The bank of about `rows` transactions under `data`, generated if absent."""
    customers = customers_for(rows)
    root = data / f"bank-{customers}c-{DAYS}d-s{seed}"
    done = root / "done.json"
    want = {"customers": customers, "days": DAYS, "seed": seed}
    if done.is_file():
        meta = json.loads(done.read_text())
        if {k: meta.get(k) for k in want} == want and (root / "transactions.parquet").is_file():
            return Bank(root, meta["rows"], customers, DAYS, seed, meta["generate_seconds"])
    if _wait_for_other(root, log):
        return ensure_bank(data, rows, seed=seed, log=log)
    from sample_data import generate  # imported here: only needed when generating

    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "generating.pid").write_text(str(os.getpid()))
    log(f"generating {customers:,} customers x {DAYS} days (seed {seed}) into {root} ...")
    started = time.perf_counter()
    bank = generate(customers, DAYS, seed, root)
    seconds = round(time.perf_counter() - started, 1)
    done.write_text(json.dumps({**want, "rows": bank.n_transactions, "generate_seconds": seconds}))
    (root / "generating.pid").unlink()
    log(f"  {bank.n_transactions:,} transactions in {seconds} s")
    return Bank(root, bank.n_transactions, customers, DAYS, seed, seconds)


if __name__ == "__main__":  # python benchmarks/bankdata.py DATA SIZE [SEED]: generate only
    import sys

    ensure_bank(Path(sys.argv[1]), parse_size(sys.argv[2]), seed=int((sys.argv[3:4] or ["7"])[0]))
