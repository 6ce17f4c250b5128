"""Individuals' income, bills and transfers: pay cycles, rent, utilities, ATM cash, tips,
clients, friends, family remittances, crypto saving and savings sweeps.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.draw import Calendar, at, cents, daily, hours_between, per_day
from sample_data.events import ch, events, tt
from sample_data.links import World
from sample_data.personas import INDIVIDUALS, PERSONAS

__all__ = ["household"]

_PAY = np.array([p.pay for p in INDIVIDUALS] + ["business"] * (len(PERSONAS) - len(INDIVIDUALS)))
_P = {
    name: np.array(
        [getattr(p, name) for p in INDIVIDUALS] + [0.0] * (len(PERSONAS) - len(INDIVIDUALS))
    )
    for name in (
        "atm_per_month",
        "tips_per_month",
        "clients_per_month",
        "remit_share",
        "crypto_per_month",
    )
}


def household(
    w: World, d0: int, d1: int, rng: np.random.Generator, cal: Calendar
) -> list[pl.DataFrame]:
    """All non-card streams of active individuals for days [d0, d1).

    Args:
        w: The world.
        d0: First day offset.
        d1: End day offset (exclusive).
        rng: Random generator.
        cal: Calendar of the period.

    Returns:
        Raw event frames.
    """
    pop, known = w.pop, w.parties.known
    ids = np.flatnonzero(w.active & (pop.persona < len(INDIVIDUALS)))
    persona = pop.persona[ids]
    pay = _PAY[persona]
    dom, dow = cal.dom[d0:d1], cal.dow[d0:d1]
    epoch_day = (w.start.toordinal() - 719_163) + np.arange(d0, d1)
    out: list[pl.DataFrame] = []

    # pay: monthly on the 1st/15th/28th (Friday before a weekend), fortnightly Fridays
    pay_dom = np.array([1, 15, 28])[ids % 3]
    shifted = np.where(dow == 5, dom + 2, np.where(dow == 6, dom + 1, dom))
    due = {
        "monthly": (shifted[None, :] == pay_dom[:, None]) & (dow[None, :] < 5),
        "fortnightly": ((epoch_day[None, :] - 1 + 7 * (ids[:, None] % 2)) % 14 == 0),
        "weekly_gig": np.broadcast_to(dow[None, :] == 1, (len(ids), d1 - d0)),
        "benefit": np.broadcast_to(dom[None, :] == 3, (len(ids), d1 - d0)),
        "allowance": np.broadcast_to(dom[None, :] == 2, (len(ids), d1 - d0)),
    }
    per_year = {"monthly": 12, "fortnightly": 26, "weekly_gig": 52, "benefit": 12, "allowance": 12}
    for kind, mask in due.items():
        row, day = daily(mask & (pay == kind)[:, None], d0)
        who = ids[row]
        amount = cents(
            np.maximum(pop.income[who], 6_000)
            * 0.8
            / per_year[kind]
            * (1 + 0.01 * rng.standard_normal(len(who)))
        )
        hour = hours_between(rng, 2, 6, len(who))
        name = pop.names(who)
        ref = (
            pl.Series([f"PAYROLL {n}" for n in name])
            if kind in ("monthly", "fortnightly")
            else None
        )
        boss = (
            pop.employer_cust[who]
            if kind in ("monthly", "fortnightly")
            else -np.ones(len(who), dtype=np.int32)
        )
        source = {
            "weekly_gig": np.full(len(who), known["XK0001"]),
            "benefit": np.full(len(who), known["XG0001"]),
            "allowance": w.family[who],
        }.get(kind, pop.employer[who])
        ttype = {"benefit": tt("benefit"), "allowance": tt("transfer")}.get(kind, tt("salary"))
        internal = boss >= 0
        gig = pl.Series(["ZIPRIDE TRIP"] * len(who)) if kind == "weekly_gig" else None
        out.append(
            events(
                acct=np.where(internal, boss, who),
                cp=np.where(internal, who, -1),
                dir=np.where(internal, 1, 0),
                lt=at(w.start, day, hour, rng),
                cents=amount,
                chan=ch("p2p") if kind == "allowance" else ch("ach"),
                ttype=ttype,
                ext=np.where(internal, -1, source),
                ref=ref,
                ult=gig,
            )
        )

    # rent on the 1st, utilities and phone around the 20th, a monthly fee for some
    renter = w.landlord[ids] >= 0
    row, day = daily((dom[None, :] == 1) & renter[:, None], d0)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 7, 11, len(who)), rng),
            dir=1,
            cents=w.rent[who],
            chan=ch("ach"),
            ttype=tt("transfer"),
            ext=w.landlord[who],
            ref="RENT",
            dev=who * 10,
        )
    )
    for k, biller in enumerate(("XK0007", "XK0008", "XK0009", "XK0010")):
        has = (ids + k) % 5 != 0
        row, day = daily((dom[None, :] == 18 + 3 * k) & has[:, None], d0)
        who = ids[row]
        amount = cents((40 + 25 * k) * np.exp(0.3 * rng.standard_normal(len(who))))
        out.append(
            events(
                acct=who,
                lt=at(w.start, day, hours_between(rng, 1, 5, len(who)), rng),
                dir=1,
                cents=amount,
                chan=ch("ach"),
                ttype=tt("transfer"),
                ext=known[biller],
                ref="DIRECT DEBIT",
            )
        )

    # ATM withdrawals near home, tips deposited at night at the ATM by work
    row, day = per_day(_P["atm_per_month"][persona] / 30, d0, d1, rng)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 8, 22, len(who)), rng),
            loc=pop.home[who],
            dir=1,
            cents=20_00 * rng.integers(2, 16, len(who)),
            chan=ch("atm"),
            ttype=tt("withdrawal"),
            term=who % 7,
        )
    )
    row, day = per_day(_P["tips_per_month"][persona] / 30, d0, d1, rng)
    who = ids[row]
    cond = pop.kyc["customer_id"].gather(who)
    cond = cond.scatter(np.flatnonzero(rng.random(len(who)) < 0.3), None) if len(who) else cond
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 22.5, 26, len(who)), rng),
            loc=pop.home[who],
            dir=0,
            cents=cents(rng.uniform(60, 320, len(who))),
            chan=ch("atm"),
            ttype=tt("deposit"),
            term=who % 7,
            cond=cond,
        )
    )

    # self-employed clients by P2P in the daytime, friends settling small bills both ways
    row, day = per_day(_P["clients_per_month"][persona] / 30, d0, d1, rng)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 7, 20, len(who)), rng),
            dir=0,
            cents=cents(rng.uniform(40, 120, len(who))),
            chan=ch("p2p"),
            ttype=tt("transfer"),
            ext=w.clients[who] + rng.integers(0, 24, len(who)),
            ref="SESSION",
        )
    )
    row, day = per_day(np.full(len(ids), 1.2 / 30), d0, d1, rng)
    who = ids[row]
    mate = w.friend[who]
    back = rng.random(len(who)) < 0.5
    out.append(
        events(
            acct=np.where(back, mate, who),
            cp=np.where(back, who, mate),
            dir=1,
            lt=at(w.start, day, hours_between(rng, 12, 23, len(who)), rng),
            cents=cents(rng.uniform(8, 90, len(who))),
            chan=ch("p2p"),
            ttype=tt("transfer"),
            ref="DINNER SPLIT",
            dev=np.where(back, mate, who) * 10,
        )
    )

    # family remittances two days after the 15th, regulated crypto buys, savings sweeps
    share = _P["remit_share"][persona]
    row, day = daily((dom[None, :] == 17) & (share > 0)[:, None], d0)
    who = ids[row]
    amount = cents(pop.income[who] / 12 * 0.8 * share[row] * rng.uniform(0.85, 1.15, len(who)))
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 9, 21, len(who)), rng),
            dir=1,
            cents=amount,
            chan=ch("remittance"),
            ttype=tt("transfer"),
            ext=w.family[who],
            ref="FAMILY SUPPORT",
            dev=who * 10,
        )
    )
    row, day = per_day(_P["crypto_per_month"][persona] / 30, d0, d1, rng)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 8, 23, len(who)), rng),
            dir=1,
            cents=cents(rng.uniform(100, 300, len(who))),
            chan=ch("crypto"),
            ttype=tt("crypto_buy"),
            ext=known["XK0003"],
            dev=who * 10,
        )
    )
    saver = pop.savings[ids] >= 0
    row, day = daily((dom[None, :] == 5) & saver[:, None], d0)
    who = ids[row]
    out.append(
        events(
            acct=who,
            cp=pop.savings[who],
            dir=1,
            lt=at(w.start, day, hours_between(rng, 6, 9, len(who)), rng),
            cents=cents(pop.income[who] / 12 * rng.uniform(0.03, 0.1, len(who)) + 5),
            chan=ch("internal"),
            ttype=tt("transfer"),
            ref="SAVINGS",
        )
    )
    return out
