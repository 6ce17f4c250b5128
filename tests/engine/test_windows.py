"""Window edges, local time, FX thresholds and null optional fields, one explicit case each.

A rolling `w` window ending at t is `(t - w, t]`: an event exactly `w` earlier is outside, one
1 µs later is inside, and two windows that only touch are two alerts. Velocity spans and
sequence chains are anchored at their first event: outflows in `(t, t + span]`, the last step at
most `within` after the first (their module docstrings). Calendar periods are UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import naive
import polars as pl
import pytest

from engine.evaluate import compile_rule, evaluate
from engine.ingest import load_fx, read_transactions
from engine.lists import RefLists

T0 = datetime(2024, 1, 1, 10, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)


def txn(
    n: int,
    ts: datetime,
    *,
    account: str = "A1",
    direction: str = "in",
    amount: str = "100",
    channel: str = "cash",
    **extra: Any,
) -> dict[str, Any]:
    """A canonical row with the required columns and whatever else is given."""
    money = Decimal(amount)
    return {
        "txn_id": f"t{n}",
        "account_id": account,
        "ts_utc": ts,
        "direction": direction,
        "amount": money,
        "amount_base": money,
        "currency": "USD",
        "channel": channel,
        **extra,
    }


def alerts_of(
    text: str, rows: list[dict[str, Any]], **kw: Any
) -> list[tuple[str, tuple[str, ...]]]:
    """(entity, evidence ids) of each alert of one rule over the rows, via the engine."""
    found = naive.engine_alerts(naive.rule(text, kw.get("lists")), rows, **kw)
    return [(a.entity, a.evidence) for a in found]


# --- exactly one window apart is outside, 1 us less is inside ----------------------------

INSIDE, OUTSIDE = DAY - US, DAY

AGGREGATE = """
id: XX-EDGE-01
title: two cash deposits in a day
kind: aggregate
by: account_id
where: "channel = 'cash'"
window: 1d
measures: {deposits: "count(*)"}
having: "deposits >= 2"
"""


@pytest.mark.parametrize(("gap", "expected"), [(OUTSIDE, []), (INSIDE, [("A1", ("t1", "t2"))])])
def test_aggregate_window_edge(gap: timedelta, expected: list[Any]) -> None:
    rows = [txn(1, T0), txn(2, T0 + gap)]
    assert alerts_of(AGGREGATE, rows) == expected


TRANSACTION = """
id: XX-EDGE-02
title: any cash
kind: transaction
where: "channel = 'cash'"
window: 1d
"""


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        (OUTSIDE, [("A1", ("t1",)), ("A1", ("t2",))]),  # windows that touch stay apart
        (INSIDE, [("A1", ("t1", "t2"))]),
    ],
)
def test_episode_merge_edge(gap: timedelta, expected: list[Any]) -> None:
    rows = [txn(1, T0), txn(2, T0 + gap)]
    assert alerts_of(TRANSACTION, rows) == expected


SHARED = """
id: XX-EDGE-03
title: one device, two customers
kind: shared_attribute
attribute: device_id
min_customers: 2
window: 1d
"""


@pytest.mark.parametrize(("gap", "expected"), [(OUTSIDE, []), (INSIDE, [("D1", ("t1", "t2"))])])
def test_shared_attribute_window_edge(gap: timedelta, expected: list[Any]) -> None:
    rows = [
        txn(1, T0, customer_id="C1", device_id="D1"),
        txn(2, T0 + gap, account="A2", customer_id="C2", device_id="D1"),
    ]
    assert alerts_of(SHARED, rows) == expected


VELOCITY = """
id: XX-EDGE-04
title: pass-through
kind: velocity
in: "direction = 'in'"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.8"
{repeat}
"""


@pytest.mark.parametrize(
    ("after", "expected"),
    [(DAY, [("A1", ("t1", "t2"))]), (DAY + US, [])],
)
def test_velocity_span_edge(after: timedelta, expected: list[Any]) -> None:
    """The span looks forward from the inflow: outflows in (t, t + span]."""
    rows = [txn(1, T0, amount="1000"), txn(2, T0 + after, direction="out", amount="800")]
    assert alerts_of(VELOCITY.format(repeat=""), rows) == expected


def test_velocity_outflow_at_the_inflow_instant_is_not_after_it() -> None:
    rows = [txn(1, T0, amount="1000"), txn(2, T0, direction="out", amount="1000")]
    assert alerts_of(VELOCITY.format(repeat=""), rows) == []


@pytest.mark.parametrize(
    ("gap", "expected"), [(2 * DAY, []), (2 * DAY - US, [("A1", ("t1", "t2", "t3", "t4"))])]
)
def test_velocity_repeat_window_edge(gap: timedelta, expected: list[Any]) -> None:
    """Two pass-throughs count as a repeat only if their inflows are inside one `within`."""
    rows = [
        txn(1, T0, amount="1000"),
        txn(2, T0 + timedelta(hours=1), direction="out", amount="900"),
        txn(3, T0 + gap, amount="1000"),
        txn(4, T0 + gap + timedelta(hours=1), direction="out", amount="900"),
    ]
    text = VELOCITY.format(repeat="repeat: {count: 2, within: 2d}")
    assert alerts_of(text, rows) == expected


SEQUENCE = """
id: XX-EDGE-05
title: cash in, then wire out
kind: sequence
steps:
  - {name: a, where: "direction = 'in' AND channel = 'cash'"}
  - {name: b, where: "direction = 'out' AND channel = 'wire'"}
