"""Every rule kind against its naive reference (tests/engine/naive.py) on random data.

The frames are small and mean: few accounts, tied timestamps, events exactly one window (or
half a window) apart and 1 µs either side, amounts at and around the thresholds, nulls in the
optional columns. Engine and reference must give the same alerts (entity, episode start and
end) with the same evidence txn ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import naive
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import RuleError
from engine.lists import RefLists

T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday and the first of a month
US = timedelta(microseconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ACCOUNTS = ("A1", "A2", "A3")
CUSTOMERS = ("C1", "C2", "C3", "C4")
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- random canonical frames --------------------------------------------------------------


def instants(unit: timedelta, *, steps: int = 8) -> st.SearchStrategy[datetime]:
    """Mostly points of a lattice of half `unit`s (so pairs sit exactly one unit apart, or
    share an instant), nudged by 1 µs either way now and then; sometimes anywhere."""
    lattice = st.builds(
        lambda k, nudge: T0 + k * (unit / 2) + nudge * US,
        st.integers(0, 2 * steps),
        st.sampled_from((0, 0, 0, 1, -1)),
    )
    anywhere = st.integers(0, steps * (unit // US)).map(lambda n: T0 + n * US)
    return st.one_of(lattice, lattice, anywhere)


def midnights(days: int) -> st.SearchStrategy[datetime]:
    """Around UTC midnights (calendar boundaries), or anywhere in `days` days."""
    edge = st.builds(
        lambda d, nudge: T0 + d * DAY + nudge * US,
        st.integers(0, days),
        st.sampled_from((0, 1, -1)),
    )
    return st.one_of(edge, st.integers(0, days * (DAY // US)).map(lambda n: T0 + n * US))


def money(*marks: str) -> st.SearchStrategy[Decimal]:
    """Amounts at a threshold, a cent either side, or anywhere up to 20,000."""
    near = [Decimal(m) + d for m in marks for d in (Decimal("-0.01"), Decimal(0), Decimal("0.01"))]
    cents = st.integers(1, 2_000_000).map(lambda c: Decimal(c).scaleb(-2))
    return st.one_of(st.sampled_from(near), st.sampled_from(near), cents)


def _finish(drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number the rows; derive `amount` (a CAD row's differs) and `ts_local` (an offset)."""
    rows = []
    for i, d in enumerate(drawn):
        row = {"txn_id": f"t{i:03d}", **{k: v for k, v in d.items() if not k.startswith("_")}}
        row["amount"] = d["amount_base"] if d["currency"] == "USD" else d["_amount"]
        offset = d["_local"]
        local = None if offset is None else d["ts_utc"] + timedelta(hours=offset)
        row["ts_local"] = None if local is None else local.replace(tzinfo=None)
        rows.append(row)
    return rows


