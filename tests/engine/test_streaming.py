"""Batch and streaming collection give identical alerts and evidence, to the id.

One pack with a rule of every row and window kind runs over a random frame of a few thousand
rows (ties, window-length gaps, amounts at thresholds, nulls), collected once in memory and
once with the streaming engine.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import naive
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.lists import RefLists

PACK = """
id: XX-TXN-01
title: large cash
kind: transaction
where: "channel IN ('cash', 'atm') AND amount_base >= 9000"
window: 1d
---
id: XX-REF-01
title: paid a listed party
kind: reference
column: counterparty_account_id
list: watch
group: bad
where: "direction = 'out'"
window: 7d
---
id: XX-AGG-01
title: structuring
kind: aggregate
where: "channel IN ('cash', 'atm') AND direction = 'in' AND amount_base < 10000"
window: 3d
measures: {deposits: "count(*)", total: "sum(amount_base)"}
having: "deposits >= 3 AND total >= 20000"
---
id: XX-AGG-02
title: many payers to one counterparty
kind: aggregate
by: counterparty_account_id
where: "direction = 'out'"
window: 1d
measures: {payers: "count(DISTINCT account_id)", paid: "sum(amount_base)"}
having: "payers >= 3"
---
id: XX-AGG-03
title: cash per calendar week
kind: aggregate
where: "channel IN ('cash', 'atm')"
period: week
measures: {total: "sum(amount_base)"}
having: "total >= 30000"
---
id: XX-SHARE-01
title: one device, many customers
kind: shared_attribute
attribute: device_id
min_customers: 3
distinct: {account_id: 2}
window: 2d
---
id: XX-VEL-01
title: pass-through
kind: velocity
in: "direction = 'in' AND channel IN ('cash', 'wire')"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.8 AND dwell_hours <= 12"
---
id: XX-VEL-02
title: repeated pass-through
kind: velocity
in: "direction = 'in'"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.9"
repeat: {count: 3, within: 7d}
---
id: XX-SEQ-01
title: cash in, then a wire out of most of it
kind: sequence
steps:
  - {name: a, where: "direction = 'in' AND channel = 'cash'"}
  - {name: b, where: "direction = 'out' AND channel = 'wire'"}
within: 1d
match: "b_amount_base >= 0.8 * a_amount_base"
---
id: XX-SEQ-02
title: paid in, a hotel, then paid back to the same party
kind: sequence
steps:
  - {name: a, where: "direction = 'in'"}
  - {name: b, where: "direction = 'out' AND mcc = '7011'"}
  - {name: c, where: "direction = 'out' AND channel IN ('wire', 'cash')"}
