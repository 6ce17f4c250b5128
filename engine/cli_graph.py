"""`moneytrail network` and `moneytrail trail`: exploring money-flow networks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.console import Console

from engine.errors import InputError

if TYPE_CHECKING:
    from graphs.networks import Networks

__all__ = ["register"]

out = Console()
FORMATS = ("graphml", "gexf", "cytoscape", "html", "png")


def _stored_networks(db: Path, target: str, hops: int | None) -> tuple[Networks, str]:
    """The stored network holding `target` (an account, or an alert's entity)."""
    from engine.store import open_store
    from graphs.networks import EDGE_SCHEMA, MEMBER_SCHEMA, NETWORK_SCHEMA

    with open_store(db, read_only=True) as store:
        alert = store.query("SELECT entity FROM alerts WHERE alert_id = ?", [target])
        account = str(alert["entity"][0]) if alert.height else target
        found = store.query(
            "SELECT n.network_id FROM network_members m JOIN networks n USING (network_id) "
            "WHERE m.account_id = ? ORDER BY n.score DESC LIMIT 1",
            [account],
        )
        if found.is_empty():
            raise InputError(f"{target}: no stored network holds this account or alert")
        network_id = str(found["network_id"][0])
        nets = store.query("SELECT * FROM networks WHERE network_id = ?", [network_id])
        members = store.query("SELECT * FROM network_members WHERE network_id = ?", [network_id])
        edges = store.query("SELECT * FROM network_edges WHERE network_id = ?", [network_id])
    if hops is not None:
        members = members.filter(pl.col("hops") <= hops)
        kept = members["account_id"].implode()
        edges = edges.filter(pl.col("source").is_in(kept) & pl.col("target").is_in(kept))
    from graphs.networks import Networks

    networks = Networks(
        networks=nets.select(list(NETWORK_SCHEMA)).cast(NETWORK_SCHEMA),  # type: ignore[arg-type]
        members=members.select(list(MEMBER_SCHEMA)).cast(MEMBER_SCHEMA),  # type: ignore[arg-type]
        edges=edges.select(list(EDGE_SCHEMA)).cast(EDGE_SCHEMA),  # type: ignore[arg-type]
    )
    return networks, network_id


def network(
    target: Annotated[str, typer.Argument(help="An alert id or an account id.")],
    db: Annotated[Path, typer.Option(help="DuckDB alert store.")] = Path("alerts.duckdb"),
    hops: Annotated[
        int | None, typer.Option(help="Keep members at most this many hops away.")
    ] = None,
    format: Annotated[str, typer.Option(help="graphml, gexf, cytoscape, html or png.")] = "html",
    out_file: Annotated[Path | None, typer.Option("--out", help="Output file.")] = None,
) -> None:
    """Export the stored network around an alert or account (GraphML, GEXF, Cytoscape, ...)."""
    from graphs import export

    if format not in FORMATS:
        raise InputError(f"--format {format}: use one of {', '.join(FORMATS)}")
    networks, network_id = _stored_networks(db, target, hops)
    suffix = {"cytoscape": "json"}.get(format, format)
    path = out_file or Path(f"{network_id}.{suffix}")
    writers = {
        "graphml": export.write_graphml,
        "gexf": export.write_gexf,
        "cytoscape": export.write_cytoscape,
        "html": export.write_html,
        "png": export.write_png,
    }
    writers[format](networks, path, network_id=network_id)
    out.print(f"network {network_id} written to {path}", markup=False)


def trail(
    account: Annotated[str, typer.Argument(help="The account to follow.")],
    start: Annotated[str, typer.Option("--from", help="Start date/time (ISO, UTC).")],
    inputs: Annotated[list[str] | None, typer.Argument(help="Transaction files.")] = None,
    mapping: Annotated[str, typer.Option(help="Source mapping.")] = "canonical",
    backward: Annotated[bool, typer.Option(help="Follow the money upstream.")] = False,
    max_hops: Annotated[int, typer.Option(help="Longest path.")] = 4,
    max_hop_delay: Annotated[int, typer.Option(help="Largest gap between hops, hours.")] = 48,
    sample: Annotated[bool, typer.Option(help="Use the shipped sample bank.")] = False,
) -> None:
    """Follow money forward (or backward) from an account through time-respecting paths."""
    from engine.ingest import read_transactions
    from engine.paths import SAMPLE_DIR, bank_files
    from graphs.trail import trail as follow

    if sample:
        inputs = [str(bank_files(SAMPLE_DIR).transactions)]
    if not inputs:
        raise InputError("trail: give transaction files (or --sample)")
    when = datetime.fromisoformat(start)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    txns = read_transactions(inputs, mapping=mapping).transactions
    paths = follow(
        txns, account, start=when, backward=backward, max_hops=max_hops,
        max_hop_delay=timedelta(hours=max_hop_delay),
    )  # fmt: skip
    if not paths:
        out.print(f"no time-respecting path {'into' if backward else 'from'} {account}")
        return
    for n, path in enumerate(paths, start=1):
        hops = list(getattr(path, "hops", path))  # a path is a sequence of hops
        chain = " -> ".join([hops[0].source, *(h.target for h in hops)])
        first, last = hops[0].ts_utc, hops[-1].ts_utc
        amounts = ", ".join(f"{h.amount:,.2f}" for h in hops)
        out.print(
            f"{n:>3}. {chain}  ({first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}; {amounts})",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add the commands to the main app."""
    app.command()(network)
    app.command()(trail)
