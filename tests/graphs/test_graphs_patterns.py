"""Each pattern on small hand-built motifs that fire and near misses that must not."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from graphs_testkit import at, frame, measures, postings

from engine.schema import HIT_SCHEMA, empty_transactions
from graphs.patterns import PATTERNS, GraphContext, run_pattern


def entities(hits: pl.DataFrame) -> set[str]:
    return set(hits.get_column("entity").to_list())


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_params_are_frozen_slotted_with_defaults(name: str) -> None:
    params_type = PATTERNS[name].params
    assert dataclasses.is_dataclass(params_type)
    assert params_type.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert hasattr(params_type, "__slots__")
    params_type()  # every field has a default


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_returns_the_hit_schema(name: str) -> None:
    assert run_pattern(name, empty_transactions()).schema == pl.Schema(HIT_SCHEMA)
    busy = postings([("a", "b", 500, at(0)), ("b", "c", 480, at(5)), ("c", "a", 460, at(9))])
    assert run_pattern(name, busy).schema == pl.Schema(HIT_SCHEMA)


# --- fan-in / fan-out --------------------------------------------------------------------


def test_fan_in_fires_on_six_new_senders_in_two_days() -> None:
    txns = postings([(f"s{i}", "sink", 950 + 5 * i, at(hours=6 * i)) for i in range(6)])
    hits = run_pattern("fan_in", txns)
    assert entities(hits) == {"sink"}
    assert measures(hits)[0]["n_in_cpty"] == 6
    assert len(hits.row(0, named=True)["evidence"]) == 6


@pytest.mark.parametrize(
    ("case", "transfers"),
    [
        ("degree one short", [(f"s{i}", "sink", 950, at(hours=6 * i)) for i in range(4)]),
        (
            "amounts neither similar nor round",
            [
                (f"s{i}", "sink", a, at(hours=i))
                for i, a in enumerate([120.5, 910.2, 2510.7, 150.3, 4003.9])
            ],
        ),
        # the fifth sender arrives exactly 72 h after the first: outside (t - 72h, t]
        (
            "fifth sender on the window boundary",
            [(f"s{i}", "sink", 900, at(hours=18 * i)) for i in range(5)],
        ),
        (
            "landlord with six tenants paying monthly",
            [
                (f"t{i}", "landlord", 1200, at(days=30 * m, hours=i))
                for m in range(4)
                for i in range(6)
            ],
        ),
    ],
)
def test_fan_in_near_misses(case: str, transfers: list[tuple[Any, ...]]) -> None:
    assert run_pattern("fan_in", postings(transfers)).is_empty(), case


def test_fan_out_fires_and_payroll_run_does_not() -> None:
    burst = postings([("boss", f"r{i}", 500, at(hours=3 * i)) for i in range(6)])
    assert entities(run_pattern("fan_out", burst)) == {"boss"}
    payroll = postings(
        [("firm", f"staff{i}", 2100, at(days=30 * m)) for m in range(3) for i in range(12)]
    )
    assert run_pattern("fan_out", payroll).is_empty()


def test_fan_novel_count_ignores_regular_counterparties() -> None:
    regular = [(f"old{i}", "sink", 500, at(days=-20 * m)) for m in range(3) for i in range(3)]
    new = [(f"new{i}", "sink", 500, at(hours=i)) for i in range(3)]
    params = PATTERNS["fan_in"].params(
        window=timedelta(days=90), min_cpty=4, min_new_share=0.0, max_periodic_share=1.0,
        min_novel_cpty=4,
    )  # fmt: skip
    assert run_pattern("fan_in", postings(regular + new), params=params).is_empty()
    more = [*new, ("new9", "sink", 500, at(hours=5))]
    assert entities(run_pattern("fan_in", postings(regular + more), params=params)) == {"sink"}


# --- cycle -------------------------------------------------------------------------------


def test_cycle_fires_on_a_shaved_time_respecting_loop() -> None:
    loop = [
        ("a", "b", 1000, at(0)),
        ("b", "c", 950, at(20)),
        ("c", "d", 900, at(40)),
        ("d", "a", 860, at(60)),
    ]
    hits = run_pattern("cycle", postings(loop))
    assert entities(hits) == {"a", "b", "c", "d"}
    assert measures(hits)[0]["cycle"] == "a>b>c>d"
    assert measures(hits)[0]["length"] == 4


@pytest.mark.parametrize(
    ("case", "loop"),
    [
        (
            "a hop out of time order",
            [("a", "b", 1000, at(0)), ("b", "c", 950, at(40)), ("c", "a", 900, at(20))],
        ),
        (
            "amount below the shave range",
            [("a", "b", 1000, at(0)), ("b", "c", 500, at(20)), ("c", "a", 480, at(40))],
        ),
        (
            "amount growing along the loop",
            [("a", "b", 1000, at(0)), ("b", "c", 1100, at(20)), ("c", "a", 1050, at(40))],
        ),
        (
            "loop closes after the span",
            [("a", "b", 1000, at(0)), ("b", "c", 950, at(days=15)), ("c", "a", 900, at(days=30))],
        ),
        (
            "loan and repayment",
            [
                ("a", "b", 500, at(0), {"reference_text": "loan"}),
                ("b", "a", 500, at(days=14), {"reference_text": "repay loan"}),
            ],
        ),
        ("2-cycle amounts differ by 20%", [("a", "b", 500, at(0)), ("b", "a", 400, at(days=3))]),
    ],
)
def test_cycle_near_misses(case: str, loop: list[tuple[Any, ...]]) -> None:
    assert run_pattern("cycle", postings(loop)).is_empty(), case


SAME_DAY = [("a", "b", 1000, at(0)), ("b", "c", 950, at(0)), ("c", "a", 900, at(0))]
SAME_START = [("a", "b", 1000, at(0)), ("b", "c", 950, at(0)), ("c", "a", 900, at(20))]


@pytest.mark.parametrize("loop", [SAME_DAY, SAME_START], ids=["all one time", "first two tie"])
def test_cycle_ties_are_in_order_by_default(loop: list[tuple[Any, ...]]) -> None:
    """Day-stamped feeds: hops at the same timestamp are in order, and the loop is one finding
    (one hit per member, its three transfers), however many of its hops tie."""
    hits = run_pattern("cycle", postings(loop))
    assert entities(hits) == {"a", "b", "c"}
    assert hits.height == 3
    assert all(len(e) == 3 for e in hits.get_column("evidence").to_list())


@pytest.mark.parametrize("loop", [SAME_DAY, SAME_START], ids=["all one time", "first two tie"])
def test_cycle_strict_order_rejects_ties(loop: list[tuple[Any, ...]]) -> None:
    params = PATTERNS["cycle"].params(time_order="strict")
    assert run_pattern("cycle", postings(loop), params=params).is_empty()


def test_cycle_ties_do_not_rescue_an_earlier_hop() -> None:
    """A tie is in order; a hop before the previous one is not, in either semantics."""
    loop = [("a", "b", 1000, at(5)), ("b", "c", 950, at(5)), ("c", "a", 900, at(4))]
    for order in ("same_time_ok", "strict"):
        params = PATTERNS["cycle"].params(time_order=order)
        assert run_pattern("cycle", postings(loop), params=params).is_empty(), order


def test_two_cycle_with_close_amounts_fires() -> None:
    hits = run_pattern("cycle", postings([("a", "b", 500, at(0)), ("b", "a", 480, at(days=3))]))
    assert entities(hits) == {"a", "b"}


def test_cycle_without_time_order_when_asked() -> None:
    loop = [("a", "b", 1000, at(0)), ("b", "c", 950, at(40)), ("c", "a", 900, at(20))]
    params = PATTERNS["cycle"].params(time_order="none")
    assert entities(run_pattern("cycle", postings(loop), params=params)) == {"a", "b", "c"}


# --- scatter-gather / gather-scatter ------------------------------------------------------


def scatter(
    n: int = 4, *, forward: float = 2900, delay_h: float = 24, source: bool = True
) -> list[tuple[Any, ...]]:
    outs = [("S" if source else f"P{i}", f"I{i}", 3000, at(i)) for i in range(n)]
    return outs + [(f"I{i}", "T", forward, at(delay_h + i)) for i in range(n)]


def test_scatter_gather_flags_source_and_sink() -> None:
    hits = run_pattern("scatter_gather", postings(scatter()))
    assert entities(hits) == {"S", "T"}
    assert {m["role"] for m in measures(hits)} == {"source", "sink"}
    assert measures(hits)[0]["n_intermediaries"] == 4


@pytest.mark.parametrize(
    ("case", "transfers"),
    [
        ("two intermediaries", scatter(2)),
        ("forwarded after three days", scatter(delay_h=72)),
        ("intermediaries keep half", scatter(forward=1500)),
        ("no common source (friends repaying an organiser)", scatter(source=False)),
    ],
)
def test_scatter_gather_near_misses(case: str, transfers: list[tuple[Any, ...]]) -> None:
    assert run_pattern("scatter_gather", postings(transfers)).is_empty(), case


def gather(receivers: list[str], *, out_amount: float = 900) -> list[tuple[Any, ...]]:
    ins = [(f"f{i}", "H", 1000, at(i)) for i in range(4)]
    return ins + [("H", r, out_amount, at(24 + i)) for i, r in enumerate(receivers)]


def test_gather_scatter_fires_on_disjoint_sides() -> None:
    hits = run_pattern("gather_scatter", postings(gather(["r0", "r1", "r2", "r3"])))
    assert entities(hits) == {"H"}
    assert measures(hits)[0]["pass_share"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("case", "transfers"),
    [
        ("ROSCA: members are paid out", gather(["f0", "f1", "f2", "f3"])),
        ("half the money stays", gather(["r0", "r1", "r2", "r3"], out_amount=500)),
        ("two receivers", gather(["r0", "r1"], out_amount=1800)),
    ],
)
def test_gather_scatter_near_misses(case: str, transfers: list[tuple[Any, ...]]) -> None:
    assert run_pattern("gather_scatter", postings(transfers)).is_empty(), case


# --- bipartite / stack / chain ------------------------------------------------------------


def test_bipartite_fires_and_unrelated_payers_do_not() -> None:
    dense = [(f"A{i}", f"B{j}", 700, at(i * 5 + j)) for i in range(3) for j in range(4)]
    assert entities(run_pattern("bipartite", postings(dense))) == {"A0", "A1", "A2"}
    disjoint = [(f"A{i}", f"B{i}{j}", 700, at(i * 5 + j)) for i in range(3) for j in range(4)]
    assert run_pattern("bipartite", postings(disjoint)).is_empty()
    two = [(f"A{i}", f"B{j}", 700, at(i * 5 + j)) for i in range(3) for j in range(2)]
    assert run_pattern("bipartite", postings(two)).is_empty()


def layers(*, forward: float = 690, second_at: float = 20) -> list[tuple[Any, ...]]:
    first = [(f"A{i}", f"B{j}", 700, at(i + j)) for i in range(3) for j in range(4)]
    return first + [
        (f"B{j}", f"C{k}", forward, at(second_at + j + k)) for j in range(4) for k in range(3)
    ]


def test_stack_fires_and_near_misses_do_not() -> None:
    assert entities(run_pattern("stack", postings(layers()))) == {"A0", "A1", "A2"}
    assert run_pattern("stack", postings(layers(forward=200))).is_empty()
    assert run_pattern("stack", postings(layers(second_at=-10))).is_empty()


@pytest.mark.parametrize(
    ("case", "path", "fires"),
    [
        (
            "four shaved hops",
            [
                ("a", "b", 1000, at(0)),
                ("b", "c", 950, at(20)),
                ("c", "d", 900, at(40)),
                ("d", "e", 860, at(60)),
            ],
            True,
        ),
        ("two hops only", [("a", "b", 1000, at(0)), ("b", "c", 950, at(20))], False),
        (
            "a hop out of time order",
            [("a", "b", 1000, at(0)), ("b", "c", 950, at(20)), ("c", "d", 900, at(10))],
            False,
        ),
        (
            "a hop after 48 h",
            [("a", "b", 1000, at(0)), ("b", "c", 950, at(20)), ("c", "d", 900, at(69))],
            False,
        ),
        (
            "amount grows",
            [("a", "b", 1000, at(0)), ("b", "c", 950, at(20)), ("c", "d", 990, at(40))],
            False,
        ),
    ],
)
def test_chain(case: str, path: list[tuple[Any, ...]], fires: bool) -> None:
    hits = run_pattern("chain", postings(path))
    assert (entities(hits) == {"a"}) is fires, case


def test_chain_reports_only_the_maximal_path() -> None:
    path = [
        ("a", "b", 1000, at(0)),
        ("b", "c", 950, at(20)),
        ("c", "d", 900, at(40)),
        ("d", "e", 860, at(60)),
    ]
    hits = run_pattern("chain", postings(path))
    assert hits.height == 1
    assert measures(hits)[0]["path"] == "a>b>c>d>e"


# --- node-annotated: hub, wage pool, shared beneficiary ------------------------------------


def cash_out(account: str, amount: float, ts: Any) -> dict[str, Any]:
    return {
        "txn_id": f"cash-{account}-{amount}", "account_id": account, "customer_id": f"c-{account}",
        "ts_utc": ts, "direction": "out", "amount": Decimal(str(amount)),
        "amount_base": Decimal(str(amount)), "currency": "EUR", "channel": "atm",
        "txn_type": "withdrawal",
    }  # fmt: skip


def hub_txns(*, payback: bool = False, cash: bool = True) -> pl.DataFrame:
    feeds = postings([(f"v{i}", "H", 800, at(hours=6 * i)) for i in range(4)])
    extra = [cash_out("H", 2500, at(days=1))] if cash else []
    back = (
        postings([("H", f"v{i}", 700, at(days=2, hours=i)) for i in range(4)]) if payback else None
    )
    parts = [feeds, frame(extra)] + ([back] if back is not None else [])
    return pl.concat(parts).with_columns(pl.col("txn_id") + pl.int_range(pl.len()).cast(pl.String))


def alerts(rule: str, entities_: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"rule_id": [rule] * len(entities_), "entity": entities_, "pillar": ["x"] * len(entities_)}
    )


def test_hub_fires_on_flagged_feeders_and_cash_out() -> None:
    context = GraphContext(alerts=alerts("HT-P2P-01", ["v0", "v1", "c-v2", "v3"]))
    hits = run_pattern("hub", hub_txns(), context=context)
    assert entities(hits) == {"H"}
    assert measures(hits)[0]["n_feeders"] == 4


def test_hub_signal_alert_replaces_cash() -> None:
    flagged = pl.concat([alerts("HT-CASH-01", ["v0", "v1", "v2"]), alerts("HT-XBORDER-01", ["H"])])
    hits = run_pattern("hub", hub_txns(cash=False), context=GraphContext(alerts=flagged))
    assert entities(hits) == {"H"}


@pytest.mark.parametrize(
    ("case", "txns", "flagged"),
    [
        ("two flagged feeders", hub_txns(), ["v0", "v1"]),
        ("ROSCA: the hub pays the feeders back", hub_txns(payback=True), ["v0", "v1", "v2", "v3"]),
        ("no outflow signal", hub_txns(cash=False), ["v0", "v1", "v2", "v3"]),
    ],
)
def test_hub_near_misses(case: str, txns: pl.DataFrame, flagged: list[str]) -> None:
    context = GraphContext(alerts=alerts("HT-P2P-01", flagged))
    assert run_pattern("hub", txns, context=context).is_empty(), case


def salary(account: str, employer: str, ref: str, day: float) -> tuple[Any, ...]:
    return (employer, account, 1800, at(days=day), {"txn_type": "salary", "reference_text": ref})


HOLDER = pl.DataFrame(
    {"customer_id": ["c-acc"], "full_name": ["Ion Dinu"], "surname_norm": ["DINU"]}
)


@pytest.mark.parametrize(
    ("case", "credits", "fires"),
    [
        (
            "three workers' wages",
            [
                ("farm1", "SALARY ANA POPA"),
                ("farm1", "SALARY IOANA RUSU"),
                ("farm2", "SALARY MARIA LUCA"),
            ],
            True,
        ),
        (
            "joint account with two salaries",
            [("firm", "SALARY ION DINU"), ("shop", "SALARY ELENA DINU")],
            False,
        ),
        (
            "three part-time jobs of the holder",
            [("a", "PAY ION DINU"), ("b", "WAGES DINU ION"), ("c", "SALARY ION DINU")],
            False,
        ),
    ],
)
def test_wage_pool(case: str, credits: list[tuple[str, str]], fires: bool) -> None:
    txns = postings(
        [salary("acc", e, r, i) for i, (e, r) in enumerate(credits)],
        external=[e for e, _ in credits],
    )
    hits = run_pattern("wage_pool", txns, context=GraphContext(customers=HOLDER))
    assert (entities(hits) == {"acc"}) is fires, case


def test_wage_pool_without_kyc_counts_distinct_names() -> None:
    credits = [("e1", "ANA POPA"), ("e1", "IOANA RUSU"), ("e2", "MARIA LUCA")]
    txns = postings(
        [salary("acc", e, r, i) for i, (e, r) in enumerate(credits)], external=["e1", "e2"]
    )
    assert entities(run_pattern("wage_pool", txns)) == {"acc"}


def residents(
    address_type: str = "residential", surnames: tuple[str, ...] = ("POPA", "RUSU", "LUCA")
) -> pl.DataFrame:
    people = [f"p{i}" for i in range(6)]
    return pl.DataFrame(
        {
            "customer_id": [f"c-{p}" for p in people],
            "full_name": [f"Ana {surnames[i % len(surnames)]}" for i in range(6)],
            "surname_norm": [surnames[i % len(surnames)] for i in range(6)],
            "address_norm": ["1 MAIN ST FLAT 2"] * 6,
            "address_type": [address_type] * 6,
        }
    )


def remit(payers: int) -> pl.DataFrame:
    return postings(
        [(f"p{i}", "BEN", 900, at(days=10 * i)) for i in range(payers)], external=["BEN"]
    )


@pytest.mark.parametrize(
    ("case", "customers", "payers", "fires"),
    [
        ("six unrelated residents pay one beneficiary", residents(), 4, True),
        ("student housing", residents("student_housing"), 4, False),
        ("only one payer", residents(), 1, False),
        ("a family of two surnames", residents(surnames=("POPA", "RUSU")), 4, False),
    ],
)
def test_shared_beneficiary(case: str, customers: pl.DataFrame, payers: int, fires: bool) -> None:
    hits = run_pattern(
        "shared_beneficiary", remit(payers), context=GraphContext(customers=customers)
    )
    assert (entities(hits) == {"BEN"}) is fires, case


# --- regressions reported by rule authors ---------------------------------------------------


def test_wage_pool_reads_the_reference_not_the_ultimate_party() -> None:
    """HT-WAGE-01 names the employees in `reference_text`; on a credit `ultimate_party_name`
    is the ultimate debtor (the employer behind a payroll bureau)."""
    workers = ["SALARY ANA POPA", "SALARY IOANA RUSU", "SALARY MARIA LUCA"]
    pooled = postings(
        [
            ("bureau", "acc", 1800, at(days=i), {
                "txn_type": "salary", "reference_text": ref, "ultimate_party_name": "FARM LTD",
            })
            for i, ref in enumerate(workers)
        ],
        external=["bureau"],
    )  # fmt: skip
    assert entities(run_pattern("wage_pool", pooled, context=GraphContext(customers=HOLDER))) == {
        "acc"
    }
    own = postings(
        [
            (f"b{i}", "acc", 900, at(days=i), {
                "txn_type": "salary", "reference_text": "SALARY ION DINU",
                "ultimate_party_name": employer,
            })
            for i, employer in enumerate(["FARM LTD", "SHOP SRL", "CAFE SA"])
        ],
        external=["b0", "b1", "b2"],
    )  # fmt: skip
    hits = run_pattern("wage_pool", own, context=GraphContext(customers=HOLDER))
    assert hits.is_empty(), "three employers paying the holder's own wages"


def test_gather_scatter_charity_disbursing_reserves_does_not_fire() -> None:
    """A charity takes a few gifts and pays out grants from its reserves: out > in."""
    gifts = [(f"d{i}", "CH", 300, at(i)) for i in range(4)]
    grants = [("CH", f"g{i}", 1000, at(24 + i)) for i in range(4)]
    assert run_pattern("gather_scatter", postings(gifts + grants)).is_empty()
    params = PATTERNS["gather_scatter"].params(max_pass_share=float("inf"))
    assert entities(run_pattern("gather_scatter", postings(gifts + grants), params=params)) == {
        "CH"
    }


def test_stack_measures_layers_within_the_span() -> None:
    """An unrelated relay through a middle account two months earlier neither joins the stack
    nor hides it (the layers were once grouped across all time)."""
    early = [("X", "B0", 700, at(days=-60)), ("B0", "Y", 690, at(days=-60, hours=5))]
    assert entities(run_pattern("stack", postings(early + layers()))) == {"A0", "A1", "A2"}
    # the two halves of a stack, 30 days apart, are not one stack
    first = [(f"A{i}", f"B{j}", 700, at(i + j)) for i in range(3) for j in range(4)]
    half_1 = [*first, ("B0", "C0", 690, at(20)), ("B1", "C1", 690, at(21))]
    half_2 = [
        (f"B{j}", f"C{k}", 690, at(days=30, hours=j + k)) for j in range(4) for k in range(3)
    ] + [(f"A{i}", f"B{j}", 700, at(days=29, hours=i + j)) for i in range(1) for j in range(4)]
    assert run_pattern("stack", postings(half_1 + half_2)).is_empty()


def test_hub_counts_shared_address_victims_as_feeders() -> None:
    """HT-SHARED-01 names the beneficiary (here the hub), not the victims; its victims are the
    cluster members paying it, and they make the hub a controller (cash out)."""
    people = pl.DataFrame(
        {
            "customer_id": [f"c-v{i}" for i in range(4)],
            "full_name": ["Ana POPA", "Ioana RUSU", "Maria LUCA", "Elena POPA"],
            "surname_norm": ["POPA", "RUSU", "LUCA", "POPA"],
            "phone_e164": ["+40700000001"] * 4,
        }
    )
    hits = run_pattern("hub", hub_txns(), context=GraphContext(customers=people))
    assert entities(hits) == {"H"}
    assert measures(hits)[0]["n_feeders"] == 4
    two_surnames = people.with_columns(pl.Series("surname_norm", ["POPA", "RUSU"] * 2))
    lone = two_surnames.with_columns(pl.Series("phone_e164", ["+1", "+2", "+3", "+4"]))
    assert run_pattern("hub", hub_txns(), context=GraphContext(customers=lone)).is_empty()
