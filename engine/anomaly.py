"""Anomaly detectors (pyod) behind a small `Detector` protocol, and fitted models.

pyod stays inside this module (STYLE.md). A detector is anything with pyod's two methods,
`fit(X)` and `decision_function(X)` (higher is more anomalous); `DETECTORS` names the pyod
ones a model file may use, with the parameters it may set, so a model file is checked at load
time without importing pyod. `ensemble` fits several members and combines their normalised
scores.

A `FittedModel` holds the scaling, the fitted detector and what explanations need from the
reference population: the quantiles of every feature (an account's percentile among its
peers) and of the scores. Every score a model returns is normalised against its reference
population: a robust z-score (median 0, MAD-scaled), so detectors and segments are comparable.
A model is saved as `model.joblib` plus a JSON sidecar (`model.json`) that records what it was
fitted on and the SHA-256 of the pickle; `load_model` refuses a pickle that does not match.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from engine.errors import InputError

__all__ = [
    "COMBINE",
    "DETECTORS",
    "ENSEMBLE",
    "MODEL_FILE",
    "SCALINGS",
    "SIDECAR",
    "Detector",
    "DetectorConfig",
    "DetectorInfo",
    "DistinctRows",
    "Ensemble",
    "FittedModel",
    "fit_model",
    "load_model",
    "make_detector",
    "read_sidecar",
    "save_model",
]

Matrix = npt.NDArray[np.float64]
MODEL_FILE = "model.joblib"
SIDECAR = "model.json"
ENSEMBLE = "ensemble"
COMBINE = ("mean", "max", "median")
SCALINGS = ("none", "standard", "robust")
_GRID = np.linspace(0.0, 1.0, 2001)  # reference quantiles every 0.05 percentile
_MAD = 1.4826  # MAD of a normal distribution, so a robust z is comparable to a z-score


class Detector(Protocol):
    """What a model needs from a detector (pyod's `BaseDetector` has exactly this)."""

    def fit(self, X: Matrix, y: None = None) -> Any:
        """Learn the reference population."""

    def decision_function(self, X: Matrix) -> Matrix:
        """One raw score per row; higher is more anomalous."""


@dataclass(frozen=True, slots=True)
class DetectorInfo:
    """A pyod detector a model file may name: where it lives and what may be set."""

    module: str
    cls: str
    params: Mapping[str, tuple[type, ...]]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # set by moneytrail, not by files
    seeded: bool = False
    summary: str = ""
    distinct: bool = False  # fit on distinct rows (duplicates break density estimates)


DETECTORS: dict[str, DetectorInfo] = {
    "iforest": DetectorInfo(
        "pyod.models.iforest",
        "IForest",
        {
            "n_estimators": (int,),
            "max_samples": (int, float, str),
            "max_features": (int, float),
            "bootstrap": (bool,),
        },
        defaults={"n_estimators": 200},
        fixed={"n_jobs": 1},
        seeded=True,
        summary="isolation forest: how few random splits isolate the account",
    ),
    "ecod": DetectorInfo(
        "pyod.models.ecod",
        "ECOD",
        {},
        fixed={"n_jobs": 1},
        summary="empirical-CDF tails, feature by feature (parameter-free)",
    ),
    "copod": DetectorInfo(
        "pyod.models.copod",
        "COPOD",
        {},
        fixed={"n_jobs": 1},
        summary="copula of the empirical CDFs (parameter-free)",
    ),
    "hbos": DetectorInfo(
        "pyod.models.hbos",
        "HBOS",
        {"n_bins": (int, str), "alpha": (float,), "tol": (float,)},
        # "auto" sizes the bins per feature; a fixed count compiles numba code on first use
        defaults={"n_bins": "auto"},
        summary="histogram density, feature by feature",
    ),
    "lof": DetectorInfo(
        "pyod.models.lof",
        "LOF",
        {
            "n_neighbors": (int,),
            "algorithm": (str,),
            "leaf_size": (int,),
            "metric": (str,),
            "p": (int, float),
        },
        defaults={"n_neighbors": 35},
        fixed={"n_jobs": 1, "novelty": True},
        summary="local outlier factor: density against the nearest peers",
        distinct=True,
    ),
}


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """A detector as a model file names it: `iforest` with params, or an ensemble."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    members: tuple[DetectorConfig, ...] = ()
    combine: str = "mean"

    def describe(self) -> str:
        """`ensemble(mean: iforest, ecod)` or `iforest(n_estimators=200)`."""
        if self.name == ENSEMBLE:
            inner = ", ".join(m.describe() for m in self.members)
            return f"ensemble({self.combine}: {inner})"
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name}({args})" if args else self.name

    def as_json(self) -> dict[str, Any]:
        """A JSON-able form for the sidecar."""
        return {
            "name": self.name,
            "params": dict(self.params),
            "members": [m.as_json() for m in self.members],
            "combine": self.combine,
        }


def _robust_center_scale(values: Matrix) -> tuple[Matrix, Matrix]:
    """Per column: median and a robust scale: the MAD, else the IQR, else the standard
    deviation, else 1 (a flat column). A spread within rounding error of the centre counts
    as flat, so near-constant columns do not blow up into huge z-scores."""
    center = np.median(values, axis=0)
    mad = np.median(np.abs(values - center), axis=0) * _MAD
    iqr = (np.percentile(values, 75, axis=0) - np.percentile(values, 25, axis=0)) / 1.349
    std = values.std(axis=0)
    tiny = 1e-9 * (1.0 + np.abs(center))
    scale = np.where(mad > tiny, mad, np.where(iqr > tiny, iqr, np.where(std > tiny, std, 1.0)))
    return center, scale


class Ensemble:
    """Several detectors; each one's scores are normalised on the reference population
    (robust z-score), then combined (mean, max or median)."""

    def __init__(self, members: Sequence[Detector], combine: str = "mean") -> None:
        self.members = list(members)
        self.combine = combine
        self.center = np.zeros(len(self.members))
        self.scale = np.ones(len(self.members))

    def fit(self, X: Matrix, y: None = None) -> Ensemble:
        """Fit every member and remember how its reference scores are spread."""
        raw = np.column_stack([_fitted_scores(m, X) for m in self.members])
        self.center, self.scale = _robust_center_scale(raw)
        return self

    def decision_function(self, X: Matrix) -> Matrix:
        """The combined normalised score of each row."""
        raw = np.column_stack([m.decision_function(X) for m in self.members])
        z = (raw - self.center) / self.scale
        if self.combine == "max":
            combined: Matrix = z.max(axis=1)
        elif self.combine == "median":
            combined = np.median(z, axis=1)
        else:
            combined = z.mean(axis=1)
        return combined


class DistinctRows:
    """A detector fitted on the distinct rows of its reference population.

    Many accounts sit exactly on the peer median once harmless tails are folded (see
    `Scaling`); for LOF, more duplicates than neighbours mean a zero reach distance and an
    infinite density, and scores near 1e10. Fitting on distinct rows keeps densities finite.
    """

    def __init__(self, inner: Detector) -> None:
        self.inner = inner

    def fit(self, X: Matrix, y: None = None) -> DistinctRows:
        """Fit the inner detector on the distinct rows of `X`."""
        rows = np.unique(X, axis=0)
        neighbours = getattr(self.inner, "n_neighbors", None)
        if isinstance(neighbours, int) and neighbours >= len(rows):
            # a small segment: as many neighbours as there are other rows
            self.inner.n_neighbors = max(1, len(rows) - 1)  # type: ignore[attr-defined]
        self.inner.fit(rows)
        return self

    def decision_function(self, X: Matrix) -> Matrix:
        """The inner detector's scores."""
        return np.asarray(self.inner.decision_function(X), dtype=np.float64)


def _fitted_scores(detector: Detector, X: Matrix) -> Matrix:
    detector.fit(X)
    return np.asarray(detector.decision_function(X), dtype=np.float64)


def make_detector(config: DetectorConfig, *, seed: int) -> Detector:
    """A fresh, unfitted detector (pyod is imported here, on first use)."""
    if config.name == ENSEMBLE:
        members = [make_detector(m, seed=seed + i) for i, m in enumerate(config.members)]
        return Ensemble(members, config.combine)
    info = DETECTORS[config.name]
    cls = getattr(importlib.import_module(info.module), info.cls)
    kwargs = {**info.defaults, **config.params, **info.fixed}
    if info.seeded:
        kwargs["random_state"] = seed
    detector: Detector = cls(**kwargs)
    return DistinctRows(detector) if info.distinct else detector


@dataclass(frozen=True, slots=True)
class Scaling:
    """How raw features become detector input: optional log, centre and scale, then each
    feature's harmless side of the reference median flattened to the median (its `tail`)."""

    method: str
    log: npt.NDArray[np.bool_]
    center: Matrix
    scale: Matrix
    tails: npt.NDArray[np.int8]  # +1 only high values are unusual, -1 only low, 0 both

    @staticmethod
    def fit(X: Matrix, *, method: str, log: Sequence[bool], tails: Sequence[str]) -> Scaling:
        """Statistics of the reference population."""
        flags = np.asarray(log, dtype=bool)
        sides = np.asarray([{"upper": 1, "lower": -1}.get(t, 0) for t in tails], dtype=np.int8)
        logged = _log(X, flags)
        if method == "standard":
            std = logged.std(axis=0)
            return Scaling(method, flags, logged.mean(axis=0), np.where(std > 0, std, 1.0), sides)
        center, scale = _robust_center_scale(logged)
        if method == "robust":
            return Scaling(method, flags, center, scale, sides)
        # no scaling: the tails still fold at the reference median
        return Scaling(method, flags, center, np.ones(X.shape[1]), sides)

    def apply(self, X: Matrix) -> Matrix:
        """Detector input for raw feature rows."""
        scaled: Matrix = (_log(X, self.log) - self.center) / self.scale
        scaled[:, self.tails > 0] = np.maximum(scaled[:, self.tails > 0], 0.0)
        scaled[:, self.tails < 0] = np.minimum(scaled[:, self.tails < 0], 0.0)
        if self.method == "none":
            scaled = scaled + self.center
        return scaled


def _log(X: Matrix, flags: npt.NDArray[np.bool_]) -> Matrix:
    out = X.copy()
    out[:, flags] = np.sign(X[:, flags]) * np.log1p(np.abs(X[:, flags]))
    return out


@dataclass(slots=True)
class FittedModel:
    """A detector fitted on a reference population, with what scoring and explaining need."""

    features: tuple[str, ...]
    scaling: Scaling
    detector: Detector
    score_center: float
    score_scale: float
    score_quantiles: Matrix  # normalised reference scores (see `_reference`)
    feature_quantiles: Matrix  # raw reference feature values, one column each
    typical: Matrix  # the reference median of each feature, in detector-input space
    n_reference: int

    def score(self, X: Matrix) -> Matrix:
        """Normalised scores (robust z against the reference population) of raw rows."""
        raw = np.asarray(self.detector.decision_function(self.scaling.apply(X)), np.float64)
        scores: Matrix = (raw - self.score_center) / self.score_scale
        return scores

    def score_percentile(self, scores: Matrix) -> Matrix:
        """Percentile (0-100) of each score among the reference population's scores."""
        return _percentiles(self.score_quantiles, scores)

    def threshold(self, contamination: float) -> float:
        """The score above which the top `contamination` of the reference population lies."""
        return float(np.quantile(self.score_quantiles, 1.0 - contamination))

    def feature_percentiles(self, X: Matrix) -> Matrix:
        """Percentile (0-100) of each value among the reference population, per feature."""
        return np.column_stack(
            [_percentiles(self.feature_quantiles[:, j], X[:, j]) for j in range(X.shape[1])]
        )

    def contributions(self, X: Matrix) -> Matrix:
        """How much each feature adds to each row's (normalised) score.

        For every feature, the row is re-scored with that feature set to the reference median
        (occlusion): the drop in score is the feature's contribution. It works for any
        detector; features that tell the same story share the credit (remove one, and the
        others still make the row unusual), so contributions need not add up to the score.
        """
        n, k = X.shape
        base = self.detector.decision_function(self.scaling.apply(X))
        inputs = np.repeat(self.scaling.apply(X), k, axis=0)
        cols = np.tile(np.arange(k), n)
        inputs[np.arange(n * k), cols] = self.typical[cols]
        occluded = np.asarray(self.detector.decision_function(inputs), np.float64).reshape(n, k)
        delta: Matrix = (np.asarray(base, np.float64)[:, None] - occluded) / self.score_scale
        return delta


def _reference(values: Matrix) -> Matrix:
    """The sorted reference values, or their quantiles every 0.05 percentile when there are
    more than that: percentiles stay exact for small populations and bounded for large."""
    if len(values) <= len(_GRID):
        return np.sort(values, axis=0)
    quantiles: Matrix = np.quantile(values, _GRID, axis=0)
    return quantiles


def _percentiles(grid: Matrix, values: Matrix) -> Matrix:
    """Mid-rank percentile of `values` in a sorted quantile grid (ties share the middle)."""
    lo = np.searchsorted(grid, values, side="left")
    hi = np.searchsorted(grid, values, side="right")
    pct: Matrix = 100.0 * (lo + hi) / 2.0 / len(grid)
    return np.clip(pct, 0.0, 100.0)


def fit_model(
    X: Matrix,
    features: Sequence[str],
    /,
    *,
    detector: DetectorConfig,
    scaling: str,
    log: Sequence[bool],
    tails: Sequence[str],
    seed: int,
) -> FittedModel:
    """Fit a detector on the reference rows `X` (one row per account, raw feature values)."""
    X = np.asarray(X, dtype=np.float64)
    scaler = Scaling.fit(X, method=scaling, log=log, tails=tails)
    inputs = scaler.apply(X)
    fitted = make_detector(detector, seed=seed)
    raw = _fitted_scores(fitted, inputs)
    center, scale = _robust_center_scale(raw[:, None])
    scores = (raw - center[0]) / scale[0]
    return FittedModel(
        features=tuple(features),
        scaling=scaler,
        detector=fitted,
        score_center=float(center[0]),
        score_scale=float(scale[0]),
        score_quantiles=_reference(scores),
        feature_quantiles=_reference(X),
        typical=np.median(inputs, axis=0),
        n_reference=X.shape[0],
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: FittedModel, folder: Path | str, meta: Mapping[str, Any]) -> Path:
    """Write `model.joblib` and the `model.json` sidecar (meta + the pickle's SHA-256)."""
    import joblib

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pickle_path = out / MODEL_FILE
    joblib.dump(model, pickle_path)
    sidecar = {**meta, "model_file": MODEL_FILE, "model_sha256": _sha256(pickle_path)}
    (out / SIDECAR).write_text(json.dumps(sidecar, indent=2, default=str) + "\n", encoding="utf-8")
    return out


def read_sidecar(folder: Path | str) -> dict[str, Any]:
    """The sidecar of a saved model.

    Raises:
        InputError: no saved model in `folder`.
    """
    path = Path(folder) / SIDECAR
    if not path.is_file():
        raise InputError(f"{folder}: no saved model here (no {SIDECAR}; see moneytrail model fit)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable model sidecar: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: unreadable model sidecar")
    return data


def load_model(folder: Path | str) -> tuple[FittedModel, dict[str, Any]]:
    """A saved model and its sidecar, from a folder the user named.

    Unpickling runs code, so the pickle must match the SHA-256 its sidecar recorded.

    Raises:
        InputError: missing files, or a pickle that is not the one that was saved.
    """
    import joblib

    meta = read_sidecar(folder)
    pickle_path = Path(folder) / str(meta.get("model_file", MODEL_FILE))
    if not pickle_path.is_file():
        raise InputError(f"{pickle_path}: missing (the sidecar names it)")
    if _sha256(pickle_path) != meta.get("model_sha256"):
        raise InputError(f"{pickle_path}: does not match the SHA-256 in its sidecar; refit it")
    model = joblib.load(pickle_path)
    if not isinstance(model, FittedModel):
        raise InputError(f"{pickle_path}: not a moneytrail model")
    return model, meta
