"""The `moneytrail` command: thin commands that parse arguments, call the library, print.

Every `MoneytrailError` becomes one line on stderr and an exit code (0 clean, 1 findings or
failures, 2 usage or input errors), never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from engine.errors import InputError, MoneytrailError, RuleError
from engine.paths import SAMPLE_DIR, bank_files

__all__ = ["app", "main"]

app = typer.Typer(
    name="moneytrail",
    help="Find the financial footprint of human trafficking in bank transactions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def parse_params(items: list[str]) -> dict[str, dict[str, Any]]:
    """`RULE-ID.name=value` pairs -> {rule id: {name: value}} (values read as YAML scalars)."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        rule_id, dot, name = target.rpartition(".")
        if not sep or not dot or not rule_id or not name:
            raise InputError(
                f"--param {item}: expected RULE-ID.name=value, e.g. HT-STRUCT-01.threshold=9000"
            )
        result.setdefault(rule_id, {})[name] = yaml.safe_load(raw)
    return result


@app.command()
def scan(
    inputs: Annotated[
        list[str] | None, typer.Argument(help="Transaction files, globs or folders.")
    ] = None,
    customers: Annotated[Path | None, typer.Option(help="Customers (KYC) file.")] = None,
    mapping: Annotated[
        str, typer.Option(help="Source mapping: a shipped name or a YAML file.")
    ] = "canonical",
    rules: Annotated[
        list[Path] | None, typer.Option(help="Rule folders or files (default: the shipped pack).")
    ] = None,
    db: Annotated[Path, typer.Option(help="DuckDB alert store to write.")] = Path("alerts.duckdb"),
    streaming: Annotated[bool, typer.Option(help="Collect with Polars' streaming engine.")] = False,
    param: Annotated[
        list[str] | None, typer.Option(help="Override a rule param: RULE-ID.name=value.")
    ] = None,
    lists: Annotated[
        Path | None, typer.Option(help="Folder of extra reference lists (CSV).")
    ] = None,
    fx: Annotated[Path | None, typer.Option(help="FX rates file (currency, rate).")] = None,
    sample: Annotated[bool, typer.Option(help="Scan the shipped sample bank.")] = False,
    incremental: Annotated[
        bool,
        typer.Option(
            help="Scan only these new files against the state kept in the store "
            "(same alerts as a full rescan of everything scanned so far)."
        ),
    ] = False,
    engine: Annotated[
        str, typer.Option(help="local (one process) or ray (partitions as Ray tasks).")
    ] = "local",
    buckets: Annotated[int, typer.Option(help="With --engine ray: hash buckets per key.")] = 8,
    address: Annotated[
        str | None,
        typer.Option(help="With --engine ray: the cluster to join (default: start one here)."),
    ] = None,
) -> None:
    """Scan transaction files with the rule pack and write alerts and cases to the store."""
    from engine.report import print_scan_summary
    from engine.scan import ScanOptions, run_scan

    if sample:
        bank = bank_files(SAMPLE_DIR)
        inputs = [str(bank.transactions)]
        customers = customers or bank.customers
        lists = lists or bank.lists
    if not inputs:
        raise InputError("scan: give input files (or --sample for the shipped sample bank)")
    if engine not in ("local", "ray"):
        raise InputError(f"--engine {engine}: use local or ray")
    if engine == "ray":
        from engine.ray_engine import require_ray

        require_ray()  # before reading any input
    if buckets < 1:
        raise InputError(f"--buckets {buckets}: need at least 1")
    options = ScanOptions(
        customers=customers,
        mapping=mapping,
        rules=tuple(rules or ()),
        db=db,
        streaming=streaming,
        params=parse_params(param or []),
        lists=lists,
        fx=fx,
        incremental=incremental,
        engine=engine,
        buckets=buckets,
        address=address,
    )
    with err.status("loading rules") as status:
        result = run_scan(inputs, options=options, on_stage=lambda s: status.update(f"{s} ..."))
    print_scan_summary(out, result, db)


@app.command("alerts")
def alerts_cmd(
    db: Annotated[Path, typer.Option(help="DuckDB alert store.")] = Path("alerts.duckdb"),
    rule: Annotated[str | None, typer.Option(help="Only this rule id.")] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    account: Annotated[
        str | None, typer.Option(help="Only alerts on this entity or customer.")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Episodes ending on or after this date.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Episodes starting before this date.")] = None,
    format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 50,
) -> None:
    """List stored alerts with filters."""
    from engine.report import emit, query_alerts

    frame = query_alerts(
        db, rule=rule, severity=severity, account=account, since=since, until=until, limit=limit
    )
    emit(out, frame, format, title="alerts")


@app.command()
def runs(
    db: Annotated[Path, typer.Option(help="DuckDB alert store.")] = Path("alerts.duckdb"),
    format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
) -> None:
    """List the runs recorded in the store."""
    from engine.report import emit, query_runs

    emit(out, query_runs(db), format, title="runs")


@app.command()
def cases(
    db: Annotated[Path, typer.Option(help="DuckDB alert store.")] = Path("alerts.duckdb"),
    escalated: Annotated[bool, typer.Option(help="Only escalated cases.")] = False,
    format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).")] = 50,
) -> None:
    """List cases by score."""
    from engine.report import emit, query_cases

    emit(out, query_cases(db, escalated=escalated, limit=limit), format, title="cases")


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the bank into.")],
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 2000,
    days: Annotated[int, typer.Option(help="Number of days.")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Generate a synthetic bank with planted trafficking scenarios and look-alikes."""
    from sample_data.generator import generate

    with err.status("generating"):
        bank = generate(customers, days, seed, out_dir)
    out.print(bank)


from engine import cli_rules  # noqa: E402  (registers the `rules` sub-commands)

app.add_typer(cli_rules.rules_app, name="rules")

from engine import cli_backtest  # noqa: E402

cli_backtest.register(app)

from engine import cli_graph  # noqa: E402

cli_graph.register(app)

from engine import cli_model  # noqa: E402

cli_model.register(app)

from engine import cli_web  # noqa: E402

cli_web.register(app)

from engine import cli_partition  # noqa: E402

cli_partition.register(app)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except RuleError as exc:
        for diagnostic in exc.diagnostics:
            err.print(str(diagnostic), markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except MoneytrailError as exc:
        err.print(f"moneytrail: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
