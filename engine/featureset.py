"""Feature sets: per-account behaviour over a window, declared in YAML (`rules/features/`).

Each feature is a SQL aggregate over the account's transactions in the window (optionally over
the rows of a `where`), an expression over earlier features, or a built-in that needs time
order (pass-through, dwell time, velocity against the account's own history):

```yaml
id: FS-BEHAV-01
window: 90d
segments:
  individual: {where: "customer_type = 'individual'", label: individuals}
features:
  credits: {sql: "sum(amount_base)", where: "direction = 'in'", helper: true}
  night_cash: {sql: "sum(amount_base)", where: "direction = 'in' AND ...", helper: true}
  night_cash_share:
    label: night-time cash deposits
    unit: share
    of: of credits
    sql: "night_cash / credits"
    evidence: "direction = 'in' AND channel IN ('cash', 'atm')"
  pass_through: {builtin: pass_through, args: {within: 48h}, unit: share}
```

Parsing reuses the rule language (`ParseContext`): `$param` and `@list` substitution, column
checks, and located diagnostics in the one format. Expressions may use `window_days`, the
days the window covers in the data at hand (fewer than `window` when the data is shorter).
A feature's `tail` says which side of the peer median can be unusual: `upper` (most risk
signals: more cash, more cities), `lower` (money that stays only a short time) or `both` (the
default); values on the other side count as typical. A feature set's `digest` changes
whenever what its features mean changes (the document, or a reference list it names), so a
saved model knows when it is stale. `engine.features` computes them.
"""

from __future__ import annotations

import hashlib
import json
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
from engine.spec import ParseContext, parse_duration, parse_params
from engine.yamldoc import Doc, KeyPath, load_docs, yaml_diagnostic

__all__ = [
    "BUILTIN_ARGS",
    "ENTITY",
    "FEATURES_DIR",
    "TAILS",
    "UNITS",
    "WINDOW_DAYS",
    "Feature",
    "FeatureSet",
    "Segment",
    "feature_set_files",
    "find_feature_set",
    "load_feature_set",
]

FEATURES_DIR = RULES_DIR / "features"
UNITS = ("share", "count", "money", "ratio", "hours", "days", "number")
TOP_KEYS = (
    "id",
    "title",
    "description",
    "version",
    "references",
    "window",
    "params",
    "segments",
    "features",
)
FEATURE_KEYS = (
    "label",
    "unit",
    "of",
    "sql",
    "where",
    "builtin",
    "args",
    "evidence",
    "log",
    "helper",
    "fill",
    "tail",
)
TAILS = ("both", "upper", "lower")
WINDOW_DAYS = "window_days"  # a number expressions may use: the days the window covers
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ROW_COLUMNS: dict[str, pl.DataType] = {
    **TRANSACTION_COLUMNS,
    **{k: v for k, v in CUSTOMER_COLUMNS.items() if k != "customer_id"},
}
ENTITY = "account_id"  # features are per account
_BUILTIN_COLUMNS = frozenset(("txn_id", "ts_utc", "direction", "amount_base"))


