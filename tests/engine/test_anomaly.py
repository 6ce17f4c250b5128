"""The anomaly kind: feature sets, pyod detectors, saved models, explanations, diagnostics."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from engine.anomaly import DETECTORS, DetectorConfig, FittedModel, load_model, save_model
from engine.catalogue import lint
from engine.cli import app
from engine.errors import InputError, RuleError
from engine.features import BUILTINS, compute_features, percentile_words
from engine.featureset import Feature, FeatureSet, load_feature_set
from engine.ingest import load_customers, read_transactions
from engine.lists import load_lists
from engine.scan import ScanOptions, run_scan
from engine.scoring import AnomalyRule, alerts_of, fit_rule, model_frame, score_rule
from engine.spec import Rule, RulePack, load_pack
from sample_data.generator import GeneratedBank, generate

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "rules" / "anomaly"


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> GeneratedBank:
    # a small bank; at this size a seed may run out of the personas a scenario needs
    for seed in (1, 7, 2, 3):
        try:
            return generate(500, 30, seed, tmp_path_factory.mktemp(f"bank{seed}"))
        except ValueError:
            continue
    raise AssertionError("no seed plants every scenario in a 500-customer bank")


@pytest.fixture(scope="module")
def pack(bank: GeneratedBank) -> RulePack:
    return load_pack(MODELS, lists=load_lists(bank.lists))


@pytest.fixture(scope="module")
def individuals(pack: RulePack) -> Rule:
    rule = pack.get("AN-BEHAV-01")
    assert rule is not None
    return rule


@pytest.fixture(scope="module")
def frame(bank: GeneratedBank, individuals: Rule) -> pl.LazyFrame:
    txns = read_transactions([bank.transactions]).transactions
    customers, _ = load_customers(bank.customers)
    return model_frame(individuals.logic, txns, customers).cache()


@pytest.fixture(scope="module")
def features(frame: pl.LazyFrame, individuals: Rule) -> pl.DataFrame:
    return compute_features(frame, individuals.logic.feature_set)


@pytest.fixture(scope="module")
def fitted(frame: pl.LazyFrame, individuals: Rule) -> tuple[FittedModel, dict[str, object]]:
    return fit_rule(individuals, frame)


def _with(rule: Rule, **changes: object) -> AnomalyRule:
    logic: AnomalyRule = rule.logic
    return dataclasses.replace(logic, **changes)  # type: ignore[arg-type]


# -- determinism and detectors ---------------------------------------------------------------


def test_features_and_scores_are_deterministic_for_a_seed(
    frame: pl.LazyFrame, features: pl.DataFrame, individuals: Rule
) -> None:
    assert compute_features(frame, individuals.logic.feature_set).equals(features)
    first = score_rule(individuals.logic, frame, features=features).frame
    again = score_rule(individuals.logic, frame, features=features).frame
    assert first.equals(again)
    assert first.height > 400


def test_the_seed_is_what_makes_a_random_detector_repeat(
    frame: pl.LazyFrame, features: pl.DataFrame, individuals: Rule
) -> None:
    forest = DetectorConfig("iforest", {"n_estimators": 50})
    runs = [
        score_rule(_with(individuals, detector=forest, seed=s), frame, features=features)
        .frame.sort("account_id")["score"]
        .to_numpy()
        for s in (1, 1, 2)
    ]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("name", [*DETECTORS, "ensemble"])
def test_each_detector_scores_every_account(
    name: str, frame: pl.LazyFrame, features: pl.DataFrame, individuals: Rule
) -> None:
    detector = (
        individuals.logic.detector if name == "ensemble" else DetectorConfig(name)
    )  # the shipped ensemble has every detector as a member
    scored = score_rule(_with(individuals, detector=detector), frame, features=features)
    scores = scored.frame["score"].to_numpy()
    assert len(scores) == scored.peers == (features["segment"] == "individual").sum()
    assert np.isfinite(scores).all()
    assert scores[0] == scores.max() > 1.0  # best first, well above the median (0)
    assert abs(float(np.median(scores))) < 0.5


def test_detector_parameters_are_pyod_parameters() -> None:
    for info in DETECTORS.values():
        accepted = inspect.signature(getattr(import_module(info.module), info.cls)).parameters
        declared = {*info.params, *info.defaults, *info.fixed} | (
            {"random_state"} if info.seeded else set()
        )
        assert declared <= set(accepted), (info.cls, declared - set(accepted))


# -- saved models ----------------------------------------------------------------------------


def test_fit_save_load_score_equals_fit_and_score(
    tmp_path: Path,
    frame: pl.LazyFrame,
    features: pl.DataFrame,
    individuals: Rule,
    fitted: tuple[FittedModel, dict[str, object]],
) -> None:
    model, meta = fitted
    folder = save_model(model, tmp_path / "model", meta)
    loaded, sidecar = load_model(folder)
    assert sidecar["rule_id"] == "AN-BEHAV-01"
    assert sidecar["feature_set_digest"] == individuals.logic.feature_set.digest
    assert set(sidecar["training_stats"]) == set(model.features)
    from_disk = score_rule(individuals.logic, frame, model=loaded, features=features).frame
    in_one_go = score_rule(individuals.logic, frame, features=features).frame
    assert from_disk.equals(in_one_go)


def test_a_tampered_model_is_refused(
    tmp_path: Path, fitted: tuple[FittedModel, dict[str, object]]
) -> None:
    folder = save_model(fitted[0], tmp_path / "model", fitted[1])
    pickle = folder / "model.joblib"
    pickle.write_bytes(pickle.read_bytes() + b"\0")
    with pytest.raises(InputError, match="does not match the SHA-256"):
        load_model(folder)


def test_a_saved_model_must_match_the_rule(
    tmp_path: Path, bank: GeneratedBank, fitted: tuple[FittedModel, dict[str, object]]
) -> None:
    folder = save_model(fitted[0], tmp_path / "model", fitted[1])
    lists = load_lists(bank.lists)
    with pytest.raises(RuleError) as caught:
        load_pack(MODELS, lists=lists, overrides={"AN-BEHAV-02": {"model": str(folder)}})
    assert "holds a model for AN-BEHAV-01, not AN-BEHAV-02" in str(caught.value)
    changed = tmp_path / "rules"
    (changed / "anomaly").mkdir(parents=True)
    text = (MODELS / "an-behav-01.yaml").read_text().replace("seed: 7", "seed: 8")
    (changed / "anomaly" / "an-behav-01.yaml").write_text(text)
    with pytest.raises(RuleError) as caught:
        load_pack(changed, lists=lists, overrides={"AN-BEHAV-01": {"model": str(folder)}})
    assert "was fitted on another seed" in str(caught.value)


# -- explanations ----------------------------------------------------------------------------


def test_feature_values_and_percentiles_read_as_people_say_them() -> None:
    night = Feature("night_cash", "night-time cash deposits", unit="share", of="of credits")
    assert f"{night.label}: {night.show(0.64)}, {percentile_words(99.74)} percentile" == (
        "night-time cash deposits: 64% of credits, 99.7th percentile"
    )
    assert [percentile_words(p) for p in (85.2, 2.4, 11.2, 21.0, 99.0, 99.96)] == [
        "85th",
        "2nd",
        "11th",
        "21st",
        "99th",
        "99.9th",
    ]
    assert Feature("c", "cities", unit="count").show(7) == "7"
    assert Feature("r", "inflow", unit="ratio", of="declared income").show(3.21) == (
        "3.2x declared income"
    )


DRIVER = r"[a-z][a-z ,\-]+: [^;]+, \d+(\.\d)?(st|nd|rd|th) percentile of individuals \(\d+% of the score\)"
EXPLANATION = re.compile(
    r"^anomaly score -?\d+\.\d, rank \d+ of [\d,]+ individuals "
    r"\(\d+(\.\d)?(st|nd|rd|th) percentile of the reference\); "
    rf"{DRIVER}(; {DRIVER})*$"
)


def test_every_alert_explains_its_drivers_and_caps_its_evidence(
    frame: pl.LazyFrame, features: pl.DataFrame, individuals: Rule
) -> None:
    logic = _with(individuals, policy=dataclasses.replace(individuals.logic.policy, evidence=5))
    scored = score_rule(logic, frame, features=features)
    hits = alerts_of(logic, scored, frame, model_name="test")
    assert hits.height == logic.policy.top_k == 25
    for row in hits.iter_rows(named=True):
        measures = json.loads(row["measures"])
        assert EXPLANATION.match(measures["explanation"]), measures["explanation"]
        assert 1 <= len(measures["drivers"]) <= 3
        for driver in measures["drivers"]:
            assert set(driver) >= {"feature", "value", "peer_percentile", "contribution"}
            assert 0.01 <= driver["contribution_share"] <= 1
        assert 1 <= len(row["evidence"]) <= 5
        assert re.match(
            r"^(the \d+ largest of \d+|all \d+|the one) transaction", measures["evidence_note"]
        )


# -- scans -----------------------------------------------------------------------------------


def test_a_scan_skips_an_unbound_model_with_a_notice_and_alerts_with_a_fitted_one(
    tmp_path: Path, bank: GeneratedBank
) -> None:
    options = ScanOptions(
        customers=bank.customers,
        lists=bank.lists,
        rules=(MODELS / "an-behav-01.yaml",),
        db=tmp_path / "alerts.duckdb",
    )
    plain = run_scan([bank.transactions], options=options)
    assert "a fitted model" in plain.skipped["AN-BEHAV-01"]
    assert plain.alerts.is_empty()
    fitted = run_scan(
        [bank.transactions],
        options=dataclasses.replace(options, params={"AN-BEHAV-01": {"model": "fit"}}),
    )
    assert not fitted.skipped
    assert fitted.alerts.height == 25
    assert set(fitted.alerts["weight"]) == {1.0}
    assert fitted.alerts["customer_id"].is_not_null().all()
    assert fitted.alerts["explanation"].str.contains("percentile of individuals").all()
    # each alerted customer is a (low-scoring) case; customers linked by money flow also
    # share a network case
    customers = fitted.cases.filter(pl.col("subject_type") == "customer")
    assert customers.height == 25
    assert set(fitted.cases["subject_type"]) <= {"customer", "network"}


def test_a_scan_with_a_saved_model_alerts_as_fitting_in_one_go(
    tmp_path: Path, bank: GeneratedBank, fitted: tuple[FittedModel, dict[str, object]]
) -> None:
    folder = save_model(fitted[0], tmp_path / "model", fitted[1])
    options = ScanOptions(
        customers=bank.customers,
        lists=bank.lists,
        rules=(MODELS / "an-behav-01.yaml",),
        db=tmp_path / "alerts.duckdb",
    )
    runs = [
        run_scan(
            [bank.transactions],
            options=dataclasses.replace(options, params={"AN-BEHAV-01": {"model": model}}),
        )
        for model in (str(folder), "fit")
    ]
    saved, in_one_go = (set(r.alerts["alert_id"]) for r in runs)
    assert len(saved) == 25 and saved == in_one_go
    assert runs[1].new_alerts == 0  # the same alerts: nothing new in the store


def test_model_fit_then_score_from_the_command_line(tmp_path: Path, bank: GeneratedBank) -> None:
    runner = CliRunner()
    fit = runner.invoke(
        app,
        [
            *("model", "fit", "AN-BEHAV-02", "--bank", str(bank.root)),
            *("--rules", str(MODELS), "--out", str(tmp_path / "m")),
        ],
    )
    assert fit.exit_code == 0, fit.output
    assert (tmp_path / "m" / "model.json").is_file()
    scored = runner.invoke(
        app,
        [
            *("model", "score", "--bank", str(bank.root), "--model", str(tmp_path / "m")),
            *("--rules", str(MODELS), "--top", "3", "--format", "csv"),
        ],
    )
    assert scored.exit_code == 0, scored.output
    lines = scored.output.strip().splitlines()
    assert lines[0] == "rule,rank,account_id,score,explanation"
    assert len(lines) == 4 and all(line.startswith("AN-BEHAV-02,") for line in lines[1:])
    scan = runner.invoke(
        app,
        [
            *("model", "scan", "--bank", str(bank.root), "--model", str(tmp_path / "m")),
            *("--rules", str(MODELS / "an-behav-02.yaml"), "--db", str(tmp_path / "a.duckdb")),
        ],
    )
    assert scan.exit_code == 0, scan.output
    assert "AN-BEHAV-02" in scan.output and "skipped" not in scan.output


def test_lint_accepts_anomaly_rules_without_inline_cases(pack: RulePack) -> None:
    assert not lint(pack.rules)


# -- built-ins against the obvious computation ---------------------------------------------------

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


def _rows(*events: tuple[str, float, float]) -> pl.LazyFrame:
    """(direction, hours after T0, amount) postings on one account."""
    return pl.LazyFrame(
        {
            "account_id": ["A"] * len(events),
            "txn_id": [f"t{i}" for i in range(len(events))],
            "direction": [e[0] for e in events],
            "ts_utc": [T0 + timedelta(hours=e[1]) for e in events],
            "amount_base": [e[2] for e in events],
        },
        schema_overrides={"ts_utc": pl.Datetime("us", "UTC")},
    )


def _builtin(name: str, rows: pl.LazyFrame, **args: object) -> float:
    start, end = T0 - timedelta(days=30), T0 + timedelta(days=10)
    value = BUILTINS[name](rows, args, start, end).collect()["value"][0]
    return float(value)


def test_pass_through_counts_money_out_within_the_half_open_span() -> None:
    rows = _rows(
        ("in", 0, 1000),
        ("out", 0, 50),  # at the credit's instant: before it, not after
        ("out", 1, 600),
        ("out", 48, 300),  # exactly 48 h later: inside (t, t + 48 h]
        ("out", 49, 100),  # outside
    )
    assert _builtin("pass_through", rows, within=timedelta(hours=48), min_amount=0) == 0.9


def test_dwell_is_the_time_until_a_share_of_the_credit_has_left() -> None:
    rows = _rows(("in", 0, 1000), ("out", 1, 600), ("out", 30, 200), ("out", 72, 200))
    dwell = dict(min_amount=0, cap=None)
    assert _builtin("dwell_hours", rows, share=0.8, **dwell) == 30.0  # 600 + 200 reach 800
    assert _builtin("dwell_hours", rows, share=0.9, **dwell) == 72.0
    assert _builtin("dwell_hours", _rows(("in", 0, 1000)), share=0.5, **dwell) == 40 * 24


def test_velocity_compares_the_recent_daily_rate_with_the_earlier_one() -> None:
    rows = _rows(("in", -24 * 20, 300), ("in", 24 * 5, 1000))
    recent, earlier = 1000 / 10, 300 / 30  # last 10 days against the 30 before
    value = _builtin("velocity_change", rows, recent=timedelta(days=10), of="credits", prior=1)
    assert value == pytest.approx((recent + 1) / (earlier + 1))


# -- diagnostics -----------------------------------------------------------------------------

FEATURE_SET = """\
id: FS-TEST-01
window: 30d
segments:
  individual: {where: "customer_type = 'individual'"}