def transactions(
    times: st.SearchStrategy[datetime],
    amounts: st.SearchStrategy[Decimal],
    *,
    max_size: int = 24,
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Canonical rows: required columns always, optional ones often null."""
    row = st.fixed_dictionaries(
        {
            "account_id": st.sampled_from(ACCOUNTS),
            "customer_id": st.none() | st.sampled_from(CUSTOMERS),
            "ts_utc": times,
            "_local": st.none() | st.sampled_from((-5, 0, 9)),
            "direction": st.sampled_from(("in", "out")),
            "amount_base": amounts,
            "_amount": amounts,
            "currency": st.sampled_from(("USD", "USD", "CAD")),
            "channel": st.sampled_from(("cash", "atm", "wire", "card")),
            "mcc": st.none() | st.sampled_from(("7011", "4722", "5812")),
            "counterparty_account_id": st.none() | st.sampled_from((*ACCOUNTS, "X1")),
            "device_id": st.none() | st.sampled_from(("D1", "D2")),
        }
    )
    return st.lists(row, max_size=max_size).map(_finish)


def check(rule_text: str, rows: list[dict[str, Any]], expected: list[naive.Hit], **kw: Any) -> None:
    """Engine alerts over `rows` == the reference's alerts."""
    lists = kw.get("lists")
    got = naive.engine_alerts(naive.rule(rule_text, lists), rows, **kw)
    want = naive.alerts(expected, rows)
    assert got == want


# --- transaction and reference ------------------------------------------------------------

TRANSACTION = """
id: XX-TXN-01
title: large cash
kind: transaction
by: {by}
where: "{where}"
window: 1d
"""
TRANSACTION_CASES = {
    "cash at a threshold": (
        "account_id",
        "channel IN ('cash', 'atm') AND amount_base >= 9000",
        lambda r: r["channel"] in ("cash", "atm") and r["amount_base"] >= Decimal(9000),
    ),
    "lodging mcc by counterparty (nulls)": (
        "counterparty_account_id",
        "mcc IN ('7011', '4722') AND direction = 'out'",
        lambda r: r["mcc"] in ("7011", "4722") and r["direction"] == "out",
    ),
    "night by local hour (null local)": (
        "account_id",
        "EXTRACT(hour FROM ts_local) < 6 AND direction = 'in'",
        lambda r: r["ts_local"] is not None and r["ts_local"].hour < 6 and r["direction"] == "in",
    ),
    "not a listed mcc (null is unknown)": (
        "customer_id",
        "mcc NOT IN ('7011') AND counterparty_account_id <> 'X1'",
        lambda r: (
            r["mcc"] is not None
            and r["mcc"] != "7011"
            and r["counterparty_account_id"] is not None
            and r["counterparty_account_id"] != "X1"
        ),
    ),
}


@pytest.mark.parametrize("case", TRANSACTION_CASES)
@SETTINGS
@given(rows=transactions(instants(DAY), money("9000")))
def test_transaction(case: str, rows: list[dict[str, Any]]) -> None:
    by, where, predicate = TRANSACTION_CASES[case]
    expected = naive.transaction(rows, by=by, where=predicate, window=DAY)
    check(TRANSACTION.format(by=by, where=where), rows, expected)


WATCH = RefLists(
    {
        "watch": pl.DataFrame(
            {
                "value": ["X1", "A2", "7011", "A3"],
                "group": ["bad", "bad", "bad", "fine"],
            }
        )
    }
)
REFERENCE = """
id: XX-REF-01
title: paid a listed party
kind: reference
by: account_id
column: {column}
list: watch
{selector}
where: "direction = 'out'"
window: 1d
"""


@pytest.mark.parametrize(
    ("column", "selector"),
    [("counterparty_account_id", "group: bad"), ("mcc", "ref_where: \"ref_group = 'bad'\"")],
)
@SETTINGS
@given(rows=transactions(instants(DAY), money("100")))
def test_reference(column: str, selector: str, rows: list[dict[str, Any]]) -> None:
    expected = naive.reference(
        rows,
        by="account_id",
        column=column,
        values=("X1", "A2", "7011"),
        where=lambda r: r["direction"] == "out",
        window=DAY,
    )
    check(REFERENCE.format(column=column, selector=selector), rows, expected, lists=WATCH)


# --- aggregate: rolling window and calendar period -----------------------------------------

STRUCTURING = """
id: XX-AGG-01
title: structuring
kind: aggregate
by: account_id
where: "channel IN ('cash', 'atm') AND direction = 'in' AND amount_base < 10000"
window: 1d
measures:
  deposits: "count(*)"
  total: "sum(amount_base)"
having: "deposits >= 2 AND total >= 15000"
"""


def _structuring(r: naive.Row) -> bool:
    return r["channel"] in ("cash", "atm") and r["direction"] == "in" and r["amount_base"] < 10000


def _deposits(rows: list[naive.Row]) -> dict[str, Any]:
    return {"deposits": len(rows), "total": naive.total(rows)}


@SETTINGS
@given(rows=transactions(instants(DAY), money("7500", "10000", "5000")))
def test_aggregate_rolling(rows: list[dict[str, Any]]) -> None:
    expected = naive.aggregate_rolling(
        rows,
        by="account_id",
        where=_structuring,
        window=DAY,
        measure=_deposits,
        having=lambda m: m["deposits"] >= 2 and naive.ge(m["total"], 15000),
    )
    check(STRUCTURING, rows, expected)


FAN_IN = """
id: XX-AGG-02
title: many senders to one counterparty
kind: aggregate
by: counterparty_account_id
where: "direction = 'out'"
window: 12h
measures:
  senders: "count(DISTINCT account_id)"
  devices: "count(DISTINCT device_id)"
  with_mcc: "count(mcc)"
having: "senders >= 2 AND (devices >= 2 OR with_mcc >= 2)"
"""


@SETTINGS
@given(rows=transactions(instants(12 * HOUR), money("100")))
def test_aggregate_rolling_distinct_nullable_entity(rows: list[dict[str, Any]]) -> None:
    expected = naive.aggregate_rolling(
        rows,
        by="counterparty_account_id",
        where=lambda r: r["direction"] == "out",
        window=12 * HOUR,
        measure=lambda w: {
            "senders": naive.distinct(w, "account_id"),
            "devices": naive.distinct(w, "device_id"),
            "with_mcc": sum(r["mcc"] is not None for r in w),
        },
        having=lambda m: m["senders"] >= 2 and (m["devices"] >= 2 or m["with_mcc"] >= 2),
    )
    check(FAN_IN, rows, expected)


CALENDAR = """
id: XX-AGG-03
title: cash per {period}
kind: aggregate
by: account_id
where: "channel IN ('cash', 'atm')"
period: {period}
measures:
  deposits: "count(*)"
  total: "sum(amount_base)"
having: "total >= 15000"
"""
SPANS = {"day": 6, "week": 27, "month": 100, "quarter": 370}


@pytest.mark.parametrize("period", SPANS)
@SETTINGS
@given(data=st.data())
def test_aggregate_calendar(period: str, data: st.DataObject) -> None:
    rows = data.draw(transactions(midnights(SPANS[period]), money("7500", "5000")))
    expected = naive.aggregate_calendar(
        rows,
        by="account_id",
        where=lambda r: r["channel"] in ("cash", "atm"),
        period=period,
        measure=_deposits,
        having=lambda m: naive.ge(m["total"], 15000),
    )
    check(CALENDAR.format(period=period), rows, expected)


# --- shared attribute ---------------------------------------------------------------------

SHARED = """
id: XX-SHARE-01
title: one device, many customers
kind: shared_attribute
attribute: device_id
min_customers: {n}
distinct: {distinct}
exclude: "channel = 'wire'"
window: 1d
"""


@pytest.mark.parametrize(("n", "distinct"), [(2, {}), (3, {"account_id": 2})])
@SETTINGS
@given(rows=transactions(instants(DAY), money("100")))
def test_shared_attribute(n: int, distinct: dict[str, int], rows: list[dict[str, Any]]) -> None:
    expected = naive.shared_attribute(
        rows,
        attribute="device_id",
        min_customers=n,
        window=DAY,
        where=lambda r: r["channel"] != "wire",
        distinct=distinct,
    )
    check(SHARED.format(n=n, distinct=distinct or "{}"), rows, expected)


# --- velocity -----------------------------------------------------------------------------

VELOCITY = """
id: XX-VEL-01
title: pass-through
kind: velocity
by: account_id
in: "direction = 'in' AND channel IN ('cash', 'wire')"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.8 AND dwell_hours <= 12"
{repeat}
"""


def _velocity(rows: list[dict[str, Any]], **repeat: Any) -> list[naive.Hit]:
    return naive.velocity(
        rows,
        by="account_id",
        inflow=lambda r: r["direction"] == "in" and r["channel"] in ("cash", "wire"),
        outflow=lambda r: r["direction"] == "out",
        span=DAY,
        having=lambda m: (
            naive.ge(m["ratio"], 0.8) and m["dwell_hours"] is not None and m["dwell_hours"] <= 12
        ),
        **repeat,
    )


@SETTINGS
@given(rows=transactions(instants(DAY), money("10000", "8000", "4000")))
def test_velocity(rows: list[dict[str, Any]]) -> None:
    check(VELOCITY.format(repeat=""), rows, _velocity(rows))


@SETTINGS
@given(rows=transactions(instants(DAY, steps=10), money("10000", "8000", "4000"), max_size=30))
def test_velocity_repeat(rows: list[dict[str, Any]]) -> None:
    expected = _velocity(rows, repeat=2, within=2 * DAY)
    check(VELOCITY.format(repeat="repeat: {count: 2, within: 2d}"), rows, expected)


# --- sequence -----------------------------------------------------------------------------

SEQUENCE_2 = """
id: XX-SEQ-01
title: cash in, then a wire out of most of it
kind: sequence
by: account_id
steps:
  - {name: a, where: "direction = 'in' AND channel = 'cash'"}
  - {name: b, where: "direction = 'out' AND channel = 'wire'"}
within: 1d
match: "b_amount_base >= 0.8 * a_amount_base"
"""
SEQUENCE_3 = """
id: XX-SEQ-02
title: paid in, a hotel, then paid back to the same party
kind: sequence
by: account_id
steps:
  - {name: a, where: "direction = 'in'"}
  - {name: b, where: "direction = 'out' AND mcc = '7011'"}
  - {name: c, where: "direction = 'out' AND channel IN ('wire', 'cash')"}
within: 1d
match: "c_counterparty_account_id = a_counterparty_account_id"
"""


@SETTINGS
@given(rows=transactions(instants(DAY), money("10000", "8000")))
def test_sequence_two_steps(rows: list[dict[str, Any]]) -> None:
    expected = naive.sequence(
        rows,
        by="account_id",
        steps=[
            lambda r: r["direction"] == "in" and r["channel"] == "cash",
            lambda r: r["direction"] == "out" and r["channel"] == "wire",
        ],
        within=DAY,
        match=lambda c: c[1]["amount_base"] >= Decimal("0.8") * c[0]["amount_base"],
    )
    check(SEQUENCE_2, rows, expected)


@SETTINGS
@given(rows=transactions(instants(DAY), money("100")))
def test_sequence_three_steps(rows: list[dict[str, Any]]) -> None:
    expected = naive.sequence(
        rows,
        by="account_id",
        steps=[
            lambda r: r["direction"] == "in",
            lambda r: r["direction"] == "out" and r["mcc"] == "7011",
            lambda r: r["direction"] == "out" and r["channel"] in ("wire", "cash"),
        ],
        within=DAY,
        match=lambda c: (
            c[0]["counterparty_account_id"] is not None
            and c[2]["counterparty_account_id"] == c[0]["counterparty_account_id"]
        ),
    )
    check(SEQUENCE_3, rows, expected)


SEQUENCE_REPEAT = """
id: XX-SEQ-03
title: cash in then wire out, again and again
kind: sequence
by: account_id
steps:
  - {name: a, where: "direction = 'in' AND channel = 'cash'"}
  - {name: b, where: "direction = 'out' AND channel = 'wire'"}
within: 12h
repeat: {count: $chains, within: $span}
params: {chains: 3, span: 2d}
"""


@SETTINGS
@given(rows=transactions(instants(DAY), money("100"), max_size=30))
def test_sequence_repeat(rows: list[dict[str, Any]]) -> None:
    expected = naive.sequence(
        rows,
        by="account_id",
        steps=[
            lambda r: r["direction"] == "in" and r["channel"] == "cash",
            lambda r: r["direction"] == "out" and r["channel"] == "wire",
        ],
        within=12 * HOUR,
        repeat=3,
        repeat_within=2 * DAY,
    )
    check(SEQUENCE_REPEAT, rows, expected)


# --- profile ------------------------------------------------------------------------------

OWN_BASELINE = """
id: XX-PROF-01
title: a day far above the account's own baseline
kind: profile
by: account_id
where: "direction = 'in'"
period: day
measures:
  total: "sum(amount_base)"
  n: "count(*)"
baseline: {periods: 3, min_periods: 2}
having: "total > 0 AND (total_ratio >= 2 OR n_z >= 1.5)"
"""


@SETTINGS
@given(rows=transactions(midnights(9), money("1000", "2000"), max_size=30))
def test_profile_own_baseline(rows: list[dict[str, Any]]) -> None:
    expected = naive.profile(
        rows,
        by="account_id",
        where=lambda r: r["direction"] == "in",
        period="day",
        measure=lambda w: {"total": naive.total(w), "n": len(w)},
        baseline=3,
        min_baseline=2,
        having=lambda m: (
            m["total"] > 0 and (naive.ge(m["total_ratio"], 2) or naive.ge(m["n_z"], 1.5))
        ),
    )
    check(OWN_BASELINE, rows, expected)


PEERS = """
id: XX-PROF-02
title: a customer far above its peers in a week
kind: profile
by: customer_id
period: week
segment: customer_type
measures:
  total: "sum(amount_base)"
baseline: {periods: 2, min_periods: 1}
having: "total_peer_pct >= 0.75 AND total > total_peer_median"
"""
KYC = pl.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3", "C4"],
        "customer_type": ["individual", "business", "individual", None],
    }
)