within: 1d
"""


@pytest.mark.parametrize(
    ("after", "expected"),
    [(DAY, [("A1", ("t1", "t2"))]), (DAY + US, []), (timedelta(0), [])],
)
def test_sequence_within_edge(after: timedelta, expected: list[Any]) -> None:
    """The last step at most `within` after the first, and strictly after the one before."""
    rows = [txn(1, T0), txn(2, T0 + after, direction="out", channel="wire")]
    assert alerts_of(SEQUENCE, rows) == expected


CALENDAR = """
id: XX-EDGE-06
title: two cash deposits in a UTC day
kind: aggregate
by: account_id
period: day
measures: {deposits: "count(*)"}
having: "deposits >= 2"
"""
MIDNIGHT = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (MIDNIGHT - US, MIDNIGHT, []),  # 1 us apart, but either side of midnight
        (MIDNIGHT, MIDNIGHT + DAY - US, [("A1", ("t1", "t2"))]),  # first and last us of a day
    ],
)
def test_calendar_period_edge(first: datetime, second: datetime, expected: list[Any]) -> None:
    rows = [txn(1, first), txn(2, second)]
    assert alerts_of(CALENDAR, rows) == expected


# --- local time: a night-time rule reads ts_local, not ts_utc ----------------------------

NIGHT = """
id: XX-NIGHT-01
title: cash at night, local time
kind: transaction
where: "EXTRACT(hour FROM ts_local) < 5"
window: 1h
"""
LATE_NIGHTS = """
id: XX-NIGHT-02
title: two late-night deposits across local midnight
kind: aggregate
by: account_id
where: "EXTRACT(hour FROM ts_local) >= 22 OR EXTRACT(hour FROM ts_local) < 2"
window: 6h
measures: {n: "count(*)"}
having: "n >= 2"
"""
TORONTO = """
mapping: toronto_bank
format: csv
fields:
  txn_id: id
  account_id: acct
  ts_utc: {column: when, format: "%Y-%m-%d %H:%M:%S%.f", timezone: America/Toronto}
  direction: dir
  amount: amt
  currency: {const: USD}
  channel: chan
