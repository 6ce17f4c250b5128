"""The machine a benchmark ran on, and the RESULTS.md written from one run's measurements."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["machine_facts", "write_results"]

REPO = Path(__file__).resolve().parent.parent
MB_4GB, MB_8GB = 4096, 8192

DESCRIPTIONS = {
    "moneytrail_five": "the five rules (benchmarks/five_rules) in moneytrail: load and compile "
    "the rules, `engine.ingest.read_transactions` (map, cast, validate; keeping the columns "
    "the rules and alerts read, as `run_scan` does), "
    "`engine.evaluate.evaluate` (hits with evidence); a scan minus alerts, cases and store",
    "duckdb_five": "the same five rules hand-written in DuckDB SQL over the same Parquet file "
    "(benchmarks/five_duckdb.sql; half-open RANGE frames)",
    "pandas_five": "the same five rules in idiomatic pandas: groupby-rolling time windows, "
    "merge_asof for pass-through, integer cents (benchmarks/five_pandas.py)",
    "read_floor": "the floor: Polars `scan_parquet` + one `group_by(account_id)` exact sum, "
    "collected (Polars reads only the two columns it needs)",
    "read_all": "every column read into memory (`read_parquet`), then the same group-by: what "
    "canonical ingest must at least do, since it keeps every column",
    "moneytrail_five_scan": "the five rules as a whole `engine.scan.run_scan` into a fresh "
    "DuckDB store (rules, ingest, evaluate, alerts, cases, store write)",
    "full_pack": "the whole shipped pack (`rules/`) via `run_scan` with customers and the "
    "bank's lists: every stage the pack has, store writes included",
    "full_pack_streaming": "the same with `streaming=True` (`moneytrail scan --streaming`)",
    "incremental_day": "the whole pack on the bank's last 30 days: days 1-29 scanned with "
    "`incremental=True` (untimed), then day 30 incrementally (the time shown), against a full "
    "rescan of all 30 days into a fresh store (in the notes; peak memory covers both)",
    "ray_full_pack": "the whole pack with `--engine ray --buckets 8` on a local Ray cluster of 2 "
    "workers, cluster start included; peak memory is the driver's only",
}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    """Output of a git command in the checkout (leading spaces kept), or "" when it fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.rstrip("\n")


