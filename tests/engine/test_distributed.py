"""A scan split into account-hash buckets (Ray tasks) equals the one-process scan.

The bank: a small generated one plus trap postings (tied timestamps, payments exactly one
window length apart and one microsecond inside it, amounts at thresholds). The pack: a rule of
every partition-safe kind keyed on accounts, customers, a counterparty, a device and a customer
column, plus rules that must run on the driver (a profile with peer ranks, a `where` reading
the population's mean) and two graph rules of the shipped pack (stage 2). The stored alerts,
evidence, networks and cases must be the same for the one-process engine and Ray with 1, 3
and 8 buckets; the same comparison fails when the rows are split by transaction id.

One local Ray cluster (2 CPUs) serves the whole module.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine import distributed
from engine.distributed import map_in_process, partition_key, run_stages
from engine.evaluate import compile_rule
from engine.ingest import load_customers, read_transactions
from engine.kinds import EvalContext
from engine.lists import load_lists
from engine.partition import bucket_of
from engine.paths import RULES_DIR
from engine.scan import ScanOptions, run_scan
from engine.spec import load_pack
from sample_data.generator import generate

TRAP_PACK = """
id: XX-TXN-01
title: large cash
kind: transaction
by: customer_id
where: "channel IN ('cash', 'atm') AND amount_base >= 9000"
window: 1d
---
id: XX-TXN-02
title: above the population's mean (driver only)
kind: transaction
where: "channel = 'wire' AND amount_base > 3 * avg(amount_base)"
window: 1d
---
id: XX-REF-01
title: paid a listed party
kind: reference
column: counterparty_account_id
list: watch
group: bad
where: "direction = 'out'"
window: 7d
---
id: XX-AGG-01
title: structuring
kind: aggregate
where: "channel IN ('cash', 'atm') AND direction = 'in' AND amount_base < 10000"
window: 3d
measures: {deposits: "count(*)", total: "sum(amount_base)"}
having: "deposits >= 3 AND total >= 20000"
---
id: XX-AGG-02
title: many payers to one counterparty
kind: aggregate
by: counterparty_account_id
where: "direction = 'out'"
window: 1d
measures: {payers: "count(DISTINCT account_id)", paid: "sum(amount_base)"}
having: "payers >= 3"
---
id: XX-AGG-03
title: cash per calendar week
kind: aggregate
where: "channel IN ('cash', 'atm')"
period: week
measures: {total: "sum(amount_base)"}
having: "total >= 30000"
---
id: XX-AGG-04
title: customers onboarded on one device move money together
kind: aggregate
by: onboarding_device_id
window: 1d
measures: {n: "count(*)", total: "sum(amount_base)"}
having: "n >= 4 AND total >= 9000"
---
id: XX-SHARE-01
title: one device, many customers
kind: shared_attribute
attribute: device_id
min_customers: 3
distinct: {account_id: 2}
window: 2d
---
id: XX-VEL-01
title: pass-through
kind: velocity
in: "direction = 'in' AND channel IN ('cash', 'wire')"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.8"
---
id: XX-VEL-02
title: repeated pass-through
kind: velocity
by: customer_id
in: "direction = 'in'"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.9"
repeat: {count: 3, within: 7d}
---
id: XX-SEQ-01
title: cash in, then a wire out of most of it
kind: sequence
steps:
  - {name: a, where: "direction = 'in' AND channel = 'cash'"}
  - {name: b, where: "direction = 'out' AND channel = 'wire'"}
