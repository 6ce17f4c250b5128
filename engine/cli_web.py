"""`moneytrail serve` (the investigator workbench) and `moneytrail rules stats` (feedback)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.errors import InputError

__all__ = ["register"]

out = Console()
err = Console(stderr=True)


def serve(
    db: Annotated[Path, typer.Option(help="DuckDB alert store.")] = Path("alerts.duckdb"),
    host: Annotated[
        str, typer.Option(help="Address to bind (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
    transactions: Annotated[
        list[Path] | None,
        typer.Option(help="The scanned transaction files: full timelines and wider networks."),
    ] = None,
    mapping: Annotated[str, typer.Option(help="Mapping of --transactions.")] = "canonical",
    customers: Annotated[Path | None, typer.Option(help="Customers (KYC) file.")] = None,
    fx: Annotated[Path | None, typer.Option(help="FX rates file used by the scan.")] = None,
    sample: Annotated[
        bool,
        typer.Option(help="Use the shipped sample bank's files as --transactions/--customers."),
    ] = False,
) -> None:
    """Open the investigator workbench: a local web page over the alert store.

    Reads the store read-only; writes only dispositions. Stop with Ctrl-C.
    """
    from engine.paths import SAMPLE_DIR, bank_files
    from engine.web import load_context, make_server

    if sample:
        sample_bank = bank_files(SAMPLE_DIR)
        transactions = transactions or [sample_bank.transactions]
        customers = customers or sample_bank.customers
    context = None
    if transactions or customers:
        with err.status("reading the scanned files"):
            context = load_context(
                tuple(transactions or ()), mapping=mapping, customers=customers, fx=fx
            )
    try:
        server = make_server(db, host=host, port=port, context=context)
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (try --port)"
        ) from exc
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"warning: listening on {host}: anyone who can reach it can read the cases")
    if not db.is_file():
        err.print(f"note: {db} does not exist yet; the page says so until a scan writes it")
    out.print(f"moneytrail workbench on {server.url} over {db} (Ctrl-C to stop)", markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def stats(
    db: Annotated[Path, typer.Option(help="DuckDB alert store.")] = Path("alerts.duckdb"),
    format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
) -> None:
    """Dispositions per rule: how investigators closed each rule's alerts (real precision).

    An alert without its own disposition counts with its case's. Precision is reported /
    (reported + false positive) over closed alerts.
    """
    from engine.dispositions import STATUSES, rule_stats
    from engine.report import emit
    from engine.store import open_store

    with open_store(db, read_only=True) as store:
        frame = rule_stats(store)
    if format != "table":
        emit(out, frame, format, title="dispositions per rule")
        return
    short = ("open", "review", "esc.", "fp", "rep.")
    table = Table(
        title=f"dispositions per rule ({frame.height} rule(s))",
        caption="review: in review, esc.: escalated, fp: closed as false positive, "
        "rep.: closed and reported; precision = rep. / (rep. + fp)",
    )
    widest = max((len(r) for r in frame["rule_id"]), default=4)
    table.add_column("rule", no_wrap=True, min_width=widest)
    for column in ("alerts", *short, "prec."):
        table.add_column(column, justify="right")
    for r in frame.iter_rows(named=True):
        precision = "" if r["precision"] is None else f"{r['precision']:.0%}"
        table.add_row(r["rule_id"], str(r["alerts"]), *(str(r[s]) for s in STATUSES), precision)
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add `serve` to the app and `stats` to `moneytrail rules`."""
    from engine.cli_rules import rules_app

    app.command("serve")(serve)
    rules_app.command("stats")(stats)
