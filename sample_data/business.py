"""Business customers' activity: card takings in opening hours, banked cash, invoices, rent
and donations received, payroll (direct or through a provider), taxes, rent and suppliers.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.draw import Calendar, at, cents, daily, hours_between, per_day
from sample_data.events import ch, events, tt
from sample_data.links import World
from sample_data.personas import BUSINESSES, INDIVIDUALS

__all__ = ["OPEN_DAYS", "business"]

OPEN_DAYS = {
    "Mon-Sun": range(7),
    "Mon-Sat": range(6),
    "Tue-Sat": range(1, 6),
    "Wed-Sun": range(2, 7),
    "Mon-Fri": range(5),
}
_N = len(INDIVIDUALS)


def _arr(attr: str) -> np.ndarray:
    return np.array([getattr(b, attr) for b in BUSINESSES])


def business(
    w: World, d0: int, d1: int, rng: np.random.Generator, cal: Calendar
) -> list[pl.DataFrame]:
    """All streams of active business customers for days [d0, d1).

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
    ids = np.flatnonzero(w.active & (pop.persona >= _N))
    b = pop.persona[ids] - _N
    dom, dow = cal.dom[d0:d1], cal.dow[d0:d1]
    opened = np.array([[d in OPEN_DAYS[x.hours[0]] for d in range(7)] for x in BUSINESSES])
    is_open = opened[b][:, dow]
    monthly = pop.income[ids] / 12
    cash_share = _arr("cash_share")[b]
    out: list[pl.DataFrame] = []

    # card takings, one row per authorisation, inside declared hours (a few just outside)
    takes = w.biz_merchant[ids] >= 0
    per_day_rev = monthly * (1 - cash_share) / 26
    n_sales = np.clip(per_day_rev / 70, 3, 12) * takes
    row, day = per_day(n_sales, d0, d1, rng)
    keep = is_open[row, day - d0]
    row, day = row[keep], day[keep]
    who = ids[row]
    lo, hi = _arr("hours")[b[row], 1].astype(float) / 60, _arr("hours")[b[row], 2].astype(float)
    hi = hi / 60 + np.where(hi / 60 <= lo, 24, 0)
    hour = lo + rng.random(len(who)) * (hi - lo) + np.where(rng.random(len(who)) < 0.02, 1.5, 0)
    ticket = per_day_rev[row] / np.maximum(n_sales[row], 1)
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hour, rng),
            loc=pop.home[who],
            dir=0,
            cents=cents(ticket * rng.lognormal(0, 0.4, len(who))),
            chan=ch("card"),
            ttype=tt("purchase"),
            merch=w.biz_merchant[who],
        )
    )

    # cash banked at the branch on Mon/Wed/Fri mornings, by the owner or staff
    banks = is_open & np.isin(dow, (0, 2, 4))[None, :] & (cash_share > 0)[:, None]
    row, day = daily(banks, d0)
    who = ids[row]
    amount = cents(monthly[row] * cash_share[row] / 13 * rng.lognormal(0, 0.25, len(who)))
    owner = pop.kyc["beneficial_owner_ids"].gather(who)
    cond = owner.scatter(np.flatnonzero(rng.random(len(who)) < 0.3), None) if len(who) else owner
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 9, 15.5, len(who)), rng),
            loc=pop.home[who],
            dir=0,
            cents=amount,
            chan=ch("cash"),
            ttype=tt("deposit"),
            term=1 + who % 3,
            cond=cond,
        )
    )

    # invoices paid by client businesses, rent from tenants, donations
    invoiced = (~takes) & (w.clients[ids] < 0)
    row, day = daily((dow[None, :] == 1) & invoiced[:, None], d0)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 2, 6, len(who)), rng),
            dir=0,
            cents=cents(
                monthly[row] * (1 - cash_share[row]) / 4.3 * rng.lognormal(0, 0.2, len(who))
            ),
            chan=ch("ach"),
            ttype=tt("transfer"),
            ext=w.supplier[who] + 1,
            ref="INVOICE",
        )
    )
    landlords = (w.clients[ids] >= 0) & (_arr("name")[b] == "landlord")
    row, day = daily((dom[None, :] == 1) & landlords[:, None], d0)
    who = np.repeat(ids[row], 6)
    tenant = np.tile(np.arange(6), len(row))
    out.append(
        events(
            acct=who,
            lt=at(w.start, np.repeat(day, 6), hours_between(rng, 7, 20, len(who)), rng),
            dir=0,
            cents=(120_000 + 10_000 * tenant),
            chan=ch("p2p"),
            ttype=tt("transfer"),
            ext=w.clients[who] + tenant,
            ref="RENT",
        )
    )
    donors = (w.clients[ids] >= 0) & (_arr("name")[b] == "charity")
    row, day = per_day(donors * 1.2, d0, d1, rng)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 8, 22, len(who)), rng),
            dir=0,
            cents=cents(rng.choice([20, 25, 50, 100, 250], len(who))),
            chan=ch("p2p"),
            ttype=tt("transfer"),
            ext=w.clients[who] + rng.integers(0, 24, len(who)),
            ref="DONATION",
        )
    )

    # payroll every other Friday: to the provider, or to each employee directly; taxes monthly
    payday = ((w.start.toordinal() - 719_163 + np.arange(d0, d1)) - 1) % 14 == 0
    staff = pop.kyc["declared_employees"].gather(ids).fill_null(0).to_numpy()
    provider = _arr("payroll")[b] == "provider"
    row, day = daily(payday[None, :] & provider[:, None], d0)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 1, 4, len(who)), rng),
            dir=1,
            cents=cents(staff[row] * rng.uniform(1_100, 1_700, len(who))),
            chan=ch("ach"),
            ttype=tt("salary"),
            ext=known["XK0005"],
            ref="PAYROLL",
        )
    )
    direct = w.n_staff[ids]
    row, day = daily(payday[None, :] & (direct > 0)[:, None], d0)
    who = np.repeat(ids[row], direct[row])
    k = np.concatenate([np.arange(x) for x in direct[row]]) if len(row) else np.zeros(0, int)
    names = w.parties.frame()["name"].gather(w.staff[who] + k) if len(who) else None
    out.append(
        events(
            acct=who,
            lt=at(w.start, np.repeat(day, direct[row]), hours_between(rng, 1, 4, len(who)), rng),
            dir=1,
            cents=cents(rng.uniform(1_000, 1_900, len(who))),
            chan=ch("ach"),
            ttype=tt("salary"),
            ext=w.staff[who] + k,
            ref=None if names is None else "PAYROLL " + names,
        )
    )
    row, day = daily((dom[None, :] == 15) & (staff > 0)[:, None], d0)
    who = ids[row]
    out.append(
        events(
            acct=who,
            lt=at(w.start, day, hours_between(rng, 8, 12, len(who)), rng),
            dir=1,
            cents=cents(staff[row] * rng.uniform(500, 800, len(who))),
            chan=ch("ach"),
            ttype=tt("transfer"),
            ext=known["XG0002"],
            ref="EFTPS 941 TAX",
        )
    )

    # rent on the 1st, utilities on the 20th, suppliers on Thursdays
    for when, ext, amount, ref in (
        (dom == 1, w.landlord[ids], w.rent[ids] / 100, "LEASE"),
        (dom == 20, np.full(len(ids), known["XK0007"]), monthly * 0.02, "UTILITIES"),
        (dow == 3, w.supplier[ids], monthly * 0.07, "SUPPLIES"),
    ):
        row, day = daily(when[None, :] & (ext >= 0)[:, None], d0)
        who = ids[row]
        out.append(
            events(
                acct=who,
                lt=at(w.start, day, hours_between(rng, 6, 16, len(who)), rng),
                dir=1,
                cents=cents(amount[row] * rng.lognormal(0, 0.15, len(who))),
                chan=ch("ach"),
                ttype=tt("transfer"),
                ext=ext[row],
                ref=ref,
            )
        )
    return out
