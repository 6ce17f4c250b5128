"""What the store does not hold: the full transaction history and the customers' KYC facts.

The store keeps alerts and their evidence only. Given the scanned files (`serve
--transactions ... --customers ...`, or `--sample`), the workbench also shows a subject's whole
money in and out, expands a network through every known transfer, and shows KYC facts.
Without them it works from the evidence alone and says so on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.alerts import EVIDENCE_COLUMNS

__all__ = ["TXN_COLUMNS", "Context", "load_context"]

TXN_COLUMNS = EVIDENCE_COLUMNS  # the page shows what evidence rows carry


@dataclass(frozen=True, slots=True)
class Context:
    """Optional frames beside the store: canonical postings and customers."""

    transactions: pl.DataFrame | None = None
    customers: pl.DataFrame | None = None

    def describe(self) -> str:
        """One line for the console and the page footer."""
        parts = []
        if self.transactions is not None:
            parts.append(f"{self.transactions.height:,} transactions")
        if self.customers is not None:
            parts.append(f"{self.customers.height:,} customers")
        return ", ".join(parts) if parts else "the store's evidence only"


def load_context(
    transactions: Sequence[Path] = (),
    /,
    *,
    mapping: str = "canonical",
    customers: Path | None = None,
    fx: Path | None = None,
) -> Context:
    """Read the scanned files as the scan did (same mapping and FX), keeping what pages use.

    Raises:
        InputError, RuleError: as `engine.ingest.read_transactions` and `load_customers`.
    """
    from engine.ingest import load_customers, load_fx, read_transactions

    txns = None
    if transactions:
        ingested = read_transactions(list(transactions), mapping=mapping, fx=load_fx(fx))
        frame = ingested.transactions
        present = [c for c in TXN_COLUMNS if c in frame.columns]
        txns = frame.select(present).with_columns(
            [pl.lit(None, pl.String).alias(c) for c in TXN_COLUMNS if c not in frame.columns]
        )
        if "amount_base" not in frame.columns:
            txns = txns.with_columns(pl.col("amount").alias("amount_base"))
        txns = txns.select(TXN_COLUMNS)
    kyc = load_customers(customers)[0] if customers is not None else None
    return Context(txns, kyc)
