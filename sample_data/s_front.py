"""S3 illicit massage-business network and S4 labour exploitation by a gangmaster."""

from __future__ import annotations

import numpy as np

from sample_data.events import ch, tt
from sample_data.kit import CITY, days_in, flow, shop, spread
from sample_data.plant import Planter
from sample_data.reference import CITIES
from sample_data.world import FIRST_NAMES, SURNAMES

__all__ = ["gangmaster", "massage_network"]

FRONT = ("HT-FRONT-01", "HT-HOURS-01", "HT-HARBOUR-01", "ML-BIPART-01")


def massage_network(p: Planter) -> None:
    """S3: three storefronts, one owner, night cash, no payroll, a car and casino chips."""
    rng, w = p.rng, p.w
    home = CITY["Houston"] if rng.random() < 0.5 else CITY["Atlanta"]
    owner = int(p.take(("salaried_monthly", "self_employed", "low_income"), 1)[0])
    shops = p.take(("massage_spa", "salon"), 3)
    w.active[shops] = False
    w.pop.home[np.r_[owner, shops]] = home
    owner_id = w.pop.kyc["customer_id"][owner]
    city = CITIES[home]
    p.patch(
        shops,
        industry_code="812199",
        opening_hours="Mon-Sat 10:00-19:00",
        open_min=600,
        close_min=1140,
        declared_employees=rng.integers(3, 7, 3).astype(np.int32),
        beneficial_owner_ids=owner_id,
        home_city=city.name.upper(),
        home_region=city.region,
        timezone=city.tz,
        full_name=[
            f"{n} BODYWORK SPA LLC"
            for n in rng.choice(["LOTUS", "JADE", "ORCHID", "SILK", "PEARL"], 3, replace=False)
        ],
    )
    p.patch(
        owner,
        declared_annual_income=float(rng.integers(36, 45)) * 1000,
        home_city=city.name.upper(),
        home_region=city.region,
        timezone=city.tz,
    )
    mules = p.party(
        [
            f"{FIRST_NAMES[int(i)]} {SURNAMES[int(j)]}"
            for i, j in zip(
                rng.integers(0, len(FIRST_NAMES), 3), rng.integers(0, len(SURNAMES), 3), strict=True
            )
        ],
        "individual",
        "US",
    )
    for s in shops.tolist():
        scale = rng.uniform(0.8, 1.25)
        # card takings, 55 % between 21:00 and 02:00 although declared 10:00-19:00
        d = spread(p, 100 * scale)
        late = rng.random(len(d)) < rng.uniform(0.5, 0.62)
        hours = np.where(late, rng.uniform(21, 26, len(d)), rng.uniform(10, 19, len(d)))
        p.add(
            acct=np.full(len(d), s),
            lt=p.when(d, hours),
            loc=home,
            dir=0,
            cents=(rng.uniform(80, 220, len(d)) * 100).astype(np.int64),
            chan=ch("card"),
            ttype=tt("purchase"),
            merch=w.biz_merchant[s],
            mcc=7298,
        )
        # USD 40-70 k a month in cash: night ATM deposits and morning branch deposits
        d = spread(p, 18 * scale)
        night = rng.random(len(d)) < 0.55
        p.add(
            acct=np.full(len(d), s),
            lt=p.when(
                d, np.where(night, rng.uniform(22, 25.5, len(d)), rng.uniform(9, 11, len(d)))
            ),
            loc=home,
            dir=0,
            cents=(rng.uniform(1_800, 3_400, len(d)) * 100).astype(np.int64),
            chan=np.where(night, ch("atm"), ch("cash")),
            ttype=tt("deposit"),
            term=rng.integers(0, 3, len(d)),
            cond=[None if rng.random() < 0.3 else owner_id for _ in range(len(d))],
        )
        # no payroll; housing and bulk food for the workers; money to the owner and mules
        rent = np.arange(int(rng.integers(0, 5)), w.days, 30)
        shop(p, s, "grocery", spread(p, 5), 11.0, rng.uniform(350, 700))
        for _k in range(2):
            flow(
                p,
                s,
                rent,
                10.0,
                rng.uniform(1_400, 2_100),
                out=True,
                chan="ach",
                ext=w.landlord[owner] if w.landlord[owner] >= 0 else mules[0],
                ref="APT RENT",
            )
        shop(p, s, "car_rental", spread(p, 2), 12.0, rng.uniform(60, 120))
        sweep = spread(p, 6)
        flow(
            p,
            s,
            sweep,
            rng.uniform(12, 17, len(sweep)),
            rng.uniform(6_000, 12_000, len(sweep)),
            out=True,
            chan="internal",
            cp=owner,
            ref="OWNER DRAW",
        )
        for m in mules.tolist():
            d = spread(p, 2)
            flow(
                p,
                s,
                d,
                rng.uniform(12, 17, len(d)),
                rng.uniform(2_000, 4_000, len(d)),
                out=True,
                chan="p2p",
                ext=m,
            )
    car = days_in(p, 1, w.days // 3, w.days - 20)
    shop(p, owner, "car_dealer", car, 14.0, rng.uniform(42_000, 48_000), city=home)
    chips = car[0] + np.sort(rng.integers(3, 55, int(rng.integers(4, 8))))
    chips = chips[chips < w.days]
    shop(
        p,
        owner,
        "casino",
        chips,
        rng.uniform(20, 26, len(chips)),
        rng.uniform(18_000, 22_000) / max(len(chips), 1),
        city=CITY["Las Vegas"],
    )
    p.truth(shops, "front", (*FRONT, "HT-CASHONLY-01"))
    p.truth(owner, "controller", ("HT-ASSET-01", "ML-BIPART-01"))


def gangmaster(p: Planter) -> None:
    """S4: recruitment fees, pickers' wages into one account, wages forwarded at once."""
    rng, w = p.rng, p.w
    home = CITY["Fresno"]
    boss = int(p.take(("salaried_monthly", "self_employed", "low_income"), 1)[0])
    workers = p.take(
        ("migrant_worker", "salaried_fortnightly", "low_income"), int(rng.integers(3, 5))
    )
    p.become(workers, "basic")
    w.landlord[workers] = -1
    w.pop.home[np.r_[boss, workers]] = home
    city = CITIES[home]
    house = f"{int(rng.integers(100, 9000))} ORCHARD RD, FRESNO, CA"
    phone = f"+1559{int(rng.integers(2_000_000, 9_999_999))}"
    p.patch(
        workers,
        address_norm=house,
        phone_e164=phone,
        home_city="FRESNO",
        home_region="CA",
        timezone=city.tz,
        occupation="farm worker",
        employer_name="VALLEY GREEN FARMS LLC",
    )
    p.patch(
        boss,
        occupation="farm labour contractor",
        home_city="FRESNO",
        home_region="CA",
        timezone=city.tz,
        declared_annual_income=float(rng.integers(30, 40)) * 1000,
    )
    farms = p.party(["VALLEY GREEN FARMS LLC", "SUNRIDGE ORCHARDS INC"], "business", "US")
    pickers = [
        f"{FIRST_NAMES[int(i)]} {SURNAMES[int(j)]}"
        for i, j in zip(
            rng.integers(0, len(FIRST_NAMES), 9), rng.integers(0, len(SURNAMES), 9), strict=True
        )
    ]
    paydays = np.arange(int(rng.integers(3, 10)), w.days, 14)
    for i, name in enumerate(pickers):
        flow(
            p,
            boss,
            paydays,
            rng.uniform(2, 5),
            rng.uniform(820, 980),
            out=False,
            chan="ach",
            ttype="salary",
            ext=farms[i % 2],
            ref=f"PAYROLL {name}",
        )
    recruiter, agency = w.parties.known["XK0013"], w.parties.known["XK0014"]
    names = w.pop.kyc["full_name"].gather(workers).to_list()
    for k, v in enumerate(workers.tolist()):
        wage = rng.uniform(900, 1_250)
        flow(
            p,
            v,
            paydays,
            rng.uniform(2, 5),
            wage * rng.uniform(0.97, 1.03, len(paydays)),
            out=False,
            chan="ach",
            ttype="salary",
            ext=farms[0],
            ref=f"PAYROLL {names[k]}",
        )
        fee = rng.uniform(3_000, 12_000)
        flow(p, boss, paydays[:1] - 1, 11.0, fee, out=True, chan="internal", cp=v, ref="LOAN")
        flow(
            p,
            v,
            paydays[:1],
            15.0,
            fee,
            out=True,
            chan="wire",
            ext=recruiter,
            ref=str(rng.choice(["RECRUITMENT FEE", "VISA FEE", "PLACEMENT FEE"])),
        )
        if k < 3:
            lag = rng.uniform(6, 24, len(paydays))
            flow(
                p,
                v,
                paydays,
                0,
                wage * rng.uniform(0.85, 0.95, len(paydays)),
                out=True,
                cp=boss,
                lt=p.when(paydays, 4 + lag),
                ref="HOUSING",
            )
        else:
            flow(
                p,
                v,
                paydays + 1,
                10.0,
                wage * rng.uniform(0.25, 0.4),
                out=True,
                chan="ach",
                ext=agency,
                ref="PLACEMENT FEE INSTALMENT",
            )
        food = spread(p, 8)
        shop(p, v, "grocery", food, rng.uniform(17, 21, len(food)), rng.uniform(6, 25, len(food)))
    abroad = p.party(["GOLDEN JOBS OVERSEAS AGENT"], "individual", "XA")[0]
    wires = spread(p, rng.uniform(3, 5), 10)
    flow(
        p,
        boss,
        wires,
        rng.uniform(9, 16, len(wires)),
        rng.uniform(1_500, 2_900, len(wires)),
        out=True,
        chan="remittance",
        ext=abroad,
    )
    cash = spread(p, 6)
    p.add(
        acct=np.full(len(cash), boss),
        lt=p.when(cash, rng.uniform(9, 20, len(cash))),
        loc=home,
        dir=1,
        cents=rng.integers(10, 40, len(cash)) * 2_000,
        chan=ch("atm"),
        ttype=tt("withdrawal"),
        term=rng.integers(0, 4, len(cash)),
    )
    p.truth(boss, "controller", ("HT-WAGE-01", "HT-HUB-01", "HT-XBORDER-01"))
    p.truth(workers[:3], "victim", ("HT-WAGE-02", "HT-SHARED-01", "HT-RECRUIT-01"))
    p.truth(workers[3:], "victim", ("HT-SHARED-01", "HT-RECRUIT-01"))