within: 1d
match: "b_amount_base >= 0.8 * a_amount_base"
---
id: XX-PROF-01
title: a customer above most of its peers in a week (driver only)
kind: profile
by: customer_id
period: week
segment: customer_type
measures: {total: "sum(amount_base)"}
baseline: {periods: 3, min_periods: 2}
having: "total_peer_pct >= 0.9 AND total > 2 * total_peer_median"
"""
GRAPH_RULES = (
    RULES_DIR / "network" / "ml-fanin-01.yaml",
    RULES_DIR / "network" / "ht-shared-01.yaml",
)
TRAP_ACCOUNTS = [f"TA{i:02d}" for i in range(24)]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _trap_rows(customers: list[str], n: int = 3000, seed: int = 5) -> list[dict[str, Any]]:
    """Postings on a half-day lattice (ties, exact 12h multiples = window lengths, 1 us
    nudges inside or outside), amounts at or a cent around thresholds."""
    rnd = random.Random(seed)
    marks = [Decimal(m) for m in ("9000", "10000", "9999.99", "7000", "20000")]
    owner = {a: rnd.choice(customers) for a in TRAP_ACCOUNTS}
    rows = []
    for i in range(n):
        ts = T0 + rnd.randrange(56) * timedelta(hours=12)
        ts += rnd.choice((0, 0, 0, 1, -1)) * timedelta(microseconds=1)
        amount = (
            rnd.choice(marks) + rnd.choice((Decimal("-0.01"), Decimal(0), Decimal("0.01")))
            if rnd.random() < 0.6
            else Decimal(rnd.randrange(100, 1_200_000)).scaleb(-2)
        )
        account = rnd.choice(TRAP_ACCOUNTS)
        rows.append(
            {
                "txn_id": f"trap{i:05d}",
                "account_id": account,
                "customer_id": owner[account],
                "ts_utc": ts,
                "direction": rnd.choice(("in", "out")),
                "amount": amount,
                "amount_base": amount,
                "currency": "USD",
                "channel": rnd.choice(("cash", "atm", "wire", "card", "p2p")),
                "counterparty_account_id": rnd.choice((None, "X1", "X2", *TRAP_ACCOUNTS[:6])),
                "device_id": rnd.choice((None, None, "D1", "D2", "D3")),
            }
        )
    return rows


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated bank of 400 customers over 30 days with the trap postings added."""
    root = tmp_path_factory.mktemp("bank")
    made = generate(400, 30, 11, root / "gen")
    base = pl.read_parquet(made.transactions)
    customers = pl.read_parquet(made.customers)["customer_id"].head(20).to_list()
    traps = pl.DataFrame(_trap_rows(customers)).cast(
        {c: t for c, t in base.schema.items() if c in _trap_rows(customers, 1)[0]}
    )
    pl.concat([base, traps], how="diagonal").write_parquet(root / "transactions.parquet")
    lists = root / "lists"
    lists.mkdir()
    for path in made.lists.glob("*.csv"):
        (lists / path.name).write_bytes(path.read_bytes())
    (lists / "watch.csv").write_text("value,group\nX1,bad\nX2,bad\nTA03,fine\n")
    pack = root / "traps.yaml"
    pack.write_text(TRAP_PACK)
    return {
        "transactions": root / "transactions.parquet",
        "customers": made.customers,
        "lists": lists,
        "pack": pack,
        "root": root,
    }


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _options(bank: dict[str, Path], db: Path, **engine: Any) -> ScanOptions:
    return ScanOptions(
        customers=bank["customers"],
        rules=(bank["pack"], *GRAPH_RULES),
        lists=bank["lists"],
        db=db,
        **engine,
    )


TABLES = {
    "alerts": ["alert_id"],
    "alert_transactions": ["alert_id", "txn_id"],
    "cases": ["case_id"],
    "case_alerts": ["case_id", "alert_id"],
    "networks": ["network_id"],
    "network_members": ["network_id", "account_id"],
    "network_edges": ["network_id", "source", "target"],
}


