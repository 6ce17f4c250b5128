"""Rule files -> typed, frozen rule specs, with every problem of a pack collected and located.

A rule is a YAML document: identity and provenance, then `kind` and its logic, then `params`
and `tests`. Expressions are SQL strings parsed by `polars.sql_expr` after `$param` and
`@list` substitution; they are checked here against the canonical columns, so the compiler
and the executor never see a bad one.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from engine.errors import Diagnostic, InputError, RuleError, suggest
from engine.lists import LIST_REF, RefLists, load_lists
from engine.paths import RULES_DIR
from engine.rulemeta import META_KEYS, PILLARS, ROLES, SEVERITIES, STATUSES, check_meta
from engine.schema import CUSTOMER_COLUMNS, TRANSACTION_COLUMNS
from engine.sqlcheck import find_name, in_string, text_comparisons
from engine.yamldoc import Doc, KeyPath, load_docs, yaml_diagnostic

__all__ = [
    "DURATION_PATTERN",
    "META_KEYS",
    "PARAM_KEYS",
    "PILLARS",
    "ROLES",
    "SEVERITIES",
    "STATUSES",
    "Param",
    "ParseContext",
    "Rule",
    "RulePack",
    "RuleTest",
    "load_pack",
    "parse_duration",
    "parse_params",
]

PARAM_KEYS = ("value", "src", "currency", "note")
DURATION_PATTERN = r"^(\d+)(us|ms|s|m|h|d|w)$"
_DURATION = re.compile(DURATION_PATTERN)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_REFERENCE = re.compile(_PARAM.pattern + "|" + LIST_REF.pattern)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# characters that make a text mean something else as a regular expression (regex::escape's)
_REGEX_META = r"[\\.+*?()|\[\]{}^$#&\-~]"


def _fast_forms(expr: pl.Expr, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """The same expression, with two SQL forms that Polars runs slowly made fast, values kept.

    - `strpos(text, pattern)` is `str.find(pattern)`, a regular-expression search. With a
      pattern column (`strpos(upper(counterparty_name), upper(surname_norm))`) it builds a
      regex per row from a small cache, which rows in time order miss nearly every time:
      seconds per million rows. A pattern free of regex metacharacters matches exactly where
      it occurs as plain text, so those rows are searched as plain text; the others keep the
      regex search (and its errors for a broken pattern).
    - `text IN ('a', 'b')` is Polars' SQL `IN`, which a grouped or rolling aggregation cannot
      treat as elementwise, so a measure such as `sum(CASE WHEN mcc IN (...) THEN 1 END)` is
      evaluated once per group or window (50x slower). For a text column and a list of texts
      without NULL it gives exactly what `is_in` gives, so it becomes `is_in`. Lists with a
      NULL (SQL's three-valued IN) and other types are left as they are.
    """
    text = expr.meta.serialize(format="json")
    if '"Find"' not in text and '"IsIn"' not in text:
        return expr

    def from_tree(tree: Any) -> pl.Expr:
        return pl.Expr.deserialize(io.StringIO(json.dumps(tree)), format="json")

    def as_tree(new: pl.Expr) -> Any:
        return json.loads(new.meta.serialize(format="json"))

    def dtype(of: pl.Expr) -> pl.DataType | None:
        read = {n: schema[n] for n in of.meta.root_names() if n in schema}
        try:
            return pl.LazyFrame(schema=read).select(of.alias("_")).collect_schema()["_"]
        except Exception:  # any failure keeps the SQL form
            return None

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(x) for x in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Literal"}:
            return node
        function = node["Function"].get("function") if set(node) == {"Function"} else None
        if isinstance(function, dict):
            inputs = [rewrite(x) for x in node["Function"]["input"]]
            string = function.get("StringExpr")
            if (
                isinstance(string, dict)
                and "Find" in string
                and not string["Find"]["literal"]
                and set(inputs[1]) != {"Literal"}
            ):
                found, needle = from_tree(inputs[0]), from_tree(inputs[1])
                special = needle.str.contains(_REGEX_META)
                as_regex = found.str.find(
                    pl.when(special).then(needle), strict=bool(string["Find"]["strict"])
                )
                as_text = found.str.find(needle, literal=True)
                return as_tree(pl.when(special).then(as_regex).otherwise(as_text))
            sql = function.get("Sql")
            if isinstance(sql, dict) and "IsIn" in sql and set(inputs[1]) == {"Literal"}:
                value, options = from_tree(inputs[0]), sql["IsIn"]
                listed = pl.select(from_tree(inputs[1])).to_series()  # one list of values
                values = listed.explode() if listed.dtype == pl.List(pl.String) else listed
                if (
                    not options.get("nulls_equal")
                    and listed.len() == 1
                    and values.dtype == pl.String
                    and values.null_count() == 0
                    and dtype(value) == pl.String
                ):
                    return as_tree(value.is_in(values.implode()))
            return {"Function": {**node["Function"], "input": inputs}}
        return {k: rewrite(v) for k, v in node.items()}

    return from_tree(rewrite(json.loads(text)))


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
    lists: Mapping[str, tuple[Mapping[str, Any], ...]]
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
    explain: str = ""
    batch_windows: bool = False  # an expression uses OVER: its result depends on the batch


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
        self.batch_windows = False
        self._broken: set[str] = set()  # measures whose expression has a reported problem

    def error(self, keys: KeyPath, problem: str, suggestion: str = "") -> None:
        """Record a located problem."""
        self.errors.append(self.doc.diagnostic(keys, self.rule_id, problem, suggestion))

    def error_at(self, keys: KeyPath, offset: int, problem: str, suggestion: str = "") -> None:
        """Record a problem at a character offset inside the scalar at `keys`."""
        self.errors.append(
            self.doc.diagnostic(keys, self.rule_id, problem, suggestion, offset=max(offset, 0))
        )

    def substitute(self, keys: KeyPath, text: str) -> str | None:
        """Replace `$param` and `@list` references; None (with errors) when one is unknown.

        References inside SQL string literals (`'%@gmail%'`) are text, not references.
        """
        ok = True

        def param(match: re.Match[str]) -> str:
            nonlocal ok
            name = match.group(1)
            if name not in self.params:
                ok = False
                self.error_at(
                    keys,
                    match.start(),
                    f"unknown param '${name}'",
                    suggest(f"${name}", [f"${p}" for p in self.params]),
                )
                return "NULL"
            self.used_params.add(name)
            value = self.params[name].value
            if isinstance(value, str):
                return "'" + value.replace("'", "''") + "'"
            return repr(value) if not isinstance(value, bool) else str(value).upper()

        def ref(match: re.Match[str]) -> str:
            nonlocal ok
            name, group = match.group(2), match.group(3)
            if name not in self.lists.tables:
                ok = False
                self.error_at(
                    keys,
                    match.start(),
                    f"unknown list '@{name}'",
                    suggest(f"@{name}", [f"@{t}" for t in self.lists.tables]),
                )
                return "(NULL)"
            literal = self.lists.sql_tuple(name, group)
            # an empty list (a per-bank feed not supplied) has no groups to check against
            unknown_group = group is not None and group not in self.lists.groups(name)
            if literal is None or (unknown_group and not self.lists.is_empty(name)):
                ok = False
                self.error_at(
                    keys,
                    match.start(3),
                    f"list '@{name}' has no group '{group}'",
                    suggest(str(group), self.lists.groups(name))
                    or "groups: " + ", ".join(self.lists.groups(name)),
                )
                return "(NULL)"
            return literal

        def either(match: re.Match[str]) -> str:
            if in_string(match.string, match.start()):
                return match.group()
            return param(match) if match.group(1) is not None else ref(match)

        out = _REFERENCE.sub(either, str(text))
        return out if ok else None

    def expr(
        self, keys: KeyPath, text: Any, *, names: Mapping[str, pl.DataType] | None = None
    ) -> pl.Expr | None:
        """Parse a SQL expression and check its columns against `names` (default: canonical)."""
        expr = None
        if not isinstance(text, (str, int, float)) or isinstance(text, bool):
            self.error(keys, "expected a SQL expression string")
        else:
            substituted = self.substitute(keys, str(text))
            expr = None if substituted is None else self._parse_sql(keys, substituted)
        if expr is None:
            if len(keys) == 2 and keys[0] == "measures":
                self._broken.add(str(keys[1]))
            return None
        allowed = dict(names) if names is not None else _ROW_COLUMNS
        unknown = [n for n in dict.fromkeys(expr.meta.root_names()) if n not in allowed]
        # a broken measure (or measures block) would make every later use of it look unknown
        # too: its cause is reported once, where it is
        cascade = names is not None and any(e.field == "measures" for e in self.errors)
        for name in unknown:
            if name not in self._broken and not cascade:
                offset = find_name(str(text), name)
                self.error_at(keys, offset, f"unknown column '{name}'", suggest(name, allowed))
        if unknown:
            return None
        self.columns.update(n for n in expr.meta.root_names() if n in _ROW_COLUMNS)
        if ".over(" in str(expr):
            # a window function (OVER) reads every row scanned together with this one
            self.batch_windows = True
        if not self._type_check(keys, str(text), expr, allowed):
            return None
        return _fast_forms(expr, allowed)

    def _parse_sql(self, keys: KeyPath, sql: str) -> pl.Expr | None:
        try:
            return pl.sql_expr(sql)
        except Exception as exc:  # polars raises several exception types for bad SQL
            self.error_at(keys, 0, f"bad SQL expression: {_first_line(exc)}")
            return None

    def _type_check(
        self, keys: KeyPath, text: str, expr: pl.Expr, allowed: Mapping[str, pl.DataType]
    ) -> bool:
        try:  # on an empty frame: catches `channel > 5`, `sum(channel)` and friends
            # only the columns it reads: building a frame of every column costs more than
            # the check itself, and this runs for every expression of the pack
            read = {n: allowed[n] for n in expr.meta.root_names() if n in allowed}
            pl.LazyFrame(schema=read).select(expr.alias("_check")).collect()
        except Exception as exc:
            self.error_at(keys, 0, f"type error: {_first_line(exc)}")
            return False
        # Polars reads `amount > 'abc'` as a comparison with null, silently: not here
        mismatches = text_comparisons(expr, allowed)
        for found in mismatches:
            quoted = "'" + found.literal.replace("'", "''") + "'"
            offset = text.find(quoted)
            if offset < 0 and found.column:
                offset = find_name(text, found.column)
            self.error_at(
                keys,
                offset,
                f"type error: cannot compare {found.what} with the text {quoted}",
                found.hint,
            )
        return not mismatches

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


def parse_params(doc: Doc, rule_id: str, raw: Any, errors: list[Diagnostic]) -> dict[str, Param]:
    """A rule's (or feature set's) `params:`: values, with `src` for sourced numbers."""
    out: dict[str, Param] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        errors.append(doc.diagnostic(("params",), rule_id, "params must be a mapping"))
        return out
    for name, value in raw.items():
        if isinstance(value, dict):
            unknown = set(value) - set(PARAM_KEYS)
            for key in sorted(unknown):
                errors.append(
                    doc.diagnostic(
                        ("params", name, key),
                        rule_id,
                        f"unknown key '{key}'",
                        suggest(key, PARAM_KEYS),
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
    errors.extend(check_meta(doc, data, rule_id, KINDS))
    kind_name = data.get("kind")
    kind = KINDS.get(str(kind_name))
    params = parse_params(doc, rule_id, data.get("params"), errors)
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
    try:
        logic = kind.parse(ctx, data) if kind else None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # a value of a shape the kind's parser did not expect still becomes one located line
        ctx.error(("kind",), f"cannot read this {kind_name} rule: {exc}")
        logic = None
    errors.extend(ctx.errors)
    tests = _tests(doc, rule_id, data.get("tests"), errors)
    for i, case in enumerate(tests):
        for name in case.params:
            if name not in params:
                errors.append(
                    doc.diagnostic(
                        ("tests", i, "params", name),
                        rule_id,
                        f"unknown param '{name}'",
                        suggest(str(name), params),
                        at_key=True,
                    )
                )
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
            weight=float(data.get("weight", 1.0)),
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
            batch_windows=ctx.batch_windows,
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
        InputError: a given path does not exist.
        RuleError: any rule has a problem; all problems of the pack are reported at once.
    """
    ref_lists = lists or load_lists()
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise InputError(f"{', '.join(missing)}: no such rule file or folder")
    files = rule_files(*(paths or (RULES_DIR,)))
    overrides = overrides or {}
    errors: list[Diagnostic] = []
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    first_at: dict[str, str] = {}  # rule id -> where it is first defined, broken or not
    digest = hashlib.sha256()
    for path in files:
        text = path.read_text(encoding="utf-8")
        digest.update(path.name.encode() + b"\0" + text.encode())
        try:
            docs = load_docs(path, text)
        except yaml.YAMLError as exc:
            errors.append(yaml_diagnostic(path, exc, text))
            continue
        for doc in docs:
            if doc.data is None:  # an empty document, as after a trailing `---`
                continue
            rule_id = str(doc.data.get("id")) if isinstance(doc.data, dict) else "-"
            if only is not None and rule_id not in only:
                continue
            rule, problems = _parse_rule(doc, ref_lists, overrides.get(rule_id, {}))
            errors.extend(problems)
            if isinstance(doc.data, dict) and "id" in doc.data:
                line, col = doc.where(("id",))
                if rule_id in first_at:
                    errors.append(
                        doc.diagnostic(
                            ("id",),
                            rule_id,
                            f"duplicate id, first used at {first_at[rule_id]}",
                            "give each rule its own id",
                        )
                    )
                    continue
                first_at[rule_id] = f"{doc.path}:{line}:{col}"
            if rule is not None:
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