within: 2d
match: "c_counterparty_account_id = a_counterparty_account_id"
---
id: XX-PROF-01
title: a week far above the account's own baseline
kind: profile
where: "direction = 'in'"
period: week
measures: {total: "sum(amount_base)", n: "count(*)"}
baseline: {periods: 4, min_periods: 2}
having: "total > 0 AND (total_ratio >= 2 OR n_z >= 2)"
---
id: XX-PROF-02
title: a customer far above its peers in a day
kind: profile
by: customer_id
period: day
segment: customer_type
measures: {total: "sum(amount_base)"}
baseline: {periods: 3, min_periods: 2}
having: "total_peer_pct >= 0.9 AND total > 2 * total_peer_median"
"""
WATCH = RefLists(
    {"watch": pl.DataFrame({"value": ["X1", "X2", "A07"], "group": ["bad", "bad", "fine"]})}
)
ACCOUNTS = [f"A{i:02d}" for i in range(30)]
CUSTOMERS = [f"C{i:02d}" for i in range(12)]
KYC = pl.DataFrame(
    {
        "customer_id": CUSTOMERS,
        "customer_type": ["individual", "business", None] * 4,
    }
)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def random_rows(seed: int, n: int = 4000) -> list[dict[str, Any]]:
    """`n` canonical rows over ~6 weeks: many on a half-day lattice (ties, exact 1d gaps, 1 us
    nudges), amounts at thresholds or anywhere, optional columns often null."""
    rnd = random.Random(seed)
    marks = [Decimal(m) for m in ("9000", "8000", "10000", "9999.99", "7000", "5000")]
    rows = []
    for i in range(n):
        if rnd.random() < 0.6:
            ts = T0 + rnd.randrange(84) * timedelta(hours=12)
            ts += rnd.choice((0, 0, 0, 1, -1)) * timedelta(microseconds=1)
        else:
            ts = T0 + timedelta(microseconds=rnd.randrange(42 * 86_400_000_000))
        amount = (
            rnd.choice(marks) + rnd.choice((Decimal("-0.01"), Decimal(0), Decimal("0.01")))
            if rnd.random() < 0.5
            else Decimal(rnd.randrange(1, 1_200_000)).scaleb(-2)
        )
        account = rnd.choice(ACCOUNTS)
        rows.append(
            {
                "txn_id": f"t{i:05d}",
                "account_id": account,
                "customer_id": rnd.choice([None, *CUSTOMERS]),
                "ts_utc": ts,
                "direction": rnd.choice(("in", "out")),
                "amount": amount,
                "amount_base": amount,
                "currency": "USD",
                "channel": rnd.choice(("cash", "atm", "wire", "card", "p2p")),
                "mcc": rnd.choice((None, None, "7011", "4722", "5812")),
                "counterparty_account_id": rnd.choice((None, "X1", "X2", *ACCOUNTS[:8])),
                "device_id": rnd.choice((None, None, "D1", "D2", "D3")),
            }
        )
    return rows


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_and_streaming_agree(seed: int) -> None:
    rules = naive.pack(PACK, WATCH)
    txns = naive.frame(random_rows(seed))
    batch = naive.engine_hits(rules, txns, customers=KYC, lists=WATCH)
    streamed = naive.engine_hits(rules, txns, customers=KYC, lists=WATCH, streaming=True)
    assert batch.keys() == streamed.keys() == {r.id for r in rules}
    for rule_id, (alerts, evidence) in batch.items():
        assert alerts.height > 0, f"{rule_id} fired nowhere: the comparison would be empty"
        other_alerts, other_evidence = streamed[rule_id]
        assert_frame_equal(alerts, other_alerts)
        order = ["alert_id", "txn_id"]
        assert_frame_equal(evidence.sort(order), other_evidence.sort(order))


REPEATED_PASS_THROUGH = """
id: XX-VEL-03
title: repeated pass-through
kind: velocity
in: "direction = 'in'"
out: "direction = 'out'"
span: 1d
having: "ratio >= 0.9"
repeat: {count: 2, within: 7d}
"""


def test_velocity_repeat_measures_do_not_depend_on_row_order() -> None:
    """Regression: two inflows at one instant both qualify; the alert reports the measures of
    the last of them, which was whichever the engine happened to put last (batch and streaming
    disagreed on a random frame). Now it is the one with the greater txn id."""
    t = datetime(2024, 1, 1, 10, tzinfo=UTC)
    rows = [
        {"txn_id": "t1", "direction": "in", "amount_base": Decimal(2000), "ts_utc": t},
        {"txn_id": "t2", "direction": "in", "amount_base": Decimal(1000), "ts_utc": t},
        {"txn_id": "t3", "direction": "out", "amount_base": Decimal(2000), "ts_utc": t + 3600 * US},
    ]
    rows = [
        {"account_id": "A1", "amount": r["amount_base"], "currency": "USD", "channel": "wire", **r}
        for r in rows
    ]
    rule = naive.rule(REPEATED_PASS_THROUGH)
    seen = set()
    for ordered in (rows, rows[::-1], rows[1:] + rows[:1]):
        for streaming in (False, True):
            alerts, _ = naive.engine_hits([rule], naive.frame(ordered), streaming=streaming)[
                rule.id
            ]
            seen.add(alerts.select("alert_id", "measures").rows()[0])
    (only,) = seen
    assert only[1].startswith('{"in_amount":1000.0,')
