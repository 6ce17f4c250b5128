"""S2 funnel account, S5 prepaid-to-crypto ad buying, S6 victim credit drain, S7 OSEC demand."""

from __future__ import annotations

import numpy as np

from sample_data.catalog import CAT
from sample_data.events import HOUR, ch, day_start, tt
from sample_data.kit import CITY, days_in, flow, shop, spread
from sample_data.plant import Planter
from sample_data.reference import CITIES
from sample_data.world import SURNAMES

__all__ = ["credit_drain", "funnel", "osec_demand", "prepaid_crypto"]

_REGIONS = ("New York", "Chicago", "Houston", "Atlanta", "Denver", "Phoenix", "Seattle")


def funnel(p: Planter) -> None:
    """S2: third-party cash deposits in 3 states, withdrawn in a 4th within hours."""
    rng, w = p.rng, p.w
    home = CITY["Los Angeles"]
    who = int(p.take(("low_income", "gig_driver", "salaried_fortnightly"), 1)[0])
    w.active[who] = False
    w.pop.home[who] = home
    p.patch(
        who,
        home_city="LOS ANGELES",
        home_region="CA",
        timezone=CITIES[home].tz,
        occupation="unemployed",
        declared_annual_income=float(rng.integers(12, 22)) * 1000,
    )
    deposit_cities = [CITY[c] for c in rng.choice(_REGIONS, 3, replace=False)]
    conductors = [f"P{int(x):07d}" for x in rng.integers(1, 9_999_999, 4)]
    t0 = int(rng.integers(w.days // 6, w.days // 3))
    cycles = np.arange(t0, w.days - 2, 3.5).astype(int) + rng.integers(0, 2, 1)
    near = set(rng.choice(len(cycles), min(2, len(cycles)), replace=False).tolist())
    for i, d in enumerate(cycles):
        k = int(rng.integers(2, 5))
        amt = rng.uniform(9_000, 9_900, k) if i in near else rng.uniform(1_500, 9_500, k)
        city = np.array(deposit_cities)[rng.integers(0, 3, k)]
        city[:2] = deposit_cities[i % 3], deposit_cities[(i + 1) % 3]
        hours = rng.uniform(9, 16, k)
        cond = [conductors[j] if rng.random() > 0.3 else None for j in rng.integers(0, 4, k)]
        p.add(
            acct=np.full(k, who),
            lt=p.when(np.full(k, d), hours),
            loc=city,
            dir=0,
            cents=(amt * 100).astype(np.int64),
            chan=ch("cash"),
            ttype=tt("deposit"),
            term=rng.integers(1, 4, k),
            cond=cond,
        )
        # withdrawn in Los Angeles 2-30 h later: teller cash plus ATM top-ups
        total = amt.sum() * rng.uniform(0.9, 1.0)
        lag = rng.uniform(20, 44)
        teller = np.floor(total * 0.8 / 100) * 100
        atm = np.full(int((total - teller) // 500), 500.0)
        out = np.r_[teller, atm]
        p.add(
            acct=np.full(len(out), who),
            lt=p.when(np.full(len(out), d), lag + np.arange(len(out)) * 0.2),
            loc=home,
            dir=1,
            cents=(out * 100).astype(np.int64),
            chan=np.r_[ch("cash"), np.full(len(atm), ch("atm"))],
            ttype=tt("withdrawal"),
            term=np.r_[1, rng.integers(0, 5, len(atm))],
        )
    d = spread(p, 10, 0)
    for cat in ("pharmacy", "fast_food", "telecom"):
        shop(p, who, cat, d, rng.uniform(10, 22, len(d)), rng.uniform(8, 30, len(d)))
    p.truth(who, "launderer", ("HT-FUNNEL-01", "HT-STRUCT-01", "HT-PASS-01", "HT-CASHONLY-01"))


def prepaid_crypto(p: Planter) -> None:
    """S5: prepaid loads, then crypto on a P2P exchange, then on-chain ad payments."""
    rng, w = p.rng, p.w
    who = int(p.take(("salaried_monthly", "low_income", "hospitality"), 1)[0])
    known, m = w.parties.known, w.merchants.known
    loads = spread(p, rng.uniform(3, 4.5), w.days // 6)
    value = rng.uniform(100, 500, len(loads)).round(0)
    p.add(
        acct=np.full(len(loads), who),
        lt=p.when(loads, rng.uniform(9, 21, len(loads))),
        loc=w.pop.home[who],
        dir=1,
        cents=(value * 100).astype(np.int64),
        chan=ch("prepaid"),
        ttype=tt("prepaid_load"),
        merch=w.merchants.start[len(CITIES), CAT["prepaid"]],
        mcc=6540,
    )
    buy = loads + rng.integers(1, 4, len(loads))
    flow(
        p,
        who,
        buy,
        rng.uniform(8, 23, len(buy)),
        value * rng.uniform(0.9, 1.1, len(buy)),
        out=True,
        chan="crypto",
        ttype="crypto_buy",
        ext=known["XK0004"],
        dev=who * 10,
    )
    spend = buy + rng.integers(0, 3, len(buy))
    tags = np.where(rng.random(len(spend)) < 0.85, "illicit_ads", "darknet_market")
    flow(
        p,
        who,
        spend,
        rng.uniform(0, 24, len(spend)),
        value * rng.uniform(0.3, 0.9, len(buy)),
        out=True,
        chan="crypto",
        ttype="transfer",
        dev=who * 10,
        caddr=[f"bc1q{int(x):012x}" for x in rng.integers(0, 2**40, len(spend))],
        ctag=tags.tolist(),
    )
    ads = spread(p, rng.uniform(5, 9), w.days // 6)
    shop(
        p,
        who,
        "ads",
        ads,
        rng.uniform(0, 24, len(ads)),
        rng.choice([3.0, 12.0, 24.0], len(ads)),
        merchant=m["MK0002"],
    )
    p.truth(who, "controller", ("HT-ADS-02", "HT-CRYPTO-01", "HT-ADS-01"))


def credit_drain(p: Planter) -> None:
    """S6: three new customers, onboarded with one escort, each loan drained to one person."""
    rng, w = p.rng, p.w
    victims = p.take(("low_income", "salaried_fortnightly", "student", "migrant_worker"), 3)
    p.become(victims, "basic")
    escort = f"P{int(rng.integers(1, 9_999_999)):07d}"
    drain = p.party(
        [f"VIKTOR {SURNAMES[int(rng.integers(0, len(SURNAMES)))]}"], "individual", "US"
    )[0]
    loan_day = np.sort(rng.integers(w.days // 3, max(w.days // 3 + 1, w.days - 5), 3))
    opened = (
        day_start(
            w.start, int(loan_day[0]) - int(rng.integers(30, 90)) + np.sort(rng.integers(0, 5, 3))
        )
        + int(rng.integers(15, 22)) * HOUR
    )
    p.patch(
        victims,
        onboarding_ts=opened.tolist(),
        onboarding_channel="branch",
        onboarding_branch_id="BR072",
        onboarding_device_id="BANK-TAB-07",
        onboarding_accompanied_by=escort,
        declared_annual_income=rng.integers(18, 25, 3).astype(float) * 1000,
        staff_observation_flags=[None, "third_party_holds_documents_or_money", None],
    )
    w.pop.open_ts[victims] = opened
    ctrl_dev = (w.pop.n + 1000 + int(rng.integers(0, 10_000))) * 10
    for v, d in zip(victims.tolist(), loan_day.tolist(), strict=True):
        loan = float(rng.integers(8, 16)) * 1000
        flow(
            p,
            v,
            np.array([d]),
            rng.uniform(9, 15),
            loan,
            out=False,
            chan="loan",
            ttype="loan_disbursement",
            ext=w.parties.known["XL0001"],
            ref="PERSONAL LOAN",
        )
        flow(
            p,
            v,
            np.array([d + 1]),
            rng.uniform(0, 22),
            loan * rng.uniform(0.88, 0.95),
            out=True,
            chan="wire",
            ext=drain,
            dev=ctrl_dev,
            ref="PAYMENT",
        )
        logins = days_in(p, 4, d - 10, d + 20)
        flow(
            p,
            v,
            logins,
            rng.uniform(8, 23, 4),
            rng.uniform(20, 60, 4),
            out=True,
            ext=drain,
            dev=ctrl_dev + rng.integers(0, 2, 4),
        )
        rep = np.arange(d + 30, w.days, 30)
        flow(
            p,
            v,
            rep,
            6.0,
            loan / 36,
            out=True,
            chan="loan",
            ttype="loan_repayment",
            ext=w.parties.known["XL0001"],
        )
    p.truth(victims, "victim", ("HT-CREDIT-01", "HT-CONTROL-01"))


def osec_demand(p: Planter) -> None:
    """S7: five unrelated buyers sending small remittances to one facilitator (osec_risk)."""
    rng, w = p.rng, p.w
    buyers = p.take(("salaried_monthly", "retiree", "travelling_worker", "night_shift"), 5)
    sur = w.pop.surname[buyers]
    fac_sur = next(s for s in rng.permutation(len(SURNAMES)) if s not in sur)
    fac = p.party([f"MARICEL {SURNAMES[int(fac_sur)]}"], "individual", "XD")[0]
    for i, b in enumerate(buyers.tolist()):
        t0 = int(rng.integers(w.days // 8, w.days // 3))
        d = np.arange(t0, w.days, rng.uniform(3, 4)).astype(int)
        grow = np.linspace(1.0, rng.uniform(1.3, 2.0), len(d))
        amt = np.clip(rng.uniform(10, 40, len(d)) * grow, 10, 60)
        refs = rng.choice(["gift", "school", "for you", "school fees"], len(d))
        for ref in np.unique(refs):
            sel = refs == ref
            flow(
                p,
                b,
                d[sel],
                rng.uniform(19, 24, sel.sum()),
                amt[sel],
                out=True,
                chan="remittance",
                ext=fac,
                ref=str(ref),
                dev=b * 10,
            )
        if i == 0:
            shop(
                p,
                b,
                "airline",
                np.array([w.days - int(rng.integers(3, 10))]),
                21.0,
                rng.uniform(700, 1100),
            )
    p.truth(buyers[:1], "buyer", ("HT-DEMAND-01", "HT-SMURF-01", "HT-TRAVEL-01"))
    p.truth(buyers[1:], "buyer", ("HT-DEMAND-01", "HT-SMURF-01"))
