"""Look-alikes of individuals: travellers, households, onboarding, loans, spending, tips,
wages and remittances (typologies.md §7.3). Each must not fire, or stay below escalation.
"""

from __future__ import annotations

import numpy as np

from sample_data.catalog import CAT
from sample_data.events import HOUR, ch, day_start, tt
from sample_data.kit import CITY, days_in, flow, shop, spread
from sample_data.plant import Case, Planter
from sample_data.reference import CITIES

__all__ = ["PEOPLE"]

_HOMES = [i for i, c in enumerate(CITIES) if c.weight > 0]


def _one(p: Planter, *personas: str) -> int:
    return int(p.take(personas, 1)[0])


def travel_booker(p: Planter) -> None:
    """Books 3 fares for colleagues 2-3 times a month; the employer reimburses."""
    who, r = _one(p, "salaried_monthly"), p.rng
    for d in spread(p, 2.5):
        shop(p, who, "airline", np.full(3, d), r.uniform(9, 17, 3), r.uniform(200, 320, 3))
        flow(
            p,
            who,
            np.array([d + 12]),
            3.0,
            800.0,
            out=False,
            chan="ach",
            ext=max(int(p.w.pop.employer[who]), 0),
            ref="EXPENSE REIMBURSEMENT",
        )
    p.patch(who, occupation="office manager")
    p.truth(who, "lookalike", ("HT-TRAVEL-01",), lookalike=True)


def family_booking(p: Planter) -> None:
    """A family of four books flights once and then travels (card present away)."""
    who, r = _one(p, "salaried_monthly", "salaried_fortnightly"), p.rng
    d = int(r.integers(5, p.w.days - 20))
    shop(p, who, "airline", np.full(4, d), 20.0, r.uniform(300, 330) * np.ones(4))
    away = np.arange(d + 10, d + 16)
    dest = CITY["Miami"] if p.w.pop.home[who] != CITY["Miami"] else CITY["Denver"]
    shop(p, who, "restaurant", away, 19.0, r.uniform(60, 140, 6), city=dest)
    shop(p, who, "hotel", away, 16.0, r.uniform(150, 190, 6), city=dest)
    p.truth(who, "lookalike", ("HT-TRAVEL-01", "HT-LODGE-01"), lookalike=True)


def _traveller(
    p: Planter,
    occupation: str,
    per_month: float,
    cats: tuple[str, ...],
    guarded: tuple[str, ...],
    cities: int,
) -> None:
    who, r = _one(p, "travelling_worker", "salaried_monthly"), p.rng
    route = r.choice(_HOMES, cities, replace=False)
    for i, d in enumerate(spread(p, per_month)):
        c = int(route[i % cities])
        for cat in cats:
            shop(
                p,
                who,
                cat,
                np.array([d]),
                r.uniform(8, 21),
                r.uniform(0.8, 1.2)
                * {
                    "airline": 260,
                    "hotel": 140,
                    "restaurant": 45,
                    "truck_stop": 190,
                    "fuel": 50,
                    "bar": 35,
                }[cat],
                city=c,
            )
    p.patch(who, occupation=occupation)
    p.truth(who, "lookalike", guarded, lookalike=True)


def consultant(p: Planter) -> None:
    """Eight flights a month with hotels and meals in the destination cities."""
    _traveller(
        p,
        "management consultant",
        8,
        ("airline", "hotel", "restaurant"),
        ("HT-TRAVEL-01", "HT-LODGE-01", "HT-MOVE-01"),
        4,
    )


def trucker(p: Planter) -> None:
    """Long-haul driver: truck stops and fuel along a stable route."""
    _traveller(p, "truck driver", 20, ("truck_stop", "fuel"), ("HT-MOVE-01", "HT-LODGE-01"), 5)


def travelling_nurse(p: Planter) -> None:
    """Agency nurse on a placement in another city, hotel and meals there."""
    _traveller(p, "travelling nurse", 12, ("hotel", "restaurant"), ("HT-MOVE-01", "HT-LODGE-01"), 1)


def touring_musician(p: Planter) -> None:
    """A tour: a new city every night or two, hotel, bar and restaurant."""
    _traveller(
        p, "touring musician", 14, ("hotel", "bar", "restaurant"), ("HT-MOVE-01", "HT-LODGE-01"), 6
    )


def emergency_hotel(p: Planter) -> None:
    """A displaced family in one local hotel for six weeks, paid weekly."""
    who, r = _one(p, "low_income", "salaried_fortnightly"), p.rng
    d0 = int(r.integers(0, max(1, p.w.days - 45)))
    weeks = np.arange(d0, min(p.w.days, d0 + 42), 7)
    merchant = int(p.w.merchants.start[p.w.pop.home[who], CAT["hotel"]])
    p.add(
        acct=np.full(len(weeks), who),
        lt=p.when(weeks, 15.0),
        loc=p.w.pop.home[who],
        dir=1,
        cents=np.full(len(weeks), 62_000),
        chan=ch("card"),
        ttype=tt("purchase"),
        merch=merchant,
    )
    p.truth(who, "lookalike", ("HT-LODGE-01",), lookalike=True)


