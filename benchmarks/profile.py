"""Where a full-pack scan spends its time: stages, Python functions and rules.

    python benchmarks/profile.py                 # the 1M bank of benchmarks/run.py
    python benchmarks/profile.py --size 200k --ref HEAD

1. `run_scan` of the shipped pack under pyinstrument: the stage timings, the call tree and the
   functions with the most time of their own (Polars and DuckDB work is native code: it shows
   as the Python call that started it, e.g. `collect_all` or `DataFrame.sort`);
2. each compiled rule of the pack evaluated alone over the ingested frame, slowest first, so
   a slow `evaluate` stage can be pinned on rules.

Reports are written under `--data` (`profile-<size>-*.txt`) and summarised on stdout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bankdata import ensure_bank, format_size, parse_size  # noqa: E402


def _profile_scan(bank_root: Path, customers: Path, lists: Path, db: Path) -> tuple[object, str]:
    from pyinstrument import Profiler

    from engine.scan import ScanOptions, run_scan

    options = ScanOptions(customers=customers, lists=lists, db=db)
    profiler = Profiler(interval=0.005)
    profiler.start()
    result = run_scan([bank_root / "transactions.parquet"], options=options)
    profiler.stop()
    tree = profiler.output_text(show_all=False, time="percent_of_total")
    flat = profiler.output_text(flat=True, flat_time="self", time="percent_of_total")
    total = profiler.output_text(flat=True, flat_time="total", time="percent_of_total")
    return result, tree + "\n\n# self time\n" + flat + "\n\n# total time\n" + total


def _per_rule(bank_root: Path, customers: Path, lists_dir: Path) -> list[tuple[str, str, float]]:
    """Seconds of each rule's plan collected alone (stage-1 rules; graph rules see no alerts)."""
    import polars as pl

    from engine.alerts import ALERT_SCHEMA
    from engine.evaluate import compile_rule, evaluate
    from engine.ingest import load_customers, read_transactions
    from engine.kinds import EvalContext
    from engine.lists import load_lists
    from engine.spec import load_pack

    lists = load_lists(lists_dir)
    pack = load_pack(lists=lists)
    txns = read_transactions([bank_root / "transactions.parquet"]).transactions
    kyc, _ = load_customers(customers)
    context = EvalContext(customers=kyc.lazy(), lists=lists.tables)
    if any(compile_rule(r).stage > 1 for r in pack.rules):
        no_alerts = pl.DataFrame(schema=ALERT_SCHEMA)
        context = EvalContext(customers=kyc.lazy(), lists=lists.tables, alerts=no_alerts)
    timings = []
    for rule in pack.rules:
        compiled = compile_rule(rule)
        started = time.perf_counter()
        try:
            evaluate(txns, [compiled], customers=kyc, context=context)
            seconds = time.perf_counter() - started
        except Exception as exc:  # a rule that needs the real stage-1 alerts, say
            print(f"  {rule.id}: not timed alone ({type(exc).__name__}: {exc})")
            continue
        timings.append((rule.id, rule.kind, seconds))
    return sorted(timings, key=lambda t: -t[2])


def main() -> None:
    parser = argparse.ArgumentParser(description="Profile a full-pack scan.")
    parser.add_argument("--size", default="1M")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ref", help="profile this git commit (see run.py --ref)")
    parser.add_argument("--no-rules", action="store_true", help="skip the per-rule timings")
    args = parser.parse_args()
    if args.ref and "MONEYTRAIL_PROFILE_SRC" not in os.environ:
        from run import _snapshot

        sha, src = _snapshot(args.ref, args.data)
        env = dict(os.environ, MONEYTRAIL_PROFILE_SRC=sha)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
        sys.exit(subprocess.call([sys.executable, __file__, *sys.argv[1:]], env=env))
    label = format_size(parse_size(args.size))
    bank = ensure_bank(args.data, parse_size(label), seed=args.seed)
    import engine

    print(f"profiling {engine.__file__} on {bank.rows:,} transactions ({label})")
    with tempfile.TemporaryDirectory() as tmp:
        result, text = _profile_scan(
            bank.root, bank.customers_file, bank.lists, Path(tmp) / "p.duckdb"
        )
    report = args.data / f"profile-{label}-scan.txt"
    report.write_text(text)
    print(f"stages (s): {dict(result.timings)}")  # type: ignore[attr-defined]
    print(f"call tree and flat profiles: {report}")
    flat = text.split("# self time\n", 1)[1].split("# total time")[0]
    print("top functions by own time:\n" + "\n".join(flat.strip().splitlines()[:25]))
    if not args.no_rules:
        timings = _per_rule(bank.root, bank.customers_file, bank.lists)
        lines = [f"{s:8.2f} s  {k:<16} {r}" for r, k, s in timings]
        (args.data / f"profile-{label}-rules.txt").write_text("\n".join(lines) + "\n")
        total = sum(s for _, _, s in timings) or 1.0
        print("rules evaluated alone, slowest first (share of their sum):")
        for rule_id, kind, seconds in timings[:15]:
            print(f"  {seconds:7.2f} s  {seconds / total:5.1%}  {kind:<16} {rule_id}")


if __name__ == "__main__":
    main()
