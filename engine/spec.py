"""Rule files -> typed, frozen rule specs, with every problem of a pack collected and located.

A rule is a YAML document: identity and provenance, then `kind` and its logic, then `params`
and `tests`. Expressions are SQL strings parsed by `polars.sql_expr` after `$param` and
`@list` substitution; they are checked here against the canonical columns, so the compiler
and the executor never see a bad one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from engine.errors import Diagnostic, RuleError, suggest
from engine.lists import LIST_REF, RefLists, load_lists
from engine.paths import RULES_DIR
from engine.schema import CUSTOMER_COLUMNS, TRANSACTION_COLUMNS
from engine.yamldoc import Doc, KeyPath, load_docs

__all__ = [
    "META_KEYS",
    "PILLARS",
    "SEVERITIES",
    "Param",
    "ParseContext",
    "Rule",
    "RulePack",
    "RuleTest",
    "load_pack",
    "parse_duration",
]

PILLARS = ("recruitment_transport", "exploitation_revenue", "moving_proceeds", "network")
SEVERITIES = ("low", "medium", "high", "critical")
ROLES = ("controller", "victim", "buyer", "facilitator", "launderer", "mule", "unknown")
STATUSES = ("stable", "test", "experimental", "deprecated")
META_KEYS = (
    "id",
    "title",
    "description",
    "typology",
    "pillar",
    "severity",
    "weight",
    "specificity",
    "subject_role",
    "references",
    "status",
    "version",
    "tags",
    "kind",
    "params",
    "tests",
    "explain",
)
_ID = re.compile(r"^(HT|ML|AN|[A-Z]{2,6})-[A-Z0-9]+-\d{2}$")
_DURATION = re.compile(r"^(\d+)(us|ms|s|m|h|d|w)$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def parse_duration(text: str) -> timedelta | None:
    """`7d`, `48h`, `30m`, `90s`, `2w` -> timedelta; None when malformed."""
    match = _DURATION.match(str(text).strip())
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2)
    return {
        "us": timedelta(microseconds=n),
        "ms": timedelta(milliseconds=n),
        "s": timedelta(seconds=n),
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]


@dataclass(frozen=True, slots=True)
class Param:
    """A rule parameter: its value and whether a cited source states it."""

    value: Any
    source: str | None = None  # the citation when the number is taken from a source ([src])
    currency: str | None = None
    note: str = ""

    @property
    def sourced(self) -> bool:
        """True for [src] numbers, False for [default] values to tune."""
        return self.source is not None


@dataclass(frozen=True, slots=True)
class RuleTest:
    """One inline test case of a rule."""

    name: str
    case: str  # positive | near_miss | lookalike | edge
    transactions: tuple[Mapping[str, Any], ...]
    customers: tuple[Mapping[str, Any], ...]
    params: Mapping[str, Any]
    expect_alerts: int
    expect_entities: tuple[str, ...] | None
    line: int


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed rule: metadata, resolved params, kind-specific logic and its tests."""

    id: str
    title: str
    kind: str
    logic: Any
    path: str
    line: int
    description: str = ""
    typology: str = ""
    pillar: str = "network"
    severity: str = "medium"
    weight: float = 1.0
    specificity: str = "normal"
    subject_role: str = "unknown"
    references: tuple[str, ...] = ()
    status: str = "stable"
    version: str = "1"
    tags: tuple[str, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    tests: tuple[RuleTest, ...] = ()
    used_params: frozenset[str] = frozenset()
    columns: frozenset[str] = frozenset()
    source_text: str = ""
    explain: str = ""


@dataclass(frozen=True, slots=True)
class RulePack:
    """Every rule of a pack, in id order, and the hash of its text."""

    rules: tuple[Rule, ...]
    digest: str
    lists: RefLists

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)


