"""Scoring accounts with a rule's anomaly model: fit, score, pick, explain, alert.

The numbers come from `engine.anomaly` (pyod) over features from `engine.features`; this
module turns them into what an investigator reads. An alert names the features that drove
its score: the account's value, its percentile among its peers (the reference population of
its segment) and the feature's share of the score, e.g. "night-time cash deposits: 64% of
credits, 99.7th percentile of individuals (41% of the score)". Evidence is capped to the
largest transactions behind the top feature, and the measures say so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from engine.anomaly import DetectorConfig, FittedModel, fit_model
from engine.errors import InputError
from engine.features import compute_features, evidence_rows, percentile_words
from engine.featureset import ENTITY, Feature, FeatureSet, Segment
from engine.schema import HIT_SCHEMA
from engine.spec import Rule

__all__ = [
    "MIN_PEERS",
    "AnomalyRule",
    "Policy",
    "Scored",
    "alerts_of",
    "explained",
    "fit_rule",
    "model_frame",
    "rule_meta",
    "score_rule",
]

MIN_PEERS = 30  # fewer accounts than this in a segment is no population to learn from


@dataclass(frozen=True, slots=True)
class Policy:
    """Which scored accounts alert: the top k, a share of the reference, or a score."""

    top_k: int | None = None
    contamination: float | None = None
    threshold: float | None = None
    explain: int = 3  # how many features an explanation names
    evidence: int = 20  # at most this many evidence transactions per alert

    def describe(self) -> str:
        """`top 25`, `top 1% of the reference`, `score >= 6`."""
        if self.top_k is not None:
            return f"top {self.top_k}"
        if self.contamination is not None:
            return f"top {self.contamination:.2%} of the reference"
        return f"score >= {self.threshold}"


@dataclass(frozen=True, slots=True)
class AnomalyRule:
    """Logic of an `anomaly` rule."""

    feature_set: FeatureSet
    segment: Segment | None
    detector: DetectorConfig
    scaling: str
    policy: Policy
    seed: int
    model: str  # "none", "fit", or a saved model folder
    rule_id: str = "anomaly"  # for messages

    @property
    def spec_digest(self) -> str:
        """What a saved model must have been fitted with to score for this rule."""
        spec = {
            "feature_set": self.feature_set.digest,
            "segment": None if self.segment is None else self.segment.name,
            "detector": self.detector.as_json(),
            "scaling": self.scaling,
            "seed": self.seed,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Scored:
    """Every account of the segment with its features and normalised score, best first."""

    frame: pl.DataFrame  # account_id, score, score_percentile, rank, window bounds, features
    model: FittedModel
    peers: int


def model_frame(
    logic: AnomalyRule, transactions: pl.DataFrame, customers: pl.DataFrame | None, /
) -> pl.LazyFrame:
    """The transactions joined with the customer columns the feature set reads, as a scan
    hands them to a plan.

    Raises:
        InputError: a column the feature set needs is in neither input.
    """
    wanted = logic.feature_set.columns
    have = set(transactions.columns) | (set(customers.columns) if customers is not None else set())
    missing = sorted(wanted - have)
    if missing:
        raise InputError(
            f"{logic.feature_set.id} needs {', '.join(missing)}"
            + ("" if customers is not None else " (give the customers file)")
        )
    frame = transactions.lazy()
    extra = sorted((wanted - set(transactions.columns)) & have)
    if extra and customers is not None:
        frame = frame.join(
            customers.lazy().select("customer_id", *extra), on="customer_id", how="left"
        )
    return frame


def _segment_rows(logic: AnomalyRule, features: pl.DataFrame) -> pl.DataFrame:
    if logic.segment is None:
        return features
    return features.filter(pl.col("segment") == logic.segment.name)


def _matrix(logic: AnomalyRule, rows: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    names = [f.name for f in logic.feature_set.model_features]
    return rows.select(names).to_numpy().astype(np.float64)


def _fit(logic: AnomalyRule, rows: pl.DataFrame, rule_id: str) -> FittedModel:
    if rows.height < MIN_PEERS:
        who = logic.segment.label if logic.segment else "accounts"
        raise InputError(
            f"{rule_id}: {rows.height} {who} in the window; a model needs at least "
            f"{MIN_PEERS} to learn from (skip it with --param {rule_id}.model=none)"
        )
    return fit_model(
        _matrix(logic, rows),
        [f.name for f in logic.feature_set.model_features],
        detector=logic.detector,
        scaling=logic.scaling,
        log=[f.log for f in logic.feature_set.model_features],
        tails=[f.tail for f in logic.feature_set.model_features],
        seed=logic.seed,
    )


def fit_rule(
    rule: Rule,
    frame: pl.LazyFrame,
    /,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[FittedModel, dict[str, Any]]:
    """Fit a rule's model on a reference period of `frame`: `[since, until)`, default all.

    The feature window ends at `until` (or at the last transaction). Returns the model and
    its sidecar.

    Raises:
        InputError: fewer than `MIN_PEERS` accounts of the segment in the window.
    """
    logic: AnomalyRule = rule.logic
    if since is not None:
        frame = frame.filter(pl.col("ts_utc") >= since)
    end = None
    if until is not None:
        frame = frame.filter(pl.col("ts_utc") < until)
        end = until - timedelta(microseconds=1)
    rows = _segment_rows(logic, compute_features(frame, logic.feature_set, end=end))
    model = _fit(logic, rows, rule.id)
    return model, rule_meta(rule, rows, model)


def rule_meta(rule: Rule, rows: pl.DataFrame, model: FittedModel) -> dict[str, Any]:
    """The sidecar of a model fitted for `rule` on the feature rows `rows`."""
    from engine import __version__

    logic: AnomalyRule = rule.logic
    names = list(model.features)
    stats = rows.select(names).describe(percentiles=(0.5, 0.9, 0.99))
    training = {
        name: dict(zip(stats["statistic"].to_list(), stats[name].to_list(), strict=True))
        for name in names
    }
    return {
        "rule_id": rule.id,
        "rule_version": rule.version,
        "spec_digest": logic.spec_digest,
        "feature_set": logic.feature_set.id,
        "feature_set_digest": logic.feature_set.digest,
        "segment": None if logic.segment is None else logic.segment.name,
        "detector": logic.detector.as_json(),
        "detector_text": logic.detector.describe(),
        "scaling": logic.scaling,
        "seed": logic.seed,
        "features": names,
        "reference": {
            "accounts": rows.height,
            "window_start": str(rows["window_start"].min()) if rows.height else None,
            "window_end": str(rows["window_end"].max()) if rows.height else None,
        },
        "training_stats": training,
        "score_center": model.score_center,
        "score_scale": model.score_scale,
        "engine_version": __version__,
    }


def score_rule(
    logic: AnomalyRule,
    frame: pl.LazyFrame,
    /,
    *,
    model: FittedModel | None = None,
    end: datetime | None = None,
    rule_id: str | None = None,
    features: pl.DataFrame | None = None,
) -> Scored:
    """Score every account of the segment in `frame`; fit on it when no model is given.

    Args:
        features: the feature set already computed over `frame` (to score several models).

    Raises:
        InputError: fitting on fewer than `MIN_PEERS` accounts.
    """
    if features is None:
        features = compute_features(frame, logic.feature_set, end=end)
    rows = _segment_rows(logic, features)
    model = model or _fit(logic, rows, rule_id or logic.rule_id)
    scores = model.score(_matrix(logic, rows)) if rows.height else np.zeros(0)
    scored = (
        rows.with_columns(
            pl.Series("score", scores, dtype=pl.Float64),
            pl.Series("score_percentile", model.score_percentile(scores), dtype=pl.Float64),
        )
        .sort(["score", ENTITY], descending=[True, False])
        .with_row_index("rank", offset=1)
    )
    return Scored(scored, model, rows.height)


def _alerted(logic: AnomalyRule, scored: Scored) -> pl.DataFrame:
    frame, policy = scored.frame, logic.policy
    if policy.top_k is not None:
        return frame.head(policy.top_k)
    if policy.contamination is not None:
        return frame.filter(pl.col("score") > scored.model.threshold(policy.contamination))
    return frame.filter(pl.col("score") >= float(policy.threshold or 0.0))


def _explain(
    logic: AnomalyRule, scored: Scored, alerted: pl.DataFrame
) -> tuple[list[dict[str, Any]], list[str | None]]:
    """Per alerted account: the drivers (value, peer percentile, contribution) and the top one."""
    fs, model = logic.feature_set, scored.model
    X = _matrix(logic, alerted)
    pct = model.feature_percentiles(X)
    contrib = model.contributions(X)
    peers = logic.segment.label if logic.segment else "accounts"
    out: list[dict[str, Any]] = []
    tops: list[str | None] = []
    for i, row in enumerate(alerted.iter_rows(named=True)):  # one step per alert
        # a feature's share: how much of the score goes when it is set to the peer median
        excess = max(float(row["score"]), 1e-9)
        share = np.clip(contrib[i] / excess, 0.0, 1.0)
        # drivers: the features whose removal takes at least 1% of the score away
        order = [int(j) for j in np.argsort(-contrib[i], kind="stable") if share[j] >= 0.01]
        drivers: list[dict[str, Any]] = []
        for j in order[: logic.policy.explain]:
            feature = fs.feature(model.features[j])
            drivers.append(
                {
                    "feature": feature.name,
                    "label": feature.label,
                    "value": float(X[i, j]),
                    "shown": feature.show(float(X[i, j])),
                    "peer_percentile": round(float(pct[i, j]), 2),
                    "contribution": round(float(contrib[i, j]), 4),
                    "contribution_share": round(float(share[j]), 4),
                }
            )
        tops.append(drivers[0]["feature"] if drivers else None)
        words = "; ".join(
            f"{d['label']}: {d['shown']}, {percentile_words(d['peer_percentile'])} percentile "
            f"of {peers} ({d['contribution_share']:.0%} of the score)"
            for d in drivers
        )
        head = (
            f"anomaly score {row['score']:.1f}, rank {row['rank']} of {scored.peers:,} {peers} "
            f"({percentile_words(row['score_percentile'])} percentile of the reference)"
        )
        out.append(
            {
                "score": round(float(row["score"]), 4),
                "score_percentile": round(float(row["score_percentile"]), 2),
                "rank": int(row["rank"]),
                "peers": scored.peers,
                "segment": None if logic.segment is None else logic.segment.name,
                "detector": logic.detector.describe(),
                "policy": logic.policy.describe(),
                "drivers": drivers,
                "explanation": head + (f"; {words}" if words else "; no single feature stands out"),
            }
        )
    return out, tops


def explained(logic: AnomalyRule, scored: Scored, /, *, top: int) -> pl.DataFrame:
    """The `top` accounts by score, each with its explanation."""
    head = scored.frame.head(top)
    if head.is_empty():
        return pl.DataFrame(
            schema={
                "rank": pl.UInt32,
                ENTITY: pl.String,
                "score": pl.Float64,
                "explanation": pl.String,
            }
        )
    details, _ = _explain(logic, scored, head)
    return head.select(
        "rank",
        ENTITY,
        pl.col("score").round(2),
        pl.Series("explanation", [d["explanation"] for d in details], dtype=pl.String),
    )


def alerts_of(
    logic: AnomalyRule, scored: Scored, frame: pl.LazyFrame, /, *, model_name: str
) -> pl.DataFrame:
    """Hits (HIT_SCHEMA) for the accounts the policy picks, explained, with evidence."""
    alerted = _alerted(logic, scored)
    if alerted.is_empty():
        return pl.DataFrame(schema=HIT_SCHEMA)
    details, tops = _explain(logic, scored, alerted)
    start, end = alerted["window_start"][0], alerted["window_end"][0]
    accounts = alerted[ENTITY].to_list()
    # the largest transactions behind each account's top feature; when there are none (its
    # value is unusually low, say), the account's largest transactions in the window
    anything = Feature(name="_all", label="its transactions")
    evidence: dict[str, tuple[list[str], int, str]] = {}
    for name in [*sorted({t for t in tops if t is not None}), None]:
        feature = anything if name is None else logic.feature_set.feature(name)
        wanted = [a for a, t in zip(accounts, tops, strict=True) if t == name and a not in evidence]
        if name is None:
            wanted = [a for a in accounts if a not in evidence]
        if not wanted:
            continue
        found = evidence_rows(frame, feature, wanted, start=start, end=end, n=logic.policy.evidence)
        for account, ids, behind in found.iter_rows():
            if ids:
                evidence[account] = (ids, behind, feature.label)
    rows = []
    for account, info in zip(accounts, details, strict=True):
        ids, behind, label = evidence.get(account, ([], 0, "its transactions"))
        if behind > len(ids):
            note = f"the {len(ids)} largest of {behind} transactions behind {label}"
        elif behind == 1:
            note = f"the one transaction behind {label}"
        else:
            note = f"all {behind} transactions behind {label}"
        info["evidence_note"] = note
        info["model"] = model_name
        rows.append(
            {
                "entity": account,
                "window_start": start,
                "window_end": end,
                "evidence": ids,
                "measures": json.dumps(info, sort_keys=True),
            }
        )
    return pl.DataFrame(rows, schema=HIT_SCHEMA)