@SETTINGS
@given(rows=transactions(midnights(27), money("1000")))
def test_profile_peer_percentile(rows: list[dict[str, Any]]) -> None:
    segment = dict(KYC.iter_rows())
    expected = naive.profile(
        rows,
        by="customer_id",
        where=lambda r: True,
        period="week",
        measure=lambda w: {"total": naive.total(w)},
        baseline=2,
        min_baseline=1,
        segment=lambda r: segment[r["customer_id"]],
        having=lambda m: (
            naive.ge(m["total_peer_pct"], 0.75)
            and m["total_peer_median"] is not None
            and m["total"] > m["total_peer_median"]
        ),
    )
    check(PEERS, rows, expected, customers=KYC)


# --- regressions: examples the comparison found ------------------------------------------


def _row(n: int, hours: float, **values: Any) -> dict[str, Any]:
    row = {
        "txn_id": f"t{n}",
        "account_id": "A1",
        "customer_id": None,
        "ts_utc": T0 + hours * HOUR,
        "direction": "in",
        "amount": Decimal(100),
        "amount_base": Decimal(100),
        "currency": "USD",
        "channel": "cash",
        "mcc": None,
        "counterparty_account_id": None,
        "device_id": None,
    }
    return row | values


@pytest.mark.parametrize(
    ("second", "expected"),
    [(None, []), ("C2", [naive.Alert("D2", T0, T0 + HOUR, ("t1", "t2"))])],
)
def test_shared_attribute_does_not_count_a_missing_customer(
    second: str | None, expected: list[naive.Alert]
) -> None:
    """Regression: a row without a customer id counted as a second customer on the device
    (`n_unique` counts null), so one customer alone raised a shared-device alert."""
    rows = [
        _row(1, 0, customer_id="C1", device_id="D2"),
        _row(2, 1, customer_id=second, device_id="D2"),
    ]
    text = SHARED.format(n=2, distinct="{}")
    assert naive.engine_alerts(naive.rule(text), rows) == expected


