"""Backtest attribution: which customers an alert, and an escalated case, concern."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from engine.backtest import alert_subjects, measure
from engine.cases import build_cases


def _alerts(rows: list[tuple[str, str, str | None, str, str, str]]) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        [
            {
                "alert_id": a, "rule_id": r, "customer_id": c, "entity": e,
                "entity_type": "customer_id" if c else "device_id", "pillar": p, "weight": 2.0,
                "specificity": "normal", "subject_role": role, "episode_start": start,
                "episode_end": start,
            }
            for a, r, c, e, p, role in rows
        ]
    )  # fmt: skip


def test_alerts_keyed_on_a_beneficiary_concern_the_cited_customers() -> None:
    alerts = _alerts(
        [("a1", "HT-SMURF-01", None, "BENEFICIARY-9", "moving_proceeds", "controller")]
    )
    evidence = pl.DataFrame({"alert_id": ["a1", "a1", "a1"], "customer_id": ["C1", "C2", "C2"]})

    subjects = alert_subjects(alerts, evidence)

    assert sorted(subjects["subject"].to_list()) == ["C1", "C2"]


def test_members_of_an_escalated_network_case_count_as_escalated() -> None:
    alerts = _alerts(
        [
            ("v1", "HT-CREDIT-01", "C1", "C1", "recruitment_transport", "victim"),
            ("v2", "HT-CREDIT-01", "C2", "C2", "recruitment_transport", "victim"),
            ("s1", "HT-SMURF-01", None, "X9", "moving_proceeds", "controller"),
            ("q1", "HT-P2P-01", "C9", "C9", "exploitation_revenue", "unknown"),
        ]
    )
    evidence = pl.DataFrame({"alert_id": ["s1"], "customer_id": ["C3"]})
    networks = pl.DataFrame({"network_id": ["net-1"] * 3, "alert_id": ["v1", "v2", "s1"]})
    cases, case_alerts = build_cases(alerts, networks=networks)
    truth = pl.DataFrame(
        {
            "case_id": ["S6-1", "S6-1"], "scenario": ["S6", "S6"], "role": ["victim"] * 2,
            "customer_id": ["C1", "C2"], "account_id": ["A1", "A2"],
            "expected_indicator_ids": [["HT-CREDIT-01"]] * 2, "is_lookalike": [False, False],
        }
    )  # fmt: skip
    population = pl.DataFrame({"customer_id": ["C1", "C2", "C3", "C9", "C10"]})

    result = measure(alerts, cases, case_alerts, truth, population, [], evidence)

    assert result.scenarios["escalated_recall"].to_list() == [1.0]
    by_group = {r["group"]: r for r in result.population.iter_rows(named=True)}
    assert by_group["planted"]["escalated"] == 2
    assert by_group["benign"]["escalated"] == 1  # C3, cited by the beneficiary alert
    assert by_group["benign"]["any_alert"] == 2  # C3 and C9; C9's lone alert is no case
