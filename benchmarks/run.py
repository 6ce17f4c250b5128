"""Benchmarks of moneytrail against baselines, written to benchmarks/RESULTS.md.

    python benchmarks/run.py                      # 1M, 5M and 20M transactions -> RESULTS.md
    python benchmarks/run.py --sizes 1M,5M        # fewer sizes
    python benchmarks/run.py --quick              # a 200k smoke run (written under --data)
    python benchmarks/run.py --only duckdb_five,moneytrail_five --sizes 1M

Inputs come from the sample generator (benchmarks/bankdata.py) and are kept in `--data`
(git-ignored) for the next run. Every measurement runs in a fresh process, so its peak
memory (ru_maxrss) is its own; wall time is measured inside that process after imports. At
each size the three five-rule implementations run first and must find the same triggers
(benchmarks/five.py); a disagreement is printed and recorded in the results.

Benchmarks are not tests: nothing here gates CI.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import polars as pl  # noqa: E402
from bankdata import Bank, ensure_bank, format_size, parse_size  # noqa: E402
from five import compare  # noqa: E402
from report import machine_facts, write_results  # noqa: E402

MEASUREMENTS = (
    "moneytrail_five",
    "duckdb_five",
    "pandas_five",
    "read_floor",
    "read_all",
    "moneytrail_five_scan",
    "full_pack",
    "full_pack_streaming",
    "incremental_day",
    "ray_full_pack",  # --engine ray, local cluster of 2 workers; compare with full_pack
)
FIVE = ("moneytrail_five", "duckdb_five", "pandas_five")


@dataclass
class Measured:
    """One measurement at one size."""

    name: str
    size: str
    rows: int
    seconds: float | None = None  # wall time of the work, inside the child
    process_seconds: float | None = None  # the child's whole life, imports included
    cpu_seconds: float | None = None  # user + system time of the child
    peak_mb: float | None = None
    load: float | None = None  # 1-minute load average when it started
    parts: dict[str, Any] = field(default_factory=dict)
    out: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.seconds is not None


def _snapshot(ref: str, data: Path) -> tuple[str, Path]:
    """The packages and rules of git commit `ref`, extracted once under `data`."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", ref + "^{commit}"],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    root = data / f"src-{sha[:12]}"
    if not (root / ".complete").is_file():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha, "engine", "graphs", "rules"],
            cwd=HERE.parent,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        (root / ".complete").touch()
    return sha, root


def _run_child(
    name: str,
    bank: Bank,
    size: str,
    triggers: Path,
    *,
    mem_cap_mb: float,
    env: dict[str, str] | None,
) -> Measured:
    """Run one measurement in a fresh process: its peak memory, CPU time and wall time.

    The peak is the child's own VmHWM (or the largest RSS polled here, if it was stopped).
    """
    import psutil

    measured = Measured(name, size, bank.rows, load=round(os.getloadavg()[0], 1))
    cmd = [sys.executable, str(HERE / "measure.py"), name, str(bank.root)]
    cmd += ["--triggers", str(triggers)]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    watch = psutil.Process(child.pid)
    polled_peak = 0.0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        try:  # guard a shared machine: stop a child that would take all memory
            rss = watch.memory_info().rss / 2**20
        except psutil.Error:
            rss = 0.0
        polled_peak = max(polled_peak, rss)
        if rss > mem_cap_mb:
            child.kill()
            measured.note = f"stopped: memory above the {mem_cap_mb:,.0f} MB cap"
        time.sleep(0.05)
    measured.process_seconds = round(time.perf_counter() - started, 2)
    measured.cpu_seconds = round(usage.ru_utime + usage.ru_stime, 2)
    measured.peak_mb = round(polled_peak, 1)  # replaced by the child's own VmHWM below
    output = child.stdout.read() if child.stdout else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        measured.note = measured.note or f"failed (exit code {code})"
        return measured
    result = json.loads(output.strip().splitlines()[-1])
    measured.seconds = result["seconds"]
    measured.parts = result["parts"]
    measured.out = result["out"] | {"engine": result["engine"]}
    if result.get("hwm_kb"):
        measured.peak_mb = round(result["hwm_kb"] / 1024, 1)
    return measured