class ParseContext:
    """What a kind's parser needs: the doc, the rule id, params, lists and the error list."""

    def __init__(
        self, doc: Doc, rule_id: str, params: Mapping[str, Param], lists: RefLists
    ) -> None:
        self.doc = doc
        self.rule_id = rule_id
        self.params = params
        self.lists = lists
        self.errors: list[Diagnostic] = []
        self.used_params: set[str] = set()
        self.columns: set[str] = set()

    def error(self, keys: KeyPath, problem: str, suggestion: str = "") -> None:
        """Record a located problem."""
        self.errors.append(self.doc.diagnostic(keys, self.rule_id, problem, suggestion))

    def error_at(self, keys: KeyPath, offset: int, problem: str, suggestion: str = "") -> None:
        """Record a problem at a character offset inside the scalar at `keys`."""
        line, col = self.doc.where(keys)
        quoted = 1 if self._is_quoted(keys) else 0
        field_name = ".".join(str(k) for k in keys)
        self.errors.append(
            Diagnostic(
                self.doc.path,
                line,
                col + offset + quoted,
                self.rule_id,
                field_name,
                problem,
                suggestion,
            )
        )

    def _is_quoted(self, keys: KeyPath) -> bool:
        line, col = self.doc.where(keys)
        try:
            source = Path(self.doc.path).read_text(encoding="utf-8").splitlines()[line - 1]
            return source[col - 1 : col] in ("'", '"')
        except (OSError, IndexError):
            return False

    def substitute(self, keys: KeyPath, text: str) -> str | None:
        """Replace `$param` and `@list` references; None (with errors) when one is unknown."""
        ok = True

        def param(match: re.Match[str]) -> str:
            nonlocal ok
            name = match.group(1)
            if name not in self.params:
                ok = False
                self.error_at(
                    keys, match.start(), f"unknown param '${name}'", suggest(name, self.params)
                )
                return "NULL"
            self.used_params.add(name)
            value = self.params[name].value
            if isinstance(value, str):
                return "'" + value.replace("'", "''") + "'"
            return repr(value) if not isinstance(value, bool) else str(value).upper()

        def ref(match: re.Match[str]) -> str:
            nonlocal ok
            name, group = match.group(1), match.group(2)
            literal = self.lists.sql_tuple(name, group)
            if literal is None or (group is not None and group not in self.lists.groups(name)):
                ok = False
                if name not in self.lists.tables:
                    self.error_at(
                        keys,
                        match.start(),
                        f"unknown list '@{name}'",
                        suggest(name, self.lists.tables),
                    )
                else:
                    self.error_at(
                        keys,
                        match.start(),
                        f"list '@{name}' has no group '{group}'",
                        suggest(str(group), self.lists.groups(name)),
                    )
                return "(NULL)"
            return literal

        out = LIST_REF.sub(ref, _PARAM.sub(param, str(text)))
        return out if ok else None

    def expr(
        self, keys: KeyPath, text: Any, *, names: Mapping[str, pl.DataType] | None = None
    ) -> pl.Expr | None:
        """Parse a SQL expression and check its columns against `names` (default: canonical)."""
        if not isinstance(text, (str, int, float)) or isinstance(text, bool):
            self.error(keys, "expected a SQL expression string")
            return None
        substituted = self.substitute(keys, str(text))
        if substituted is None:
            return None
        try:
            expr = pl.sql_expr(substituted)
        except Exception as exc:  # polars raises several exception types for bad SQL
            self.error(keys, f"bad SQL expression: {str(exc).splitlines()[0]}")
            return None
        allowed = dict(names) if names is not None else _ROW_COLUMNS
        unknown = [n for n in dict.fromkeys(expr.meta.root_names()) if n not in allowed]
        for name in unknown:
            offset = str(text).find(name)
            self.error_at(keys, max(offset, 0), f"unknown column '{name}'", suggest(name, allowed))
        if unknown:
            return None
        self.columns.update(n for n in expr.meta.root_names() if n in _ROW_COLUMNS)
        try:  # type check on an empty frame: catches 'amount > 'abc'' and friends at load time
            pl.LazyFrame(schema=allowed).select(expr.alias("_check")).collect()
        except Exception as exc:
            self.error(keys, f"type error: {str(exc).splitlines()[0]}")
            return None
        return expr

    def duration(self, keys: KeyPath, text: Any) -> timedelta | None:
        """Parse a duration such as `7d`, reporting malformed ones."""
        value = str(text)
        if value.startswith("$"):
            sub = self.substitute(keys, value)
            value = sub.strip("'") if sub else value
        parsed = parse_duration(value)
        if parsed is None or parsed <= timedelta(0):
            self.error(keys, f"bad duration '{text}'", "use a number and a unit: 30m, 48h, 7d, 2w")
        return parsed