"""


def _toronto(tmp_path: Path) -> pl.DataFrame:
    """Wall-clock times of a Toronto bank (UTC-5 in January), through a mapping."""
    (tmp_path / "toronto.yaml").write_text(TORONTO, encoding="utf-8")
    (tmp_path / "txns.csv").write_text(
        "id,acct,when,dir,amt,chan\n"
        "t1,A1,2024-01-01 21:30:00,in,100,cash\n"  # 02:30 UTC: night in UTC only
        "t2,A1,2024-01-01 23:30:00,in,100,cash\n"  # 04:30 UTC
        "t3,A1,2024-01-02 00:30:00,in,100,cash\n"  # 05:30 UTC: night locally only
        "t4,A1,2024-01-02 04:59:59.999999,in,100,cash\n"
        "t5,A1,2024-01-02 05:00:00,in,100,cash\n",
        encoding="utf-8",
    )
    ingested = read_transactions([tmp_path / "txns.csv"], mapping=tmp_path / "toronto.yaml")
    assert ingested.rejects.is_empty()
    return ingested.transactions


def _engine(text: str, txns: pl.DataFrame) -> list[tuple[str, tuple[str, ...]]]:
    rule = naive.rule(text)
    alerts, evidence = naive.engine_hits([rule], txns)[rule.id]
    return [(a.entity, a.evidence) for a in naive.as_alerts(alerts, evidence)]


def test_night_rule_reads_local_hours(tmp_path: Path) -> None:
    txns = _toronto(tmp_path)
    assert txns["ts_local"].dt.hour().to_list() == [21, 23, 0, 4, 5]
    assert _engine(NIGHT, txns) == [("A1", ("t3",)), ("A1", ("t4",))]


def test_night_window_crosses_local_midnight(tmp_path: Path) -> None:
    """23:30 and 00:30 local are two late-night deposits an hour apart, on two local days."""
    assert _engine(LATE_NIGHTS, _toronto(tmp_path)) == [("A1", ("t2", "t3"))]


def test_night_rule_with_an_explicit_ts_local_column() -> None:
    tokyo = timedelta(hours=9)
    utc = [datetime(2024, 1, 1, h, 30, tzinfo=UTC) for h in (14, 15, 20)]  # 23:30, 00:30, 05:30
    rows = [txn(i, ts, ts_local=(ts + tokyo).replace(tzinfo=None)) for i, ts in enumerate(utc, 1)]
    assert alerts_of(NIGHT, rows) == [("A1", ("t2",))]


# --- amounts either side of a threshold after FX conversion -------------------------------

REPORTABLE = """
id: XX-FX-01
title: a reportable cash deposit
kind: transaction
where: "channel = 'cash' AND amount_base >= 10000"
window: 1h
"""
UNDER = """
id: XX-FX-02
title: a cash deposit kept under the threshold
kind: transaction
where: "channel = 'cash' AND amount_base < 10000"
window: 1h
"""
STRUCTURING = """
id: XX-FX-03
title: deposits kept under the threshold that add up to it
kind: aggregate
by: account_id
where: "channel = 'cash' AND amount_base < 10000"
window: 10d
measures: {deposits: "count(*)", total: "sum(amount_base)"}
having: "deposits >= 3 AND total >= 15000"
"""


def _ingest(tmp_path: Path, rows: list[dict[str, Any]], fx: str) -> pl.DataFrame:
    (tmp_path / "fx.csv").write_text(fx, encoding="utf-8")
    path = tmp_path / "txns.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ingested = read_transactions([path], fx=load_fx(tmp_path / "fx.csv"))
    assert ingested.rejects.is_empty(), ingested.rejects.to_dicts()
    return ingested.transactions


def _posting(n: int, day: int, amount: str, currency: str, **extra: Any) -> dict[str, Any]:
    return {
        "txn_id": f"t{n}",
        "account_id": f"A{n}",
        "ts_utc": f"2024-01-{day:02d}T10:00:00Z",
        "direction": "in",
        "amount": amount,
        "currency": currency,
        "channel": "cash",
        **extra,
    }


@pytest.mark.parametrize(
    ("cad", "usd", "reportable"),
    [
        ("13333.32", "9999.99", False),  # just under
        ("13333.33", "10000.00", True),  # 9,999.9975 rounds to the threshold
        ("13333.35", "10000.01", True),  # just over
    ],
)
def test_cad_amount_either_side_of_a_usd_threshold(
    tmp_path: Path, cad: str, usd: str, reportable: bool
) -> None:
    """CAD at 0.75 converted to USD cents, then compared with a USD 10,000 threshold."""
    txns = _ingest(tmp_path, [_posting(1, 1, cad, "CAD")], "currency,rate\nCAD,0.75\n")
    assert txns["amount_base"].to_list() == [Decimal(usd)]
    assert _engine(REPORTABLE, txns) == ([("A1", ("t1",))] if reportable else [])
    assert _engine(UNDER, txns) == ([] if reportable else [("A1", ("t1",))])


def test_converted_deposits_add_up_exactly(tmp_path: Path) -> None:
    """4,997.21 + 8,198.30 + 1,804.49 USD is 15,000.00 exactly (14,999.999999999998 as a float
    sum); converted from CAD at 0.5, each just under 10,000 USD, they reach the threshold."""
    rows = [
        {**_posting(n, day, cad, "CAD"), "account_id": "A1"}
        for n, day, cad in ((1, 1, "9994.42"), (2, 3, "16396.60"), (3, 5, "3608.98"))
    ]
    txns = _ingest(tmp_path, rows, "currency,rate\nCAD,0.5\n")
    assert sum(float(a) for a in txns["amount_base"]) < 15000
    assert _engine(STRUCTURING, txns) == [("A1", ("t1", "t2", "t3"))]
    one_cent_less = [*rows[:2], {**rows[2], "amount": "3608.96"}]
    assert _engine(STRUCTURING, _ingest(tmp_path, one_cent_less, "currency,rate\nCAD,0.5\n")) == []


# --- null optional fields: no crash, no hit on the null rows --------------------------------

NULL_RULES = {
    "mcc IN": """
