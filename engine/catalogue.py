"""What rule authors and banks read about a pack: lint warnings, coverage, the rule catalogue.

- `lint`: rules without sources, tests, a look-alike case; unused params; thresholds outside
  sane ranges; ids off the naming convention.
- `coverage`: which catalogue indicators (typologies.md §6, shipped as
  `rules/catalogue/indicators.yaml`) are covered by which rules, which are pending and why, and
  which input columns each rule needs, so a bank sees what its data can and cannot detect.
- `catalogue_markdown`: `docs/rules.md`, generated from the YAML and kept in sync by a test.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from engine.evaluate import compile_rule
from engine.paths import RULES_DIR
from engine.spec import Rule, RulePack, parse_duration

__all__ = [
    "INDICATORS_PATH",
    "SOURCE_KEYS",
    "Coverage",
    "LintWarning",
    "catalogue_markdown",
    "coverage",
    "coverage_markdown",
    "lint",
]

INDICATORS_PATH = RULES_DIR / "catalogue" / "indicators.yaml"
SOURCE_KEYS = frozenset(
    (
        "FIN20", "FIN14", "FATF18", "FTR16", "FTR21", "AUS-FSS", "AUS-CSE", "AUS-THAI", "POL",
        "FAST", "RUSI", "JMLIT", "EBA17", "STT", "EUROPOL", "MEKONG", "ACAMS", "USB19", "AMLW",
        "AMLSim", "SAMLD", "MCC",
    )
)  # fmt: skip
_STRICT_ID = re.compile(r"^(HT|ML|AN)-[A-Z0-9]+-\d{2}$")
_INDICATOR = re.compile(r"\b((?:HT|ML)-[A-Z0-9]+-\d{2})\b")


@dataclass(frozen=True, slots=True)
class LintWarning:
    """One lint finding, located at the rule."""

    path: str
    line: int
    rule_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:1: {self.rule_id}: {self.message}"


def _threshold_problem(name: str, value: Any) -> str | None:
    """A param value outside the range its name implies, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        span = parse_duration(value)
        if span is not None and not timedelta(minutes=1) <= span <= timedelta(days=730):
            return f"param {name}={value} is outside 1 minute .. 2 years"
        return None
    if not isinstance(value, int | float):
        return None
    lowered = name.lower()
    if any(w in lowered for w in ("share", "pct", "fraction", "density", "jaccard")):
        return (
            None if 0 <= value <= 1 else f"param {name}={value} is a share and must lie in [0, 1]"
        )
    if "ratio" in lowered or "factor" in lowered:
        return None if value >= 0 else f"param {name}={value} is a ratio and must not be negative"
    if lowered.startswith(("min_", "n_")) and value < 1:
        return f"param {name}={value} is a count and must be at least 1"
    if value < 0:
        return f"param {name}={value} is negative"
    return None


def lint(rules: Iterable[Rule]) -> list[LintWarning]:
    """Warnings for a pack (an empty list means lint-clean)."""
    found: list[LintWarning] = []
    for rule in rules:

        def warn(message: str, rule: Rule = rule) -> None:
            found.append(LintWarning(rule.path, rule.line, rule.id, message))

        if not _STRICT_ID.match(rule.id):
            warn("id does not follow the convention HT-NAME-NN, ML-NAME-NN or AN-NAME-NN")
        if not rule.references:
            warn("cites no sources (references)")
        unknown = sorted(set(rule.references) - SOURCE_KEYS)
        if unknown:
            warn(f"unknown source key(s) {', '.join(unknown)} (use the keys of typologies.md §0.1)")
        cases = {t.case for t in rule.tests}
        if rule.kind == "anomaly":
            # a fitted model's verdict on an account depends on the whole population, not on
            # a few inline rows: anomaly rules are measured by benchmarks/anomaly_eval.py and
            # tested in tests/engine/test_anomaly.py instead of by inline cases
            pass
        elif not rule.tests:
            warn("has no tests")
        else:
            for case in ("positive", "near_miss", "lookalike"):
                if case not in cases:
                    warn(f"has no {case} test")
        for name in sorted(set(rule.params) - rule.used_params):
            warn(f"param {name} is never used")
        for name, param in sorted(rule.params.items()):
            problem = _threshold_problem(name, param.value)
            if problem:
                warn(problem)
        if not rule.description:
            warn("has no description")
    return found


