"""Look-alikes of money patterns: loans, ads, crypto, P2P income, tips, business hours and
payroll, wages, remittances, supplies, reused phones, cash deposits (typologies.md §7.3).
"""

from __future__ import annotations

import numpy as np

from sample_data.events import ch, tt
from sample_data.kit import days_in, flow, shop, spread
from sample_data.plant import Case, Planter

__all__ = ["MONEY"]


def _one(p: Planter, *personas: str) -> int:
    return int(p.take(personas, 1)[0])


def _mark(p: Planter, who: int | np.ndarray, *guarded: str) -> None:
    p.truth(who, "lookalike", guarded, lookalike=True)


def car_loan(p: Planter) -> None:
    """A USD 20 k car loan paid straight to a dealer."""
    who, d = _one(p, "salaried_monthly"), days_in(p, 1, 5, p.w.days - 5)
    dealer = p.party(["METRO AUTO SALES INC"], "business", "US")[0]
    flow(
        p,
        who,
        d,
        10.0,
        20_000.0,
        out=False,
        chan="loan",
        ttype="loan_disbursement",
        ext=p.w.parties.known["XL0001"],
        ref="AUTO LOAN",
    )
    flow(p, who, d + 1, 11.0, 20_000.0, out=True, chan="wire", ext=dealer, ref="VEHICLE PURCHASE")
    _mark(p, who, "HT-CREDIT-01")


def consolidation_loan(p: Planter) -> None:
    """A consolidation loan paid to two card issuers."""
    who, d = _one(p, "salaried_fortnightly"), days_in(p, 1, 5, p.w.days - 5)
    known = p.w.parties.known
    flow(
        p,
        who,
        d,
        10.0,
        9_000.0,
        out=False,
        chan="loan",
        ttype="loan_disbursement",
        ext=known["XL0001"],
        ref="CONSOLIDATION LOAN",
    )
    flow(
        p,
        who,
        np.r_[d, d] + 1,
        12.0,
        np.array([5_200.0, 3_800.0]),
        out=True,
        chan="ach",
        ext=np.array([known["XL0002"], known["XL0003"]]),
        ref="CARD PAYMENT",
    )
    _mark(p, who, "HT-CREDIT-01")


def dating_subscriber(p: Planter) -> None:
    """A fixed USD 29.99 monthly dating subscription (MCC 7273)."""
    who = _one(p, "salaried_monthly", "salaried_fortnightly")
    shop(p, who, "dating", np.arange(int(p.rng.integers(0, 28)), p.w.days, 30), 8.0, 29.99)
    _mark(p, who, "HT-ADS-01")


def bakery_ads(p: Planter) -> None:
    """A bakery buying USD 200 of generic social-media ads a month (7311, not listed)."""
    who = _one(p, "restaurant", "grocer")
    shop(p, who, "ads", np.arange(3, p.w.days, 30), 10.0, 200.0)
    _mark(p, who, "HT-ADS-01")


def giftcard_buyer(p: Planter) -> None:
    """Holiday gift cards bought in one burst, no crypto."""
    who = _one(p, "salaried_monthly", "retiree")
    d = days_in(p, int(p.rng.integers(4, 7)), p.w.days - 25, p.w.days - 5)
    shop(
        p,
        who,
        "prepaid",
        d,
        p.rng.uniform(10, 19, len(d)),
        p.rng.choice([25.0, 50.0, 100.0], len(d)),
    )
    _mark(p, who, "HT-ADS-02")


def crypto_saver(p: Planter) -> None:
    """USD 200 of bitcoin a month on a regulated exchange, once moved to an untagged wallet."""
    who = _one(p, "crypto_hobbyist", "salaried_monthly")
    m = p.w.merchants.known["MK0010"]
    shop(p, who, "crypto", np.arange(10, p.w.days, 30), 20.0, 200.0, merchant=m)
    flow(p, who, days_in(p, 1, 30), 21.0, 150.0, out=True, chan="crypto", caddr="bc1qselfcustody01")
    _mark(p, who, "HT-ADS-02", "HT-CRYPTO-01")


def personal_trainer(p: Planter) -> None:
    """Twenty clients paying USD 60-120 by P2P in the daytime (the self-employed persona)."""
    who = _one(p, "self_employed")
    p.patch(who, occupation="personal trainer")
    _mark(p, who, "HT-P2P-01", "HT-HUB-01")


def tutor(p: Planter) -> None:
    """A tutor paid by P2P after school hours."""
    who = _one(p, "self_employed")
    p.patch(who, occupation="tutor")
    _mark(p, who, "HT-P2P-01")


def landlord_tenants(p: Planter) -> None:
    """Four tenants paying USD 1,800 rent on the 1st."""
    who, r = _one(p, "salaried_monthly", "retiree"), p.rng
    tenants = p.party([f"TENANT {i}" for i in range(4)], "individual", "US")
    first = np.arange(0, p.w.days, 30)
    for t in tenants.tolist():
        flow(p, who, first, r.uniform(7, 12, len(first)), 1_800.0, out=False, ext=t, ref="RENT")
    _mark(p, who, "HT-P2P-01", "HT-HUB-01")