ArgSpec = tuple[str, Any]  # (duration | number | one|of|these, default)
BUILTIN_ARGS: dict[str, dict[str, ArgSpec]] = {
    # share of credited money that leaves again within `within` of each credit
    "pass_through": {"within": ("duration", "48h"), "min_amount": ("number", 0)},
    # median hours until debits after a credit reach `share` of it (capped at `cap`, or the window)
    "dwell_hours": {
        "share": ("number", 0.8),
        "min_amount": ("number", 0),
        "cap": ("duration", None),
    },
    # daily rate in the last `recent` over the daily rate earlier in the window (+ `prior`)
    "velocity_change": {
        "recent": ("duration", "30d"),
        "of": ("credits|debits|count", "credits"),
        "prior": ("number", 1),
    },
}


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature: how it is computed and how a person reads its value."""

    name: str
    label: str
    unit: str = "number"
    of: str = ""
    expr: pl.Expr | None = None  # an aggregate over rows, or an expression over features
    derived: bool = False
    where: pl.Expr | None = None
    builtin: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    evidence: pl.Expr | None = None
    log: bool = False
    helper: bool = False
    fill: float = 0.0
    tail: str = "both"

    def show(self, value: float) -> str:
        """The value in plain words: `64% of credits`, `7 cities`, `3.2x declared income`."""
        if self.unit == "share":
            text = "<1%" if 0 < value < 0.005 else f"{value:.0%}"
        elif self.unit == "count":
            text = f"{value:,.0f}" if value >= 10 or value == round(value) else f"{value:.1f}"
        elif self.unit == "money":
            text = f"{value:,.0f}"
        elif self.unit == "ratio":
            text = f"{value:.1f}x" if value < 100 else f"{value:,.0f}x"
        elif self.unit == "hours":
            text = f"{value:.1f} h"
        elif self.unit == "days":
            text = f"{value:.1f} days"
        else:
            text = f"{value:,.3g}"
        return f"{text} {self.of}".strip()


@dataclass(frozen=True, slots=True)
class Segment:
    """A peer group: accounts whose KYC satisfies `where` (first matching segment wins)."""

    name: str
    where: pl.Expr
    label: str


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """A parsed feature set; `digest` changes whenever what the features mean changes."""

    id: str
    title: str
    path: str
    window: timedelta
    features: tuple[Feature, ...]
    segments: tuple[Segment, ...]
    digest: str
    columns: frozenset[str]
    description: str = ""

    @property
    def model_features(self) -> tuple[Feature, ...]:
        """The features handed to a detector (helpers excluded)."""
        return tuple(f for f in self.features if not f.helper)

    def feature(self, name: str) -> Feature:
        """The feature called `name`."""
        return next(f for f in self.features if f.name == name)

    def segment(self, name: str) -> Segment | None:
        """The segment called `name`, if any."""
        return next((s for s in self.segments if s.name == name), None)


# -- parsing ----------------------------------------------------------------------------------


def _arg(ctx: ParseContext, keys: KeyPath, kind: str, raw: Any) -> Any:
    if isinstance(raw, str) and raw.startswith("$"):
        name = raw[1:]
        if name not in ctx.params:
            ctx.error(keys, f"unknown param '{raw}'", suggest(name, ctx.params))
            return None
        ctx.used_params.add(name)
        raw = ctx.params[name].value
    if kind == "duration":
        value = parse_duration(str(raw))
        if value is None or value <= timedelta(0):
            ctx.error(keys, f"bad duration '{raw}'", "use a number and a unit: 30m, 48h, 7d")
        return value
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            ctx.error(keys, f"expected a number, not {raw!r}")
            return None
        return float(raw)
    choices = kind.split("|")
    if raw not in choices:
        ctx.error(
            keys,
            f"unknown value {raw!r}",
            suggest(str(raw), choices) or "one of: " + ", ".join(choices),
        )
    return raw


def _builtin(ctx: ParseContext, keys: KeyPath, name: Any, raw_args: Any) -> dict[str, Any] | None:
    spec = BUILTIN_ARGS.get(str(name))
    if spec is None:
        ctx.error(
            (*keys, "builtin"),
            f"unknown builtin '{name}'",
            suggest(str(name), BUILTIN_ARGS) or "builtins: " + ", ".join(sorted(BUILTIN_ARGS)),
        )
        return None
    raw_args = raw_args if raw_args is not None else {}
    if not isinstance(raw_args, dict):
        ctx.error((*keys, "args"), "args must be a mapping")
        return None
    args: dict[str, Any] = {}
    for arg in raw_args:
        if arg not in spec:
            ctx.error(
                (*keys, "args", arg),
                f"unknown key '{arg}'",
                suggest(str(arg), spec) or "args: " + ", ".join(spec),
            )
    for arg, (kind, default) in spec.items():
        raw = raw_args.get(arg, default)
        args[arg] = None if raw is None else _arg(ctx, (*keys, "args", arg), kind, raw)
    return args


def _feature(
    ctx: ParseContext, name: str, raw: Any, names: dict[str, pl.DataType]
) -> Feature | None:
    keys: KeyPath = ("features", name)
    if not isinstance(raw, dict):
        ctx.error(keys, "a feature is a mapping with sql or builtin", "e.g. {sql: 'count(*)'}")
        return None
    for key in raw:
        if key not in FEATURE_KEYS:
            ctx.error((*keys, key), f"unknown key '{key}'", suggest(str(key), FEATURE_KEYS))
    if not _NAME.match(name) or name in _ROW_COLUMNS:
        ctx.error(
            keys,
            f"feature name '{name}' "
            + ("shadows a column" if name in _ROW_COLUMNS else "is not a name"),
            "use lower_case letters, digits and _",
        )
    tail = str(raw.get("tail", "both"))
    if tail not in TAILS:
        ctx.error(
            (*keys, "tail"), f"unknown tail '{tail}'", suggest(tail, TAILS) or ", ".join(TAILS)
        )
    unit = str(raw.get("unit", "number"))
    if unit not in UNITS:
        ctx.error(
            (*keys, "unit"), f"unknown unit '{unit}'", suggest(unit, UNITS) or ", ".join(UNITS)
        )
    where = ctx.expr((*keys, "where"), raw["where"]) if "where" in raw else None
    evidence = ctx.expr((*keys, "evidence"), raw["evidence"]) if "evidence" in raw else None
    expr, derived, builtin, args = None, False, None, {}
    if ("sql" in raw) == ("builtin" in raw):
        ctx.error(keys, "a feature needs exactly one of sql or builtin")
    elif "sql" in raw:
        known = {**_ROW_COLUMNS, **names, WINDOW_DAYS: pl.Float64()}
        expr = ctx.expr((*keys, "sql"), raw["sql"], names=known)
        if expr is not None:
            roots = set(expr.meta.root_names())
            derived = bool(roots) and roots <= {*names, WINDOW_DAYS}
            if derived and where is not None:
                ctx.error((*keys, "where"), "an expression over features takes no where")
    else:
        builtin = str(raw["builtin"])
        args = _builtin(ctx, keys, builtin, raw.get("args")) or {}
        ctx.columns.update(_BUILTIN_COLUMNS)
    fill = raw.get("fill", 0.0)
    if isinstance(fill, bool) or not isinstance(fill, int | float):
        ctx.error((*keys, "fill"), f"expected a number, not {fill!r}")
        fill = 0.0
    for flag in ("log", "helper"):
        if flag in raw and not isinstance(raw[flag], bool):
            ctx.error((*keys, flag), f"expected true or false, not {raw[flag]!r}")
    return Feature(
        name=name,
        label=str(raw.get("label", name.replace("_", " "))),
        unit=unit,
        of=str(raw.get("of", "")),
        expr=None if expr is None else expr.alias(name),
        derived=derived,
        where=where,
        builtin=builtin,
        args=args,
        evidence=evidence if evidence is not None else where,
        log=bool(raw.get("log", False)),
        helper=bool(raw.get("helper", False)),
        fill=float(fill),
        tail=tail,
    )


def _segments(ctx: ParseContext, raw: Any) -> list[Segment]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        ctx.error(("segments",), "segments must be a mapping of name: {where, label}")
        return []
    out = []
    for name, spec in raw.items():
        keys: KeyPath = ("segments", name)
        if not isinstance(spec, dict) or "where" not in spec:
            ctx.error(
                keys, "a segment needs a where", "e.g. {where: \"customer_type = 'individual'\"}"
            )
            continue
        for key in spec:
            if key not in ("where", "label"):
                ctx.error(
                    (*keys, key), f"unknown key '{key}'", suggest(str(key), ("where", "label"))
                )
        where = ctx.expr((*keys, "where"), spec["where"])
        if where is not None:
            out.append(Segment(str(name), where, str(spec.get("label", name))))
    return out


def _digest(doc: Doc, lists: RefLists, source: str) -> str:
    """What the features mean: the document, and the contents of the lists it names."""
    digest = hashlib.sha256(yaml.safe_dump(doc.data, sort_keys=True).encode())
    for match in sorted(set(LIST_REF.findall(source))):
        digest.update(json.dumps([match, lists.sql_tuple(*match) or ""]).encode())
    return digest.hexdigest()[:16]


def _parse(doc: Doc, lists: RefLists, source: str) -> tuple[FeatureSet | None, list[Diagnostic]]:
    data = doc.data
    if not isinstance(data, dict):
        return None, [doc.diagnostic((), "-", "a feature set is a YAML mapping")]
    fs_id = str(data.get("id") or "-")
    errors: list[Diagnostic] = []
    for path, key in doc.duplicate_keys:
        errors.append(doc.diagnostic(path, fs_id, f"duplicate key '{key}'", "keep one of the two"))
    if "id" not in data:
        errors.append(doc.diagnostic(("id",), fs_id, "missing id", "add id: FS-NAME-NN"))
    for key in data:
        if key not in TOP_KEYS:
            errors.append(
                doc.diagnostic((key,), fs_id, f"unknown key '{key}'", suggest(str(key), TOP_KEYS))
            )
    params = parse_params(doc, fs_id, data.get("params"), errors)
    ctx = ParseContext(doc, fs_id, params, lists)
    window = ctx.duration(("window",), data.get("window", "90d"))
    segments = _segments(ctx, data.get("segments"))
    raw_features = data.get("features")
    features: list[Feature] = []
    if not isinstance(raw_features, dict) or not raw_features:
        ctx.error(("features",), "features must be a non-empty mapping of name: definition")
        raw_features = {}
    names: dict[str, pl.DataType] = {}
    for name, raw in raw_features.items():
        before = len(ctx.errors)
        feature = _feature(ctx, str(name), raw, names)
        names[str(name)] = pl.Float64()  # a broken feature is still a name: no cascade
        if feature is not None and len(ctx.errors) == before:
            features.append(feature)
    if features and all(f.helper for f in features):
        ctx.error(("features",), "every feature is a helper: the detector would see nothing")
    for name in sorted(set(params) - ctx.used_params):
        ctx.error(("params", name), f"param {name} is never used", "remove it")
    errors.extend(ctx.errors)
    if errors or window is None:
        return None, errors
    return (
        FeatureSet(
            id=fs_id,
            title=str(data.get("title", fs_id)),
            path=doc.path,
            window=window,
            features=tuple(features),
            segments=tuple(segments),
            digest=_digest(doc, lists, source),
            columns=frozenset(ctx.columns | {ENTITY, "ts_utc", "txn_id"}),
            description=str(data.get("description", "")).strip(),
        ),
        [],
    )


def load_feature_set(path: Path | str, *, lists: RefLists | None = None) -> FeatureSet:
    """Parse one feature-set file.

    Raises:
        RuleError: every problem of the file, located.
    """
    source = Path(path).read_text(encoding="utf-8")
    try:
        docs = load_docs(path, source)
    except yaml.YAMLError as exc:
        raise RuleError([yaml_diagnostic(path, exc)]) from None
    if len(docs) != 1:
        raise RuleError(
            [Diagnostic(str(path), 1, 1, "-", "-", "a feature set is one YAML document")]
        )
    feature_set, errors = _parse(docs[0], lists or load_lists(), source)
    if feature_set is None:
        raise RuleError(errors)
    return feature_set


def feature_set_files(near: Path | str | None = None) -> list[Path]:
    """Feature-set files in a `features/` folder beside or above `near`, then the shipped ones."""
    folders: list[Path] = []
    if near is not None:
        start = Path(near).resolve()
        for parent in list(start.parents)[:3]:
            folders.append(parent / "features")
    folders.append(FEATURES_DIR.resolve())
    found: list[Path] = []
    for folder in dict.fromkeys(folders):
        if folder.is_dir():
            found.extend(sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml")))
    return found


def _declared_id(path: Path) -> str | None:
    match = re.search(r"^id:\s*['\"]?([^'\"\s#]+)", path.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else None


def find_feature_set(ref: str, *, near: Path | str | None = None) -> tuple[Path | None, list[str]]:
    """The file of feature set `ref` (an id, or a path relative to `near`'s folder).

    Returns the path (or None) and the ids that were found, for a suggestion.
    """
    if ref.endswith((".yaml", ".yml")):
        base = Path(near).parent if near is not None else Path.cwd()
        path = (base / ref) if not Path(ref).is_absolute() else Path(ref)
        return (path if path.is_file() else None), []
    ids: list[str] = []
    for path in feature_set_files(near):
        declared = _declared_id(path)
        if declared == ref:
            return path, ids
        if declared:
            ids.append(declared)
    return None, ids