def indicator_of(rule: Rule) -> str:
    """The catalogue indicator a rule implements: named in `typology`, else its own id."""
    match = _INDICATOR.search(rule.typology)
    return match.group(1) if match else rule.id


@dataclass(frozen=True, slots=True)
class Coverage:
    """One catalogue indicator: the rules that cover it, or why it is pending."""

    indicator: str
    title: str
    pillar: str
    rules: tuple[str, ...]
    columns: tuple[str, ...]
    missing: tuple[str, ...]  # columns the given input lacks
    pending: str


def load_indicators(path: Path = INDICATORS_PATH) -> list[dict[str, Any]]:
    """The shipped indicator catalogue."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["indicators"])


def coverage(pack: RulePack, *, available: set[str] | None = None) -> list[Coverage]:
    """Each indicator with its rules and the columns they need.

    Given the input's columns (`available`), also the columns it lacks for each indicator.
    """
    by_indicator: dict[str, list[Rule]] = {}
    for rule in pack.rules:
        by_indicator.setdefault(indicator_of(rule), []).append(rule)
    rows = []
    for item in load_indicators():
        rules = by_indicator.get(item["id"], [])
        columns = sorted(set().union(*(compile_rule(r).columns for r in rules))) if rules else []
        missing = sorted(set(columns) - available) if available is not None else []
        pending = "" if rules else str(item.get("pending") or "no rule in this pack yet")
        rows.append(
            Coverage(
                item["id"],
                item["title"],
                item["pillar"],
                tuple(r.id for r in rules),
                tuple(columns),
                tuple(missing),
                pending,
            )
        )
    return rows


def coverage_markdown(rows: Sequence[Coverage]) -> str:
    """The coverage report as a markdown table."""
    covered = sum(1 for r in rows if r.rules)
    lines = [
        f"{covered} of {len(rows)} catalogue indicators are covered.",
        "",
        "| indicator | title | pillar | rules | columns needed | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        status = (
            "pending: " + r.pending
            if not r.rules
            else ("missing " + ", ".join(r.missing) if r.missing else "covered")
        )
        lines.append(
            f"| {r.indicator} | {r.title} | {r.pillar} | {', '.join(r.rules)} "
            f"| {', '.join(r.columns)} | {status} |"
        )
    return "\n".join(lines) + "\n"


def _param_text(rule: Rule) -> str:
    parts = []
    for name, p in rule.params.items():
        tag = f"[src: {p.source}]" if p.source else "[default]"
        parts.append(f"`{name}` = {p.value}{' ' + p.currency if p.currency else ''} {tag}")
    return "<br>".join(parts) or "—"


def catalogue_markdown(pack: RulePack) -> str:
    """`docs/rules.md`: one section per rule, generated from the YAML."""
    out = [
        "# Rule catalogue",
        "",
        "Generated from the YAML rules by `moneytrail rules catalogue --out docs/rules.md`;",
        "a test keeps it in sync. Thresholds tagged [src] are stated by the cited source;",
        "[default] values are starting points to tune with `moneytrail tune`.",
        "",
        "| id | title | kind | pillar | severity | weight | role |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in pack.rules:
        out.append(
            f"| [{r.id}](#{r.id.lower()}) | {r.title} | {r.kind} | {r.pillar} "
            f"| {r.severity} | {r.weight:g} | {r.subject_role} |"
        )
    for r in pack.rules:
        compiled = compile_rule(r)
        rel = Path(r.path)
        with contextlib.suppress(ValueError):  # a rule outside the shipped pack keeps its path
            rel = rel.resolve().relative_to(RULES_DIR.resolve().parent)
        out += [
            "",
            f"## {r.id}",
            "",
            f"**{r.title}** — `{rel.as_posix()}`",
            "",
            r.description or "(no description)",
            "",
            f"- **Sources:** {', '.join(r.references) or '—'}",
            f"- **Kind:** {r.kind}; partition key `{compiled.partition_key}`; "
            f"specificity {r.specificity}",
            f"- **Parameters:** {_param_text(r)}",
            f"- **Data needed:** {', '.join(f'`{c}`' for c in sorted(compiled.columns))}",
            f"- **Tests:** {len(r.tests)} "
            f"({', '.join(sorted({t.case for t in r.tests})) or 'none'})",
        ]
    return "\n".join(out) + "\n"
