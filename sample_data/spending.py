"""Card spending of individuals: what, where, when and how much (one vectorised pass).

Purchases follow each persona's category mix, the category's hour profile in local time, a
weekend lift, and for travelling workers trips away from home with a hotel night per day away.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.catalog import CAT, CATEGORIES, hour_cdf
from sample_data.draw import at, lognormal_cents, per_day
from sample_data.events import ch, events, tt
from sample_data.links import World
from sample_data.personas import INDIVIDUALS
from sample_data.reference import CITIES, CURRENCIES

__all__ = ["card_spending"]

_MIX = np.array([[p.mix.get(c.name, 0.0) for c in CATEGORIES] for p in INDIVIDUALS])
_MIX = _MIX / _MIX.sum(axis=1, keepdims=True)
_CDF = hour_cdf()
_HOMES = np.array([i for i, c in enumerate(CITIES) if c.weight > 0])
_ABROAD = np.array([i for i, c in enumerate(CITIES) if c.country in ("CA", "GB")])
_CUR = {
    "US": 0,
    "CA": CURRENCIES.index("CAD"),
    "AU": CURRENCIES.index("AUD"),
    "GB": CURRENCIES.index("GBP"),
    "DE": CURRENCIES.index("EUR"),
}
CITY_CURRENCY = np.array([_CUR.get(c.country, 0) for c in CITIES], dtype=np.int8)


def _merchant(
    w: World, city: np.ndarray, cat: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick a merchant of `cat` in `city` (online ones when the category has no shops)."""
    m = w.merchants
    online = m.count[np.maximum(city, 0), cat] == 0
    row = np.where(online, len(CITIES), city)
    count = m.count[row, cat]
    pick = m.start[row, cat] + (rng.random(len(cat)) * np.maximum(count, 1)).astype(np.int64)
    return pick.astype(np.int32), np.where(online, -1, city).astype(np.int16)


def card_spending(
    w: World, d0: int, d1: int, rng: np.random.Generator, cal_dow: np.ndarray
) -> pl.DataFrame:
    """Card purchases of all active individuals on days [d0, d1).

    Args:
        w: The world.
        d0: First day offset.
        d1: End day offset (exclusive).
        rng: Random generator.
        cal_dow: Weekday (0 = Monday) per day offset of the period.

    Returns:
        Raw events.
    """
    pop = w.pop
    ids = np.flatnonzero(w.active & (pop.persona < len(INDIVIDUALS)))
    persona = pop.persona[ids]
    rate = np.array([p.card_per_day for p in INDIVIDUALS])[persona] * w.spend[ids] * 0.7
    lift = np.where(cal_dow[d0:d1] >= 4, 1.2, 0.93)
    row, day = per_day(rate, d0, d1, rng, lift)
    who = ids[row]
    cat = np.empty(len(who), dtype=np.int64)
    for code in np.unique(persona[row]):
        sel = persona[row] == code
        cat[sel] = rng.choice(len(CATEGORIES), int(sel.sum()), p=_MIX[code])

    # trips: travelling workers spend some days away, a few of them abroad
    away_share = np.array([p.away_share for p in INDIVIDUALS])[pop.persona[who]]
    trip = (who * 7_919 + (day // 4) * 104_729) % 1_000 < away_share * 1_000
    dest = _HOMES[(who * 31 + (day // 4) * 17) % len(_HOMES)]
    dest = np.where(
        dest == pop.home[who], _HOMES[(np.searchsorted(_HOMES, dest) + 1) % len(_HOMES)], dest
    )
    abroad = trip & ((who + day // 4) % 23 == 0)
    dest = np.where(abroad, _ABROAD[(who + day) % len(_ABROAD)], dest)
    city = np.where(trip, dest, pop.home[who]).astype(np.int64)
    nights = np.flatnonzero(trip & np.r_[True, (who[1:] != who[:-1]) | (day[1:] != day[:-1])])
    who = np.r_[who, who[nights]]
    day = np.r_[day, day[nights]]
    city = np.r_[city, city[nights]]
    cat = np.r_[cat, np.full(len(nights), CAT["hotel"])]

    u = rng.random(len(cat))
    hour = (u[:, None] > _CDF[cat]).sum(axis=1).astype(np.float64)
    night = np.array([p.night for p in INDIVIDUALS])[pop.persona[who]]
    hour = np.where(night & (rng.random(len(hour)) < 0.4), (hour + 7) % 24, hour)
    hour = hour + rng.random(len(hour))
    merch, loc = _merchant(w, city, cat, rng)
    median = np.array([c.median for c in CATEGORIES])[cat]
    sigma = np.array([c.sigma for c in CATEGORIES])[cat]
    means = np.clip(np.sqrt(pop.income[who] / 45_000), 0.5, 1.8)
    amount = lognormal_cents(rng, median * means, sigma, len(cat))
    cur = np.where(loc >= 0, CITY_CURRENCY[np.maximum(loc, 0)], 0)
    online = loc < 0
    dev = np.where(online, who * 10 + (rng.random(len(who)) < 0.3), -1)
    return events(
        acct=who,
        lt=at(w.start, day, hour, rng),
        loc=loc,
        dir=1,
        cents=amount,
        cur=cur,
        chan=ch("card"),
        ttype=tt("purchase"),
        merch=merch,
        dev=dev,
    )
