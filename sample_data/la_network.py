"""Look-alikes of network and proceeds patterns: ROSCAs, supplies, reused phones, family
support, funnels, thresholds, fan-in/out, cycles, chains, life events and the SAML-D normals.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from sample_data.events import ch, tt
from sample_data.kit import CITY, days_in, flow, shop, spread
from sample_data.plant import Case, Planter
from sample_data.reference import CITIES

__all__ = ["NETWORK"]

_ANY = ("salaried_monthly", "salaried_fortnightly", "retiree", "hospitality", "gig_driver")


def _mark(p: Planter, who: int | np.ndarray | list[int], *guarded: str) -> None:
    p.truth(who, "lookalike", guarded, lookalike=True)


def _one(p: Planter, *personas: str) -> int:
    return int(p.take(personas or _ANY, 1)[0])


def rosca(p: Planter) -> None:
    """A rotating savings club: members pay the organiser, who pays each member in turn."""
    org, r = _one(p), p.rng
    members = p.take(_ANY, 3)
    outside = p.party([f"ROSCA MEMBER {i}" for i in range(6)], "individual", "US")
    for m, d in enumerate(range(1, p.w.days, 30)):
        flow(p, members, np.full(3, d), r.uniform(9, 20, 3), 200.0, out=True, cp=org, ref="CLUB")
        flow(p, org, np.full(6, d), r.uniform(9, 20, 6), 200.0, out=False, ext=outside)
        to_member = m % 2 == 0
        flow(
            p,
            org,
            np.array([d + 2]),
            12.0,
            1_800.0,
            out=True,
            cp=int(members[m % 3]) if to_member else -1,
            ext=-1 if to_member else outside[m],
        )
    _mark(p, np.r_[org, members], "HT-HUB-01", "ML-GATHSCAT-01", "ML-FANIN-01")


def _supplies(p: Planter, persona: str, occupation: str, cats: dict[str, float]) -> None:
    who, r = _one(p, persona), p.rng
    for cat, per_month in cats.items():
        d = spread(p, per_month)
        shop(p, who, cat, d, r.uniform(9, 21, len(d)), r.uniform(8, 40, len(d)))
    p.patch(who, occupation=occupation)
    _mark(p, who, "HT-SUPPLY-01")


def student_supplies(p: Planter) -> None:
    """A student taking 20 rideshares a month and nothing else unusual."""
    _supplies(p, "student", "student", {"rideshare": 20})


def new_parent(p: Planter) -> None:
    """A new parent at the pharmacy several times a week."""
    _supplies(p, "salaried_monthly", "accountant", {"pharmacy": 14, "grocery": 10})


def makeup_artist(p: Planter) -> None:
    """A make-up artist buying cosmetics every week."""
    _supplies(p, "self_employed", "make-up artist", {"cosmetics": 6, "womens_wear": 2})


def recycled_phone(p: Planter) -> None:
    """A phone number seen in ads three years ago, since reassigned to this customer."""
    who = _one(p)
    seen = p.w.start - timedelta(days=1100)
    p.identifiers.append(
        {
            "value": str(p.w.pop.kyc["phone_e164"][who]),
            "group": "phone",
            "source": "synthetic-ad-scrape",
            "first_seen": seen - timedelta(60),
            "last_seen": seen,
            "ad_city": "Las Vegas",
        }
    )
    _mark(p, who, "HT-OSINT-01")


def diaspora_support(p: Planter) -> None:
    """USD 300 a month to a mother with the same surname in XD (an osec_risk code)."""
    who = _one(p, "night_shift", "salaried_monthly")
    sur = str(p.w.pop.kyc["surname_norm"][who])
    mother = p.party([f"LUZ {sur}"], "individual", "XD")[0]
    flow(
        p,
        who,
        np.arange(5, p.w.days, 30),
        19.0,
        300.0,
        out=True,
        chan="remittance",
        ext=mother,
        ref="FOR MAMA",
    )
    _mark(p, who, "HT-DEMAND-01", "HT-XBORDER-01")


def child_sponsorship(p: Planter) -> None:
    """USD 50 a month to a registered children's charity abroad."""
    who = _one(p, "retiree", "salaried_monthly")
    charity = p.party(["CHILDREN FIRST FOUNDATION"], "business", "XD")[0]
    flow(
        p,
        who,
        np.arange(12, p.w.days, 30),
        8.0,
        50.0,
        out=True,
        chan="wire",
        ext=charity,
        ref="SPONSORSHIP",
    )
    _mark(p, who, "HT-DEMAND-01")