def _pandas_estimate(results: list[Measured], rows: int) -> float | None:
    """Seconds pandas would take at `rows`, from its largest measured size (linear)."""
    done = [m for m in results if m.name == "pandas_five" and m.ok]
    if not done:
        return None
    largest = max(done, key=lambda m: m.rows)
    return float(largest.seconds or 0) * rows / largest.rows


def _agreement(size: str, rows: int, triggers: dict[str, Path]) -> dict[str, Any]:
    frames = {name: pl.read_parquet(path) for name, path in triggers.items() if path.is_file()}
    if len(frames) < 2:
        return {"size": size, "rows": rows, "compared": list(frames), "agree": None}
    agree, counts, notes = compare(frames)
    print(f"  agreement at {size} ({', '.join(frames)}): {'AGREE' if agree else 'DISAGREE'}")
    print("  " + str(counts).replace("\n", "\n  "))
    for line in notes:
        print("  " + line)
    return {
        "size": size,
        "rows": rows,
        "compared": list(frames),
        "agree": agree,
        "counts": counts.rows(named=True),
        "notes": notes,
    }


def _show(m: Measured) -> str:
    if not m.ok:
        return f"  {m.name:<22} {m.note}"
    rate = m.rows / m.seconds if m.seconds else float("inf")
    return (
        f"  {m.name:<22} {m.seconds:8.2f} s  {rate:12,.0f} rows/s  {m.peak_mb:8,.0f} MB peak"
        f"  cpu {m.cpu_seconds:.1f} s  load {m.load}  {m.parts}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark moneytrail against DuckDB SQL, pandas and a read floor.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--sizes", default="1M,5M,20M", help="transaction counts (default: %(default)s)")
    add("--quick", action="store_true", help="one 200k smoke run")
    add("--only", help="comma-separated measurements: " + ", ".join(MEASUREMENTS))
    add(
        "--only-at",
        action="append",
        metavar="SIZE=NAMES",
        help="at this size run only these measurements, e.g. 20M=read_floor,full_pack_streaming"
        " (repeatable)",
    )
    add("--data", type=Path, default=HERE / "data", help="generated inputs (git-ignored)")
    add("--seed", type=int, default=7, help="generator seed (default: %(default)s)")
    add("--out", type=Path, help="results file (default: RESULTS.md; under --data if partial)")
    add(
        "--pandas-limit",
        type=float,
        default=1200,
        help="skip pandas at a size where it is expected to take longer (s, default: %(default)s)",
    )
    add(
        "--ref",
        help="measure the engine, graphs and rules of this git commit (e.g. HEAD), extracted "
        "under --data, instead of the working tree as it is",
    )
    add(
        "--resume",
        action="store_true",
        help="keep the measurements of the results JSON (same code) and run only the missing and "
        "failed ones, e.g. after a measurement was killed",
    )
    add(
        "--retry",
        action="append",
        metavar="SIZE=NAMES",
        help="with --resume, run these again too (e.g. ones stopped at a lower --mem-cap-gb)",
    )
    add(
        "--render",
        type=Path,
        metavar="JSON",
        help="only rewrite the Markdown next to this results JSON (after a report change)",
    )
    add(
        "--mem-cap-gb",
        type=float,
        default=12,
        help="stop a measurement whose RSS passes this (GB, default: %(default)s): the "
        "memory targets are lower, and the machine may be shared",
    )
    return parser


def _names(parser: argparse.ArgumentParser, text: str) -> list[str]:
    wanted = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement {unknown[0]!r}: use {', '.join(MEASUREMENTS)}")
    return [n for n in MEASUREMENTS if n in wanted]


