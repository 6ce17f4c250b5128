"""The shipped sample bank, scanned with the shipped pack: what issue #4 promises a new user.

Every planted trafficking scenario (S1-S7) reaches an escalated case spanning its story, and
no benign look-alike does; benign background customers stay under the 2% alert budget.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from engine.backtest import load_truth
from engine.paths import SAMPLE_DIR, bank_files
from engine.scan import ScanOptions, run_scan
from engine.tune import backtest_run
from sample_data.scenarios import TRAFFICKING


def test_planted_scenarios_escalate_and_look_alikes_do_not(tmp_path: Path) -> None:
    files = bank_files(SAMPLE_DIR, truth=True)
    db = tmp_path / "alerts.duckdb"
    options = ScanOptions(customers=files.customers, lists=files.lists, db=db)
    run_scan([files.transactions], options=options)

    _, figures = backtest_run(
        db,
        load_truth(files.truth),
        pl.read_parquet(files.customers).select("customer_id"),
        truth_name=str(files.truth),
    )

    recall = dict(figures.scenarios.select("scenario", "escalated_recall").iter_rows())
    assert {s: recall[s] for s in TRAFFICKING} == dict.fromkeys(TRAFFICKING, 1.0)
    population = {r["group"]: r for r in figures.population.iter_rows(named=True)}
    assert population["lookalike"]["escalated"] == 0
    assert population["benign"]["any_alert_rate"] < 0.02
