"""`moneytrail partition`: the canonical transactions as Parquet, bucketed by partition key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["register"]

out = Console()
err = Console(stderr=True)


def partition(
    inputs: Annotated[list[str], typer.Argument(help="Transaction files, globs or folders.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New folder to write into.")],
    buckets: Annotated[int, typer.Option(help="Hash buckets per partition key.")] = 8,
    customers: Annotated[Path | None, typer.Option(help="Customers (KYC) file.")] = None,
    mapping: Annotated[
        str, typer.Option(help="Source mapping: a shipped name or a YAML file.")
    ] = "canonical",
    rules: Annotated[
        list[Path] | None,
        typer.Option(help="Rule folders or files whose keys to bucket by (default: shipped)."),
    ] = None,
    lists: Annotated[
        Path | None, typer.Option(help="Folder of extra reference lists (CSV).")
    ] = None,
    fx: Annotated[Path | None, typer.Option(help="FX rates file (currency, rate).")] = None,
) -> None:
    """Write transactions as Parquet bucketed by a stable hash of each rule partition key.

    One bucketing per key (account first; counterparty- and customer-keyed rules get their
    own): DIR/<key>/bucket=<b>/part-0.parquet, with customers, lists and rejects whole, and
    partitions.json saying how rows were hashed.
    """
    from engine.partition import partition_inputs

    with err.status("partitioning"):
        written = partition_inputs(
            inputs,
            out=out_dir,
            buckets=buckets,
            customers=customers,
            mapping=mapping,
            rules=tuple(rules or ()),
            lists=lists,
            fx=fx,
        )
    out.print(str(written), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add `partition` to the CLI."""
    app.command()(partition)
