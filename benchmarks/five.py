"""The five-rule subset three ways (moneytrail, DuckDB SQL, pandas) and how they must agree.

A trigger is `(rule_id, entity, trigger_ts)`:

- window rules (structuring, fan-in, night cash, lodging): an account and the time t of one of
  its matching transactions such that the matching transactions of that account in the
  half-open window (t - w, t] meet the rule's condition; transactions tied at t share one
  window, so there is one trigger per (account, t);
- pass-through: an account and the time t of an inflow of at least 1,000 such that the
  account's outflows in (t, t + 48h] add up to at least 90 % of that inflow (inflows tied at
  t give one trigger).

moneytrail reports hits as windows: an aggregate hit ends at its trigger (`window_end`), a
velocity hit starts one microsecond before its inflow (`window_start`). The sets of triggers
of the three implementations must be equal, rule by rule.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from engine.evaluate import CompiledRule

# engine is imported only where a measurement needs it, so that the process running it (and
# not benchmarks/run.py) decides which engine that is: the working tree or a --ref snapshot

__all__ = [
    "FIVE_DIR",
    "TRIGGER_SCHEMA",
    "compare",
    "engine_triggers",
    "five_duckdb",
]

HERE = Path(__file__).resolve().parent
FIVE_DIR = HERE / "five_rules"
SQL = HERE / "five_duckdb.sql"
TRIGGER_SCHEMA = {
    "rule_id": pl.String(),
    "entity": pl.String(),
    "trigger_ts": pl.Datetime("us", "UTC"),
}


def _normal(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.select(pl.col(c).cast(t) for c, t in TRIGGER_SCHEMA.items())
        .unique()
        .sort(list(TRIGGER_SCHEMA))
    )


def _mcc_groups() -> Path:
    """The shipped MCC list, the one the moneytrail rule reads as @mcc_groups."""
    from engine.paths import LISTS_DIR

    return LISTS_DIR / "mcc_groups.csv"


def engine_triggers(hits: dict[str, pl.DataFrame], compiled: list[CompiledRule]) -> pl.DataFrame:
    """Triggers from moneytrail's hits (engine.evaluate.Evaluation.hits)."""
    parts = []
    for item in compiled:
        frame = hits.get(item.rule.id)
        if frame is None:
            continue
        at = (
            pl.col("window_start") + timedelta(microseconds=1)
            if item.rule.kind == "velocity"
            else pl.col("window_end")
        )
        parts.append(
            frame.select(pl.lit(item.rule.id).alias("rule_id"), "entity", at.alias("trigger_ts"))
        )
    return _normal(pl.concat(parts) if parts else pl.DataFrame(schema=TRIGGER_SCHEMA))


def five_duckdb(transactions: Path, *, threads: int | None = None) -> pl.DataFrame:
    """Triggers of the hand-written SQL (benchmarks/five_duckdb.sql) over a Parquet file."""
    import duckdb

    sql = SQL.read_text().format(transactions=transactions, mcc_groups=_mcc_groups())
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {threads}")
        return _normal(con.sql(sql).pl())


def pandas_triggers(transactions: Path) -> pl.DataFrame:
    """Triggers of the pandas version (benchmarks/five_pandas.py)."""
    from five_pandas import five_pandas

    return _normal(pl.from_pandas(five_pandas(transactions, _mcc_groups())))


def compare(results: dict[str, pl.DataFrame]) -> tuple[bool, pl.DataFrame, list[str]]:
    """Per rule, the trigger count of each implementation and whether all sets are equal.

    Returns:
        (all agree, a table rule x implementation counts, lines describing differences).
    """
    names = list(results)
    first = results[names[0]]
    counts = None
    for name in names:
        c = results[name].group_by("rule_id").agg(pl.len().alias(name))
        counts = c if counts is None else counts.join(c, on="rule_id", how="full", coalesce=True)
    assert counts is not None
    counts = counts.fill_null(0).sort("rule_id")
    notes: list[str] = []
    for name in names[1:]:
        other = results[name]
        only_first = first.join(other, on=list(TRIGGER_SCHEMA), how="anti")
        only_other = other.join(first, on=list(TRIGGER_SCHEMA), how="anti")
        pairs = (
            (f"{names[0]} but not {name}", only_first),
            (f"{name} but not {names[0]}", only_other),
        )
        for label, diff in pairs:
            if diff.height:
                by_rule = dict(diff.group_by("rule_id").len().sort("rule_id").rows())
                notes.append(f"{label}: {diff.height} triggers {by_rule}; e.g. {diff.row(0)}")
    return not notes, counts, notes
