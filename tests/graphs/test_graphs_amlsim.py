"""Recall and precision of the network patterns on IBM AMLSim runs (shared external data).

AMLSim spreads its typologies over far longer times than typologies.md §5 assumes (a fan-in's
senders arrive up to 600 days apart; intermediaries forward after up to 11 days; gather-
scatter hubs pass on 40-70 %), so each pattern runs with a profile that keeps the §5 shape
and loosens only windows, delays and shares. Its cycles are not time-ordered at all and run
to 10 accounts, so the cycle profile also drops the hop order (`time_order: none`) and the
amount shave, and allows 10 hops. `graphs/README.md` has the table these tests
measure (`python tests/graphs/test_graphs_amlsim.py` prints it).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

from graphs_testkit import AMLSIM, amlsim_alerts, amlsim_postings, score  # noqa: E402

from graphs.patterns import PATTERNS, run_pattern  # noqa: E402

RUNS = ("10K", "10K_alltypes", "typologies")
DAY = timedelta(days=1)

PROFILES: dict[str, dict[str, Any]] = {
    # a burst of one-off counterparties, but over a year: amounts are AMLSim-random, so the
    # similarity condition is off and novelty (never seen before, seen once) carries it
    "fan_in": {
        "window": 365 * DAY, "novelty": 365 * DAY, "min_cpty": 4, "min_novel_cpty": 4,
        "periodic_min_count": 2, "min_new_share": 0.0, "max_periodic_share": 1.0,
        "max_amount_cv": float("inf"),
    },
    "fan_out": {
        "window": 730 * DAY, "novelty": 730 * DAY, "min_cpty": 4, "min_novel_cpty": 4,
        "periodic_min_count": 3, "min_new_share": 0.0, "max_periodic_share": 1.0,
        "max_amount_cv": float("inf"),
    },
    "scatter_gather": {"window": 28 * DAY, "max_hop_delay": 14 * DAY, "max_intermediary_degree": 5},
    "gather_scatter": {
        "window": 21 * DAY, "max_hop_delay": 14 * DAY, "min_pass_share": 0.3,
        "min_in_cpty": 4, "min_out_cpty": 4,
    },
    # AMLSim schedules each hop of a loop of 5-10 accounts at a random step within 5-20 days
    # and draws each amount at random: hop order ignored, loops up to 10 hops closing within
    # 20 days, amount ratios off (see test_amlsim_cycles_are_not_money_cycles)
    "cycle": {
        "time_order": "none", "span": 20 * DAY, "max_length": 10,
        "min_hop_ratio": 0.0, "max_hop_ratio": float("inf"),
    },
}  # fmt: skip


def _require_data() -> None:
    if not (AMLSIM / "10K" / "transactions.csv.gz").exists():
        pytest.skip(f"AMLSim runs not found under {AMLSIM} (shared/data/external is absent)")


@cache
def _run(run: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return amlsim_postings(AMLSIM / run), amlsim_alerts(AMLSIM / run)


@cache
def _hits(name: str, run: str, *, tuned: bool) -> pl.DataFrame:
    params = PATTERNS[name].params(**(PROFILES[name] if tuned else {}))
    return run_pattern(name, _run(run)[0], params=params)


def measure(name: str, *, tuned: bool = True) -> dict[str, dict[str, float]]:
    """Per run and pooled: alerts, found, hits, true hits for one pattern."""
    table: dict[str, dict[str, float]] = {}
    for run in RUNS:
        alerts = _run(run)[1]
        if alerts.filter(pl.col("alert_type") == name).is_empty():
            continue
        table[run] = score(_hits(name, run, tuned=tuned), alerts, name)
    pooled = {
        k: sum(r[k] for r in table.values()) for k in ("alerts", "found", "hits", "true_hits")
    }
    pooled["recall"] = pooled["found"] / pooled["alerts"]
    pooled["precision"] = pooled["true_hits"] / pooled["hits"] if pooled["hits"] else 0.0
    table["pooled"] = pooled
    return table


@pytest.mark.external
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_recall_on_amlsim(name: str) -> None:
    _require_data()
    table = measure(name)
    assert table["pooled"]["recall"] >= 0.9, table
    assert table["pooled"]["precision"] > 0.0, table


def _complete_loops(runs: tuple[str, ...] = RUNS) -> list[list[dict[str, Any]]]:
    """Every AMLSim cycle alert whose transfers form one loop, in the order money would go."""
    loops = []
    for run in runs:
        raw = pl.read_csv(AMLSIM / run / "alert_transactions.csv.gz", try_parse_dates=True)
        for (_,), rows in raw.filter(pl.col("alert_type") == "cycle").group_by(["alert_id"]):
            nxt = {r["orig_acct"]: r for r in rows.to_dicts()}
            start = rows.row(0, named=True)["orig_acct"]
            loop, cur = [], start
            for _ in range(rows.height):
                if cur not in nxt:
                    break
                loop.append(nxt[cur])
                cur = nxt[cur]["bene_acct"]
            if cur == start and len(loop) == rows.height == len(nxt):
                loops.append(loop)
    return loops


def _ordered(values: list[Any], before: Any) -> bool:
    n = len(values)
    return any(
        all(before(values[(k + i) % n], values[(k + i + 1) % n]) for i in range(n - 1))
        for k in range(n)
    )


@pytest.mark.external
def test_amlsim_cycles_are_not_money_cycles() -> None:
    """Why the time-respecting cycle finds no AMLSim cycle: none is ordered in time.

    Of the complete AMLSim cycle alerts, no rotation of any loop has dates increasing along the
    money, even counting same-day hops as in order (ties, the finder's default); a few run
    exactly backwards (each account pays before it is paid). No loop has amounts within the
    §5 shave range either: AMLSim 7338a4b draws each hop's step and amount at random.
    """
    _require_data()
    loops = _complete_loops()
    assert len(loops) > 40
    times = [[r["tran_timestamp"] for r in loop] for loop in loops]
    amounts = [[r["base_amt"] for r in loop] for loop in loops]
    assert sum(_ordered(t, lambda a, b: a < b) for t in times) == 0
    assert sum(_ordered(t, lambda a, b: a <= b) for t in times) == 0
    assert sum(_ordered(t, lambda a, b: a >= b) for t in times) < 0.1 * len(loops)
    assert sum(any(len(set(t)) < len(t) for t in [ts]) for ts in times) > len(loops) // 2
    assert sum(_ordered(a, lambda x, y: 0.7 <= y / x <= 1.0) for a in amounts) == 0
    for order in ("same_time_ok", "strict"):
        params = PATTERNS["cycle"].params(time_order=order)
        hits = run_pattern("cycle", _run("10K")[0], params=params)
        # measured: 1/40 with ties (a loop that happens to touch an alert's accounts), 0 strict
        assert score(hits, _run("10K")[1], "cycle")["recall"] < 0.05


@pytest.mark.external
@pytest.mark.slow
def test_amlsim_profile_finds_every_complete_loop() -> None:
    """With hop order ignored (`time_order: none`), every AMLSim cycle alert whose transfers
    close a loop is found as a loop: all its transfers are the evidence of a hit. The cycle
    alerts it misses (3 of 61) are those whose transfers do not close (AMLSim emitted 4 of a
    7-account loop's hops, 6 of 8, 7 of 8)."""
    _require_data()
    for run in RUNS:
        evidence: set[str] = set()
        for ids in _hits("cycle", run, tuned=True).get_column("evidence").to_list():
            evidence.update(ids)
        loops = _complete_loops((run,))
        found = [loop for loop in loops if {f"{r['tran_id']}-out" for r in loop} <= evidence]
        assert len(found) == len(loops), (run, len(found), len(loops))


if __name__ == "__main__":
    for pattern in sorted(PROFILES):
        for label, tuned in (("§5 defaults", False), ("AMLSim profile", True)):
            for run, row in measure(pattern, tuned=tuned).items():
                print(
                    f"| {pattern} | {label} | {run} | {row['found']:.0f}/{row['alerts']:.0f} "
                    f"({row['recall']:.0%}) | {row['true_hits']:.0f}/{row['hits']:.0f} "
                    f"({row['precision']:.1%}) |"
                )