def parent_student(p: Planter) -> None:
    """A parent in Chicago deposits USD 400 a month for a child in LA who spends it."""
    parent, child = _one(p, "salaried_monthly"), _one(p, "student")
    p.w.pop.home[child] = CITY["Los Angeles"]
    la = CITIES[CITY["Los Angeles"]]
    # the child's KYC moves with the child, so ts_local and home region stay consistent
    p.patch(child, home_city=la.name.upper(), home_region=la.region, timezone=la.tz)
    d = np.arange(3, p.w.days, 30)
    p.add(
        acct=np.full(len(d), child),
        lt=p.when(d, 12.0),
        loc=CITY["Chicago"],
        dir=0,
        cents=np.full(len(d), 40_000),
        chan=ch("cash"),
        ttype=tt("deposit"),
        term=1,
        cond=[str(p.w.pop.kyc["customer_id"][parent])] * len(d),
    )
    _mark(p, [parent, child], "HT-FUNNEL-01")


def salesperson_takings(p: Planter) -> None:
    """A salesperson depositing their own takings in three states; the balance stays."""
    who, r = _one(p, "travelling_worker"), p.rng
    d = spread(p, 6)
    cities = r.choice([CITY["Denver"], CITY["Phoenix"], CITY["Dallas"]], len(d))
    p.add(
        acct=np.full(len(d), who),
        lt=p.when(d, r.uniform(10, 16, len(d))),
        loc=cities,
        dir=0,
        cents=(r.uniform(800, 3_000, len(d)) * 100).astype(int),
        chan=ch("cash"),
        ttype=tt("deposit"),
        term=1,
        cond=[str(p.w.pop.kyc["customer_id"][who])] * len(d),
    )
    _mark(p, who, "HT-FUNNEL-01", "HT-STRUCT-01")


def grocer_threshold(p: Planter) -> None:
    """A grocer depositing USD 6-9 k almost daily, as it has for years."""
    who, r = _one(p, "grocer"), p.rng
    d = np.arange(0, p.w.days)[r.random(p.w.days) < 0.8]
    p.add(
        acct=np.full(len(d), who),
        lt=p.when(d, r.uniform(9, 11, len(d))),
        loc=p.w.pop.home[who],
        dir=0,
        cents=(r.uniform(6_000, 9_000, len(d)) * 100).astype(int),
        chan=ch("cash"),
        ttype=tt("deposit"),
        term=1,
    )
    p.w.active[who] = True
    _mark(p, who, "HT-STRUCT-01")


def single_large_cash(p: Planter) -> None:
    """One USD 12,000 cash deposit, reported normally."""
    who = _one(p)
    p.add(
        acct=np.array([who]),
        lt=p.when(days_in(p, 1), 11.0),
        loc=p.w.pop.home[who],
        dir=0,
        cents=np.array([1_200_000]),
        chan=ch("cash"),
        ttype=tt("deposit"),
        term=1,
    )
    _mark(p, who, "HT-STRUCT-01")


def siblings_remit(p: Planter) -> None:
    """Four siblings (one surname) each sending money to their mother abroad."""
    who, r = p.take(_ANY, 4), p.rng
    sur = str(p.w.pop.kyc["surname_norm"][int(who[0])])
    p.patch(
        who, surname_norm=sur, full_name=[f"{n} {sur}" for n in ("ANA", "JOSE", "LUIS", "MARIA")]
    )
    mother = p.party([f"CARMEN {sur}"], "individual", "MX")[0]
    for d in np.arange(int(r.integers(0, 5)), p.w.days, 30):
        flow(
            p,
            who,
            d + r.integers(0, 3, 4),
            r.uniform(9, 21, 4),
            r.uniform(150, 400, 4),
            out=True,
            chan="remittance",
            ext=mother,
            ref="MAMA",
        )
    _mark(p, who, "HT-SMURF-01", "ML-FANIN-01")


def utility_payers(p: Planter) -> None:
    """Customers among the thousands paying one utility (the baseline's billers)."""
    _mark(p, p.take(_ANY, 3), "HT-SMURF-01", "ML-FANIN-01")


def payroll_run(p: Planter) -> None:
    """A payroll bureau paying the same staff every other week."""
    _mark(p, _one(p, "payroll_bureau", "construction"), "ML-FANOUT-01")


def supplier_run(p: Planter) -> None:
    """A business paying the same six suppliers at each month end."""
    who, r = _one(p, "construction", "restaurant", "grocer"), p.rng
    sup = p.party([f"SUPPLIER {i} INC" for i in range(6)], "business", "US")
    for d in np.arange(27, p.w.days, 30):
        flow(
            p,
            who,
            np.full(6, d),
            10.0,
            r.uniform(2_000, 6_000, 6),
            out=True,
            chan="ach",
            ext=sup,
            ref="INVOICE",
        )
    _mark(p, who, "ML-FANOUT-01", "ML-BIPART-01")