def _housing(
    p: Planter,
    personas: tuple[str, ...],
    n: int,
    kind: str,
    street: str,
    guarded: tuple[str, ...] = ("HT-SHARED-01", "HT-CONTROL-01"),
) -> np.ndarray:
    who = p.take(personas, n)
    home = int(p.w.pop.home[who[0]])
    c = CITIES[home]
    p.w.pop.home[who] = home
    p.patch(
        who,
        address_norm=f"{int(p.rng.integers(10, 999))} {street}, {c.name.upper()}, {c.region}",
        address_type=kind,
        home_city=c.name.upper(),
        home_region=c.region,
        timezone=c.tz,
    )
    p.truth(who, "lookalike", guarded, lookalike=True)
    return who


def student_residence(p: Planter) -> None:
    """Twelve students in one registered residence, each paying their own tuition."""
    who = _housing(p, ("student",), 12, "student_housing", "CAMPUS HALL")
    for s in who.tolist():
        shop(p, s, "education", days_in(p, 1), 11.0, p.rng.uniform(800, 2_500))


def care_home(p: Planter) -> None:
    """Residents of a care home."""
    _housing(p, ("retiree",), 5, "care_home", "ELM CARE RESIDENCE")


def shelter(p: Planter) -> None:
    """Residents of a shelter."""
    _housing(p, ("low_income",), 5, "shelter", "HARBOR LIGHT SHELTER")


def barracks(p: Planter) -> None:
    """Service members registered at barracks (address type unknown)."""
    _housing(p, ("salaried_monthly", "salaried_fortnightly"), 5, "unknown", "FORT BARRACKS BLDG 4")


def extended_family(p: Planter) -> None:
    """A three-generation household with two surnames paying one mortgage."""
    who = _housing(
        p, ("salaried_monthly", "retiree", "student"), 5, "residential", "MAPLE AVE APT 2"
    )
    flow(
        p,
        who[:2],
        np.arange(1, p.w.days, 30)[:1].repeat(2),
        9.0,
        1_100.0,
        out=True,
        chan="ach",
        ext=p.w.parties.known["XL0001"],
        ref="MORTGAGE",
    )


def refugee_caseworker(p: Planter) -> None:
    """A charity caseworker accompanies six clients over two months; no device sharing."""
    who = p.take(("low_income", "migrant_worker"), 6)
    opened = day_start(p.w.start, -np.sort(p.rng.integers(5, 65, 6))) + 15 * HOUR
    p.patch(
        who,
        onboarding_accompanied_by="REFUGEE AID CASEWORKER",
        onboarding_channel="branch",
        onboarding_ts=opened.tolist(),
    )
    p.truth(who, "lookalike", ("HT-CONTROL-01",), lookalike=True)


def bank_tablet(p: Planter) -> None:
    """Five unrelated customers onboarded the same week on the branch's own tablet."""
    who = p.take(("salaried_monthly", "student", "retiree"), 5)
    opened = day_start(p.w.start, -20 + np.arange(5)) + 16 * HOUR
    p.patch(
        who,
        onboarding_device_id="BANK-TAB-03",
        onboarding_channel="branch",
        onboarding_ts=opened.tolist(),
    )
    p.truth(who, "lookalike", ("HT-CONTROL-01",), lookalike=True)


def family_tablet(p: Planter) -> None:
    """A family of four sharing one tablet for online banking (same surname and address)."""
    who = _housing(
        p, ("salaried_monthly", "student"), 4, "residential", "PINE ST APT 9", ("HT-CONTROL-01",)
    )
    p.patch(who, surname_norm=str(p.w.pop.kyc["surname_norm"][int(who[0])]))
    for c, mate in zip(who.tolist(), np.roll(who, 1).tolist(), strict=True):
        d = spread(p, 3)
        flow(
            p,
            c,
            d,
            20.0,
            p.rng.uniform(20, 80, len(d)),
            out=True,
            cp=mate,
            dev=int(who[0]) * 10 + 1,
        )


PEOPLE: tuple[tuple[str, Case], ...] = (
    ("LA-travel-booker", travel_booker),
    ("LA-family-booking", family_booking),
    ("LA-consultant", consultant),
    ("LA-trucker", trucker),
    ("LA-travelling-nurse", travelling_nurse),
    ("LA-touring-musician", touring_musician),
    ("LA-emergency-hotel", emergency_hotel),
    ("LA-student-residence", student_residence),
    ("LA-care-home", care_home),
    ("LA-shelter", shelter),
    ("LA-barracks", barracks),
    ("LA-extended-family", extended_family),
    ("LA-refugee-caseworker", refugee_caseworker),
    ("LA-bank-tablet", bank_tablet),
    ("LA-family-tablet", family_tablet),
)
