"""`moneytrail backtest` and `moneytrail tune`: measuring rules against labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
import yaml
from rich.console import Console

from engine.errors import InputError
from engine.paths import bank_files

__all__ = ["register"]

out = Console()


def backtest(
    db: Annotated[
        Path, typer.Option(help="Alert store (written by the scan it runs, if any).")
    ] = Path("alerts.duckdb"),
    truth: Annotated[
        Path | None, typer.Option(help="Truth table (parquet or csv) for a stored run.")
    ] = None,
    population: Annotated[
        Path | None, typer.Option(help="Customers file: the scanned population.")
    ] = None,
    bank: Annotated[
        Path | None, typer.Option(help="A generated bank folder: scan it, then backtest.")
    ] = None,
    amlsim: Annotated[
        Path | None, typer.Option(help="An AMLSim run folder: scan it, then backtest.")
    ] = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: the latest).")] = None,
) -> None:
    """Per-rule precision, recall and volume; per-scenario case recall; benign rates."""
    from engine.backtest import load_truth, truth_from_amlsim
    from engine.report import emit
    from engine.scan import ScanOptions, run_scan
    from engine.tune import backtest_run

    if bank is not None:
        files = bank_files(bank, truth=True)
        options = ScanOptions(customers=files.customers, lists=files.lists, db=db)
        run_scan([files.transactions], options=options)
        truth_path = files.truth
        truth_frame, people, name = (
            load_truth(truth_path),
            pl.read_parquet(files.customers).select("customer_id"),
            str(truth_path),
        )
    elif amlsim is not None:
        result = run_scan(
            [amlsim / "transactions.csv.gz"], options=ScanOptions(mapping="amlsim", db=db)
        )
        truth_frame, name = truth_from_amlsim(amlsim), str(amlsim)
        people = result.ingested.transactions.select("customer_id").unique()
    elif truth is not None:
        truth_frame, name = load_truth(truth), str(truth)
        people = (
            pl.read_parquet(population).select("customer_id")
            if population
            else truth_frame.select("customer_id")
        )
    else:
        raise InputError("backtest: give --bank DIR, --amlsim DIR, or --truth FILE with --db")
    run_id, figures = backtest_run(db, truth_frame, people, run_id=run, truth_name=name)
    out.print(f"backtest of run {run_id} against {name}", markup=False)
    emit(out, figures.population, "table", title="population")
    emit(out, figures.scenarios, "table", title="scenarios")
    emit(out, figures.rules, "table", title="rules")


def tune(
    rule: Annotated[str, typer.Argument(help="Rule id.")],
    param: Annotated[str, typer.Option(help="The param to sweep.")],
    values: Annotated[str, typer.Option(help="Comma-separated values, e.g. 2,3,4,5.")],
    bank: Annotated[
        Path, typer.Option(help="A generated bank folder (transactions, customers, truth).")
    ],
    plot: Annotated[Path | None, typer.Option(help="Write a PNG plot here.")] = None,
) -> None:
    """Sweep one param of one rule and report alerts, true/false positives and recall per value."""
    from engine.backtest import load_truth
    from engine.ingest import load_customers, read_transactions
    from engine.lists import load_lists
    from engine.report import emit
    from engine.spec import load_pack
    from engine.tune import plot_sweep, sweep

    files = bank_files(bank, truth=True)
    txns_path, customers_path, lists, truth_path = (
        files.transactions,
        files.customers,
        files.lists,
        files.truth,
    )
    txns = read_transactions([txns_path]).transactions
    customers, _ = load_customers(customers_path)
    pack = load_pack(lists=load_lists(lists), only={rule})
    parsed = [yaml.safe_load(v) for v in values.split(",") if v.strip()]
    result = sweep(
        txns,
        load_truth(truth_path),
        rule_id=rule,
        param=param,
        values=parsed,
        customers=customers,
        pack=pack,
    )
    out.print(f"{rule}.{param}: current value {result.current}")
    emit(out, result.table, "table", title=f"sweep of {param}")
    if plot is not None:
        out.print(f"plot: {plot_sweep(result, plot)}", markup=False)


def register(app: typer.Typer) -> None:
    """Add the commands to the main app."""
    app.command()(backtest)
    app.command()(tune)
