"""One measurement, run in a fresh process by benchmarks/run.py so its peak memory is its own.

    python benchmarks/measure.py NAME BANK_DIR [--triggers OUT.parquet]

Prints one JSON line: `seconds` (wall time of the work, after imports), `parts` (seconds of its
stages), `out` (what it produced, to check it did the work), `hwm_kb` (peak resident memory of
this process, imports included). The parent reads CPU time from the process's rusage. With
`--triggers`, the five-rule measurements write their triggers (benchmarks/five.py) after the
clock stops.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bankdata import Bank
from five import FIVE_DIR, engine_triggers, five_duckdb, pandas_triggers

__all__ = ["MEASUREMENTS"]

Result = tuple[dict[str, float], dict[str, Any], pl.DataFrame | None]


class Clock:
    """Named stage timings."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.parts[name] = round(now - self._last, 3)
        self._last = now


def read_floor(bank: Bank) -> Result:
    """The floor: scan the Parquet file, one group-by (account, exact sum), collected."""
    clock = Clock()
    sums = (
        pl.scan_parquet(bank.transactions)
        .group_by("account_id")
        .agg(pl.col("amount_base").sum())
        .collect()
    )
    clock.mark("scan+group_by")
    return clock.parts, {"groups": sums.height}, None


def read_all(bank: Bank) -> Result:
    """Every column read into memory (as canonical ingest does), then the same group-by."""
    clock = Clock()
    frame = pl.read_parquet(bank.transactions)
    clock.mark("read")
    sums = frame.group_by("account_id").agg(pl.col("amount_base").sum())
    clock.mark("group_by")
    return clock.parts, {"rows": frame.height, "groups": sums.height}, None


def _five_compiled() -> list[Any]:
    from engine.evaluate import compile_rule
    from engine.lists import load_lists
    from engine.spec import load_pack

    pack = load_pack(FIVE_DIR, lists=load_lists())
    return [compile_rule(r) for r in pack.rules]


def moneytrail_five(bank: Bank) -> Result:
    """The five rules through moneytrail's scan path minus the store: ingest, then evaluate."""
    from engine.evaluate import evaluate, scan_columns
    from engine.ingest import load_fx, read_transactions

    clock = Clock()
    compiled = _five_compiled()
    clock.mark("rules")
    columns = scan_columns(compiled)  # as run_scan does: what the rules and alerts read
    ingested = read_transactions([bank.transactions], fx=load_fx(), columns=columns)
    clock.mark("ingest")
    evaluation = evaluate(ingested.transactions, compiled)
    clock.mark("evaluate")
    hits = {k: v.height for k, v in evaluation.hits.items()}
    out = {"rows": ingested.transactions.height, "hits": hits, "skipped": evaluation.skipped}
    return clock.parts, out, engine_triggers(evaluation.hits, compiled)


def moneytrail_five_scan(bank: Bank) -> Result:
    """The five rules as a whole `run_scan`: rules, ingest, evaluate, alerts, cases, store."""
    from engine.scan import ScanOptions, run_scan

    with tempfile.TemporaryDirectory() as tmp:
        options = ScanOptions(rules=(FIVE_DIR,), db=Path(tmp) / "bench.duckdb")
        started = time.perf_counter()
        result = run_scan([bank.transactions], options=options)
        seconds = round(time.perf_counter() - started, 3)
    out = {"alerts": result.alerts.height, "rules_run": result.rules_run}
    return {"run_scan": seconds, **result.timings}, out, None


def duckdb_five(bank: Bank) -> Result:
    """The five rules in hand-written DuckDB SQL (benchmarks/five_duckdb.sql)."""
    clock = Clock()
    triggers = five_duckdb(bank.transactions)
    clock.mark("query")
    return clock.parts, {"triggers": triggers.height}, triggers


def pandas_five(bank: Bank) -> Result:
    """The five rules in idiomatic pandas (benchmarks/five_pandas.py)."""
    clock = Clock()
    triggers = pandas_triggers(bank.transactions)
    clock.mark("pandas")
    return clock.parts, {"triggers": triggers.height}, triggers


def _full_pack(bank: Bank, *, streaming: bool) -> Result:
    from engine.scan import ScanOptions, run_scan

    with tempfile.TemporaryDirectory() as tmp:
        options = ScanOptions(
            customers=bank.customers_file,
            lists=bank.lists,
            db=Path(tmp) / "bench.duckdb",
            streaming=streaming,
        )
        started = time.perf_counter()
        result = run_scan([bank.transactions], options=options)
        seconds = round(time.perf_counter() - started, 3)
    by_rule = dict(result.alerts.group_by("rule_id").len().sort("rule_id").rows())
    out = {
        "rows": result.ingested.transactions.height,
        "rules_run": result.rules_run,
        "skipped": dict(result.skipped),
        "alerts": by_rule,
        "cases": result.cases.height,
    }
    return {"run_scan": seconds, **result.timings}, out, None


def full_pack(bank: Bank) -> Result:
    """The whole shipped pack via `run_scan`, customers and lists included, store written."""
    return _full_pack(bank, streaming=False)


def full_pack_streaming(bank: Bank) -> Result:
    """The same with Polars' streaming engine (`--streaming`)."""
    return _full_pack(bank, streaming=True)