id: XX-NULL-01
title: lodging
kind: transaction
where: "mcc IN ('7011', '4722')"
""",
    "mcc NOT IN": """
id: XX-NULL-02
title: anything but lodging
kind: transaction
where: "mcc NOT IN ('7011')"
""",
    "counterparty <>": """
id: XX-NULL-03
title: paid someone other than X
kind: transaction
where: "counterparty_account_id <> 'X1' AND direction = 'out'"
""",
    "by counterparty": """
id: XX-NULL-04
title: one payee, two payers
kind: aggregate
by: counterparty_account_id
window: 1d
measures: {payers: "count(DISTINCT account_id)"}
having: "payers >= 2"
""",
    "distinct counterparties": """
id: XX-NULL-05
title: paid two parties
kind: aggregate
by: account_id
window: 1d
measures: {payees: "count(DISTINCT counterparty_account_id)"}
having: "payees >= 2"
""",
    "reference": """
id: XX-NULL-06
title: paid a listed party
kind: reference
column: counterparty_account_id
list: watch
""",
    "sequence match": """
id: XX-NULL-07
title: in from a party, out to the same party
kind: sequence
steps:
  - {name: a, where: "direction = 'in'"}
  - {name: b, where: "direction = 'out'"}
within: 1d
match: "b_counterparty_account_id = a_counterparty_account_id"
""",
    "velocity by counterparty": """
id: XX-NULL-08
title: money through a counterparty
kind: velocity
by: counterparty_account_id
span: 1d
having: "ratio >= 0.5"
""",
}
WATCH = RefLists({"watch": pl.DataFrame({"value": ["X1", "X2"], "group": ["bad", "bad"]})})


def _null_rows(first: str, second: str) -> list[dict[str, Any]]:
    """Rows that would fire every rule above if null equalled null or differed from 'X1'."""
    hour = timedelta(hours=1)
    empty = {"mcc": None, "counterparty_account_id": None}
    return [
        txn(1, T0, account=first, **empty),
        txn(2, T0 + hour, account=first, direction="out", **empty),
        txn(3, T0 + 2 * hour, account=second, direction="out", **empty),
        txn(4, T0 + 3 * hour, account=first, direction="out", **empty),
    ]


@pytest.mark.parametrize("name", NULL_RULES)
def test_null_optional_fields_never_fire(name: str) -> None:
    assert alerts_of(NULL_RULES[name], _null_rows("A1", "A2"), lists=WATCH) == []


@pytest.mark.parametrize("name", NULL_RULES)
def test_null_rows_stay_out_of_real_alerts(name: str) -> None:
    """Beside rows of other accounts that do fire, the null rows fire nothing."""
    hour = timedelta(hours=1)
    real = [
        txn(11, T0, mcc="7011", counterparty_account_id="X2"),
        txn(12, T0 + hour, direction="out", mcc="7011", counterparty_account_id="X2"),
        txn(13, T0 + hour, account="A2", direction="out", mcc="5812", counterparty_account_id="X2"),
        txn(14, T0 + 2 * hour, direction="out", mcc="4722", counterparty_account_id="X1"),
    ]
    found = alerts_of(NULL_RULES[name], real + _null_rows("A8", "A9"), lists=WATCH)
    assert found, "the real rows fire every rule"
    assert {i for _, ids in found for i in ids} <= {r["txn_id"] for r in real}


def test_rule_on_an_absent_optional_column_is_skipped(tmp_path: Path) -> None:
    """A file without an mcc column: the rule is skipped with a reason, not a crash."""
    txns = _ingest(tmp_path, [_posting(1, 1, "100", "USD")], "currency,rate\n")
    assert "mcc" not in txns.columns
    evaluation = evaluate(txns, [compile_rule(naive.rule(NULL_RULES["mcc IN"]))])
    assert evaluation.skipped == {"XX-NULL-01": "input lacks mcc"}