def _measure_size(
    label: str, bank: Bank, names: list[str], results: list[Measured], args: argparse.Namespace
) -> dict[str, Any] | None:
    """Run `names` at one size, appending to `results`; the five-rule agreement, if run."""
    print(f"\n{label}: {bank.rows:,} transactions ({bank.customers:,} customers x {bank.days} d)")
    last_five = next((n for n in reversed(names) if n in FIVE), None)
    triggers: dict[str, Path] = {}
    agreement = None
    for name in names:
        estimate = _pandas_estimate(results, bank.rows) if name == "pandas_five" else None
        earlier = args.earlier.get((name, label))
        path = args.data / f"triggers-{label}-{name}.parquet"
        if earlier is not None:
            measured = earlier  # --resume: measured by an earlier pass of the same run
            if name in FIVE and path.is_file():
                triggers[name] = path
        elif estimate is not None and estimate > args.pandas_limit:
            measured = Measured(name, label, bank.rows)
            measured.note = (
                f"skipped: about {estimate / 60:.0f} min expected from the smaller sizes"
                f" (limit {args.pandas_limit / 60:.0f} min)"
            )
        else:
            path.unlink(missing_ok=True)
            measured = _run_child(
                name, bank, label, path, mem_cap_mb=args.mem_cap_gb * 1024, env=args.env
            )
            if name in FIVE and measured.ok:
                triggers[name] = path
            if args.earlier:
                again = f"second pass, memory cap {args.mem_cap_gb:g} GB"
                measured.note = "; ".join(x for x in (measured.note, again) if x)
        results.append(measured)
        print(_show(measured))
        if name == last_five:
            agreement = _agreement(label, bank.rows, triggers)
    return agreement


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.render:
        write_results(args.render.with_suffix(".md"), json.loads(args.render.read_text()))
        return 0
    try:
        sizes = ["200k"] if args.quick else [s for s in args.sizes.split(",") if s.strip()]
        labels = [format_size(parse_size(s)) for s in sizes]
        only_at = {}
        for item in args.only_at or []:
            size, _, which = item.partition("=")
            only_at[format_size(parse_size(size))] = _names(parser, which)
    except ValueError as exc:
        parser.error(str(exc))
    names = _names(parser, args.only) if args.only else list(MEASUREMENTS)
    retry = {}
    for item in args.retry or []:
        size, _, which = item.partition("=")
        retry[format_size(parse_size(size))] = _names(parser, which)
    partial = args.quick or bool(args.only)
    out = args.out or (args.data / "RESULTS.partial.md" if partial else HERE / "RESULTS.md")
    args.data.mkdir(parents=True, exist_ok=True)
    args.env, sha = None, None
    if args.ref:
        sha, src = _snapshot(args.ref, args.data)
        args.env = dict(os.environ)
        args.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(src), args.env.get("PYTHONPATH")) if p
        )
        print(f"measuring {args.ref} = {sha[:12]} (extracted in {src})")
    facts = machine_facts(sha) | {"peak": "VmHWM"}
    args.earlier, args.commands = {}, []
    previous = out.with_suffix(".json")
    if args.resume and previous.is_file():
        before = json.loads(previous.read_text())
        if before["machine"].get("commit") == facts["commit"]:
            facts = before["machine"] | {"resumed": facts["date"]}
            args.commands = before.get("commands", [])
            for r in before["results"]:
                again = r["name"] in retry.get(r["size"], [])
                if not again and (
                    r.get("seconds") is not None or not r["note"].startswith("failed")
                ):
                    args.earlier[(r["name"], r["size"])] = Measured(**r)  # incl. stopped at cap
    print(f"{facts['cpu']} x {facts['cores']}, {facts['ram_gb']} GB RAM; load {facts['load']}")
    banks: dict[str, Bank] = {}
    results: list[Measured] = []
    agreements: list[dict[str, Any]] = []

    def save() -> None:  # after every size, so a long run that is stopped keeps what it has
        payload = {
            "machine": facts,
            "commands": [
                *args.commands,
                " ".join(["benchmarks/run.py", *sys.argv[1:]]),
            ],
            "sizes": {k: asdict(v) | {"root": str(v.root)} for k, v in banks.items()},
            "results": [asdict(m) for m in results],
            "agreement": agreements,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=str))
        write_results(out, payload)

    for label in labels:
        # made (or found) just before it is measured, so the generation of a large size can
        # run beside the measurements of the small ones
        banks[label] = ensure_bank(args.data, parse_size(label), seed=args.seed)
        at_size = [n for n in names if n in only_at.get(label, names)]
        agreement = _measure_size(label, banks[label], at_size, results, args)
        if agreement:
            agreements.append(agreement)
        save()
    print(f"\nwrote {out} and {out.with_suffix('.json').name}")
    disagree = any(a.get("agree") is False for a in agreements)
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