def ray_full_pack(bank: Bank) -> Result:
    """The whole pack with `--engine ray`: a local Ray cluster of 2 workers, 8 buckets.

    The wall time includes starting the cluster; the peak is the driver's alone (the Ray
    workers are separate processes).
    """
    import ray

    from engine.scan import ScanOptions, run_scan

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    cluster = round(time.perf_counter() - started, 3)
    with tempfile.TemporaryDirectory() as tmp:
        options = ScanOptions(
            customers=bank.customers_file,
            lists=bank.lists,
            db=Path(tmp) / "bench.duckdb",
            engine="ray",
            buckets=8,
        )
        result = run_scan([bank.transactions], options=options)
    seconds = round(time.perf_counter() - started, 3)
    ray.shutdown()
    out = {
        "rows": result.ingested.transactions.height,
        "rules_run": result.rules_run,
        "alerts": dict(result.alerts.group_by("rule_id").len().sort("rule_id").rows()),
        "cases": result.cases.height,
        "peak": "driver only",
    }
    return {"run_scan": seconds, "ray_start": cluster, **result.timings}, out, None


def incremental_day(bank: Bank) -> Result:
    """One more day scanned incrementally after 29, against a full rescan of all 30 days.

    The last 30 days of the bank are split into days 1-29 and day 30 (files written before the
    clock starts). Days 1-29 are scanned with `incremental=True` into a fresh store (setup,
    untimed); then day 30 is scanned incrementally into that store, and all 30 days in one
    full scan into another. `seconds` is the incremental day; `parts` has both and their ratio.
    """
    from engine.scan import ScanOptions, run_scan

    frame = pl.read_parquet(bank.transactions)
    last = frame["ts_utc"].max()
    day30 = last.replace(hour=0, minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
    start = day30 - timedelta(days=29)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        month = frame.filter(pl.col("ts_utc") >= start)
        month.filter(pl.col("ts_utc") < day30).write_parquet(root / "days01-29.parquet")
        month.filter(pl.col("ts_utc") >= day30).write_parquet(root / "day30.parquet")
        month.write_parquet(root / "days01-30.parquet")
        rows = month.height
        del frame, month

        def options(db: str, *, incremental: bool) -> ScanOptions:
            return ScanOptions(
                customers=bank.customers_file,
                lists=bank.lists,
                db=root / db,
                incremental=incremental,
            )

        started = time.perf_counter()
        run_scan([root / "days01-29.parquet"], options=options("inc.duckdb", incremental=True))
        setup = time.perf_counter() - started
        started = time.perf_counter()
        inc = run_scan([root / "day30.parquet"], options=options("inc.duckdb", incremental=True))
        day = time.perf_counter() - started
        started = time.perf_counter()
        run_scan([root / "days01-30.parquet"], options=options("full.duckdb", incremental=False))
        rescan = time.perf_counter() - started
        # the incremental run returns what it re-evaluated; the stores must hold the same
        stored = {db: _alert_ids(root / db) for db in ("inc.duckdb", "full.duckdb")}
    parts = {
        "incremental_day": round(day, 3),
        "full_rescan_30d": round(rescan, 3),
        "ratio": round(day / rescan, 3),
        "setup_29d": round(setup, 3),
    }
    out = {
        "rows_30d": rows,
        "rows_day": inc.ingested.transactions.height,
        "alerts_this_day": inc.alerts.height,
        "alerts_stored_incremental": len(stored["inc.duckdb"]),
        "alerts_stored_full": len(stored["full.duckdb"]),
        "stored_alert_ids_equal": stored["inc.duckdb"] == stored["full.duckdb"],
        "incremental_timings": dict(inc.timings),
    }
    return parts, out, None


def _alert_ids(db: Path) -> set[str]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT alert_id FROM alerts").fetchall()}


MEASUREMENTS: dict[str, Callable[[Bank], Result]] = {
    "moneytrail_five": moneytrail_five,
    "duckdb_five": duckdb_five,
    "pandas_five": pandas_five,
    "read_floor": read_floor,
    "read_all": read_all,
    "moneytrail_five_scan": moneytrail_five_scan,
    "full_pack": full_pack,
    "full_pack_streaming": full_pack_streaming,
    "incremental_day": incremental_day,
    "ray_full_pack": ray_full_pack,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(MEASUREMENTS))
    parser.add_argument("bank", type=Path)
    parser.add_argument("--triggers", type=Path)
    args = parser.parse_args()
    meta = json.loads((args.bank / "done.json").read_text())
    bank = Bank(args.bank, meta["rows"], meta["customers"], meta["days"], meta["seed"], 0.0)
    started = time.perf_counter()
    parts, out, triggers = MEASUREMENTS[args.name](bank)
    # a part named after the measurement is its time (setup and the comparison left out)
    seconds = parts.get(args.name, round(time.perf_counter() - started, 3))
    if triggers is not None and args.triggers:
        triggers.write_parquet(args.triggers)
    import engine  # which engine was measured: the working tree or a --ref snapshot

    where = str(Path(engine.__file__).resolve().parent)
    result = {"seconds": seconds, "parts": parts, "out": out, "engine": where, "hwm_kb": _hwm()}
    print(json.dumps(result))


def _hwm() -> int | None:
    """Peak resident memory of this process image (VmHWM, KiB).

    Not the rusage ru_maxrss the parent could read: on Linux that starts from the parent's own
    RSS at fork, so it never reports less than the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


if __name__ == "__main__":
    main()