@pytest.mark.parametrize(("payee", "fires"), [("X1", True), ("X2", False)])
def test_sequence_match_on_a_column_no_step_reads(payee: str, fires: bool) -> None:
    """Regression: `match` read c_counterparty_account_id, but no step's `where` did, so the
    scan projected the column away and the rule crashed with ColumnNotFoundError."""
    rows = [
        _row(1, 0, counterparty_account_id="X1"),
        _row(2, 1, direction="out", channel="card", mcc="7011"),
        _row(3, 2, direction="out", channel="wire", counterparty_account_id=payee),
    ]
    expected = [naive.Alert("A1", T0, T0 + 2 * HOUR, ("t1", "t2", "t3"))] if fires else []
    assert naive.engine_alerts(naive.rule(SEQUENCE_3), rows) == expected


def test_sequence_repeat_count_takes_a_param() -> None:
    """Regression: `repeat.count` went through int() unsubstituted, so `$chains` failed to
    load ('cannot read this sequence rule') while velocity's count took a param."""
    assert naive.rule(SEQUENCE_REPEAT).logic.repeat == 3
    with pytest.raises(RuleError, match=r"repeat\.count: expected a whole number, not 'two'"):
        naive.rule(SEQUENCE_REPEAT.replace("$chains", "two"))


