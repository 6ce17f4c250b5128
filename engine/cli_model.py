"""`moneytrail model fit | score | scan`: anomaly models, fitted on a reference period.

- `fit MODEL_ID`: fit an anomaly rule's model on reference data and save it (a folder with
  `model.joblib` and its `model.json` sidecar);
- `score`: score data with saved models (or fit on it with `--fit`) and print the top
  accounts of each, explained, without writing anything;
- `scan`: the ordinary scan, with the anomaly rules scoring through saved models (`--model`)
  or fitted on the scanned data (`--fit-anomaly`); their alerts land in the same store and
  feed cases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console

from engine.errors import InputError
from engine.paths import bank_files

__all__ = ["model_app", "register"]

model_app = typer.Typer(
    help="Anomaly models: fit on a reference period, score, scan.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

Inputs = Annotated[list[str] | None, typer.Argument(help="Transaction files, globs or folders.")]
Bank = Annotated[
    Path | None, typer.Option(help="A generated bank folder (transactions, customers, lists).")
]
Customers = Annotated[Path | None, typer.Option(help="Customers (KYC) file.")]
Mapping = Annotated[str, typer.Option(help="Source mapping: a shipped name or a YAML file.")]
Rules = Annotated[
    list[Path] | None, typer.Option(help="Rule folders or files (default: the shipped pack).")
]
Lists = Annotated[Path | None, typer.Option(help="Folder of extra reference lists (CSV).")]
Fx = Annotated[Path | None, typer.Option(help="FX rates file (currency, rate).")]


def _sources(
    bank: Path | None, inputs: list[str] | None, customers: Path | None, lists: Path | None
) -> tuple[list[str], Path | None, Path | None]:
    """Input files, customers file and lists folder, from a bank folder or given directly."""
    if bank is not None:
        files = bank_files(bank)
        inputs = [str(files.transactions)]
        customers = customers or files.customers
        lists = lists or (files.lists if files.lists.is_dir() else None)
    if not inputs:
        raise InputError("give input files or --bank DIR")
    return inputs, customers, lists


def _load(
    inputs: list[str], customers: Path | None, mapping: str, fx: Path | None
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    from engine.ingest import load_customers, load_fx, read_transactions

    txns = read_transactions(inputs, mapping=mapping, fx=load_fx(fx)).transactions
    people = load_customers(customers)[0] if customers is not None else None
    return txns, people


def _date(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"{flag} {value}: expected a date, e.g. 2024-03-01") from None


def _anomaly_rules(rules: list[Path] | None, lists: Path | None, only: str | None = None) -> Any:
    from engine.lists import load_lists
    from engine.spec import load_pack

    pack = load_pack(*(rules or ()), lists=load_lists(lists))
    found = [r for r in pack.rules if r.kind == "anomaly" and (only is None or r.id == only)]
    if only is not None and not found:
        from engine.errors import suggest

        ids = [r.id for r in pack.rules if r.kind == "anomaly"]
        hint = suggest(only, ids) or "anomaly rules: " + (", ".join(ids) or "none")
        raise InputError(f"{only}: no anomaly rule with this id ({hint})")
    return found


@model_app.command("fit")
def fit(
    model_id: Annotated[str, typer.Argument(help="The anomaly rule, e.g. AN-BEHAV-01.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to save the model in.")],
    inputs: Inputs = None,
    bank: Bank = None,
    customers: Customers = None,
    mapping: Mapping = "canonical",
    rules: Rules = None,
    lists: Lists = None,
    fx: Fx = None,
    since: Annotated[
        str | None, typer.Option(help="Reference period starts on this date (UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Reference period ends before this date (UTC).")
    ] = None,
) -> None:
    """Fit an anomaly rule's model on a reference period and save it with its sidecar."""
    from engine.anomaly import save_model
    from engine.scoring import fit_rule, model_frame

    inputs, customers, lists = _sources(bank, inputs, customers, lists)
    (rule,) = _anomaly_rules(rules, lists, model_id)
    txns, people = _load(inputs, customers, mapping, fx)
    frame = model_frame(rule.logic, txns, people)
    with err.status(f"fitting {rule.id}"):
        model, meta = fit_rule(
            rule, frame, since=_date(since, "--since"), until=_date(until, "--until")
        )
    meta["inputs"] = [str(Path(i)) for i in inputs]
    folder = save_model(model, out_dir, meta)
    ref = meta["reference"]
    out.print(
        f"{rule.id}: {meta['detector_text']} fitted on {ref['accounts']:,} "
        f"{rule.logic.segment.label if rule.logic.segment else 'accounts'}, "
        f"window {ref['window_start']} .. {ref['window_end']}; saved to {folder}",
        markup=False,
    )


