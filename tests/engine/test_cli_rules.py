"""`moneytrail rules check` and `rules schema` as a user runs them: a real process, its
output lines and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.jsonschema import schema_text

ROOT = Path(__file__).resolve().parents[2]
ERRORS = Path("tests") / "errors"


def moneytrail(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI from the repository root, as `python -m engine.cli`."""
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def expected(*paths: Path) -> list[str]:
    """The `# expect:` header lines of golden files, in order."""
    return [
        line.removeprefix("# expect: ")
        for path in paths
        for line in (ROOT / path).read_text(encoding="utf-8").splitlines()
        if line.startswith("# expect: ")
    ]


def test_check_prints_every_problem_of_a_file_and_exits_1() -> None:
    path = ERRORS / "three_problems.yaml"

    run = moneytrail("rules", "check", path)

    assert run.returncode == 1
    assert run.stderr.splitlines() == [*expected(path), "3 problem(s)"]


def test_check_prints_every_problem_of_a_folder_in_one_run() -> None:
    files = sorted(
        (p.relative_to(ROOT) for p in (ROOT / ERRORS).glob("*.yaml")), key=lambda p: str(p)
    )

    run = moneytrail("rules", "check", ERRORS)

    lines = run.stderr.splitlines()
    assert run.returncode == 1
    assert lines[:-1] == expected(*files)
    assert lines[-1] == f"{len(lines) - 1} problem(s)"


def test_check_of_a_clean_pack_exits_0(rule_dir: Path) -> None:
    run = moneytrail("rules", "check", rule_dir)

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("1 rule(s) OK")
    assert run.stderr == ""


def test_check_of_a_missing_path_is_a_usage_error() -> None:
    run = moneytrail("rules", "check", ERRORS / "no_such_file.yaml")

    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "moneytrail: tests/errors/no_such_file.yaml: no such rule file or folder"
    ]


def test_schema_prints_the_generated_schema() -> None:
    run = moneytrail("rules", "schema")

    assert run.returncode == 0, run.stderr
    assert run.stdout == schema_text()
    assert json.loads(run.stdout)["title"] == "moneytrail rule"


def test_schema_writes_the_file_given(tmp_path: Path) -> None:
    out = tmp_path / "rule.schema.json"

    run = moneytrail("rules", "schema", "--out", out)

    assert run.returncode == 0, run.stderr
    assert out.read_text(encoding="utf-8") == schema_text()
