"""Measure detection against labels: per rule, per scenario, and on the benign population.

Truth is one row per labelled subject: `case_id`, `scenario`, `role`, `customer_id`,
`account_id`, `expected_indicator_ids` (list), `is_lookalike`. It comes from the generator's
`truth/truth.parquet` or from a labelled external file (`truth_from_amlsim`). Subjects are
compared at customer level (an account's alerts count for its customer).

- per rule: alert volume, precision (alerted subjects that are planted, non-look-alike),
  recall (planted subjects expected to carry the rule's indicator that it alerted);
- per scenario: case recall (planted cases with a member in an escalated case: its subject,
  or a customer one of its alerts concerns, as in a network case), and any-alert recall;
- benign background: share of unlabelled customers with any alert; look-alikes: share with
  any alert and share that reach an escalated case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.catalogue import indicator_of
from engine.spec import Rule

__all__ = [
    "AMLSIM_INDICATORS",
    "TRUTH_SCHEMA",
    "Backtest",
    "alert_subjects",
    "load_truth",
    "measure",
    "truth_from_amlsim",
]

TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "scenario": pl.String(),
    "role": pl.String(),
    "customer_id": pl.String(),
    "account_id": pl.String(),
    "expected_indicator_ids": pl.List(pl.String()),
    "is_lookalike": pl.Boolean(),
}
AMLSIM_INDICATORS = {
    "fan_in": "ML-FANIN-01",
    "fan_out": "ML-FANOUT-01",
    "cycle": "ML-CYCLE-01",
    "scatter_gather": "ML-SCATGATH-01",
    "gather_scatter": "ML-GATHSCAT-01",
    "bipartite": "ML-BIPART-01",
    "stack": "ML-STACK-01",
    "random": "ML-RANDOM-01",
}


@dataclass(frozen=True, slots=True)
class Backtest:
    """Backtest results as frames, plus the headline population figures."""

    rules: pl.DataFrame
    scenarios: pl.DataFrame
    population: pl.DataFrame


def load_truth(path: Path | str) -> pl.DataFrame:
    """A truth table cast to `TRUTH_SCHEMA` (missing optional columns filled)."""
    frame = pl.read_parquet(path) if str(path).endswith(".parquet") else pl.read_csv(path)
    for name, dtype in TRUTH_SCHEMA.items():
        if name not in frame.columns:
            default: object = {"expected_indicator_ids": [], "is_lookalike": False}.get(name)
            frame = frame.with_columns(pl.lit(default, dtype=dtype).alias(name))
    return frame.select([pl.col(n).cast(t) for n, t in TRUTH_SCHEMA.items()])


def truth_from_amlsim(folder: Path | str) -> pl.DataFrame:
    """Truth from an AMLSim run: each SAR alert is a case, its accounts the members."""
    path = Path(folder) / "alert_transactions.csv.gz"
    alerts = pl.read_csv(
        path,
        schema_overrides={"orig_acct": pl.String, "bene_acct": pl.String, "alert_id": pl.String},
    )
    members = pl.concat(
        [
            alerts.select("alert_id", "alert_type", pl.col("orig_acct").alias("account_id")),
            alerts.select("alert_id", "alert_type", pl.col("bene_acct").alias("account_id")),
        ]
    ).unique()
    return members.select(
        pl.col("alert_id").alias("case_id"),
        pl.col("alert_type").alias("scenario"),
        pl.lit("member").alias("role"),
        pl.col("account_id").alias("customer_id"),
        "account_id",
        pl.concat_list(pl.col("alert_type").replace_strict(AMLSIM_INDICATORS, default=None))
        .list.drop_nulls()
        .alias("expected_indicator_ids"),
        pl.lit(False).alias("is_lookalike"),
    ).sort("case_id", "account_id")


def alert_subjects(alerts: pl.DataFrame, evidence: pl.DataFrame | None) -> pl.DataFrame:
    """(alert_id, rule_id, subject): the customer an alert concerns.

    An alert on an account or customer concerns its customer. An alert keyed on something
    else (a beneficiary, a device, an address) concerns the customers whose postings it cites.
    """
    direct = alerts.filter(pl.col("customer_id").is_not_null()).select(
        "alert_id", "rule_id", pl.col("customer_id").cast(pl.String).alias("subject")
    )
    others = alerts.filter(pl.col("customer_id").is_null())
    if evidence is None or "customer_id" not in evidence.columns or others.is_empty():
        cited = others.select(
            "alert_id", "rule_id", pl.col("entity").cast(pl.String).alias("subject")
        )
    else:
        cited = (
            others.select("alert_id", "rule_id")
            .join(
                evidence.select("alert_id", pl.col("customer_id").alias("subject")), on="alert_id"
            )
            .drop_nulls("subject")
            .unique()
        )
    return pl.concat([direct, cited]).with_columns(pl.col("subject").cast(pl.String))


def _escalated_customers(
    cases: pl.DataFrame, case_alerts: pl.DataFrame, subjects: pl.DataFrame
) -> set[str]:
    """Customers who are in an escalated case: its subject, or, in a network case, the
    customer an alert of the case concerns (victims and buyers included)."""
    if cases.is_empty():
        return set()
    escalated = cases.filter(pl.col("escalated"))
    own = set(escalated["subject"].to_list())
    members = (
        case_alerts.join(escalated.select("case_id"), on="case_id", how="semi")
        .join(subjects.select("alert_id", "subject"), on="alert_id")
        .get_column("subject")
        .to_list()
    )
    return own | set(members)


def measure(
    alerts: pl.DataFrame,
    cases: pl.DataFrame,
    case_alerts: pl.DataFrame,
    truth: pl.DataFrame,
    population: pl.DataFrame,
    rules: list[Rule],
    evidence: pl.DataFrame | None = None,
) -> Backtest:
    """Backtest figures from a run's alerts and cases against `truth`.

    Args:
        population: one row per customer in the scanned data (`customer_id`).
        evidence: the alerts' evidence (`alert_id`, `customer_id`), to attribute alerts keyed
            on something other than a customer.
    """
    subj = alert_subjects(alerts, evidence)
    planted = truth.filter(~pl.col("is_lookalike"))
    planted_ids = set(planted["customer_id"].drop_nulls().to_list())
    lookalike_ids = set(truth.filter(pl.col("is_lookalike"))["customer_id"].drop_nulls().to_list())
    rule_rows = []
    for rule in rules:
        indicator = indicator_of(rule)
        fired = set(subj.filter(pl.col("rule_id") == rule.id)["subject"].to_list())
        expected = set(
            planted.filter(pl.col("expected_indicator_ids").list.contains(indicator))[
                "customer_id"
            ].to_list()
        )
        true_pos = len(fired & planted_ids)
        rule_rows.append(
            {
                "rule_id": rule.id,
                "indicator": indicator,
                "alerts": alerts.filter(pl.col("rule_id") == rule.id).height,
                "subjects": len(fired),
                "true_positives": true_pos,
                "false_positives": len(fired - planted_ids),
                "lookalike_hits": len(fired & lookalike_ids),
                "precision": true_pos / len(fired) if fired else None,
                "expected": len(expected),
                "recall": len(fired & expected) / len(expected) if expected else None,
            }
        )
    escalated_subjects = _escalated_customers(cases, case_alerts, subj)
    alerted = set(subj["subject"].to_list())
    scenario_rows = []
    for (scenario,), group in planted.group_by("scenario", maintain_order=True):
        per_case = group.group_by("case_id").agg(pl.col("customer_id"))
        found_escalated = sum(
            1 for members in per_case["customer_id"] if set(members) & escalated_subjects
        )
        found_any = sum(1 for members in per_case["customer_id"] if set(members) & alerted)
        scenario_rows.append(
            {
                "scenario": scenario,
                "cases": per_case.height,
                "escalated_recall": found_escalated / per_case.height,
                "alert_recall": found_any / per_case.height,
            }
        )
    everyone = set(population["customer_id"].drop_nulls().to_list())
    benign = everyone - planted_ids - lookalike_ids
    pop = pl.DataFrame(
        {
            "group": ["benign", "lookalike", "planted"],
            "customers": [len(benign), len(lookalike_ids), len(planted_ids)],
            "any_alert": [
                len(benign & alerted),
                len(lookalike_ids & alerted),
                len(planted_ids & alerted),
            ],
            "escalated": [
                len(benign & escalated_subjects),
                len(lookalike_ids & escalated_subjects),
                len(planted_ids & escalated_subjects),
            ],
        }
    ).with_columns(
        (pl.col("any_alert") / pl.col("customers")).alias("any_alert_rate"),
        (pl.col("escalated") / pl.col("customers")).alias("escalated_rate"),
    )
    scen_schema = {
        "scenario": pl.String,
        "cases": pl.Int64,
        "escalated_recall": pl.Float64,
        "alert_recall": pl.Float64,
    }
    return Backtest(
        rules=pl.DataFrame(rule_rows).sort("rule_id") if rule_rows else pl.DataFrame(),
        scenarios=pl.DataFrame(scenario_rows, schema=scen_schema).sort("scenario"),
        population=pop,
    )
