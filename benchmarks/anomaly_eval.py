"""Backtest of the anomaly models against a generated bank's truth, at account level.

    python benchmarks/anomaly_eval.py                      # seed 9173, 6,000 customers, 90 days
    python benchmarks/anomaly_eval.py --bank DIR --no-write

For every detector (each pyod detector alone, and the ensemble the shipped models use) it fits
and scores the shipped anomaly models (one per segment) on the bank, ranks all accounts by
their normalised score and reports ROC-AUC and precision at k against the truth table:
positives are the accounts of planted controllers, fronts and launderers; every other planted
role is reported too (that role against the unlabelled and look-alike accounts). Then it scans
the bank with the whole shipped pack, anomaly models fitted on the scan (`model: fit`), and
counts the planted cases the models alert on that no rule alerted on. No truth column is a
feature: the truth is read only to measure.

Not a test: it never gates CI. Results go to benchmarks/ANOMALY.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.anomaly import DETECTORS, DetectorConfig, load_model, save_model  # noqa: E402
from engine.features import compute_features  # noqa: E402
from engine.ingest import load_customers, read_transactions  # noqa: E402
from engine.lists import load_lists  # noqa: E402
from engine.scan import ScanOptions, run_scan  # noqa: E402
from engine.scoring import AnomalyRule, fit_rule, model_frame, score_rule  # noqa: E402
from engine.spec import Rule, load_pack  # noqa: E402
from sample_data.generator import generate  # noqa: E402

POSITIVE_ROLES = ("controller", "front", "launderer")
KS = (10, 25, 50, 100)


def _ranked(
    rules: list[Rule],
    frame: pl.LazyFrame,
    features: pl.DataFrame,
    detector: DetectorConfig | None,
) -> pl.DataFrame:
    """Every account with its model's normalised score (each segment against its peers)."""
    parts = []
    for rule in rules:
        logic: AnomalyRule = rule.logic
        if detector is not None:
            logic = dataclasses.replace(logic, detector=detector)
        scored = score_rule(logic, frame, features=features, rule_id=rule.id)
        parts.append(scored.frame.select("account_id", "score", pl.lit(rule.id).alias("rule")))
    return pl.concat(parts).sort(["score", "account_id"], descending=[True, False])


def _ranked_saved(
    rules: list[Rule], frame: pl.LazyFrame, features: pl.DataFrame, reference: Path, tmp: Path
) -> pl.DataFrame:
    """Scores from models fitted on another bank, saved and loaded again (`model fit`, then
    `model scan --model DIR`)."""
    txns = read_transactions([reference / "transactions.parquet"]).transactions
    customers, _ = load_customers(reference / "customers.parquet")
    parts = []
    for rule in rules:
        model, meta = fit_rule(rule, model_frame(rule.logic, txns, customers))
        loaded, _ = load_model(save_model(model, tmp / rule.id, meta))
        scored = score_rule(rule.logic, frame, model=loaded, features=features, rule_id=rule.id)
        parts.append(scored.frame.select("account_id", "score", pl.lit(rule.id).alias("rule")))
    return pl.concat(parts).sort(["score", "account_id"], descending=[True, False])


def _metrics(ranked: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float | None]:
    planted = truth.filter(~pl.col("is_lookalike"))
    roles = planted.group_by("account_id").agg(pl.col("role").first())
    frame = ranked.join(roles, on="account_id", how="left")
    score = frame["score"].to_numpy()
    role = frame["role"].fill_null("").to_numpy()
    positive = np.isin(role, POSITIVE_ROLES)
    out: dict[str, float | None] = {"auc": float(roc_auc_score(positive, score))}
    for k in KS:
        out[f"p@{k}"] = float(positive[:k].mean())
    out["positives"] = float(positive.sum())
    lookalikes = set(truth.filter(pl.col("is_lookalike"))["account_id"].to_list())
    top = frame.head(25)
    out["planted@25"] = float(top["role"].is_not_null().mean())
    out["lookalikes@25"] = float(top["account_id"].is_in(list(lookalikes)).sum())
    unlabelled = role == ""
    for r in sorted(set(planted["role"].to_list())):
        mask = role == r
        if mask.sum() == 0:
            out[f"auc_{r}"] = None
            continue
        both = mask | unlabelled
        out[f"auc_{r}"] = float(roc_auc_score(mask[both], score[both]))
    return out