def loan_pair(p: Planter) -> None:
    """A lends B USD 500; B repays USD 500 two weeks later."""
    a, b = p.take(_ANY, 2).tolist()
    d = days_in(p, 1, 0, p.w.days - 15)
    flow(p, a, d, 18.0, 500.0, out=True, cp=b, ref="LOAN")
    flow(p, b, d + 14, 18.0, 500.0, out=True, cp=a, ref="REPAY")
    _mark(p, [a, b], "ML-CYCLE-01")


def own_sweeps(p: Planter) -> None:
    """Money swept back and forth between a customer's own current and savings accounts."""
    who = int(np.flatnonzero((p.w.pop.savings >= 0) & ~p.taken)[0])
    p.taken[who] = True
    sav = int(p.w.pop.savings[who])
    d = np.arange(8, p.w.days, 15)
    flow(p, who, d, 7.0, 1_000.0, out=True, chan="internal", cp=sav, ref="SWEEP")
    flow(p, sav, d + 5, 7.0, 950.0, out=True, chan="internal", cp=who, ref="SWEEP")
    _mark(p, who, "ML-CYCLE-01", "ML-RANDOM-01")


def supply_chain(p: Planter) -> None:
    """A retailer buying from a distributor and selling on, every week for months."""
    who, r = _one(p, "grocer", "restaurant"), p.rng
    dist = p.party(["REGIONAL FOOD DISTRIBUTORS"], "business", "US")[0]
    flow(
        p,
        who,
        np.arange(1, p.w.days, 7),
        9.0,
        r.uniform(3_000, 5_000),
        out=True,
        chan="ach",
        ext=dist,
        ref="INVOICE",
    )
    _mark(p, who, "ML-STACK-01", "ML-BIPART-01")


def _life_event(
    p: Planter,
    payer: str,
    kind: str,
    amount: float,
    guarded: tuple[str, ...],
    personas: tuple[str, ...] = _ANY,
) -> int:
    who = _one(p, *personas)
    src = p.party([payer], kind, "US")[0]
    flow(
        p,
        who,
        days_in(p, 1, p.w.days // 2),
        11.0,
        amount,
        out=False,
        chan="wire",
        ext=src,
        ttype="salary" if kind == "employer" else "transfer",
        ref=payer,
    )
    _mark(p, who, *guarded)
    return who


def bonus_month(p: Planter) -> None:
    """An annual bonus paid with one salary."""
    _life_event(p, "ANNUAL BONUS", "business", 15_000.0, ("ML-BEHAV-01",), ("salaried_monthly",))


def house_sale(p: Planter) -> None:
    """Proceeds of a house sale from a title company."""
    _life_event(p, "FIRST TITLE ESCROW", "business", 310_000.0, ("ML-BEHAV-01", "HT-ASSET-01"))


def inheritance(p: Planter) -> None:
    """An inheritance wired by an estate lawyer."""
    _life_event(p, "ESTATE OF J DOE TRUST ACCT", "business", 85_000.0, ("ML-BEHAV-01",))


def saver_buys_car(p: Planter) -> None:
    """A well-paid saver buys a USD 35 k car."""
    who = _one(p, "crypto_hobbyist", "salaried_monthly")
    shop(p, who, "car_dealer", days_in(p, 1), 14.0, 35_000.0)
    p.patch(who, declared_annual_income=150_000.0)
    _mark(p, who, "HT-ASSET-01")


NETWORK: tuple[tuple[str, Case], ...] = (
    ("LA-rosca", rosca),
    ("LA-student-supplies", student_supplies),
    ("LA-new-parent", new_parent),
    ("LA-makeup-artist", makeup_artist),
    ("LA-recycled-phone", recycled_phone),
    ("LA-diaspora-support", diaspora_support),
    ("LA-child-sponsorship", child_sponsorship),
    ("LA-parent-student", parent_student),
    ("LA-salesperson-takings", salesperson_takings),
    ("LA-grocer-threshold", grocer_threshold),
    ("LA-single-large-cash", single_large_cash),
    ("LA-siblings-remit", siblings_remit),
    ("LA-utility-payers", utility_payers),
    ("LA-payroll-run", payroll_run),
    ("LA-supplier-run", supplier_run),
    ("LA-loan-pair", loan_pair),
    ("LA-own-sweeps", own_sweeps),
    ("LA-supply-chain", supply_chain),
    ("LA-bonus-month", bonus_month),
    ("LA-house-sale", house_sale),
    ("LA-inheritance", inheritance),
    ("LA-saver-buys-car", saver_buys_car),
)
