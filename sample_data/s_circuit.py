"""S1: a sex-trafficking circuit (FIN20 Thai case, AUS-THAI, AUS-FSS, FTR16).

A controller and 3-4 victims onboarded together, sharing a flat and a phone. Buyers pay the
victims by P2P, mostly at night; the victims forward most of it to the controller and deposit
cash at night into the controller's account at ATMs around the circuit. The controller pays
motels in several cities, bus and air fares for others, ad sites (in CAD, abroad), supplies,
two "workers", cash withdrawals, and wires just under USD 3,000 to a recruiter abroad.
"""

from __future__ import annotations

import numpy as np

from sample_data.events import HOUR, ch, day_start, tt
from sample_data.kit import CITY, days_in, flow, shop, spread
from sample_data.plant import Planter
from sample_data.reference import CITIES, CURRENCIES
from sample_data.world import SURNAMES

__all__ = ["circuit"]

_CIRCUIT = ("Los Angeles", "Las Vegas", "Phoenix", "San Diego", "Denver", "Dallas", "Houston")
CONTROLLER = (
    "HT-LODGE-01",
    "HT-TRAVEL-01",
    "HT-ADS-01",
    "HT-CASH-01",
    "HT-SUPPLY-01",
    "HT-HUB-01",
    "HT-XBORDER-01",
    "HT-STRUCT-01",
    "HT-CONTROL-01",
    "HT-OSINT-01",
    "ML-GATHSCAT-01",
)
VICTIM = ("HT-P2P-01", "HT-MOVE-01", "HT-SHARED-01", "HT-CONTROL-01")


