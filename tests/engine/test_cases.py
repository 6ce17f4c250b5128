"""Cases: scoring by indicator and pillar, customer cases and network cases."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from engine.cases import build_cases


def _alerts(
    rows: list[tuple[str, str, str | None, str, str]], *, role: dict[str, str] | None = None
) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        [
            {
                "alert_id": a, "rule_id": r, "customer_id": c, "entity": e, "entity_type": "account_id",
                "pillar": p, "weight": 1.0, "specificity": "high" if r.startswith("HT-WAGE") else "normal",
                "subject_role": (role or {}).get(a, "controller"), "episode_start": start, "episode_end": start,
            }
            for a, r, c, e, p in rows
        ]
    )  # fmt: skip


def test_variants_of_one_indicator_count_once() -> None:
    alerts = _alerts(
        [
            ("a1", "HT-STRUCT-01", "C1", "A1", "moving_proceeds"),
            ("a2", "HT-STRUCT-02", "C1", "A1", "moving_proceeds"),
            ("a3", "HT-WAGE-01", "C1", "A1", "moving_proceeds"),
        ]
    )
    by_rule, _ = build_cases(alerts)
    by_indicator, _ = build_cases(alerts, indicators={"HT-STRUCT-02": "HT-STRUCT-01"})

    assert by_rule["escalated"].to_list() == [True]  # three rules, one high-specificity
    assert by_indicator["escalated"].to_list() == [False]  # but only two indicators


def test_a_case_with_no_business_pillar_scores_its_weights() -> None:
    alerts = _alerts(
        [
            ("a1", "ML-GATHSCAT-01", "C1", "A1", "network"),
            ("a2", "ML-FANIN-01", "C1", "A1", "network"),
        ]
    )

    cases, _ = build_cases(alerts)

    assert cases["score"].to_list() == [2.0]  # weights 1 + 1, no pillar bonus, no wrap-around
    assert cases["escalated"].to_list() == [False]


NETWORK = pl.DataFrame({"network_id": ["net-1"] * 4, "alert_id": ["v1", "v2", "d1", "b1"]})


def _drained() -> pl.DataFrame:
    """Two victims' credit alerts, a device-control alert and a buyer's lone alert."""
    return _alerts(
        [
            ("v1", "HT-CREDIT-01", "C1", "C1", "recruitment_transport"),
            ("v2", "HT-CREDIT-01", "C2", "C2", "recruitment_transport"),
            ("d1", "HT-CONTROL-01", None, "DEV-9", "recruitment_transport"),
            ("b1", "HT-DEMAND-01", "C3", "C3", "exploitation_revenue"),
        ],
        role={"v1": "victim", "v2": "victim"},
    )


def test_a_network_case_groups_its_members_alerts_victims_included() -> None:
    cases, case_alerts = build_cases(_drained(), networks=NETWORK)

    network = cases.filter(pl.col("subject_type") == "network")
    assert network["subject"].to_list() == ["net-1"]
    assert network["n_alerts"].to_list() == [4]
    assert network["escalated"].to_list() == [True]  # two pillars across the members
    assert network["subject_role"].to_list() == ["controller"]  # never the victims' role
    linked = case_alerts.join(network.select("case_id"), on="case_id")
    assert sorted(linked["alert_id"]) == ["b1", "d1", "v1", "v2"]
    # victims are still never the subject of a case of their own
    assert not set(cases["subject"]) & {"C1", "C2"}


def test_without_networks_the_same_alerts_do_not_escalate() -> None:
    cases, _ = build_cases(_drained())

    assert set(cases["subject_type"]) == {"customer", "account_id"}
    assert not any(cases["escalated"])


def test_a_network_of_one_entity_adds_no_case() -> None:
    alerts = _drained().filter(pl.col("alert_id") == "b1")

    cases, _ = build_cases(alerts, networks=NETWORK)

    assert cases["subject_type"].to_list() == ["customer"]


def test_a_network_case_summary_says_how_many_entities_it_joins() -> None:
    cases, _ = build_cases(_drained(), networks=NETWORK)

    summary = cases.filter(pl.col("subject_type") == "network")["summary"].item()
    assert summary.startswith("4 alerted customers or entities in one money-flow network; ")


def test_victim_hinted_alerts_count_only_for_a_customer_already_a_perpetrator_subject() -> None:
    rows = [
        ("f1", "HT-FUNNEL-01", "C1", "A1", "moving_proceeds"),
        ("p1", "HT-PASS-01", "C1", "A1", "moving_proceeds"),
        ("c1", "HT-CASHONLY-01", "C1", "A1", "moving_proceeds"),
        ("s2", "HT-STRUCT-01", "C2", "A2", "moving_proceeds"),
        ("c2", "HT-CASHONLY-01", "C2", "A2", "moving_proceeds"),
    ]
    roles = {"f1": "launderer", "p1": "mule", "c1": "victim", "s2": "unknown", "c2": "victim"}

    cases, case_alerts = build_cases(_alerts(rows, role=roles))

    by_subject = {r["subject"]: r for r in cases.iter_rows(named=True)}
    assert by_subject["C1"]["n_alerts"] == 3  # the launderer's cash-only alert counts
    assert by_subject["C2"]["n_alerts"] == 1  # a merely unknown role does not pull it in
    assert "c2" not in set(case_alerts["alert_id"])


def test_in_a_network_one_indicator_on_several_members_counts_per_member() -> None:
    alerts = (
        _drained()
        .filter(pl.col("alert_id") != "b1")  # one pillar left
        .with_columns(pl.lit("high").alias("specificity"))
    )
    # the same two indicators on one customer would be two, below the three of §0.3
    one_person = alerts.with_columns(
        pl.lit("C1").alias("customer_id"), pl.lit("controller").alias("subject_role")
    )

    cases, _ = build_cases(alerts, networks=NETWORK)
    alone, _ = build_cases(one_person)

    assert cases.filter(pl.col("subject_type") == "network")["escalated"].to_list() == [True]
    assert alone["escalated"].to_list() == [False]
