"""The `anomaly` kind: accounts that behave unlike their peers, scored by a pyod model.

```yaml
kind: anomaly
features: FS-BEHAV-01          # a feature set in rules/features/ (by id, or a .yaml path)
segment: individual            # one of the feature set's segments: peers are compared with peers
detector:                      # iforest | ecod | copod | hbos | lof, with their params, or:
  name: ensemble
  combine: mean                # of the members' normalised scores
  members: [{name: iforest, n_estimators: 200}, ecod, copod, hbos]
scaling: robust                # none | standard | robust (after each feature's optional log)
alert: {top_k: $top_k, features: 3, evidence: 20}   # or contamination: 0.01, or threshold: 6
seed: 7
model: $model                  # none | fit | a folder written by `moneytrail model fit`
params:
  top_k: 25
  model: none
```

A model is fitted on a reference population, so it runs in the second stage of a scan, over
every account at once (no partition key). `model: none` (the default) skips the rule with a
notice; `fit` fits on the scanned data and scores it in one go; a folder scores with the
saved model, whose sidecar must match the rule (feature-set digest, segment, detector). Each
alert explains itself: the score, and for the features that drove it the account's value, its
percentile among its peers and its share of the score. Evidence is capped to the largest
transactions behind the top feature, and the measures say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from engine.anomaly import (
    COMBINE,
    DETECTORS,
    ENSEMBLE,
    SCALINGS,
    DetectorConfig,
    load_model,
    read_sidecar,
)
from engine.errors import InputError, RuleError, suggest
from engine.featureset import FeatureSet, Segment, find_feature_set, load_feature_set
from engine.kinds.common import EvalContext, Kind, Plan
from engine.schema import HIT_SCHEMA
from engine.scoring import AnomalyRule, Policy, alerts_of, score_rule
from engine.spec import ParseContext
from engine.yamldoc import KeyPath

__all__ = ["ANOMALY", "NEEDS_MODEL"]

NEEDS_MODEL = "a fitted model (moneytrail model scan --model DIR or --fit-anomaly)"
"""Stands in the rule's columns until a model is bound, so a plain scan skips the rule with
this notice instead of silently producing nothing."""
_POLICIES = ("top_k", "contamination", "threshold")
_ALERT_KEYS = (*_POLICIES, "features", "evidence")
_DETECTOR_KEYS = ("name", "members", "combine")


# -- parsing ----------------------------------------------------------------------------------


def _resolve(ctx: ParseContext, keys: KeyPath, raw: Any) -> Any:
    """A scalar, or the value of the `$param` it names."""
    if isinstance(raw, str) and raw.startswith("$"):
        name = raw[1:]
        if name not in ctx.params:
            ctx.error(keys, f"unknown param '{raw}'", suggest(name, ctx.params))
            return None
        ctx.used_params.add(name)
        return ctx.params[name].value
    return raw


def _number(ctx: ParseContext, keys: KeyPath, raw: Any, *, whole: bool = False) -> Any:
    value = _resolve(ctx, keys, raw)
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if value is None or isinstance(value, bool) or not ok:
        ctx.error(keys, f"expected a {'whole ' if whole else ''}number, not {value!r}")
        return None
    return value


def _detector(
    ctx: ParseContext, keys: KeyPath, raw: Any, *, nested: bool = False
) -> DetectorConfig | None:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or "name" not in raw:
        ctx.error(keys, "a detector is a name or a mapping with a name", "e.g. {name: iforest}")
        return None
    name = str(raw["name"])
    choices = sorted(DETECTORS) + ([] if nested else [ENSEMBLE])
    if name not in choices:
        ctx.error(
            (*keys, "name"),
            f"unknown detector '{name}'",
            suggest(name, choices) or "detectors: " + ", ".join(choices),
        )
        return None
    if name == ENSEMBLE:
        return _ensemble(ctx, keys, raw)
    info = DETECTORS[name]
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "name":
            continue
        if key not in info.params:
            known = ", ".join(info.params) or "none"
            ctx.error(
                (*keys, key),
                f"unknown key '{key}': detector {name} has no such parameter",
                suggest(str(key), info.params) or f"parameters: {known}",
            )
            continue
        value = _resolve(ctx, (*keys, key), value)
        types = info.params[key]
        allowed = (*types, int) if float in types else types
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, allowed):
            expected = " or ".join(t.__name__ for t in types)
            ctx.error((*keys, key), f"expected {expected}, not {value!r}")
            continue
        params[str(key)] = value
    return DetectorConfig(name, params)


def _ensemble(ctx: ParseContext, keys: KeyPath, raw: dict[str, Any]) -> DetectorConfig | None:
    for key in raw:
        if key not in _DETECTOR_KEYS:
            ctx.error((*keys, key), f"unknown key '{key}'", suggest(str(key), _DETECTOR_KEYS))
    members_raw = raw.get("members")
    if not isinstance(members_raw, list) or len(members_raw) < 2:
        ctx.error((*keys, "members"), "an ensemble needs a list of at least two detectors")
        return None
    members = [
        _detector(ctx, (*keys, "members", i), item, nested=True)
        for i, item in enumerate(members_raw)
    ]
    combine = str(raw.get("combine", "mean"))
    if combine not in COMBINE:
        ctx.error(
            (*keys, "combine"),
            f"unknown combine '{combine}'",
            suggest(combine, COMBINE) or "one of: " + ", ".join(COMBINE),
        )
        return None
    parsed = tuple(m for m in members if m is not None)
    if len(parsed) < len(members):
        return None
    return DetectorConfig(ENSEMBLE, {}, parsed, combine)


def _policy(ctx: ParseContext, raw: Any) -> Policy | None:
    if not isinstance(raw, dict):
        ctx.error(("alert",), "alert must be a mapping", "e.g. alert: {top_k: 25}")
        return None
    for key in raw:
        if key not in _ALERT_KEYS:
            ctx.error(("alert", key), f"unknown key '{key}'", suggest(str(key), _ALERT_KEYS))
    given = [k for k in _POLICIES if k in raw]
    if len(given) != 1:
        ctx.error(
            ("alert",),
            "give exactly one of top_k, contamination or threshold"
            + (f" (found {', '.join(given)})" if given else ""),
        )
        return None
    key = given[0]
    value = _number(ctx, ("alert", key), raw[key], whole=key == "top_k")
    explain = _number(ctx, ("alert", "features"), raw.get("features", 3), whole=True)
    evidence = _number(ctx, ("alert", "evidence"), raw.get("evidence", 20), whole=True)
    if value is None or explain is None or evidence is None:
        return None
    bad = (
        (key == "top_k" and value < 1)
        or (key == "contamination" and not 0 < value < 0.5)
        or explain < 1
        or evidence < 1
    )
    if bad:
        ctx.error(
            ("alert", key),
            f"out of range: {key} {value}, features {explain}, evidence {evidence}",
            "top_k >= 1, 0 < contamination < 0.5, features >= 1, evidence >= 1",
        )
        return None
    return Policy(**{key: value}, explain=explain, evidence=evidence)


def _feature_set(ctx: ParseContext, raw: Any) -> FeatureSet | None:
    if not isinstance(raw, str) or not raw:
        ctx.error(("features",), "name a feature set", "e.g. features: FS-BEHAV-01")
        return None
    path, known = find_feature_set(raw, near=ctx.doc.path)
    if path is None:
        ctx.error(
            ("features",),
            f"no feature set '{raw}'",
            suggest(raw, known) or ("feature sets: " + ", ".join(known) if known else ""),
        )
        return None
    try:
        return load_feature_set(path, lists=ctx.lists)
    except RuleError as exc:
        ctx.errors.extend(exc.diagnostics)  # located in the feature-set file itself
        ctx.error(("features",), f"feature set '{raw}' has problems (reported at {path})")
        return None


def _segment(ctx: ParseContext, fs: FeatureSet, raw: Any) -> tuple[bool, Segment | None]:
    names = [s.name for s in fs.segments]
    if raw is None:
        if names:
            ctx.error(("kind",), "name the segment to model", "segments: " + ", ".join(names))
            return False, None
        return True, None
    segment = fs.segment(str(raw))
    if segment is None:
        ctx.error(
            ("segment",),
            f"feature set {fs.id} has no segment '{raw}'",
            suggest(str(raw), names) or "segments: " + (", ".join(names) or "none"),
        )
        return False, None
    return True, segment


def _check_saved(ctx: ParseContext, logic: AnomalyRule) -> None:
    """A saved model must be one fitted for this rule as it reads now."""
    try:
        meta = read_sidecar(logic.model)
    except InputError as exc:
        ctx.error(("model",), str(exc))
        return
    if meta.get("rule_id") != ctx.rule_id:
        ctx.error(
            ("model",),
            f"{logic.model} holds a model for {meta.get('rule_id')}, not {ctx.rule_id}",
        )
    elif meta.get("spec_digest") != logic.spec_digest:
        changed = [
            what
            for what, now, then in (
                ("feature set", logic.feature_set.digest, meta.get("feature_set_digest")),
                ("segment", logic.segment and logic.segment.name, meta.get("segment")),
                ("detector", logic.detector.as_json(), meta.get("detector")),
                ("scaling", logic.scaling, meta.get("scaling")),
                ("seed", logic.seed, meta.get("seed")),
            )
            if now != then
        ]
        ctx.error(
            ("model",),
            f"{logic.model} was fitted on another {', '.join(changed) or 'specification'}",
            f"refit: moneytrail model fit {ctx.rule_id} ... --out {logic.model}",
        )


def _parse(ctx: ParseContext, data: Any) -> AnomalyRule | None:
    fs = _feature_set(ctx, data.get("features"))
    detector = _detector(ctx, ("detector",), data.get("detector", "iforest"))
    scaling = str(data.get("scaling", "robust"))
    if scaling not in SCALINGS:
        ctx.error(
            ("scaling",),
            f"unknown scaling '{scaling}'",
            suggest(scaling, SCALINGS) or "one of: " + ", ".join(SCALINGS),
        )
    policy = _policy(ctx, data.get("alert", {"top_k": 25}))
    seed = _number(ctx, ("seed",), data.get("seed", 0), whole=True)
    model = _resolve(ctx, ("model",), data.get("model", "none"))
    model = "none" if model in (None, "", False) else str(model)
    if fs is None:
        return None
    ok, segment = _segment(ctx, fs, data.get("segment"))
    ctx.columns.update(fs.columns)
    if model == "none":
        ctx.columns.add(NEEDS_MODEL)
    if not ok or detector is None or policy is None or seed is None or scaling not in SCALINGS:
        return None
    logic = AnomalyRule(fs, segment, detector, scaling, policy, int(seed), model, ctx.rule_id)
    if model not in ("none", "fit"):
        _check_saved(ctx, logic)
    return logic


def _build(logic: AnomalyRule) -> Plan:
    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        if logic.model == "none":
            return pl.LazyFrame(schema=HIT_SCHEMA)
        model, name = None, "fitted on the scanned data"
        if logic.model != "fit":
            model, _meta = load_model(logic.model)
            name = str(Path(logic.model))
        scored = score_rule(logic, frame, model=model)
        return alerts_of(logic, scored, frame, model_name=name).lazy()

    return plan


ANOMALY = Kind(
    name="anomaly",
    keys=("features", "segment", "detector", "scaling", "alert", "seed", "model"),
    parse=_parse,
    build=_build,
    partition_key=lambda logic: None,
    stage=2,
)