@model_app.command("score")
def score(
    inputs: Inputs = None,
    bank: Bank = None,
    customers: Customers = None,
    mapping: Mapping = "canonical",
    rules: Rules = None,
    lists: Lists = None,
    fx: Fx = None,
    model: Annotated[
        list[Path] | None, typer.Option(help="A saved model folder (repeatable).")
    ] = None,
    fit: Annotated[bool, typer.Option(help="Fit every anomaly rule on this data.")] = False,
    top: Annotated[int, typer.Option(help="Accounts to show per model.")] = 20,
    format: Annotated[str, typer.Option(help="table, csv or json.")] = "table",
) -> None:
    """Score accounts with saved models (or fit on the data) and print the top ones, explained."""
    from engine.anomaly import load_model, read_sidecar
    from engine.report import emit
    from engine.scoring import explained, model_frame, score_rule

    inputs, customers, lists = _sources(bank, inputs, customers, lists)
    if not model and not fit:
        raise InputError("score: give --model DIR (repeatable) or --fit")
    chosen = _anomaly_rules(rules, lists)
    saved = {str(read_sidecar(m)["rule_id"]): m for m in model or ()}
    unknown = sorted(set(saved) - {r.id for r in chosen})
    if unknown:
        raise InputError(f"--model: no anomaly rule {', '.join(unknown)} in the pack")
    txns, people = _load(inputs, customers, mapping, fx)
    parts = []
    for rule in chosen:
        if rule.id not in saved and not fit:
            continue
        fitted = load_model(saved[rule.id])[0] if rule.id in saved else None
        frame = model_frame(rule.logic, txns, people)
        with err.status(f"scoring {rule.id}"):
            scored = score_rule(rule.logic, frame, model=fitted, rule_id=rule.id)
        table = explained(rule.logic, scored, top=top)
        parts.append(table.select(pl.lit(rule.id).alias("rule"), pl.all()))
    emit(out, pl.concat(parts), format, title="anomaly scores")


@model_app.command("scan")
def scan(
    inputs: Inputs = None,
    customers: Customers = None,
    mapping: Mapping = "canonical",
    rules: Rules = None,
    db: Annotated[Path, typer.Option(help="DuckDB alert store to write.")] = Path("alerts.duckdb"),
    streaming: Annotated[bool, typer.Option(help="Collect with Polars' streaming engine.")] = False,
    param: Annotated[
        list[str] | None, typer.Option(help="Override a rule param: RULE-ID.name=value.")
    ] = None,
    lists: Lists = None,
    fx: Fx = None,
    bank: Bank = None,
    model: Annotated[
        list[Path] | None, typer.Option(help="A saved model folder (repeatable).")
    ] = None,
    fit_anomaly: Annotated[
        bool, typer.Option(help="Fit the other anomaly rules on the scanned data.")
    ] = False,
) -> None:
    """Scan with the rule pack and the anomaly models; alerts and cases go to the store."""
    from engine.anomaly import read_sidecar
    from engine.cli import parse_params
    from engine.report import print_scan_summary
    from engine.scan import ScanOptions, run_scan

    inputs, customers, lists = _sources(bank, inputs, customers, lists)
    if not model and not fit_anomaly:
        raise InputError("model scan: give --model DIR (repeatable) or --fit-anomaly")
    chosen = {r.id: r for r in _anomaly_rules(rules, lists)}
    bound: dict[str, str] = {}
    for folder in model or ():
        rule_id = str(read_sidecar(folder)["rule_id"])
        if rule_id not in chosen:
            raise InputError(f"--model {folder}: no anomaly rule {rule_id} in the pack")
        bound[rule_id] = str(folder)
    if fit_anomaly:
        bound = {rule_id: bound.get(rule_id, "fit") for rule_id in chosen}
    params = parse_params(param or [])
    for rule_id, value in bound.items():
        if "model" not in chosen[rule_id].params:
            raise InputError(
                f"{rule_id}: the rule has no `model` param to bind (add `model: $model` "
                "and params: {model: none})"
            )
        params.setdefault(rule_id, {})["model"] = value
    options = ScanOptions(
        customers=customers,
        mapping=mapping,
        rules=tuple(rules or ()),
        db=db,
        streaming=streaming,
        params=params,
        lists=lists,
        fx=fx,
    )
    with err.status("loading rules") as status:
        result = run_scan(inputs, options=options, on_stage=lambda s: status.update(f"{s} ..."))
    print_scan_summary(out, result, db)


def register(app: typer.Typer) -> None:
    """Add `moneytrail model ...` to the main app."""
    app.add_typer(model_app, name="model")