def circuit(p: Planter) -> None:
    """Plant one S1 case."""
    rng, w = p.rng, p.w
    home = CITY["Los Angeles"]
    ctrl = int(p.take(("salaried_fortnightly", "low_income", "gig_driver"), 1, home=home)[0])
    victims = p.take(("student", "low_income", "salaried_fortnightly"), int(rng.integers(3, 5)))
    p.become(np.r_[ctrl, victims], "basic")
    w.landlord[victims] = -1
    ids = w.pop.kyc["customer_id"]
    ctrl_id = ids[ctrl]
    t0 = int(rng.integers(w.days // 5, w.days // 3))  # the case starts after a quiet baseline

    # KYC: onboarded together, same escort, one flat, one phone, a staff flag
    sur = rng.choice(len(SURNAMES), 3, replace=False)
    opened = (
        day_start(
            w.start, t0 - int(rng.integers(30, 60)) + np.sort(rng.integers(0, 4, len(victims)))
        )
        + int(rng.integers(17, 23)) * HOUR
    )
    flat = (
        f"{int(rng.integers(100, 9000))} SUNSET BLVD APT {int(rng.integers(2, 30))}C, "
        f"LOS ANGELES, CA"
    )
    phone = f"+1213{int(rng.integers(2_000_000, 9_999_999))}"
    names = [
        f"{n.split()[0]} {SURNAMES[sur[i % 3]]}"
        for i, n in enumerate(w.pop.kyc["full_name"].gather(victims).to_list())
    ]
    flags = ["third_party_speaks"] + [None] * (len(victims) - 1)
    p.patch(
        victims,
        full_name=names,
        surname_norm=[n.split()[1] for n in names],
        address_norm=flat,
        phone_e164=phone,
        home_city="LOS ANGELES",
        home_region="CA",
        timezone=CITIES[home].tz,
        onboarding_ts=opened.tolist(),
        onboarding_channel="branch",
        onboarding_branch_id="BR121",
        onboarding_device_id="BANK-TAB-12",
        onboarding_accompanied_by=ctrl_id,
        staff_observation_flags=flags,
        occupation="unemployed",
        declared_annual_income=float(rng.integers(8, 15)) * 1000,
    )
    w.pop.home[victims] = home
    p.patch(
        ctrl,
        declared_annual_income=float(rng.integers(26, 34)) * 1000,
        occupation="self-employed",
        home_city="LOS ANGELES",
        home_region="CA",
        timezone=CITIES[home].tz,
    )
    w.pop.home[ctrl] = home
    for i, who in enumerate([ctrl, *victims[:2]]):
        p.identifiers.append(
            {
                "value": phone if i else w.pop.kyc["phone_e164"][who],
                "group": "phone",
                "source": "synthetic-ad-scrape",
                "first_seen": w.start,
                "last_seen": w.start,
                "ad_city": ["Los Angeles", "Las Vegas", "Phoenix"][i],
            }
        )

    # each month: a circuit of 4-6 cities, 2-5 days each, across 2-3 regions
    stops: list[tuple[int, int]] = []
    day = t0
    while day < w.days:
        cities = rng.choice(len(_CIRCUIT), int(rng.integers(4, 7)), replace=False)
        for c in cities:
            stay = int(rng.integers(2, 6))
            stops += [(d, CITY[_CIRCUIT[c]]) for d in range(day, min(day + stay, w.days))]
            day += stay
        day += int(rng.integers(2, 6))
    s_day = np.array([d for d, _ in stops])
    s_city = np.array([c for _, c in stops])
    dev = np.array([ctrl * 10, ctrl * 10 + 1])

    buyers = p.party([f"BUYER {i}" for i in range(60)], "individual", "US")
    for v in victims:
        # P2P from buyers, 40 % at night, then 70-90 % forwarded to the controller
        d = spread(p, rng.uniform(25, 60), t0)
        night = rng.random(len(d)) < 0.4
        hours = np.where(night, rng.uniform(22, 27, len(d)), rng.uniform(11, 22, len(d)))
        amt = np.clip(rng.lognormal(np.log(210), 0.35, len(d)), 110, 480).round(0)
        pool = buyers[rng.choice(60, int(rng.integers(15, 40)), replace=False)]
        flow(p, v, d, hours, amt, out=False, ext=rng.choice(pool, len(d)))
        sums = np.bincount(d - t0, weights=amt)
        fwd = np.flatnonzero(sums > 0) + t0
        flow(
            p,
            v,
            fwd + 1,
            rng.uniform(9, 14, len(fwd)),
            sums[fwd - t0] * rng.uniform(0.7, 0.9, len(fwd)),
            out=True,
            cp=ctrl,
            dev=rng.choice(dev, len(fwd)),
            ref="RENT",
        )
        # victims' cards and ATM cash in the circuit cities; night deposits for the controller
        on = rng.random(len(s_day)) < 0.6
        shop(
            p,
            int(v),
            "fast_food",
            s_day[on],
            rng.uniform(11, 23, on.sum()),
            rng.uniform(6, 18, on.sum()),
            city=s_city[on],
        )
        dep = rng.random(len(s_day)) < rng.uniform(0.15, 0.3)
        n_dep = int(dep.sum())
        p.add(
            acct=np.full(n_dep, ctrl),
            lt=p.when(
                s_day[dep],
                np.where(
                    rng.random(n_dep) < 0.6, rng.uniform(23, 28, n_dep), rng.uniform(18, 23, n_dep)
                ),
            ),
            loc=s_city[dep],
            dir=0,
            cents=(rng.uniform(130, 530, n_dep) * 100).astype(int),
            chan=ch("atm"),
            ttype=tt("deposit"),
            term=rng.integers(0, 3, n_dep),
            cond=[ids[int(v)] if rng.random() < 0.7 else None for _ in range(n_dep)],
        )

    # the controller: motels, fares for others, ads, supplies, workers, cash, wires abroad
    nights = np.unique(s_day)
    shop(
        p,
        ctrl,
        "motel",
        nights,
        rng.uniform(15, 23, len(nights)),
        rng.uniform(55, 95, len(nights)),
        city=s_city[np.searchsorted(s_day, nights)],
    )
    extra = nights[rng.random(len(nights)) < 0.2]
    shop(
        p,
        ctrl,
        "motel",
        extra,
        rng.uniform(15, 23, len(extra)),
        rng.uniform(55, 95, len(extra)),
        city=s_city[np.searchsorted(s_day, extra)],
    )
    local = days_in(p, int(rng.integers(2, 5)), t0)
    shop(p, ctrl, "motel", local, 20.0, rng.uniform(60, 90, len(local)), city=home)
    for d in spread(p, rng.uniform(2, 3.5), t0):
        k = int(rng.integers(2, 5))
        fare = rng.uniform(45, 180)
        shop(
            p,
            ctrl,
            rng.choice(["bus", "airline_brand"]),
            np.full(k, d),
            rng.uniform(9, 22, k),
            fare * rng.uniform(0.95, 1.05, k),
        )
    ads = spread(p, rng.uniform(6, 20), t0)
    shop(
        p,
        ctrl,
        "ads",
        ads,
        rng.uniform(0, 24, len(ads)),
        rng.choice([3.0, 12.0, 24.0], len(ads)),
        merchant=w.merchants.known["MK0001"],
        cur=CURRENCIES.index("CAD"),
    )
    prem = np.arange(t0 + 2, w.days, 30)
    shop(
        p,
        ctrl,
        "ads",
        prem,
        21.0,
        150.0,
        merchant=w.merchants.known["MK0003"],
        cur=CURRENCIES.index("CAD"),
    )
    for cat, per_month, price in (
        ("rideshare", 25, 18),
        ("telecom", 12, 20),
        ("pharmacy", 14, 22),
        ("cosmetics", 6, 30),
        ("womens_wear", 4, 45),
    ):
        d = spread(p, per_month * rng.uniform(0.85, 1.2), t0)
        shop(p, ctrl, cat, d, rng.uniform(10, 24, len(d)), rng.uniform(0.6, 1.4, len(d)) * price)
        d = spread(p, per_month / 3, 0, t0)
        shop(p, ctrl, cat, d, rng.uniform(10, 22, len(d)), rng.uniform(0.6, 1.4, len(d)) * price)
    workers = p.party(
        [
            f"{f} {SURNAMES[int(s)]}"
            for f, s in zip(("ANNA", "LILY"), rng.integers(0, len(SURNAMES), 2), strict=True)
        ],
        "individual",
        "US",
    )
    pay = spread(p, 4.3, t0)
    flow(
        p,
        ctrl,
        pay,
        rng.uniform(10, 20, len(pay)),
        rng.uniform(300, 700, len(pay)),
        out=True,
        ext=rng.choice(workers, len(pay)),
        dev=ctrl * 10,
    )
    cash = spread(p, 8.6, t0)
    p.add(
        acct=np.full(len(cash), ctrl),
        lt=p.when(cash, rng.uniform(10, 23, len(cash))),
        loc=home,
        dir=1,
        cents=(rng.integers(20, 50, len(cash)) * 2000),
        chan=ch("atm"),
        ttype=tt("withdrawal"),
        term=rng.integers(0, 5, len(cash)),
    )
    abroad = p.party(["SOMCHAI KAEW", "NIRAN PHON"], "individual", "XA")
    wires = spread(p, rng.uniform(3, 5), t0)
    flow(
        p,
        ctrl,
        wires,
        rng.uniform(10, 17, len(wires)),
        rng.uniform(2600, 2990, len(wires)),
        out=True,
        chan="wire",
        ext=rng.choice(abroad, len(wires)),
        ref="FAMILY HELP",
    )
    burst = np.sort(rng.integers(t0 + 10, min(w.days, t0 + 20), 5))
    flow(
        p,
        ctrl,
        burst,
        rng.uniform(10, 17, 5),
        rng.uniform(2600, 2990, 5),
        out=True,
        chan="wire",
        ext=abroad[0],
        ref="FAMILY HELP",
    )
    p.truth(ctrl, "controller", CONTROLLER)
    p.truth(victims, "victim", VICTIM)
