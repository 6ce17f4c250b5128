"""The shipped pack: every inline test passes, every rule has its three kinds of case, lint is
clean, and docs/rules.md is what the YAML generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalogue import catalogue_markdown, coverage, lint
from engine.ruletests import run_rule_tests
from engine.spec import load_pack

ROOT = Path(__file__).resolve().parents[1]
PACK = load_pack()


@pytest.mark.parametrize("rule", PACK.rules, ids=lambda r: r.id)
def test_inline_cases_pass(rule: object) -> None:
    results = run_rule_tests([rule], lists=PACK.lists, pack=PACK.rules)
    failures = [
        f"{r.location}: {r.name}: expected {r.expected}, got {r.got}"
        for r in results
        if not r.passed
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    # anomaly rules have no inline cases: a model's verdict depends on the whole population
    "rule",
    [r for r in PACK.rules if r.kind != "anomaly"],
    ids=lambda r: r.id,
)
def test_each_rule_has_positive_near_miss_and_lookalike(rule: object) -> None:
    cases = {t.case for t in rule.tests}  # type: ignore[attr-defined]
    assert {"positive", "near_miss", "lookalike"} <= cases


def test_pack_is_lint_clean() -> None:
    warnings = lint(PACK.rules)
    assert not warnings, "\n".join(map(str, warnings))


def test_catalogue_is_in_sync() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == catalogue_markdown(PACK), (
        "run: moneytrail rules catalogue --out docs/rules.md"
    )


def test_coverage_lists_every_indicator_once() -> None:
    rows = coverage(PACK)
    ids = [r.indicator for r in rows]
    assert len(ids) == len(set(ids)) == 39
    assert all(r.rules or r.pending for r in rows)


@pytest.mark.parametrize(
    ("name", "value", "flagged"),
    [
        ("min_small_share", 0.5, False),
        ("min_share", 1.5, True),
        ("min_deposits", 0, True),
        ("min_deposits", 3, False),
        ("threshold", -1, True),
        ("window", "0m", True),
        ("window", "900d", True),
        ("span", "48h", False),
        ("min_hop_ratio", 0.7, False),
    ],
)
def test_lint_threshold_ranges(name: str, value: object, flagged: bool) -> None:
    from engine.catalogue import _threshold_problem

    assert (_threshold_problem(name, value) is not None) == flagged