_ROW_COLUMNS: dict[str, pl.DataType] = {
    **TRANSACTION_COLUMNS,
    **{k: v for k, v in CUSTOMER_COLUMNS.items() if k != "customer_id"},
}


def _params(doc: Doc, rule_id: str, raw: Any, errors: list[Diagnostic]) -> dict[str, Param]:
    out: dict[str, Param] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        errors.append(doc.diagnostic(("params",), rule_id, "params must be a mapping"))
        return out
    for name, value in raw.items():
        if isinstance(value, dict):
            unknown = set(value) - {"value", "src", "currency", "note"}
            for key in sorted(unknown):
                errors.append(
                    doc.diagnostic(
                        ("params", name, key),
                        rule_id,
                        f"unknown key '{key}'",
                        suggest(key, ("value", "src", "currency", "note")),
                    )
                )
            if "value" not in value:
                errors.append(
                    doc.diagnostic(("params", name), rule_id, "a param mapping needs a value")
                )
            out[str(name)] = Param(
                value.get("value"),
                value.get("src"),
                value.get("currency"),
                str(value.get("note", "")),
            )
        else:
            out[str(name)] = Param(value)
    return out


def _tests(doc: Doc, rule_id: str, raw: Any, errors: list[Diagnostic]) -> tuple[RuleTest, ...]:
    from engine.ruletests import parse_tests

    return parse_tests(doc, rule_id, raw, errors)


def _parse_rule(
    doc: Doc, lists: RefLists, overrides: Mapping[str, Any]
) -> tuple[Rule | None, list[Diagnostic]]:
    from engine.kinds import KINDS

    data = doc.data
    errors: list[Diagnostic] = []
    if not isinstance(data, dict):
        return None, [doc.diagnostic((), "-", "a rule is a YAML mapping")]
    rule_id = str(data.get("id") or "-")
    for path, key in doc.duplicate_keys:
        errors.append(doc.diagnostic(path, rule_id, f"duplicate key '{key}'"))
    if "id" not in data:
        errors.append(doc.diagnostic((), rule_id, "missing id"))
    elif not _ID.match(rule_id):
        errors.append(
            doc.diagnostic(
                ("id",),
                rule_id,
                f"id '{rule_id}' does not follow the convention",
                "use PREFIX-NAME-NN, e.g. HT-STRUCT-01",
            )
        )
    kind_name = data.get("kind")
    kind = KINDS.get(str(kind_name))
    if kind is None:
        errors.append(
            doc.diagnostic(
                ("kind",),
                rule_id,
                f"unknown kind '{kind_name}'",
                suggest(str(kind_name), KINDS) or "kinds: " + ", ".join(sorted(KINDS)),
            )
        )
    allowed = set(META_KEYS) | (set(kind.keys) if kind else set())
    for key in data:
        if key not in allowed:
            errors.append(
                doc.diagnostic((key,), rule_id, f"unknown key '{key}'", suggest(str(key), allowed))
            )
    for key, choices in (
        ("pillar", PILLARS),
        ("severity", SEVERITIES),
        ("subject_role", ROLES),
        ("status", STATUSES),
    ):
        if key in data and data[key] not in choices:
            errors.append(
                doc.diagnostic(
                    (key,),
                    rule_id,
                    f"unknown {key} '{data[key]}'",
                    suggest(str(data[key]), choices) or "one of: " + ", ".join(choices),
                )
            )
    weight = data.get("weight", 1.0)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
        errors.append(
            doc.diagnostic(
                ("weight",), rule_id, f"weight must be a non-negative number, not {weight!r}"
            )
        )
        weight = 1.0
    params = _params(doc, rule_id, data.get("params"), errors)
    for key, value in overrides.items():
        if key not in params:
            errors.append(
                Diagnostic(
                    "--param", 1, 1, rule_id, key, f"unknown param '{key}'", suggest(key, params)
                )
            )
        else:
            params[key] = Param(value, None, params[key].currency, "overridden for this run")
    ctx = ParseContext(doc, rule_id, params, lists)
    logic = kind.parse(ctx, data) if kind else None
    errors.extend(ctx.errors)
    tests = _tests(doc, rule_id, data.get("tests"), errors)
    refs = data.get("references") or ()
    tags = data.get("tags") or ()
    if errors:
        return None, errors
    return (
        Rule(
            id=rule_id,
            title=str(data.get("title", rule_id)),
            kind=str(kind_name),
            logic=logic,
            path=doc.path,
            line=doc.where()[0],
            description=str(data.get("description", "")).strip(),
            typology=str(data.get("typology", "")),
            pillar=str(data.get("pillar", "network")),
            severity=str(data.get("severity", "medium")),
            weight=float(weight),
            specificity=str(data.get("specificity", "normal")),
            subject_role=str(data.get("subject_role", "unknown")),
            references=tuple(str(r) for r in refs),
            status=str(data.get("status", "stable")),
            version=str(data.get("version", "1")),
            tags=tuple(str(t) for t in tags),
            params=params,
            tests=tests,
            used_params=frozenset(ctx.used_params),
            columns=frozenset(ctx.columns),
            source_text=yaml.safe_dump(data, sort_keys=True),
            explain=str(data.get("explain", "")),
        ),
        errors,
    )


