"""The store: one transaction per run, nothing left by a crash, idempotent re-runs, locking."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from engine.errors import StoreLockedError
from engine.scan import ScanOptions, run_scan
from engine.store import MIGRATIONS, open_store


def _scan_cmd(data: Path, rules: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "engine.cli",
        "scan",
        str(data),
        "--rules",
        str(rules),
        "--db",
        str(db),
    ]


def _counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("runs", "alerts", "alert_transactions", "cases")
        }
    finally:
        con.close()


def test_a_scan_writes_alerts_with_evidence(
    canonical_csv: Path, rule_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "alerts.duckdb"
    result = run_scan([canonical_csv], options=ScanOptions(rules=(rule_dir,), db=db))

    assert result.alerts["entity"].to_list() == ["A1"]
    assert _counts(db) == {"runs": 1, "alerts": 1, "alert_transactions": 3, "cases": 1}
    with open_store(db, read_only=True) as store:
        row = store.query("SELECT explanation, measures, thresholds FROM alerts").row(0, named=True)
    assert "deposits 3" in row["explanation"] and '"total":28500.0' in row["measures"]


def test_rerunning_the_same_input_adds_no_alerts(
    canonical_csv: Path, rule_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "alerts.duckdb"
    first = run_scan([canonical_csv], options=ScanOptions(rules=(rule_dir,), db=db))
    second = run_scan([canonical_csv], options=ScanOptions(rules=(rule_dir,), db=db))

    assert first.new_alerts == 1 and second.new_alerts == 0
    assert first.alerts["alert_id"].to_list() == second.alerts["alert_id"].to_list()
    assert _counts(db) == {"runs": 2, "alerts": 1, "alert_transactions": 3, "cases": 1}


@pytest.mark.parametrize("point", ["store.mid_write", "store.before_commit"])
def test_a_killed_scan_leaves_no_partial_run(
    canonical_csv: Path, rule_dir: Path, tmp_path: Path, point: str
) -> None:
    db = tmp_path / "alerts.duckdb"
    subprocess.run(_scan_cmd(canonical_csv, rule_dir, db), check=True, capture_output=True)
    before = _counts(db)
    more = tmp_path / "more.csv"
    more.write_text(
        "txn_id,account_id,ts_utc,direction,amount,currency,channel\n"
        + "\n".join(f"k{i},B7,2024-02-0{i}T10:00:00Z,in,9000.00,USD,cash" for i in range(1, 5))
        + "\n"
    )

    died = subprocess.run(
        _scan_cmd(more, rule_dir, db),
        capture_output=True,
        env={**os.environ, "MONEYTRAIL_FAULT": point},
    )

    assert died.returncode == 137  # killed mid-write, as by SIGKILL: no cleanup ran
    assert _counts(db) == before  # the dead run left nothing; earlier runs are intact
    subprocess.run(_scan_cmd(more, rule_dir, db), check=True, capture_output=True)
    assert _counts(db)["runs"] == before["runs"] + 1


def test_a_second_writer_gets_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "alerts.duckdb"
    with open_store(db):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(StoreLockedError, match="in use by another moneytrail process"),
            open_store(db),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "alerts.duckdb"
    with open_store(db) as store:
        assert store.migrate() == len(MIGRATIONS)
    with open_store(db) as store:
        versions = store.query("SELECT version FROM schema_version ORDER BY version")[
            "version"
        ].to_list()
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_dispositions_survive_a_rescan(canonical_csv: Path, rule_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "alerts.duckdb"
    result = run_scan([canonical_csv], options=ScanOptions(rules=(rule_dir,), db=db))
    alert_id = result.alerts["alert_id"][0]
    with open_store(db) as store:
        store.execute(
            "INSERT INTO dispositions VALUES ('alert', ?, 'escalated', 'ana', 'called branch', now())",
            [alert_id],
        )
    time.sleep(0.01)
    run_scan([canonical_csv], options=ScanOptions(rules=(rule_dir,), db=db))
    with open_store(db, read_only=True) as store:
        kept = store.query(
            "SELECT status, assignee FROM dispositions WHERE subject_id = ?", [alert_id]
        ).rows()
    assert kept == [("escalated", "ana")]
