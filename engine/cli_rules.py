"""`moneytrail rules ...`: commands for rule authors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.errors import InputError, RuleError

__all__ = ["rules_app"]

rules_app = typer.Typer(help="Check, show and test typology rules.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _targets(target: str | None) -> tuple[list[Path], set[str] | None]:
    """A folder/file target, or a rule id in the shipped pack."""
    if target is None:
        return [], None
    if Path(target).exists():
        return [Path(target)], None
    return [], {target}


@rules_app.command("check")
def check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule folders or files.")] = None,
) -> None:
    """Load rules and report every problem; exit 1 on any."""
    from engine.spec import load_pack

    try:
        pack = load_pack(*(paths or ()))
    except RuleError as exc:
        for diagnostic in exc.diagnostics:
            err.print(str(diagnostic), markup=False, highlight=False, soft_wrap=True)
        err.print(f"{len(exc.diagnostics)} problem(s)")
        raise typer.Exit(1) from exc
    out.print(f"{len(pack.rules)} rule(s) OK (pack {pack.digest})")


@rules_app.command("show")
def show(
    rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. HT-STRUCT-01.")],
    rules: Annotated[
        list[Path] | None, typer.Option(help="Rule folders (default: shipped pack).")
    ] = None,
) -> None:
    """Show a rule, its resolved params and its compiled Polars plan."""
    from engine.evaluate import compile_rule
    from engine.spec import load_pack

    pack = load_pack(*(rules or ()), only={rule_id})
    rule = pack.get(rule_id)
    if rule is None:
        raise InputError(f"{rule_id}: no such rule")
    compiled = compile_rule(rule)
    out.print(f"[bold]{rule.id}[/] {rule.title}  ({rule.path}:{rule.line})")
    out.print(
        f"kind {rule.kind}, pillar {rule.pillar}, severity {rule.severity}, "
        f"weight {rule.weight}, role {rule.subject_role}"
    )
    out.print(
        f"partition key: {compiled.partition_key}; columns: {', '.join(sorted(compiled.columns))}"
    )
    out.print("references: " + ", ".join(rule.references))
    table = Table(title="params")
    for column in ("name", "value", "kind", "source"):
        table.add_column(column)
    for name, p in rule.params.items():
        table.add_row(
            name,
            f"{p.value}{' ' + p.currency if p.currency else ''}",
            "src" if p.sourced else "default",
            p.source or p.note,
        )
    out.print(table)
    out.print("[bold]compiled plan[/]")
    out.print(compiled.describe(), markup=False, highlight=False)


@rules_app.command("lint")
def lint_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule folders or files.")] = None,
) -> None:
    """Warn about rules without sources, tests or look-alikes; unused params; odd thresholds."""
    from engine.catalogue import lint
    from engine.spec import load_pack

    warnings = lint(load_pack(*(paths or ())).rules)
    for warning in warnings:
        err.print(str(warning), markup=False, highlight=False, soft_wrap=True)
    out.print(f"{len(warnings)} warning(s)")
    if warnings:
        raise typer.Exit(1)


@rules_app.command("coverage")
def coverage_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule folders or files.")] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="A data file: show what its columns cannot detect."),
    ] = None,
    mapping: Annotated[str, typer.Option(help="Mapping for --input.")] = "canonical",
    customers: Annotated[Path | None, typer.Option(help="Customers file for --input.")] = None,
    format: Annotated[str, typer.Option(help="table or markdown.")] = "table",
) -> None:
    """Which catalogue indicators the pack covers, which are pending, and the data each needs."""
    from engine.catalogue import coverage, coverage_markdown
    from engine.spec import load_pack

    available = None
    if input_file is not None:
        from engine.ingest import load_customers, read_transactions

        available = set(read_transactions([input_file], mapping=mapping).transactions.columns)
        if customers is not None:
            available |= set(load_customers(customers)[0].columns)
    rows = coverage(load_pack(*(paths or ())), available=available)
    if format == "markdown":
        sys.stdout.write(coverage_markdown(rows))
        return
    table = Table(title=f"coverage: {sum(1 for r in rows if r.rules)} of {len(rows)} indicators")
    for column in ("indicator", "pillar", "rules", "columns needed", "status"):
        table.add_column(column, overflow="fold")
    for r in rows:
        status = (
            f"[yellow]pending[/]: {r.pending}"
            if not r.rules
            else (f"[red]missing[/] {', '.join(r.missing)}" if r.missing else "[green]covered[/]")
        )
        table.add_row(r.indicator, r.pillar, ", ".join(r.rules), ", ".join(r.columns), status)
    out.print(table)


@rules_app.command("catalogue")
def catalogue_cmd(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Generate the rule catalogue (docs/rules.md) from the shipped YAML."""
    from engine.catalogue import catalogue_markdown
    from engine.spec import load_pack

    text = catalogue_markdown(load_pack())
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {out_file}")


@rules_app.command("test")
def test(
    target: Annotated[
        str | None, typer.Argument(help="Rule folder, file or id (default: the shipped pack).")
    ] = None,
    format: Annotated[str, typer.Option(help="table or json.")] = "table",
) -> None:
    """Run the tests inside rules; print passes and failures with the difference.

    Exits 1 when any test fails.
    """
    from engine.ruletests import run_rule_tests
    from engine.spec import load_pack

    paths, only = _targets(target)
    whole = load_pack(*paths)  # graph rules' tests read the alerts of the whole pack
    chosen = [r for r in whole.rules if only is None or r.id in only]
    if only and not chosen:
        raise InputError(f"{target}: no such rule or folder")
    results = run_rule_tests(chosen, lists=whole.lists, pack=whole.rules)
    failed = [r for r in results if not r.passed]
    if format == "json":
        sys.stdout.write(
            json.dumps(
                [
                    r.__dict__
                    if hasattr(r, "__dict__")
                    else {s: getattr(r, s) for s in r.__slots__}
                    for r in results
                ],
                indent=1,
            )
            + "\n"
        )
    else:
        table = Table(
            title=f"rule tests: {len(results) - len(failed)} passed, {len(failed)} failed"
        )
        for column in ("rule", "case", "test", "result", "expected", "got"):
            table.add_column(column, overflow="fold")
        for r in results:
            mark = "[green]pass[/]" if r.passed else "[red]FAIL[/]"
            table.add_row(
                r.rule_id,
                r.case,
                r.name,
                mark,
                "" if r.passed else r.expected,
                "" if r.passed else r.got,
            )
        out.print(table)
        for r in failed:
            err.print(
                f"{r.location}: {r.rule_id}: {r.name}: expected {r.expected}, got {r.got}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    if failed:
        raise typer.Exit(1)


from engine import cli_schema  # noqa: E402, F401  (registers `rules schema`)