def friends_split(p: Planter) -> None:
    """Four friends splitting bills back and forth, and a holiday refund round."""
    who, r = p.take(("student", "salaried_fortnightly", "hospitality"), 4), p.rng
    for a, b in zip(who.tolist(), np.roll(who, 1).tolist(), strict=True):
        d = spread(p, 4)
        flow(
            p,
            a,
            d,
            r.uniform(18, 23, len(d)),
            r.uniform(10, 60, len(d)),
            out=True,
            cp=b,
            ref="SPLIT",
        )
    d = days_in(p, 1)
    flow(p, who[1:], np.repeat(d, 3), 12.0, 240.0, out=True, cp=int(who[0]), ref="TRIP")
    flow(p, int(who[0]), np.repeat(d + 20, 3), 12.0, 80.0, out=True, cp=who[1:], ref="REFUND")
    _mark(p, who, "HT-P2P-01", "HT-HUB-01")


def _tips(p: Planter, persona: str, occupation: str) -> None:
    who, r = _one(p, persona), p.rng
    d = np.arange(int(r.integers(0, 3)), p.w.days, 2.3).astype(int)
    p.add(
        acct=np.full(len(d), who),
        lt=p.when(d, r.uniform(0.8, 1.5, len(d)) + 24),
        loc=p.w.pop.home[who],
        dir=0,
        cents=(r.uniform(150, 300, len(d)) * 100).astype(int),
        chan=ch("atm"),
        ttype=tt("deposit"),
        term=2,
        cond=[None if r.random() < 0.3 else str(p.w.pop.kyc["customer_id"][who])] * len(d),
    )
    p.patch(who, occupation=occupation)
    _mark(p, who, "HT-CASH-01", "HT-CASHONLY-01")


def bartender_tips(p: Planter) -> None:
    """A bartender depositing USD 150-300 of tips at 01:00 at the ATM near work."""
    _tips(p, "hospitality", "bartender")


def nurse_tips(p: Planter) -> None:
    """A night-shift nurse making night deposits (payroll and rent by ACH as well)."""
    _tips(p, "night_shift", "registered nurse")


def _biz(
    p: Planter,
    persona: str,
    hours: str,
    open_min: int,
    close_min: int,
    deposit_hour: float,
    guarded: tuple[str, ...],
    employees: int | None = None,
) -> int:
    who, r = _one(p, persona), p.rng
    d = spread(p, 12)
    p.add(
        acct=np.full(len(d), who),
        lt=p.when(d, deposit_hour + r.uniform(0, 0.5, len(d))),
        loc=p.w.pop.home[who],
        dir=0,
        cents=(r.uniform(600, 1_800, len(d)) * 100).astype(int),
        chan=ch("cash"),
        ttype=tt("deposit"),
        term=0,
    )
    p.patch(
        who,
        opening_hours=hours,
        open_min=open_min,
        close_min=close_min,
        **({} if employees is None else {"declared_employees": employees}),
    )
    _mark(p, who, *guarded)
    return who


def kebab_night_safe(p: Planter) -> None:
    """A kebab shop open until 03:00 using the branch night safe after closing."""
    _biz(p, "restaurant", "Mon-Sun 11:00-03:00", 660, 180, 27.5, ("HT-CASH-01", "HT-HOURS-01"))


def nightclub(p: Planter) -> None:
    """A nightclub declared 22:00-04:00, taking cards at night."""
    who = _one(p, "bar_nightclub")
    p.patch(who, opening_hours="Wed-Sun 22:00-04:00", open_min=1320, close_min=240)
    _mark(p, who, "HT-HOURS-01")


def salon_after_close(p: Planter) -> None:
    """A salon banking its takings at 20:30, after closing at 19:00."""
    _biz(p, "salon", "Tue-Sat 09:00-19:00", 540, 1140, 20.5, ("HT-HOURS-01",))


def owner_salon(p: Planter) -> None:
    """A one-person nail technician: no employees, modest deposits, no payroll."""
    who = _biz(p, "salon", "Tue-Sat 09:00-18:00", 540, 1080, 10.0, ("HT-FRONT-01",), 0)
    p.w.n_staff[who] = 0


def restaurant_payroll(p: Planter) -> None:
    """A cash-heavy restaurant with full payroll through a provider and tax payments."""
    who = _one(p, "restaurant")
    _mark(p, who, "HT-FRONT-01", "HT-HARBOUR-01")


def farm_housing(p: Planter) -> None:
    """A farm paying seasonal-worker housing as well as full payroll and payroll taxes."""
    who, r = _one(p, "farm"), p.rng
    rent = np.arange(2, p.w.days, 30)
    flow(
        p,
        who,
        rent,
        10.0,
        r.uniform(4_000, 6_000),
        out=True,
        chan="ach",
        ext=p.w.landlord[who],
        ref="WORKER HOUSING",
    )
    shop(p, who, "grocery", spread(p, 4), 10.0, r.uniform(300, 500))
    _mark(p, who, "HT-HARBOUR-01", "HT-FRONT-01")


