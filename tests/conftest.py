"""Shared fixtures: the external data folder beside the project, and small canonical files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = (ROOT / ".." / "shared" / "data" / "external").resolve()

STRUCTURING_RULE = """
id: TS-STRUCT-01
title: Test structuring
kind: aggregate
pillar: moving_proceeds
by: account_id
where: "channel IN ('cash', 'atm') AND direction = 'in' AND amount_base < $threshold"
window: 10d
measures:
  deposits: "count(*)"
  total: "sum(amount_base)"
having: "deposits >= 3 AND total >= $threshold"
params:
  threshold: 10000
"""

CANONICAL_CSV = """txn_id,account_id,ts_utc,direction,amount,currency,channel
t1,A1,2024-01-01T10:00:00Z,in,9500.00,USD,cash
t2,A1,2024-01-03T10:00:00Z,in,9500.00,USD,cash
t3,A1,2024-01-05T10:00:00Z,in,9500.00,USD,atm
t4,A2,2024-01-05T10:00:00Z,out,120.50,USD,card
"""


@pytest.fixture
def external() -> Path:
    """The shared external data, or a skip saying why it is absent."""
    if not EXTERNAL.is_dir():
        pytest.skip(
            f"external data not found at {EXTERNAL} (../shared/data/external beside the repo)"
        )
    return EXTERNAL


@pytest.fixture
def rule_dir(tmp_path: Path) -> Path:
    """A folder holding one small structuring rule."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ts-struct-01.yaml").write_text(STRUCTURING_RULE)
    return folder


@pytest.fixture
def canonical_csv(tmp_path: Path) -> Path:
    """Four canonical postings: three structured cash deposits on A1, one card payment."""
    path = tmp_path / "txns.csv"
    path.write_text(CANONICAL_CSV)
    return path
