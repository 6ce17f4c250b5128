"""Who pays whom in the benign world: landlords, families, friends, clients, staff, suppliers.

`World` gathers the population, merchants, parties and these standing relationships; the
baseline streams only read it, the scenarios add to it before activity is generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from sample_data.customers import Population, build_population
from sample_data.personas import BUSINESSES, INDIVIDUALS, PERSONAS
from sample_data.world import FIRST_NAMES, SURNAMES, Merchants, Parties, build_merchants

__all__ = ["FAMILY_COUNTRIES", "World", "build_world"]

FAMILY_COUNTRIES = ("MX", "PH", "IN", "GT", "SV", "VN", "NG", "XA", "XD")
"""Where migrants' families live; XA and XD are risky codes, used benignly here on purpose."""


@dataclass(frozen=True, slots=True)
class World:
    """Everything the activity generators read.

    Attributes:
        start: First day of the period.
        days: Length of the period in days.
        pop: Customers and accounts.
        merchants: Card merchants (business customers' own terminals included).
        parties: External party registry.
        landlord: Landlord party per customer (-1 none).
        rent: Monthly rent in cents per customer.
        family: Family member abroad (or parent) party per customer (-1 none).
        friend: Internal friend customer per customer.
        clients: First of 24 consecutive client, tenant or donor parties (-1 none).
        staff: First of `n_staff` consecutive employee parties per business (-1).
        n_staff: Paid employee parties per business.
        supplier: Supplier party per business (-1).
        biz_merchant: Own merchant index per card-taking business (-1).
        spend: Per-customer spending multiplier.
        active: Customers whose baseline activity runs (scenarios may switch it off).
    """

    start: date
    days: int
    pop: Population
    merchants: Merchants
    parties: Parties
    landlord: np.ndarray
    rent: np.ndarray
    family: np.ndarray
    friend: np.ndarray
    clients: np.ndarray
    staff: np.ndarray
    n_staff: np.ndarray
    supplier: np.ndarray
    biz_merchant: np.ndarray
    spend: np.ndarray
    active: np.ndarray


def _people(rng: np.random.Generator, n: int, surnames: np.ndarray | None = None) -> list[str]:
    first = pl.Series(FIRST_NAMES).gather(rng.integers(0, len(FIRST_NAMES), n))
    sur = surnames if surnames is not None else rng.integers(0, len(SURNAMES), n)
    return (first + " " + pl.Series(SURNAMES).gather(sur)).to_list()


def build_world(n: int, days: int, start: date, rng: np.random.Generator) -> World:
    """Draw the population and its standing relationships.

    Args:
        n: Number of customers.
        days: Length of the period.
        start: First day of the period.
        rng: Random generator.

    Returns:
        The world, ready for scenarios to plant their cases.
    """
    parties = Parties()
    pop = build_population(n, start, rng, parties)
    persona = pop.persona
    n_ind = len(INDIVIDUALS)
    is_biz = persona >= n_ind
    code = {name: i for i, name in enumerate(PERSONAS)}

    landlords = parties.add(_people(rng, max(5, n // 40)), "individual", "US")
    renters = ~is_biz & ~np.isin(persona, [code["retiree"]]) & (rng.random(n) < 0.6)
    landlord = np.where(renters, landlords[rng.integers(0, len(landlords), n)], -1)
    rent = np.round(np.maximum(70_000, pop.income / 12 * 0.28 * 100), -4).astype(np.int64)

    family = np.full(n, -1, dtype=np.int32)
    kin = np.flatnonzero(np.isin(persona, [code["migrant_worker"], code["student"]]))
    abroad = persona[kin] == code["migrant_worker"]
    countries = np.where(
        abroad, np.array(FAMILY_COUNTRIES)[rng.integers(0, len(FAMILY_COUNTRIES), len(kin))], "US"
    )
    family[kin] = parties.add(
        _people(rng, len(kin), pop.surname[kin]), "individual", pl.Series(countries.tolist())
    )

    individuals = np.flatnonzero(~is_biz)
    friend = individuals[rng.integers(0, len(individuals), n)].astype(np.int32)

    clients = np.full(n, -1, dtype=np.int32)
    selfemp = np.flatnonzero(
        np.isin(persona, [code[k] for k in ("self_employed", "landlord", "charity")])
    )
    if len(selfemp):
        pool = parties.add(_people(rng, 24 * len(selfemp)), "individual", "US")
        clients[selfemp] = pool[::24]

    staff = np.full(n, -1, dtype=np.int32)
    n_staff = np.zeros(n, dtype=np.int32)
    supplier = np.full(n, -1, dtype=np.int32)
    biz = np.flatnonzero(is_biz)
    declared = pop.kyc["declared_employees"].fill_null(0).to_numpy()
    direct = np.array([False] * n_ind + [b.payroll == "direct" for b in BUSINESSES])[persona]
    payers = np.flatnonzero(direct & is_biz)
    n_staff[payers] = np.minimum(declared[payers], 12)
    if len(payers):
        pool = parties.add(_people(rng, int(n_staff[payers].sum())), "individual", "US")
        staff[payers] = pool[np.r_[0, np.cumsum(n_staff[payers])[:-1]]]
    suppliers = parties.add(
        [
            f"{SURNAMES[i]} WHOLESALE SUPPLY"
            for i in rng.integers(0, len(SURNAMES), max(4, len(biz) // 4))
        ],
        "business",
        "US",
    )
    supplier[biz] = suppliers[rng.integers(0, len(suppliers), len(biz))]
    landlord[biz] = landlords[rng.integers(0, len(landlords), len(biz))]
    rent[biz] = np.round(pop.income[biz] / 12 * 0.06 * 100, -2).astype(np.int64)

    merchants, biz_merchant = _business_terminals(build_merchants(), pop)
    spend = np.exp(rng.normal(0.0, 0.35, n))
    return World(
        start,
        days,
        pop,
        merchants,
        parties,
        landlord.astype(np.int32),
        rent,
        family,
        friend,
        clients,
        staff,
        n_staff,
        supplier,
        biz_merchant,
        spend,
        np.ones(n, dtype=bool),
    )


def _business_terminals(m: Merchants, pop: Population) -> tuple[Merchants, np.ndarray]:
    """Give every card-taking business customer its own merchant id."""
    mcc = np.array([""] * len(INDIVIDUALS) + [b.mcc for b in BUSINESSES])[pop.persona]
    takers = np.flatnonzero(mcc != "")
    biz_merchant = np.full(pop.n, -1, dtype=np.int32)
    biz_merchant[takers] = len(m.frame) + np.arange(len(takers))
    extra = pl.DataFrame(
        {
            "merchant_id": [f"MB{i + 1:06d}" for i in takers.tolist()],
            "name": pop.kyc["full_name"].gather(takers),
            "mcc": mcc[takers].tolist(),
            "country": ["US"] * len(takers),
        }
    )
    frame = pl.concat([m.frame, extra])
    cats = np.r_[m.category, np.full(len(takers), -1, np.int32)]
    cities = np.r_[m.city, pop.home[takers].astype(np.int32)]
    return Merchants(frame, cats, cities, m.start, m.count, m.known), biz_merchant