def joint_salaries(p: Planter) -> None:
    """A couple's joint account receiving two salaries."""
    who, r = _one(p, "salaried_monthly"), p.rng
    sur = str(p.w.pop.kyc["surname_norm"][who])
    pay = np.arange(int(r.integers(0, 14)), p.w.days, 14)
    flow(
        p,
        who,
        pay,
        4.0,
        r.uniform(1_600, 2_400),
        out=False,
        chan="ach",
        ttype="salary",
        ext=p.party(["RIVERSIDE HOSPITAL"], "business", "US")[0],
        ref=f"PAYROLL ELENA {sur}",
    )
    _mark(p, who, "HT-WAGE-01")


def three_jobs(p: Planter) -> None:
    """Three part-time jobs, each salary in the holder's own name."""
    who, r = _one(p, "salaried_fortnightly", "student"), p.rng
    name = str(p.w.pop.kyc["full_name"][who])
    bosses = p.party(["CORNER CAFE LLC", "CITY LIBRARY", "QUICKMART INC"], "business", "US")
    for k, b in enumerate(bosses.tolist()):
        pay = np.arange(k * 3 + 1, p.w.days, 14)
        flow(
            p,
            who,
            pay,
            4.0,
            r.uniform(400, 700),
            out=False,
            chan="ach",
            ttype="salary",
            ext=b,
            ref=f"PAYROLL {name}",
        )
    _mark(p, who, "HT-WAGE-01")


def migrant_remitter(p: Planter) -> None:
    """Sends 25 % of pay each month to a same-surname parent in XA (a conduit code)."""
    who = _one(p, "migrant_worker")
    sur = str(p.w.pop.kyc["surname_norm"][who])
    mother = p.party([f"ROSA {sur}"], "individual", "XA")[0]
    p.w.family[who] = mother
    _mark(p, who, "HT-WAGE-02", "HT-XBORDER-01", "HT-DEMAND-01")


def rent_on_payday(p: Planter) -> None:
    """A fixed rent paid to the landlord within hours of each monthly salary."""
    who, r = _one(p, "salaried_fortnightly", "salaried_monthly"), p.rng
    name = str(p.w.pop.kyc["full_name"][who])
    pay = np.arange(int(r.integers(0, 5)), p.w.days, 30)
    landlord = p.party(["OAKWOOD PROPERTY MGMT"], "business", "US")[0]
    flow(
        p,
        who,
        pay,
        4.0,
        r.uniform(2_600, 3_200),
        out=False,
        chan="ach",
        ttype="salary",
        ext=max(int(p.w.pop.employer[who]), 0),
        ref=f"PAYROLL {name}",
    )
    flow(p, who, pay, 9.0, 1_650.0, out=True, chan="ach", ext=landlord, ref="RENT")
    _mark(p, who, "HT-WAGE-02", "HT-PASS-01")


def own_savings(p: Planter) -> None:
    """Moves 80 % of each salary to an account in the holder's own name at another bank."""
    who, r = _one(p, "salaried_monthly"), p.rng
    name = str(p.w.pop.kyc["full_name"][who])
    mine = p.party([name], "individual", "US")[0]
    pay = np.arange(int(r.integers(0, 10)), p.w.days, 14)
    flow(
        p,
        who,
        pay,
        4.0,
        2_500.0,
        out=False,
        chan="ach",
        ttype="salary",
        ext=max(int(p.w.pop.employer[who]), 0),
        ref=f"PAYROLL {name}",
    )
    flow(p, who, pay, 9.0, 2_000.0, out=True, chan="ach", ext=mine, ref="TO MY SAVINGS")
    _mark(p, who, "HT-WAGE-02", "HT-PASS-01")


MONEY: tuple[tuple[str, Case], ...] = (
    ("LA-car-loan", car_loan),
    ("LA-consolidation-loan", consolidation_loan),
    ("LA-dating-subscriber", dating_subscriber),
    ("LA-bakery-ads", bakery_ads),
    ("LA-giftcard-buyer", giftcard_buyer),
    ("LA-crypto-saver", crypto_saver),
    ("LA-personal-trainer", personal_trainer),
    ("LA-tutor", tutor),
    ("LA-landlord-tenants", landlord_tenants),
    ("LA-friends-split", friends_split),
    ("LA-bartender-tips", bartender_tips),
    ("LA-nurse-tips", nurse_tips),
    ("LA-kebab-night-safe", kebab_night_safe),
    ("LA-nightclub", nightclub),
    ("LA-salon-after-close", salon_after_close),
    ("LA-owner-salon", owner_salon),
    ("LA-restaurant-payroll", restaurant_payroll),
    ("LA-farm-housing", farm_housing),
    ("LA-joint-salaries", joint_salaries),
    ("LA-three-jobs", three_jobs),
    ("LA-migrant-remitter", migrant_remitter),
    ("LA-rent-on-payday", rent_on_payday),
    ("LA-own-savings", own_savings),
)
