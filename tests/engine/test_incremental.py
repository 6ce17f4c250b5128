"""Incremental scans produce exactly the alerts, evidence, networks and cases of a full rescan."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from engine.scan import ScanOptions, run_scan
from sample_data.generator import generate

# Low thresholds on short windows, so that ordinary traffic fires, episodes run over several
# days, and each day's state is truncated well before the start of the data.
RULES = {
    "ts-burst-01.yaml": """
id: TS-BURST-01
title: card burst
kind: aggregate
where: "channel = 'card' AND direction = 'out'"
window: 3d
measures: {n: "count(*)", spend: "sum(amount_base)"}
having: "n >= 6"
""",
    "ts-pass-01.yaml": """
id: TS-PASS-01
title: in then out
kind: velocity
in: "direction = 'in' AND amount_base >= 300"
out: "direction = 'out'"
span: 36h
having: "ratio >= 0.5"
repeat: {count: 2, within: 4d}
""",
    "ts-seq-01.yaml": """
id: TS-SEQ-01
title: cash then transfer
kind: sequence
steps:
  - {name: a, where: "channel IN ('cash', 'atm') AND direction = 'in'"}
  - {name: b, where: "channel IN ('p2p', 'wire', 'ach') AND direction = 'out'"}
within: 2d
""",
    "ts-big-01.yaml": """
id: TS-BIG-01
title: big posting
kind: transaction
where: "amount_base >= 2000"
window: 2d
""",
    "ts-day-01.yaml": """
id: TS-DAY-01
title: busy day
kind: aggregate
period: day
measures: {n: "count(*)"}
having: "n >= 5"
""",
    "ts-cpty-01.yaml": """
id: TS-CPTY-01
title: many payers
kind: aggregate
where: "direction = 'in'"
window: 5d
measures: {payers: "count(DISTINCT counterparty_account_id)"}
having: "payers >= 3"
""",
    # unbounded history: a profile ranks every entity that ever transacted, so it reads the
    # whole state while the rules above read only their own few days
    "ts-prof-01.yaml": """
id: TS-PROF-01
title: spend above own baseline
kind: profile
by: account_id
where: "direction = 'out'"
period: week
measures: {spend: "sum(amount_base)"}
baseline: {periods: 2, min_periods: 1}
having: "spend_ratio >= 1.5 AND spend_peer_pct >= 0.5"
""",
    # a graph rule reading the first stage's alerts over all days, not just the state's
    "ts-hub-01.yaml": """
id: TS-HUB-01
title: fed by flagged accounts
kind: graph
pattern: hub
params:
  window: 10d
  feeder_rules: [TS-PASS-01, TS-CPTY-01, TS-BURST-01, TS-SEQ-01]
  signal_rules: [TS-DAY-01]
  min_feeders: 2
  min_feeder_share: 0.05
  min_cash_out_share: 0.0
  max_reciprocal_share: 1.0
  min_amount: 10