NEW_ACCOUNT = """
id: XX-PROF-03
title: a day far above the account's own baseline
kind: profile
by: account_id
period: day
measures:
  total: "sum(amount_base)"
baseline: {periods: 3, min_periods: 3}
having: "total_ratio >= 2"
"""


def test_profile_baseline_starts_at_the_first_activity() -> None:
    """Regression: the grid zero-filled days before an account's first transaction, so an
    account new on day 3 had a 'quiet' baseline and its second day read as a burst."""
    rows = [_row(1, 0, account_id="OLD"), _row(2, 24, account_id="OLD")]
    rows += [_row(3, 48, account_id="OLD"), _row(4, 72, account_id="OLD")]
    rows += [
        _row(5, 72, account_id="NEW"),
        _row(6, 96, account_id="NEW", amount_base=Decimal(5000)),
        _row(7, 96, account_id="OLD", amount_base=Decimal(5000)),
    ]
    got = naive.engine_alerts(naive.rule(NEW_ACCOUNT), rows)
    assert [a.entity for a in got] == ["OLD"]  # NEW has one day of history, not three


PEER_MEDIAN = """
id: XX-PROF-04
title: far above the median of the other customers
kind: profile
by: account_id
period: month
measures:
  total: "sum(amount_base)"
having: "total >= 3 * total_peer_median"
"""


@pytest.mark.parametrize(("peers", "fires"), [(("100", "100"), True), (("100",), True)])
def test_profile_peer_median_leaves_the_entity_out(peers: tuple[str, ...], fires: bool) -> None:
    """Regression: the peer median included the entity itself, so with one or two peers a
    large account pulled the median up to itself and never stood out."""
    rows = [_row(1, 0, account_id="BIG", amount_base=Decimal(1000))]
    rows += [
        _row(2 + i, 1, account_id=f"P{i}", amount_base=Decimal(v)) for i, v in enumerate(peers)
    ]
    got = naive.engine_alerts(naive.rule(PEER_MEDIAN), rows)
    assert ([a.entity for a in got] == ["BIG"]) is fires
    alone = naive.engine_alerts(naive.rule(PEER_MEDIAN), rows[:1])
    assert alone == []  # no other entity: no peer median