def machine_facts(sha: str | None = None) -> dict[str, Any]:
    """CPU, cores, RAM, software versions and the code the run measured.

    Args:
        sha: the commit measured with `--ref`; None for the working tree as it is.
    """
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    except OSError:
        pass
    changed = "" if sha else _git("status", "--porcelain", "--", "engine", "graphs", "rules")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "ram_gb": round(ram_kb / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "load": [round(x, 1) for x in os.getloadavg()],
        "python": platform.python_version(),
        "versions": {
            n: _version(n)
            for n in ("moneytrail", "polars", "duckdb", "pandas", "pyarrow", "numpy", "networkx")
        },
        "commit": sha[:12] if sha else _git("rev-parse", "--short=12", "HEAD"),
        "code": "commit" if sha else "working tree",
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def _peak_text(m: dict[str, Any]) -> str:
    if m.get("peak") == "VmHWM":
        return "the process's own peak resident memory (VmHWM, imports included)"
    return (
        "the process's maximum resident set size from rusage (ru_maxrss, imports included; "
        "on Linux it starts from the parent's RSS at fork, about 90 MB here, so small values "
        "are upper bounds)"
    )


def _code(m: dict[str, Any]) -> str:
    if m.get("code") == "commit":
        return f"engine, graphs and rules of commit {m['commit']}, extracted with --ref"
    return f"working tree at commit {m['commit']}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _index(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["name"], r["size"]): r for r in results}


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> float | None:
    if not a or not b or a.get(key) is None or b.get(key) in (None, 0):
        return None
    return float(a[key]) / float(b[key])


def _results_table(payload: dict[str, Any]) -> list[str]:
    lines = [
        "| size | rows | measurement | wall s | rows/s | peak MB | CPU s | load | notes |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in payload["results"]:
        rate = r["rows"] / r["seconds"] if r.get("seconds") else None
        parts = ", ".join(f"{k} {v}" for k, v in r["parts"].items() if k != "run_scan")
        note = "; ".join(x for x in (r["note"], parts) if x)
        lines.append(
            f"| {r['size']} | {r['rows']:,} | {r['name']} | {_fmt(r['seconds'])} | "
            f"{_fmt(rate, 0)} | {_fmt(r['peak_mb'], 0)} | {_fmt(r['cpu_seconds'], 1)} | "
            f"{_fmt(r['load'], 1)} | {note} |"
        )
    return lines


def _ratio_table(payload: dict[str, Any]) -> list[str]:
    at = _index(payload["results"])
    sizes = list(payload["sizes"])
    pairs = (
        ("moneytrail_five / duckdb_five", "moneytrail_five", "duckdb_five", "<= 1"),
        ("pandas_five / moneytrail_five", "pandas_five", "moneytrail_five", ">= 10"),
        ("moneytrail_five / read_floor", "moneytrail_five", "read_floor", "<= 5"),
        ("moneytrail_five / read_all", "moneytrail_five", "read_all", "-"),
        ("moneytrail_five_scan / moneytrail_five", "moneytrail_five_scan", "moneytrail_five", "-"),
        ("full_pack_streaming / full_pack", "full_pack_streaming", "full_pack", "-"),
        ("ray_full_pack / full_pack", "ray_full_pack", "full_pack", "-"),
    )
    head = "| ratio (wall; CPU in brackets) | target | " + " | ".join(sizes) + " |"
    lines = [head, "|---|---|" + "---:|" * len(sizes)]
    for label, a, b, target in pairs:
        cells = []
        for size in sizes:
            wall = _ratio(at.get((a, size)), at.get((b, size)), "seconds")
            cpu = _ratio(at.get((a, size)), at.get((b, size)), "cpu_seconds")
            cells.append("-" if wall is None else f"{wall:.2f} ({_fmt(cpu)})")
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")
    return lines


def _slope(points: list[tuple[int, float]]) -> float | None:
    """Exponent b of seconds ~ rows^b between the smallest and the largest size."""
    if len(points) < 2:
        return None
    (n0, t0), (n1, t1) = min(points), max(points)
    if n1 == n0 or t0 <= 0 or t1 <= 0:
        return None
    return math.log(t1 / t0) / math.log(n1 / n0)


def _linearity(payload: dict[str, Any]) -> tuple[list[str], dict[str, float | None]]:
    sizes = list(payload["sizes"])
    at = _index(payload["results"])
    names = list(dict.fromkeys(r["name"] for r in payload["results"]))
    head = "| measurement | " + " | ".join(f"s per 1M rows at {s}" for s in sizes)
    lines = [
        head + " | exponent b (wall s ~ rows^b) | b on CPU time |",
        "|---|" + "---:|" * (len(sizes) + 2),
    ]
    slopes: dict[str, float | None] = {}
    for name in names:
        points, cpu_points = [], []
        cells = []
        for size in sizes:
            r = at.get((name, size))
            if r and r.get("seconds"):
                points.append((r["rows"], float(r["seconds"])))
                cpu_points.append((r["rows"], float(r["cpu_seconds"])))
                cells.append(f"{r['seconds'] / r['rows'] * 1e6:.2f}")
            else:
                cells.append("-")
        slopes[name] = _slope(points)
        slopes[name + ":cpu"] = _slope(cpu_points)
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {_fmt(slopes[name])} | {_fmt(slopes[name + ':cpu'])} |"
        )
    return lines, slopes


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def _targets(payload: dict[str, Any], slopes: dict[str, float | None]) -> list[str]:
    """Each target with its measurement and verdict, on wall time and (where timed) CPU time.

    On a machine shared with other work, wall time overstates the cost; the CPU time of a
    process that does not wait on I/O bounds its wall time on an idle machine from above, so a
    target met on CPU time would be met there too.
    """
    at = _index(payload["results"])
    sizes = list(payload["sizes"])
    rows: list[tuple[str, str, bool | None, str, bool | None]] = []

    def get(name: str, size: str) -> dict[str, Any] | None:
        r = at.get((name, size))
        return r if r and r.get("seconds") is not None else None

    def capped(name: str, size: str) -> dict[str, Any] | None:
        r = at.get((name, size))
        return r if r and "cap" in (r.get("note") or "") else None

    for name, size, limit in (("full_pack", "5M", MB_4GB), ("full_pack_streaming", "20M", MB_8GB)):
        r, stop = get(name, size), capped(name, size)
        if name == "full_pack":
            small = get("full_pack", sizes[0]) or get("full_pack_streaming", sizes[0])
            hint = (
                f"; {small['name']} at {sizes[0]}: {_fmt(small['seconds'])} s wall, "
                f"{_fmt(small['cpu_seconds'], 1)} s CPU"
                if small and not r and sizes[0] != size
                else ""
            )
            rows.append(
                (
                    "full pack over 5M transactions in under 60 s",
                    f"{_fmt(r['seconds'])} s" if r else (stop["note"] if stop else "-") + hint,
                    None if not r else r["seconds"] < 60,
                    f"{_fmt(r['cpu_seconds'], 1)} s" if r else "-",
                    None if not r else r["cpu_seconds"] < 60,
                )
            )
        memory = r or stop
        rows.append(
            (
                f"{name} over {size} with peak memory under {limit // 1024} GB",
                f"{_fmt(memory['peak_mb'], 0)} MB" + (" (stopped at the cap)" if stop else "")
                if memory
                else "-",
                None if not memory else memory["peak_mb"] < limit and not stop,
                "",
                None,
            )
        )
    for label, a, b, good in (
        ("five-rule subset at least as fast as hand-written DuckDB SQL", "moneytrail_five",
         "duckdb_five", lambda x: x <= 1.0),
        ("five-rule subset at least 10x faster than pandas", "pandas_five", "moneytrail_five",
         lambda x: x >= 10.0),
        ("five-rule subset no more than 5x the read floor", "moneytrail_five", "read_floor",
         lambda x: x <= 5.0),
    ):  # fmt: skip
        cells = []
        for key in ("seconds", "cpu_seconds"):
            found = [(s, _ratio(get(a, s), get(b, s), key)) for s in sizes]
            found = [(s, x) for s, x in found if x is not None]
            text = ", ".join(f"{s}: {x:.2f}x" for s, x in found) or "-"
            cells += [text, all(good(x) for _, x in found) if found else None]
        rows.append((f"{label} ({a} / {b})", cells[0], cells[1], cells[2], cells[3]))
    for size in sizes:
        r = get("incremental_day", size)
        if r:
            ratio = r["parts"]["ratio"]
            rows.append(
                (
                    f"incremental: one day of 30 under 10% of a full rescan ({size})",
                    f"{ratio:.1%} ({_fmt(r['parts']['incremental_day'])} s of "
                    f"{_fmt(r['parts']['full_rescan_30d'])} s)",
                    ratio < 0.10,
                    "",
                    None,
                )
            )
    main = "full_pack_streaming" if slopes.get("full_pack_streaming") is not None else "full_pack"
    slope, cpu_slope = slopes.get(main), slopes.get(main + ":cpu")
    rows.append(
        (
            f"cost growing linearly with transactions ({main}: exponent b <= 1.1)",
            "-" if slope is None else f"b = {slope:.2f}",
            None if slope is None else slope <= 1.1,
            "-" if cpu_slope is None else f"b = {cpu_slope:.2f}",
            None if cpu_slope is None else cpu_slope <= 1.1,
        )
    )
    lines = [
        "| target | measured (wall) | verdict | measured (CPU time) | verdict on CPU time |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {t} | {m} | {_verdict(ok)} | {c or '-'} | {_verdict(cok) if c else '-'} |"
        for t, m, ok, c, cok in rows
    ]
    return lines


def _agreement(payload: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for a in payload["agreement"]:
        if a.get("agree") is None:
            lines.append(f"- {a['size']}: fewer than two implementations ran; not compared.")
            lines.append("")
            continue
        verdict = "**agree**" if a["agree"] else "**DISAGREE**"
        lines.append(
            f"- {a['size']} ({a['rows']:,} rows): {', '.join(a['compared'])} {verdict} "
            "on every trigger."
            if a["agree"]
            else f"- {a['size']} ({a['rows']:,} rows): {', '.join(a['compared'])} {verdict}:"
        )
        for note in a.get("notes", []):
            lines.append(f"  - {note}")
        names = a["compared"]
        lines.append("")
        lines.append("  | rule | " + " | ".join(names) + " |")
        lines.append("  |---|" + "---:|" * len(names))
        for row in a["counts"]:
            lines.append(
                f"  | {row['rule_id']} | " + " | ".join(f"{row[n]:,}" for n in names) + " |"
            )
        lines.append("")
    return lines or ["- not run"]


def _full_pack_details(payload: dict[str, Any]) -> list[str]:
    lines = []
    for r in payload["results"]:
        if r["name"] not in ("full_pack", "full_pack_streaming") or not r.get("out"):
            continue
        out = r["out"]
        lines.append(
            f"- {r['name']} at {r['size']}: {out.get('rules_run')} rules run, "
            f"skipped {out.get('skipped') or 'none'}; alerts {out.get('alerts')}; "
            f"{out.get('cases')} cases; stages (s) {r['parts']}"
        )
    return lines or ["- not run"]


def write_results(path: Path, payload: dict[str, Any]) -> None:
    """Render one run's payload (see benchmarks/run.py) as Markdown."""
    m = payload["machine"]
    v = m["versions"]
    linearity, slopes = _linearity(payload)
    names = list(dict.fromkeys(r["name"] for r in payload["results"]))
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python benchmarks/run.py` on {m['date']}; regenerate it rather than edit "
        "it. All numbers below come from this one run. Benchmarks are not tests: nothing here "
        "gates CI.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores available; RAM {m['ram_gb']} GB; {m['os']}",
        f"- Python {m['python']}, moneytrail {v['moneytrail']} ({_code(m)}), "
        f"Polars {v['polars']}, DuckDB {v['duckdb']}, pandas {v['pandas']}, "
        f"pyarrow {v['pyarrow']}, NumPy {v['numpy']}, NetworkX {v['networkx']}",
        f"- Load average (1, 5, 15 min) when the run started: {m['load']}; each measurement's "
        "1-minute load is in the table. On a shared machine a load above the core count means "
        "other work took CPU from the measurement: wall time then overstates the cost, CPU "
        "time (user + system) much less so.",
    ]
    for command in payload.get("commands", []):
        lines.append(f"- Command: `python {command}`")
    if m.get("resumed"):
        lines.append(
            f"- Resumed on {m['resumed']} (`--resume`): the measurements marked *second pass* "
            "were run then (the last resume's date), because their first run failed or was stopped "
            "at a lower memory cap; all others are from the first pass."
        )
    if m["uncommitted"]:
        lines.append(
            "- The checkout had uncommitted changes in engine/, graphs/ or rules/ at the time "
            f"(measured as they were): {', '.join(m['uncommitted'])}"
        )
    lines += [
        "",
        "## Inputs",
        "",
        "Synthetic banks from `sample_data.generate(customers, days, seed, out)`, one Parquet "
        "file each; the customer count is scaled, the period fixed, so the density per account "
        "is the same at every size.",
        "",
        "| size | transactions | customers | days | seed | Parquet MB | generated in s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, b in payload["sizes"].items():
        mb = Path(b["root"], "transactions.parquet").stat().st_size / 2**20
        lines.append(
            f"| {label} | {b['rows']:,} | {b['customers']:,} | {b['days']} | {b['seed']} | "
            f"{mb:,.0f} | {b['generate_seconds']} |"
        )
    lines += ["", "## Measurements", ""]
    lines += [f"- `{n}`: {DESCRIPTIONS[n]}" for n in names]
    lines += [
        "",
        "Each runs in a fresh process. *wall s* is the time of the work inside that process, "
        "after imports; *peak MB* is " + _peak_text(payload["machine"]) + "; *CPU s* is its "
        "user + system time. Notes give the stages in seconds.",
        "",
        "## Results",
        "",
        *_results_table(payload),
        "",
        "## Agreement of the three five-rule implementations",
        "",
        "Triggers `(rule, account, t)` as defined in `benchmarks/five.py`; the sets must be equal.",
        "",
        *_agreement(payload),
        "## Ratios (same run)",
        "",
        *_ratio_table(payload),
        "",
        "## Targets",
        "",
        "Targets of the benchmark issue, for 2-core, 24 GB machines. The verdict is on wall "
        "time, as the targets are stated. When other work shares the machine (see the load "
        "column), wall time overstates the cost; the CPU time (user + system) of a process that "
        "does not wait on I/O bounds its wall time on an idle machine from above, so the last "
        "column says whether a time target would hold there. Ratios on CPU time favour the "
        "side that uses fewer cores; those on wall time, on an idle machine, the side that "
        "uses more.",
        "",
        *_targets(payload, slopes),
        "",
        "## Linearity",
        "",
        *linearity,
        "",
        "## Full pack",
        "",
        *_full_pack_details(payload),
        "",
    ]
    path.write_text("\n".join(lines))
