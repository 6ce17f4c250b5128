"""The command line: exit codes, one-line errors without tracebacks, and the listing commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_scan_prints_a_reconciled_summary(
    canonical_csv: Path, rule_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "a.duckdb"
    done = run("scan", str(canonical_csv), "--rules", str(rule_dir), "--db", str(db))

    assert done.returncode == 0, done.stderr
    assert "4 postings = 4 accepted + 0 rejected" in done.stdout
    assert "TS-STRUCT-01" in done.stdout


def test_param_override_changes_the_result(
    canonical_csv: Path, rule_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "a.duckdb"
    done = run(
        "scan",
        str(canonical_csv),
        "--rules",
        str(rule_dir),
        "--db",
        str(db),
        "--param",
        "TS-STRUCT-01.threshold=30000",
    )
    listed = run("alerts", "--db", str(db), "--format", "json")

    assert done.returncode == 0, done.stderr
    assert json.loads(listed.stdout) == []


def test_alerts_and_runs_list_as_csv_and_json(
    canonical_csv: Path, rule_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "a.duckdb"
    run("scan", str(canonical_csv), "--rules", str(rule_dir), "--db", str(db))

    alerts = json.loads(
        run("alerts", "--db", str(db), "--format", "json", "--account", "A1").stdout
    )
    none = json.loads(
        run("alerts", "--db", str(db), "--format", "json", "--rule", "NOPE-X-01").stdout
    )
    runs = run("runs", "--db", str(db), "--format", "csv").stdout.splitlines()

    assert [a["entity"] for a in alerts] == ["A1"] and none == []
    assert runs[0].startswith("run_id,") and len(runs) == 2


def test_input_errors_are_one_line_with_exit_2(tmp_path: Path, rule_dir: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for args in (
        ("scan", str(tmp_path / "missing.csv"), "--rules", str(rule_dir)),
        ("scan", str(empty), "--rules", str(rule_dir)),
        ("scan", str(empty), "--mapping", "nosuch"),
        ("scan", str(empty), "--param", "oops"),
        ("alerts", "--db", str(tmp_path / "none.duckdb")),
    ):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("moneytrail: "), (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_rule_problems_are_located_lines_with_exit_2_on_scan(
    canonical_csv: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "r.yaml").write_text(
        'id: TS-BAD-01\nkind: aggregate\nwhere: "amout > 1"\nhaving: "n > 1"\nmeasures: {n: "count(*)"}\n'
    )
    done = run("scan", str(canonical_csv), "--rules", str(bad), "--db", str(tmp_path / "a.duckdb"))

    assert done.returncode == 2
    assert (
        f"{bad / 'r.yaml'}:3:9: TS-BAD-01: where: unknown column 'amout' (did you mean 'amount')"
        in done.stderr
    )


FLOW = """txn_id,account_id,ts_utc,direction,amount,currency,channel,counterparty_account_id
f1,A1,2024-01-01T10:00:00Z,in,900.00,USD,p2p,B1
f2,A1,2024-01-01T11:00:00Z,in,900.00,USD,p2p,B2
f3,A1,2024-01-01T12:00:00Z,in,900.00,USD,p2p,B3
f4,A1,2024-01-01T15:00:00Z,out,2500.00,USD,wire,C9
"""
FANIN = """
id: TS-FANIN-01
title: many payers
kind: aggregate
where: "direction = 'in'"
window: 1d
measures: {payers: "count(DISTINCT counterparty_account_id)"}
having: "payers >= 3"
"""


def test_network_export_and_money_trail(tmp_path: Path) -> None:
    data, rules, db = tmp_path / "flow.csv", tmp_path / "rules", tmp_path / "a.duckdb"
    data.write_text(FLOW)
    rules.mkdir()
    (rules / "r.yaml").write_text(FANIN)
    assert run("scan", str(data), "--rules", str(rules), "--db", str(db)).returncode == 0

    graphml = tmp_path / "n.graphml"
    exported = run("network", "A1", "--db", str(db), "--format", "graphml", "--out", str(graphml))
    followed = run("trail", "B1", str(data), "--from", "2024-01-01")

    assert exported.returncode == 0, exported.stderr
    assert all(f'"{n}"' in graphml.read_text() for n in ("A1", "B1", "C9"))
    assert "B1 -> A1 -> C9" in followed.stdout
    assert run("network", "NOPE", "--db", str(db)).returncode == 2