""",
}


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, Path]:
    root = tmp_path_factory.mktemp("incremental")
    bank = generate(400, 30, 3, root / "bank")
    txns = pl.read_parquet(bank.transactions)
    files = []
    for (day,), part in txns.with_columns(pl.col("ts_utc").dt.date().alias("_d")).group_by("_d"):
        path = root / "days" / f"{day}.parquet"
        path.parent.mkdir(exist_ok=True)
        part.drop("_d").write_parquet(path)
        files.append(path)
    rules = root / "rules"
    rules.mkdir()
    for name, text in RULES.items():
        (rules / name).write_text(text)
    return sorted(files), rules, root


def _snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "alerts": con.sql(
                "SELECT alert_id, rule_id, entity, episode_start, episode_end, measures, "
                "window_start, window_end, peak_start, peak_end FROM alerts ORDER BY alert_id"
            )
            .pl()
            .rows(),
            "evidence": con.sql(
                "SELECT alert_id, txn_id FROM alert_transactions ORDER BY alert_id, txn_id"
            )
            .pl()
            .rows(),
            "cases": con.sql(
                "SELECT case_id, subject, score, escalated, n_alerts FROM cases ORDER BY case_id"
            )
            .pl()
            .rows(),
            "networks": con.sql(
                "SELECT network_id, n_members, n_alerts, score FROM networks ORDER BY network_id"
            )
            .pl()
            .rows(),
            "network_members": con.sql(
                "SELECT network_id, account_id, role FROM network_members "
                "ORDER BY network_id, account_id"
            )
            .pl()
            .rows(),
            "case_alerts": con.sql(
                "SELECT case_id, alert_id FROM case_alerts ORDER BY case_id, alert_id"
            )
            .pl()
            .rows(),
        }
    finally:
        con.close()


def test_daily_incremental_scans_equal_one_full_scan(days: tuple[list[Path], Path, Path]) -> None:
    files, rules, root = days
    full_db, incremental_db = root / "full.duckdb", root / "incremental.duckdb"

    run_scan(files, options=ScanOptions(rules=(rules,), db=full_db))
    for path in files:
        run_scan([path], options=ScanOptions(rules=(rules,), db=incremental_db, incremental=True))

    full, incremental = _snapshot(full_db), _snapshot(incremental_db)
    assert len(files) == 30
    assert {r[1] for r in full["alerts"]} == {
        "TS-BURST-01",
        "TS-PASS-01",
        "TS-SEQ-01",
        "TS-BIG-01",
        "TS-DAY-01",
        "TS-CPTY-01",
        "TS-PROF-01",
        "TS-HUB-01",
    }
    assert any(r[4] - r[3] > timedelta(days=2) for r in full["alerts"])  # multi-day episodes
    for table in full:
        assert incremental[table] == full[table], table


def test_a_day_scanned_twice_adds_nothing(
    days: tuple[list[Path], Path, Path], tmp_path: Path
) -> None:
    files, rules, _ = days
    db = tmp_path / "twice.duckdb"
    run_scan(files[:3], options=ScanOptions(rules=(rules,), db=db, incremental=True))
    before = _snapshot(db)

    again = run_scan([files[2]], options=ScanOptions(rules=(rules,), db=db, incremental=True))

    assert again.new_alerts == 0
    assert again.ingested.rejects["reason"].str.contains("already scanned").all()
    assert _snapshot(db) == before


BOUNDARY_RULE = """
id: TS-CEIL-01
title: most of an inflow out again in a few payments
kind: velocity
in: "direction = 'in' AND amount_base >= 500"
out: "direction = 'out'"
span: 72h
having: "ratio >= 0.5 AND n_out <= 2"
"""


def test_a_hit_later_postings_undo_and_one_exactly_a_span_back(tmp_path: Path) -> None:
    """A stored alert whose forward window a later day closes differently is retired (a third
    payment breaks `n_out <= 2`); an outflow exactly one span after its inflow, arriving
    alone on a later day, still makes its alert."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ts-ceil-01.yaml").write_text(BOUNDARY_RULE)
    header = "txn_id,account_id,ts_utc,direction,amount,currency,channel\n"
    days = {  # d0: an earlier posting, so that the state outlasts the rule's reach
        "d0": ["z1,A9,2024-03-01T08:00:00Z,in,50.00,USD,cash"],
        "d1": [
            "a1,A1,2024-03-10T10:00:00Z,in,1000.00,USD,wire",
            "a2,A1,2024-03-10T12:00:00Z,out,300.00,USD,p2p",
            "a3,A1,2024-03-10T14:00:00Z,out,300.00,USD,p2p",
            "b1,A2,2024-03-10T10:00:00Z,in,1000.00,USD,wire",
        ],
        "d2": ["a4,A1,2024-03-11T09:00:00Z,out,100.00,USD,atm"],
        "d4": ["b2,A2,2024-03-13T10:00:00Z,out,600.00,USD,p2p"],
    }
    files = []
    for name, rows in days.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(header + "\n".join(rows) + "\n")
        files.append(path)
    full_db, incremental_db = tmp_path / "full.duckdb", tmp_path / "incremental.duckdb"

    run_scan(files, options=ScanOptions(rules=(rules,), db=full_db))
    for path in files[:1]:
        run_scan([path], options=ScanOptions(rules=(rules,), db=incremental_db, incremental=True))
    first_day = run_scan(
        files[1:2], options=ScanOptions(rules=(rules,), db=incremental_db, incremental=True)
    )
    for path in files[2:]:
        run_scan([path], options=ScanOptions(rules=(rules,), db=incremental_db, incremental=True))

    assert sorted(first_day.alerts["entity"]) == ["A1"]  # open window: two payments so far
    full, incremental = _snapshot(full_db), _snapshot(incremental_db)
    assert [r[2] for r in full["alerts"]] == ["A2"]
    for table in full:
        assert incremental[table] == full[table], table