features:
  total:
    sql: "sum(amout)"
  moved:
    builtin: pass_thru
  share:
    unit: percent
    sql: "total / credits"
"""
MODEL = """\
id: AN-TEST-01
title: test model
kind: anomaly
features: FS-TEST-01
segment: individuals
detector:
  name: ensemble
  members:
    - {name: iforrest}
    - {name: lof, n_neighbours: 10}
alert: {top_k: 10, threshold: 3}
"""


def _located(text: str, needle: str, offset: int = 0) -> str:
    """`line:col` of `needle` (plus `offset` characters) in `text`."""
    before = text[: text.index(needle) + offset]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def test_a_broken_feature_set_gets_located_diagnostics(tmp_path: Path) -> None:
    path = tmp_path / "fs.yaml"
    path.write_text(FEATURE_SET)
    with pytest.raises(RuleError) as caught:
        load_feature_set(path)
    got = [str(d) for d in caught.value.diagnostics]
    assert got == [
        f"{path}:{_located(FEATURE_SET, 'amout')}: FS-TEST-01: features.total.sql: "
        "unknown column 'amout' (did you mean 'amount')",
        f"{path}:{_located(FEATURE_SET, 'pass_thru')}: FS-TEST-01: features.moved.builtin: "
        "unknown builtin 'pass_thru' (did you mean 'pass_through')",
        f"{path}:{_located(FEATURE_SET, 'percent')}: FS-TEST-01: features.share.unit: "
        "unknown unit 'percent' (share, count, money, ratio, hours, days, number)",
        f"{path}:{_located(FEATURE_SET, 'credits')}: FS-TEST-01: features.share.sql: "
        "unknown column 'credits'",
    ]


def test_a_broken_model_file_gets_located_diagnostics(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "features").mkdir(parents=True)
    (rules / "anomaly").mkdir()
    fixed = FEATURE_SET.replace("amout", "amount").replace("pass_thru", "pass_through")
    fixed = fixed.replace("percent", "share").replace("/ credits", "/ total")
    (rules / "features" / "fs.yaml").write_text(fixed)
    path = rules / "anomaly" / "an-test-01.yaml"
    path.write_text(MODEL)
    with pytest.raises(RuleError) as caught:
        load_pack(rules)
    got = [str(d) for d in caught.value.diagnostics]
    assert got == [
        f"{path}:{_located(MODEL, 'individuals')}: AN-TEST-01: segment: feature set "
        "FS-TEST-01 has no segment 'individuals' (did you mean 'individual')",
        f"{path}:{_located(MODEL, 'iforrest')}: AN-TEST-01: detector.members.0.name: "
        "unknown detector 'iforrest' (did you mean 'iforest')",
        f"{path}:{_located(MODEL, 'n_neighbours')}: AN-TEST-01: detector.members.1."
        "n_neighbours: unknown key 'n_neighbours': detector lof has no such parameter "
        "(did you mean 'n_neighbors')",
        f"{path}:{_located(MODEL, 'alert:')}: AN-TEST-01: alert: give exactly one of top_k, "
        "contamination or threshold (found top_k, threshold)",
    ]
    path.write_text(MODEL.replace("FS-TEST-01", "FS-TSET-01"))
    with pytest.raises(RuleError) as caught:
        load_pack(rules)
    assert str(caught.value.diagnostics[0]) == (
        f"{path}:{_located(MODEL, 'FS-TEST-01')}: AN-TEST-01: features: "
        "no feature set 'FS-TSET-01' (did you mean 'FS-TEST-01')"
    )


def test_a_feature_set_problem_is_reported_where_it_is(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "features").mkdir(parents=True)
    (rules / "anomaly").mkdir()
    (rules / "features" / "fs.yaml").write_text(FEATURE_SET)
    (rules / "anomaly" / "an-test-01.yaml").write_text(
        MODEL.replace("individuals", "individual")
        .replace("threshold: 3", "features: 2")
        .replace("iforrest", "iforest")
        .replace("n_neighbours", "n_neighbors")
    )
    with pytest.raises(RuleError) as caught:
        load_pack(rules)
    paths = {Path(d.path).name for d in caught.value.diagnostics}
    assert paths == {"fs.yaml", "an-test-01.yaml"}
    assert any("unknown column 'amout'" in str(d) for d in caught.value.diagnostics)


def test_the_shipped_feature_set_loads(individuals: Rule) -> None:
    fs: FeatureSet = individuals.logic.feature_set
    assert fs.id == "FS-BEHAV-01"
    assert len(fs.model_features) >= 20
    assert all(f.tail in ("upper", "lower") for f in fs.model_features)
