"""ML-CYCLE-01 `time_order`: strict, same_time_ok (the default) and none (hop order ignored)."""

from __future__ import annotations

from typing import Any

import pytest
from graphs_testkit import at, postings

from engine.errors import RuleError
from engine.spec import RULES_DIR, load_pack
from graphs.cycles import TIME_ORDERS, CycleParams
from graphs.patterns import run_pattern

# each account pays on before it is paid: the money goes a > b > c > a at days 10, 5, 0, so no
# rotation is in time order; amounts shave from the earliest transfer (c > a), where `none`
# reads them from
BACKWARDS = [("a", "b", 950, at(days=10)), ("b", "c", 900, at(days=5)), ("c", "a", 1000, at(0))]


def entities(hits: Any) -> set[str]:
    return set(hits.get_column("entity").to_list())


def test_time_orders_are_three() -> None:
    assert TIME_ORDERS == ("strict", "same_time_ok", "none")
    assert CycleParams().time_order == "same_time_ok"


@pytest.mark.parametrize("order", TIME_ORDERS)
def test_a_backwards_loop_fires_only_without_time_order(order: str) -> None:
    hits = run_pattern("cycle", postings(BACKWARDS), params=CycleParams(time_order=order))
    if order == "none":
        assert entities(hits) == {"a", "b", "c"}
        assert hits.height == 3
        assert all(len(e) == 3 for e in hits.get_column("evidence").to_list())
    else:
        assert hits.is_empty()


def test_a_backwards_loop_is_not_a_default_cycle() -> None:
    assert run_pattern("cycle", postings(BACKWARDS)).is_empty()


@pytest.mark.parametrize(
    ("case", "loop"),
    [
        (
            "closes after the span",
            [("a", "b", 950, at(days=30)), ("b", "c", 900, at(days=5)), ("c", "a", 1000, at(0))],
        ),
        (
            "amounts outside the shave range around the loop",
            [("a", "b", 500, at(days=10)), ("b", "c", 480, at(days=5)), ("c", "a", 1000, at(0))],
        ),
        ("not closed", [("a", "b", 950, at(days=10)), ("b", "c", 900, at(days=5))]),
    ],
)
def test_no_time_order_still_needs_span_amounts_and_a_loop(case: str, loop: list[Any]) -> None:
    params = CycleParams(time_order="none")
    assert run_pattern("cycle", postings(loop), params=params).is_empty(), case


def test_an_unknown_time_order_is_refused() -> None:
    with pytest.raises(ValueError, match="time_order must be one of strict, same_time_ok, none"):
        CycleParams(time_order="sometimes")  # type: ignore[arg-type]


def test_the_shipped_rule_is_time_respecting_and_takes_the_option() -> None:
    path = RULES_DIR / "network" / "ml-cycle-01.yaml"
    rule = load_pack(path).get("ML-CYCLE-01")
    assert rule is not None
    assert rule.logic.params.time_order == "same_time_ok"
    loose = load_pack(path, overrides={"ML-CYCLE-01": {"time_order": "none"}}).get("ML-CYCLE-01")
    assert loose is not None
    assert loose.logic.params.time_order == "none"
    with pytest.raises(RuleError, match="time_order must be one of"):
        load_pack(path, overrides={"ML-CYCLE-01": {"time_order": "sometimes"}})
