"""Small planting verbs shared by the scenarios and look-alikes: days, shops, transfers."""

from __future__ import annotations

import numpy as np

from sample_data.catalog import CAT, CATEGORIES
from sample_data.draw import cents
from sample_data.events import ch, tt
from sample_data.plant import Planter
from sample_data.reference import CITIES

__all__ = ["CITY", "days_in", "flow", "shop", "spread"]

CITY = {c.name: i for i, c in enumerate(CITIES)}


def days_in(p: Planter, n: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """`n` sorted random days in [lo, hi) of the period (hi defaults to its end)."""
    hi = p.w.days if hi is None else min(hi, p.w.days)
    return np.sort(p.rng.integers(lo, max(lo + 1, hi), n))


def spread(p: Planter, per_month: float, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """Days of a Poisson stream with `per_month` events a month over [lo, hi)."""
    hi = p.w.days if hi is None else min(hi, p.w.days)
    n = int(p.rng.poisson(per_month * max(hi - lo, 1) / 30))
    return days_in(p, n, lo, hi)


def shop(
    p: Planter,
    who: int,
    category: str,
    days: np.ndarray,
    hours: np.ndarray | float,
    amount: np.ndarray | float,
    *,
    city: np.ndarray | int | None = None,
    merchant: int | None = None,
    cur: int = 0,
) -> None:
    """Card purchases by `who` at merchants of `category` (or at one `merchant`).

    Args:
        p: The planter.
        who: Paying customer (primary account).
        category: Category key from `catalog.CATEGORIES`.
        days: Day offset per purchase.
        hours: Local hour per purchase (fractional).
        amount: Amount per purchase in currency units.
        city: Where (default home); ignored for online categories.
        merchant: A fixed merchant index (e.g. a known ad site), online.
        cur: Currency index.
    """
    n = len(days)
    if n == 0:
        return
    m = p.w.merchants
    k = CAT[category]
    loc = np.full(n, p.w.pop.home[who] if city is None else 0, dtype=np.int64)
    if city is not None:
        loc[:] = city
    if merchant is not None:
        merch, loc = np.full(n, merchant), np.full(n, -1)
    elif CATEGORIES[k].per_city == 0 or m.count[loc[0], k] == 0:
        base, count = m.start[len(CITIES), k], max(1, m.count[len(CITIES), k])
        merch, loc = base + p.rng.integers(0, count, n), np.full(n, -1)
    else:
        merch = m.start[loc, k] + p.rng.integers(0, np.maximum(m.count[loc, k], 1))
    p.add(
        acct=np.full(n, who),
        lt=p.when(days, hours),
        loc=loc,
        dir=1,
        cents=cents(amount) * np.ones(n, dtype=np.int64),
        cur=cur,
        chan=ch("card"),
        ttype=tt("purchase"),
        merch=merch,
        dev=np.where(loc < 0, who * 10, -1),
    )


def flow(
    p: Planter,
    acct: int | np.ndarray,
    days: np.ndarray,
    hours: np.ndarray | float,
    amount: np.ndarray | float,
    *,
    out: bool,
    chan: str = "p2p",
    ttype: str = "transfer",
    ext: int | np.ndarray = -1,
    cp: int | np.ndarray = -1,
    ref: str | None = None,
    dev: int | np.ndarray = -1,
    loc: int | np.ndarray = -1,
    lt: np.ndarray | None = None,
    **extra: object,
) -> None:
    """Transfers of one account (or one per row) with an external party or another account.

    With `cp` the transfer is internal and must be an outflow of `acct`.
    """
    n = len(days)
    if n == 0:
        return
    p.add(
        acct=np.broadcast_to(acct, n).copy(),
        lt=p.when(days, hours) if lt is None else lt,
        dir=1 if out else 0,
        cents=cents(amount) * np.ones(n, dtype=np.int64),
        chan=ch(chan),
        ttype=tt(ttype),
        ext=np.broadcast_to(ext, n).copy(),
        cp=np.broadcast_to(cp, n).copy(),
        ref=ref,
        dev=np.broadcast_to(dev, n).copy(),
        loc=np.broadcast_to(loc, n).copy(),
        **extra,
    )
