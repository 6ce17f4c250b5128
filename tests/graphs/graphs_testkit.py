"""Hand-built motifs as canonical postings, and the AMLSim reader used by the graph tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from engine.ingest import read_transactions
from engine.schema import TRANSACTION_COLUMNS

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

EXTERNAL_DATA = Path(__file__).resolve().parents[2] / "../shared/data/external"
AMLSIM = EXTERNAL_DATA / "amlsim_generated"


def at(hours: float = 0, days: float = 0) -> datetime:
    """T0 plus an offset."""
    return T0 + timedelta(hours=hours, days=days)


Transfer = tuple[str, str, float | str, datetime]


def postings(
    transfers: Iterable[Transfer | tuple[Any, ...]],
    *,
    external: Sequence[str] = (),
    channel: str = "wire",
    extra: dict[str, Any] | None = None,
) -> pl.DataFrame:
    """Canonical postings for transfers (sender, receiver, amount, ts[, overrides]).

    Each transfer between two internal accounts becomes an `out` posting on the sender and an
    `in` posting on the receiver; an external side gets no posting of its own.
    """
    rows: list[dict[str, Any]] = []
    for n, item in enumerate(transfers):
        sender, receiver, amount, ts = item[:4]
        over: dict[str, Any] = dict(item[4]) if len(item) > 4 else {}
        common = {
            "ts_utc": ts,
            "amount": Decimal(str(amount)),
            "amount_base": Decimal(str(amount)),
            "currency": "EUR",
            "channel": channel,
            "counterparty_type": "individual",
            "txn_type": "transfer",
            **(extra or {}),
        }
        if sender not in external:
            rows.append(
                {
                    **common,
                    "txn_id": f"t{n}-out",
                    "account_id": sender,
                    "customer_id": f"c-{sender}",
                    "direction": "out",
                    "counterparty_account_id": receiver,
                    **over,
                }
            )
        if receiver not in external:
            rows.append(
                {
                    **common,
                    "txn_id": f"t{n}-in",
                    "account_id": receiver,
                    "customer_id": f"c-{receiver}",
                    "direction": "in",
                    "counterparty_account_id": sender,
                    **over,
                }
            )
    return frame(rows)


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of canonical postings with every canonical column (missing ones null)."""
    return pl.DataFrame(
        [{c: row.get(c) for c in TRANSACTION_COLUMNS} for row in rows],
        schema=TRANSACTION_COLUMNS,
    )


def measures(hits: pl.DataFrame) -> list[dict[str, Any]]:
    """The parsed measures of each hit."""
    return [json.loads(m) for m in hits.get_column("measures")]


def amlsim_postings(run: Path) -> pl.DataFrame:
    """AMLSim `transactions.csv.gz` as canonical postings, read as a user would: through
    `engine.ingest.read_transactions` with the shipped `amlsim` mapping (an out and an in
    posting per transfer; the is_sar and alert_id labels are kept apart, never in the frame).
    """
    ingested = read_transactions([run / "transactions.csv.gz"], mapping="amlsim")
    if not ingested.rejects.is_empty():
        raise AssertionError(f"{run}: {ingested.rejects.height} AMLSim rows rejected")
    return ingested.transactions


def amlsim_alerts(run: Path) -> pl.DataFrame:
    """One row per SAR alert: alert_id, alert_type, accounts (List[String]), first and last ts."""
    raw = pl.read_csv(
        run / "alert_transactions.csv.gz",
        schema_overrides={"orig_acct": pl.String, "bene_acct": pl.String},
    )
    return (
        raw.filter(pl.col("is_sar"))
        .with_columns(pl.col("tran_timestamp").str.to_datetime(time_zone="UTC", time_unit="us"))
        .group_by("alert_id", "alert_type")
        .agg(
            pl.concat_list("orig_acct", "bene_acct")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .unique()
            .sort()
            .alias("accounts"),
            pl.col("tran_timestamp").min().alias("first_ts"),
            pl.col("tran_timestamp").max().alias("last_ts"),
            (pl.col("tran_id").cast(pl.String) + "-out").alias("txn_ids"),
        )
        .sort("alert_id")
    )


def score(hits: pl.DataFrame, alerts: pl.DataFrame, alert_type: str) -> dict[str, float]:
    """Recall over the SAR alerts of `alert_type` and precision of the hits.

    An alert is found when a hit's entity is one of its accounts and the hit window
    `(window_start, window_end]` overlaps the alert's time span. A hit is true when it finds
    an alert of that type in that sense.
    """
    typed = alerts.filter(pl.col("alert_type") == alert_type).explode("accounts")
    pairs = (
        hits.with_row_index("hit")
        .join(typed, left_on="entity", right_on="accounts")
        .filter(
            (pl.col("window_start") < pl.col("last_ts"))
            & (pl.col("window_end") >= pl.col("first_ts"))
        )
    )
    n_alerts = typed.get_column("alert_id").n_unique()
    found = pairs.get_column("alert_id").n_unique()
    true_hits = pairs.get_column("hit").n_unique()
    return {
        "alerts": n_alerts,
        "found": found,
        "recall": found / n_alerts if n_alerts else float("nan"),
        "hits": hits.height,
        "true_hits": true_hits,
        "precision": true_hits / hits.height if hits.height else float("nan"),
    }