def _cases_found(alerts: pl.DataFrame, truth: pl.DataFrame) -> dict[str, object]:
    """Planted cases with a member alerted by rules, by models, by models only."""
    subjects = alerts.with_columns(pl.coalesce("customer_id", "entity").alias("subject"))
    by_rules = set(subjects.filter(pl.col("kind") != "anomaly")["subject"].to_list())
    by_models = set(subjects.filter(pl.col("kind") == "anomaly")["subject"].to_list())
    planted = truth.filter(~pl.col("is_lookalike"))
    cases = planted.group_by("case_id", "scenario").agg(pl.col("customer_id"), pl.col("role"))
    rows = []
    for case_id, scenario, members, roles in cases.sort("case_id").iter_rows():
        rule_hit = bool(set(members) & by_rules)
        model_hit = bool(set(members) & by_models)
        hit_roles = sorted({r for m, r in zip(members, roles, strict=True) if m in by_models})
        rows.append((case_id, scenario, rule_hit, model_hit, hit_roles))
    only = [r for r in rows if r[3] and not r[2]]
    lookalikes = set(truth.filter(pl.col("is_lookalike"))["customer_id"].to_list())
    return {
        "cases": len(rows),
        "by_rules": sum(r[2] for r in rows),
        "by_models": sum(r[3] for r in rows),
        "models_only": [(r[0], r[4]) for r in only],
        "model_alerts": int((alerts["kind"] == "anomaly").sum()),
        "model_alerts_planted": len(by_models & set(planted["customer_id"].to_list())),
        "model_alerts_lookalike": len(by_models & lookalikes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=9173)
    parser.add_argument("--customers", type=int, default=6000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--bank", type=Path, help="use this generated bank instead")
    parser.add_argument(
        "--reference-seed",
        type=int,
        default=9174,
        help="also fit on a bank of this seed, save, load and score (0: skip)",
    )
    parser.add_argument("--no-rules", action="store_true", help="skip the rule-pack scan")
    parser.add_argument("--no-write", action="store_true", help="do not write ANOMALY.md")
    args = parser.parse_args()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        bank = args.bank or generate(args.customers, args.days, args.seed, Path(tmp) / "bank").root
        timings["generate bank"] = time.perf_counter() - started
        lists = load_lists(bank / "lists")
        pack = load_pack(lists=lists)
        models = [r for r in pack.rules if r.kind == "anomaly"]
        started = time.perf_counter()
        txns = read_transactions([bank / "transactions.parquet"]).transactions
        customers, _ = load_customers(bank / "customers.parquet")
        frame = model_frame(models[0].logic, txns, customers).cache()
        truth = pl.read_parquet(bank / "truth" / "truth.parquet")
        timings["ingest"] = time.perf_counter() - started
        started = time.perf_counter()
        features = compute_features(frame, models[0].logic.feature_set)
        timings["features"] = time.perf_counter() - started
        table = []
        shipped = models[0].logic.detector
        for name, config in [
            *((n, DetectorConfig(n)) for n in DETECTORS),
            (f"ensemble (shipped: {shipped.describe()})", None),
        ]:
            started = time.perf_counter()
            ranked = _ranked(models, frame, features, config)
            seconds = time.perf_counter() - started
            table.append((name, _metrics(ranked, truth), seconds))
            print(f"{name}: {table[-1][1]} ({seconds:.1f} s)", flush=True)
        if args.reference_seed:
            started = time.perf_counter()
            reference = generate(
                args.customers, args.days, args.reference_seed, Path(tmp) / "reference"
            ).root
            ranked = _ranked_saved(models, frame, features, reference, Path(tmp) / "models")
            seconds = time.perf_counter() - started
            name = f"ensemble, saved after fitting on another bank (seed {args.reference_seed})"
            table.append((name, _metrics(ranked, truth), seconds))
            print(f"{name}: {table[-1][1]} ({seconds:.1f} s, incl. generating it)", flush=True)
        found = None
        if not args.no_rules:
            started = time.perf_counter()
            result = run_scan(
                [bank / "transactions.parquet"],
                options=ScanOptions(
                    customers=bank / "customers.parquet",
                    lists=bank / "lists",
                    db=Path(tmp) / "alerts.duckdb",
                    params={r.id: {"model": "fit"} for r in models},
                ),
            )
            timings["scan, whole pack + models"] = time.perf_counter() - started
            found = _cases_found(result.alerts, truth)
            found["rules_run"] = result.rules_run
            found["skipped"] = dict(result.skipped)
        n_accounts = txns["account_id"].n_unique()
    text = _report(args, bank if args.bank else None, table, found, timings, n_accounts)
    print(text)
    if not args.no_write:
        (ROOT / "benchmarks" / "ANOMALY.md").write_text(text, encoding="utf-8")


def _report(
    args: argparse.Namespace,
    bank: Path | None,
    table: list[tuple[str, dict[str, float | None], float]],
    found: dict[str, object] | None,
    timings: dict[str, float],
    n_accounts: int,
) -> str:
    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    source = (
        f"bank `{bank}`" if bank else f"`generate({args.customers}, {args.days}, seed={args.seed})`"
    )
    first = table[0][1]
    roles = sorted(k[4:] for k in first if k.startswith("auc_"))
    lines = [
        "# Anomaly models: backtest at account level",
        "",
        f"Generated by `python benchmarks/anomaly_eval.py` on {source}: {n_accounts:,}",
        f"accounts, {int(first['positives'] or 0)} of them planted controllers, fronts or "
        "launderers (the positives).",
        "Each detector is fitted on the bank and scores it, per segment (individuals and",
        "businesses, each against its peers), over the shipped feature set FS-BEHAV-01; all",
        "accounts are then ranked by their normalised score. No truth column is a feature.",
        "The last row scores the bank with models fitted on another bank, saved and loaded.",
        "",
        "| detector | ROC-AUC | "
        + " | ".join(f"P@{k}" for k in KS)
        + " | planted, any role, in top 25 | look-alikes in top 25 | seconds |",
        "|---|---|" + "---|" * len(KS) + "---|---|---|",
    ]
    for name, m, seconds in table:
        lines.append(
            f"| {name} | {fmt(m['auc'])} | "
            + " | ".join(fmt(m[f"p@{k}"]) for k in KS)
            + f" | {fmt(m['planted@25'])} | {int(m['lookalikes@25'] or 0)} | {seconds:.1f} |"
        )
    lines += [
        "",
        "P@k: share of the k highest-scoring accounts that are planted controllers, fronts or",
        "launderers. Victims, mules and buyers count as misses there, though they are planted",
        "too (the next column counts every planted role); look-alikes are benign accounts built",
        "to resemble a typology (typologies.md §7.3).",
    ]
    lines += [
        "",
        "ROC-AUC of each planted role against the unlabelled and look-alike accounts:",
        "",
        "| detector | " + " | ".join(roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for name, m, _ in table:
        lines.append(f"| {name} | " + " | ".join(fmt(m[f"auc_{r}"]) for r in roles) + " |")
    if found is not None:
        only = found["models_only"]
        assert isinstance(only, list)
        lines += [
            "",
            "Scan with the whole shipped pack and the anomaly models fitted on the scan "
            f"({found['rules_run']} rules run):",
            "",
            f"- planted cases: {found['cases']}; with a member alerted by a rule: "
            f"{found['by_rules']}; by an anomaly model: {found['by_models']}",
            f"- found by the models and by no rule: {len(only)}"
            + (" (" + "; ".join(f"{c}: {', '.join(r)}" for c, r in only) + ")" if only else ""),
            f"- anomaly alerts: {found['model_alerts']}, of which on planted customers: "
            f"{found['model_alerts_planted']}, on look-alikes: {found['model_alerts_lookalike']}",
        ]
        skipped = found.get("skipped")
        if isinstance(skipped, dict) and skipped:
            lines.append(f"- rules skipped: {', '.join(sorted(skipped))}")
    lines += [
        "",
        "Run times (seconds; 2 shared cores, other jobs running; the detector rows include",
        "fitting and scoring both segments, not the features):",
        "",
    ]
    lines += [f"- {k}: {v:.1f}" for k, v in timings.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