def _stored(db: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, key in TABLES.items():
            frame = con.sql(f"SELECT * FROM {table}").pl()
            out[table] = frame.drop("first_run", "last_run", strict=False).sort(key)
        return out
    finally:
        con.close()


def _assert_same_run(expected: dict[str, pl.DataFrame], got: dict[str, pl.DataFrame]) -> None:
    for table in TABLES:
        left, right = expected[table], got[table]
        if table == "alerts":
            assert left["alert_id"].to_list() == right["alert_id"].to_list()
        assert_frame_equal(left, right, check_exact=True)


@pytest.fixture(scope="module")
def one_process(bank: dict[str, Path]) -> dict[str, pl.DataFrame]:
    db = bank["root"] / "local.duckdb"
    result = run_scan([bank["transactions"]], options=_options(bank, db))
    fired = set(result.alerts["rule_id"].to_list())
    trap_ids = {line.split(": ")[1] for line in TRAP_PACK.splitlines() if line.startswith("id: ")}
    assert trap_ids - {"XX-TXN-02"} <= fired, f"some trap rules fired nowhere: {trap_ids - fired}"
    stored = _stored(db)
    assert stored["networks"].height > 0 and stored["cases"].height > 0
    return stored


@pytest.mark.parametrize("buckets", [1, 3, 8])
def test_ray_scan_equals_one_process(
    ray_cluster: None, bank: dict[str, Path], one_process: dict[str, pl.DataFrame], buckets: int
) -> None:
    db = bank["root"] / f"ray-{buckets}.duckdb"
    seen: list[str] = []
    run_scan(
        [bank["transactions"]],
        options=_options(bank, db, engine="ray", buckets=buckets),
        on_stage=seen.append,
    )
    _assert_same_run(one_process, _stored(db))
    assert any(s.startswith("evaluate: ") and s.endswith(" partitions") for s in seen)


def _frames(bank: dict[str, Path]) -> tuple[Any, ...]:
    lists = load_lists(bank["lists"])
    pack = load_pack(bank["pack"], lists=lists)
    compiled = [compile_rule(r) for r in pack.rules]
    txns = read_transactions([bank["transactions"]]).transactions
    customers, _ = load_customers(bank["customers"])
    context = EvalContext(customers=customers.lazy(), lists=lists.tables)
    return txns, compiled, customers, context


def _split_by_txn_id(
    frame: pl.DataFrame, key: str, buckets: int, /, **_: Any
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    keyed = frame.with_columns(bucket_of(frame["txn_id"], buckets).alias("_b"))
    parts = [keyed.filter(pl.col("_b") == b).drop("_b") for b in range(buckets)]
    return parts, frame.clear()


def test_a_split_by_transaction_id_breaks_equality(
    ray_cluster: None, bank: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.ray_engine import ray_map

    txns, compiled, customers, context = _frames(bank)
    right = run_stages(txns, compiled, customers, context, buckets=3, map_partitions=map_in_process)
    monkeypatch.setattr(distributed, "split", _split_by_txn_id)
    wrong = run_stages(txns, compiled, customers, context, buckets=3, map_partitions=ray_map())
    assert right[0]["alert_id"].sort().to_list() != wrong[0]["alert_id"].sort().to_list()


def test_a_failed_partition_fails_the_run_and_writes_nothing(
    ray_cluster: None, bank: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from engine.partition import split
    from engine.ray_engine import PartitionError

    def broken(frame: pl.DataFrame, key: str, buckets: int, /, **kw: Any) -> Any:
        parts, nulls = split(frame, key, buckets, **kw)
        parts[-1] = parts[-1].with_columns(pl.col("ts_utc").cast(pl.String))  # rolling fails
        return parts, nulls

    monkeypatch.setattr(distributed, "split", broken)
    db = tmp_path / "failed.duckdb"
    with pytest.raises(PartitionError, match=r"partition \S+ bucket 2 failed: .*nothing"):
        run_scan([bank["transactions"]], options=_options(bank, db, engine="ray", buckets=3))
    if db.exists():
        con = duckdb.connect(str(db), read_only=True)
        assert con.sql("SELECT count(*) FROM runs").fetchall() == [(0,)]
        con.close()


def test_in_process_partitions_equal_one_process(bank: dict[str, Path]) -> None:
    """The backend-neutral split (no Ray): same alerts, evidence and notices at 1..8 buckets."""
    from engine.scan import _run_stages

    txns, compiled, customers, context = _frames(bank)
    alerts, evidence, skipped = _run_stages(
        txns, compiled, customers, context, streaming=False, on_stage=lambda _: None
    )
    for buckets in (1, 2, 5):
        got = run_stages(
            txns, compiled, customers, context, buckets=buckets, map_partitions=map_in_process
        )
        assert got[0]["alert_id"].to_list() == alerts["alert_id"].to_list()
        assert_frame_equal(got[0].drop("measures"), alerts.drop("measures"))
        order = ["alert_id", "txn_id"]
        assert_frame_equal(got[1].sort(order), evidence.sort(order))
        assert got[2] == skipped


RULE = """
id: XX-T-01
title: t
kind: {kind}
{logic}
"""


@pytest.mark.parametrize(
    ("kind", "logic", "key"),
    [
        ("transaction", "where: \"amount_base >= 9000 AND channel LIKE 'c%'\"", "account_id"),
        (
            "transaction",
            'by: counterparty_account_id\nwhere: "amount_base > 1"',
            "counterparty_account_id",
        ),
        ("transaction", 'where: "amount_base > avg(amount_base)"', None),
        (
            "transaction",
            'where: "amount_base > 1"\nmeasures: {share: "amount_base / sum(amount_base)"}',
            None,
        ),
        ("transaction", 'where: "sum(amount_base) OVER (PARTITION BY account_id) > 5"', None),
        (
            "aggregate",
            'window: 1d\nmeasures: {n: "count(*)", t: "sum(amount_base)"}\nhaving: "n >= 2"',
            "account_id",
        ),
        (
            "aggregate",
            'where: "amount_base > median(amount_base)"\nwindow: 1d\nmeasures: {n: "count(*)"}\nhaving: "n >= 2"',
            None,
        ),
        ("velocity", 'by: customer_id\nspan: 1d\nhaving: "ratio >= 0.8"', "customer_id"),
        ("profile", 'period: week\nmeasures: {t: "sum(amount_base)"}\nhaving: "t_z >= 2"', None),
    ],
)
def test_which_rules_run_per_partition(kind: str, logic: str, key: str | None) -> None:
    pack = load_pack_text(RULE.format(kind=kind, logic=logic))
    assert partition_key(compile_rule(pack)) == key


def load_pack_text(text: str) -> Any:
    import naive

    return naive.rule(text)


def test_bucket_is_crc32_of_the_key_text() -> None:
    got = bucket_of(pl.Series(["A1", None, "Z99"]), 8).to_list()
    assert got == [zlib.crc32(b"A1") % 8, None, zlib.crc32(b"Z99") % 8]
