"""`moneytrail rules schema`: the JSON Schema of rule files, for editors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from engine.cli_rules import rules_app

__all__ = ["schema_cmd"]

out = Console()


@rules_app.command("schema")
def schema_cmd(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write here, e.g. rules/rule.schema.json (default: stdout)."),
    ] = None,
) -> None:
    """Print the JSON Schema of rule files, generated from the rule spec.

    Point an editor at it to check rules as they are typed; `rules check` has the last word.
    """
    from engine.jsonschema import schema_text, write_schema

    if out_file is None:
        sys.stdout.write(schema_text())
        return
    write_schema(out_file)
    out.print(f"wrote {out_file}")