def rule_files(*paths: Path | str) -> list[Path]:
    """YAML rule files under the given files or folders (mappings and lists excluded)."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*.y*ml"))
                if p.suffix in (".yaml", ".yml")
                and not {"mappings", "lists", "features", "catalogue"}
                & set(p.relative_to(path).parts[:-1])
                and not p.name.startswith("_")
            )
    return found


def load_pack(
    *paths: Path | str,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    lists: RefLists | None = None,
    only: set[str] | None = None,
) -> RulePack:
    """Load every rule under `paths` (default: the shipped pack), collecting all problems.

    Raises:
        RuleError: any rule has a problem; all problems of the pack are reported at once.
    """
    ref_lists = lists or load_lists()
    files = rule_files(*(paths or (RULES_DIR,)))
    overrides = overrides or {}
    errors: list[Diagnostic] = []
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    digest = hashlib.sha256()
    for path in files:
        text = path.read_text(encoding="utf-8")
        digest.update(path.name.encode() + b"\0" + text.encode())
        try:
            docs = list(load_docs(path, text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            errors.append(
                Diagnostic(
                    str(path),
                    line,
                    col,
                    "-",
                    "-",
                    f"not valid YAML: {getattr(exc, 'problem', exc)}",
                )
            )
            continue
        for doc in docs:
            rule_id = str(doc.data.get("id")) if isinstance(doc.data, dict) else "-"
            if only is not None and rule_id not in only:
                continue
            rule, problems = _parse_rule(doc, ref_lists, overrides.get(rule_id, {}))
            errors.extend(problems)
            if rule is None:
                continue
            if rule.id in seen:
                errors.append(
                    doc.diagnostic(
                        ("id",),
                        rule.id,
                        f"duplicate id (also in {seen[rule.id].path}:{seen[rule.id].line})",
                    )
                )
                continue
            seen[rule.id] = rule
            rules.append(rule)
    for rule_id in overrides:
        if rule_id not in seen and not any(e.rule_id == rule_id for e in errors):
            errors.append(
                Diagnostic(
                    "--param", 1, 1, rule_id, "-", "no rule with this id", suggest(rule_id, seen)
                )
            )
    if errors:
        raise RuleError(errors)
    return RulePack(tuple(sorted(rules, key=lambda r: r.id)), digest.hexdigest()[:16], ref_lists)
