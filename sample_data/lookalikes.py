"""Benign look-alikes of typologies.md §7.3, as (name, case) pairs.

Their truth rows carry `is_lookalike = true` and, as `expected_indicator_ids`, the rules they
guard against: those rules must not fire on them, or must stay below escalation.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from sample_data.events import ch, tt
from sample_data.kit import flow
from sample_data.la_money import MONEY
from sample_data.la_network import NETWORK
from sample_data.la_people import PEOPLE
from sample_data.plant import Case, Planter

__all__ = ["LOOKALIKES", "SAMLD_NORMALS"]

SAMLD_NORMALS = (
    "Normal_Small_Fan_Out", "Normal_Fan_Out", "Normal_Fan_In", "Normal_Group",
    "Normal_Cash_Withdrawal", "Normal_Cash_Deposits", "Normal_Periodical", "Normal_Plus_Mutual",
    "Normal_Mutual", "Normal_Foward", "Normal_single_large",
)  # fmt: skip
"""SAML-D's normal typologies, spelled as released."""


def samld_normal(kind: str, p: Planter) -> None:
    """One customer showing a SAML-D normal typology over the whole period."""
    who = int(
        p.take(("salaried_monthly", "salaried_fortnightly", "retiree", "self_employed"), 1)[0]
    )
    r, days = p.rng, p.w.days
    others = p.party([f"{kind.upper()} PARTY {i}" for i in range(8)], "individual", "US")
    monthly = np.arange(int(r.integers(0, 10)), days, 30)
    k = {"Normal_Small_Fan_Out": 3, "Normal_Fan_Out": 6, "Normal_Fan_In": 6, "Normal_Group": 4}.get(
        kind, 1
    )
    for m in monthly:
        d = np.full(k, m) + r.integers(0, 3, k)
        if kind in ("Normal_Small_Fan_Out", "Normal_Fan_Out", "Normal_Group"):
            flow(p, who, d, r.uniform(9, 20, k), r.uniform(50, 400, k), out=True, ext=others[:k])
        if kind in ("Normal_Fan_In", "Normal_Group"):
            flow(p, who, d, r.uniform(9, 20, k), r.uniform(50, 400, k), out=False, ext=others[:k])
        if kind in ("Normal_Periodical", "Normal_Plus_Mutual"):
            flow(p, who, d, 8.0, 450.0, out=True, chan="ach", ext=others[0])
        if kind in ("Normal_Mutual", "Normal_Plus_Mutual"):
            flow(p, who, d + 4, 19.0, r.uniform(30, 120), out=True, ext=others[1])
            flow(p, who, d + 9, 19.0, r.uniform(30, 120), out=False, ext=others[1])
        if kind == "Normal_Foward":
            got = r.uniform(500, 1_500)
            flow(p, who, d, 10.0, got, out=False, ext=others[2])
            flow(p, who, d + 3, 10.0, got * 0.5, out=True, ext=others[3])
    if kind in ("Normal_Cash_Withdrawal", "Normal_Cash_Deposits"):
        d = np.arange(int(r.integers(0, 7)), days, 7)
        p.add(
            acct=np.full(len(d), who),
            lt=p.when(d, r.uniform(9, 18, len(d))),
            loc=p.w.pop.home[who],
            dir=int(kind.endswith("Withdrawal")),
            cents=(r.uniform(200, 800, len(d)) * 100).astype(int),
            chan=ch("atm"),
            ttype=tt("withdrawal" if kind.endswith("Withdrawal") else "deposit"),
            term=1,
        )
    if kind == "Normal_single_large":
        flow(
            p,
            who,
            np.array([int(r.integers(5, days - 5))]),
            11.0,
            7_500.0,
            out=True,
            chan="wire",
            ext=others[4],
            ref="TUITION",
        )
    p.truth(
        who,
        "lookalike",
        ("ML-FANIN-01", "ML-FANOUT-01", "ML-BEHAV-01", "HT-PASS-01"),
        lookalike=True,
    )


LOOKALIKES: tuple[tuple[str, Case], ...] = (
    *PEOPLE,
    *MONEY,
    *NETWORK,
    *((f"LA-samld-{k}", partial(samld_normal, k)) for k in SAMLD_NORMALS),
)
