"""Persona types: how an individual or a business of the synthetic bank earns and spends.

A persona is a row of behaviour parameters. The baseline streams (`baseline.py`,
`business.py`) read them as arrays indexed by persona code, so one vectorised pass serves every
customer of every persona.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BUSINESSES", "INDIVIDUALS", "PERSONAS", "Business", "Persona", "persona_code"]

_BASIC = {
    "grocery": 5,
    "restaurant": 2,
    "fast_food": 2,
    "fuel": 1.5,
    "pharmacy": 1,
    "dept_store": 1,
    "online_shop": 1.5,
    "family_clothing": 0.5,
    "streaming": 0.2,
    "telecom": 0.3,
    "medical": 0.2,
    "electronics": 0.1,
    "salon": 0.3,
    "taxi": 0.2,
    "rideshare": 0.4,
    "bar": 0.5,
    "gym": 0.2,
    "cosmetics": 0.3,
    "womens_wear": 0.3,
}


def _mix(**overrides: float) -> dict[str, float]:
    return {**_BASIC, **overrides}


@dataclass(frozen=True, slots=True)
class Persona:
    """Behaviour parameters of an individual persona.

    Attributes:
        name: Persona key.
        weight: Share of individual customers.
        occupation: KYC occupation.
        income: (low, high) declared annual income in USD.
        age: (low, high) age in years.
        pay: Pay cycle: monthly, fortnightly, weekly_gig, benefit, allowance or none.
        card_per_day: Mean card purchases per day.
        mix: Spending-category weights.
        atm_per_month: Mean ATM cash withdrawals a month.
        tips_per_month: Mean cash deposits of tips a month (night-time, near work).
        clients_per_month: Mean P2P receipts a month from distinct clients.
        remit_share: Share of pay remitted to family abroad each month.
        away_share: Share of card days spent away from the home city.
        crypto_per_month: Regulated-exchange crypto purchases a month.
        night: Whether the customer's own day is shifted to night hours.
    """

    name: str
    weight: float
    occupation: str
    income: tuple[int, int]
    age: tuple[int, int]
    pay: str
    card_per_day: float
    mix: dict[str, float] = field(default_factory=_mix)
    atm_per_month: float = 1.5
    tips_per_month: float = 0.0
    clients_per_month: float = 0.0
    remit_share: float = 0.0
    away_share: float = 0.0
    crypto_per_month: float = 0.0
    night: bool = False


INDIVIDUALS: tuple[Persona, ...] = (
    Persona(
        "salaried_monthly",
        0.21,
        "office administrator",
        (38_000, 110_000),
        (24, 64),
        "monthly",
        1.3,
    ),
    Persona(
        "salaried_fortnightly",
        0.17,
        "warehouse associate",
        (28_000, 70_000),
        (20, 64),
        "fortnightly",
        1.2,
    ),
    Persona(
        "hospitality",
        0.07,
        "bartender",
        (22_000, 45_000),
        (19, 45),
        "fortnightly",
        1.2,
        _mix(fast_food=4, bar=2),
        tips_per_month=10.0,
        night=True,
    ),
    Persona(
        "night_shift",
        0.04,
        "registered nurse",
        (55_000, 95_000),
        (24, 60),
        "fortnightly",
        1.0,
        _mix(fast_food=3),
        tips_per_month=0.0,
        night=True,
    ),
    Persona(
        "gig_driver",
        0.05,
        "rideshare driver",
        (20_000, 48_000),
        (21, 60),
        "weekly_gig",
        1.4,
        _mix(fuel=6, fast_food=3),
    ),
    Persona(
        "student",
        0.08,
        "student",
        (0, 12_000),
        (18, 26),
        "allowance",
        1.1,
        _mix(fast_food=4, rideshare=2, bar=1.5, grocery=3, online_shop=2),
    ),
    Persona(
        "retiree",
        0.12,
        "retired",
        (15_000, 60_000),
        (65, 88),
        "benefit",
        0.8,
        _mix(pharmacy=2.5, medical=1, fast_food=0.5, bar=0.1, rideshare=0.1),
        atm_per_month=2.5,
    ),
    Persona(
        "migrant_worker",
        0.08,
        "construction labourer",
        (24_000, 45_000),
        (20, 50),
        "fortnightly",
        0.9,
        remit_share=0.2,
    ),
    Persona(
        "self_employed",
        0.05,
        "personal trainer",
        (25_000, 70_000),
        (22, 55),
        "none",
        1.1,
        clients_per_month=18.0,
    ),
    Persona(
        "travelling_worker",
        0.04,
        "sales representative",
        (50_000, 120_000),
        (25, 62),
        "monthly",
        1.6,
        _mix(hotel=1.2, restaurant=4, fuel=3, car_rental=0.3),
        away_share=0.35,
    ),
    Persona(
        "crypto_hobbyist",
        0.03,
        "software developer",
        (70_000, 160_000),
        (22, 50),
        "monthly",
        1.2,
        crypto_per_month=2.0,
    ),
    Persona(
        "low_income",
        0.06,
        "unemployed",
        (0, 15_000),
        (18, 60),
        "benefit",
        0.8,
        _mix(fast_food=3, grocery=4),
        atm_per_month=3.0,
    ),
    Persona(
        "basic",
        0.0,
        "unemployed",
        (8_000, 20_000),
        (18, 30),
        "none",
        0.7,
        _mix(fast_food=3, grocery=4, bar=0.2),
        atm_per_month=1.0,
    ),
)
"""`basic` (weight 0) is the bare persona scenarios give to the people they plant."""


@dataclass(frozen=True, slots=True)
class Business:
    """Behaviour parameters of a business persona.

    Attributes:
        name: Persona key.
        weight: Share of business customers.
        industry: NAICS code.
        label: Business-name suffix.
        mcc: MCC of its card takings, empty when it takes no cards.
        hours: Declared opening hours (days, open, close) with minutes since midnight;
            close < open means past midnight.
        employees: (low, high) declared employees.
        revenue: (low, high) monthly revenue in USD.
        cash_share: Share of revenue banked as cash.
        payroll: "provider", "direct" or "none".
    """

    name: str
    weight: float
    industry: str
    label: str
    mcc: str
    hours: tuple[str, int, int]
    employees: tuple[int, int]
    revenue: tuple[int, int]
    cash_share: float
    payroll: str


BUSINESSES: tuple[Business, ...] = (
    Business(
        "restaurant",
        0.17,
        "722511",
        "KITCHEN LLC",
        "5812",
        ("Mon-Sun", 660, 1380),
        (4, 25),
        (40_000, 160_000),
        0.25,
        "provider",
    ),
    Business(
        "bar_nightclub",
        0.07,
        "722410",
        "LOUNGE INC",
        "5813",
        ("Wed-Sun", 1260, 240),
        (5, 20),
        (30_000, 120_000),
        0.35,
        "provider",
    ),
    Business(
        "massage_spa",
        0.05,
        "812199",
        "WELLNESS SPA LLC",
        "7298",
        ("Mon-Sat", 600, 1140),
        (2, 8),
        (15_000, 45_000),
        0.2,
        "direct",
    ),
    Business(
        "salon",
        0.08,
        "812112",
        "HAIR STUDIO LLC",
        "7230",
        ("Tue-Sat", 540, 1140),
        (2, 8),
        (12_000, 40_000),
        0.2,
        "direct",
    ),
    Business(
        "cleaning",
        0.08,
        "561720",
        "CLEANING SERVICES LLC",
        "",
        ("Mon-Fri", 480, 1020),
        (3, 30),
        (20_000, 90_000),
        0.05,
        "provider",
    ),
    Business(
        "construction",
        0.10,
        "236118",
        "BUILDERS INC",
        "",
        ("Mon-Fri", 420, 960),
        (5, 40),
        (60_000, 300_000),
        0.02,
        "provider",
    ),
    Business(
        "farm",
        0.05,
        "111219",
        "FARMS LLC",
        "",
        ("Mon-Sat", 360, 1080),
        (6, 40),
        (40_000, 200_000),
        0.03,
        "provider",
    ),
    Business(
        "travel_agency",
        0.05,
        "561510",
        "TRAVEL LLC",
        "4722",
        ("Mon-Fri", 540, 1080),
        (2, 10),
        (30_000, 120_000),
        0.02,
        "direct",
    ),
    Business(
        "landlord",
        0.10,
        "531110",
        "PROPERTIES LLC",
        "",
        ("Mon-Fri", 540, 1020),
        (1, 3),
        (10_000, 60_000),
        0.0,
        "none",
    ),
    Business(
        "charity",
        0.05,
        "813219",
        "FOUNDATION",
        "",
        ("Mon-Fri", 540, 1020),
        (2, 12),
        (10_000, 80_000),
        0.05,
        "direct",
    ),
    Business(
        "payroll_bureau",
        0.03,
        "541214",
        "PAYROLL SERVICES INC",
        "",
        ("Mon-Fri", 480, 1080),
        (3, 15),
        (100_000, 400_000),
        0.0,
        "direct",
    ),
    Business(
        "recruitment_agency",
        0.04,
        "561311",
        "STAFFING LLC",
        "7361",
        ("Mon-Fri", 540, 1020),
        (2, 12),
        (30_000, 120_000),
        0.0,
        "direct",
    ),
    Business(
        "grocer",
        0.13,
        "445110",
        "GROCERY INC",
        "5411",
        ("Mon-Sun", 420, 1320),
        (3, 15),
        (60_000, 250_000),
        0.45,
        "provider",
    ),
)

PERSONAS: tuple[str, ...] = tuple(p.name for p in INDIVIDUALS) + tuple(b.name for b in BUSINESSES)
"""Persona codes: individuals first, then businesses (code >= len(INDIVIDUALS))."""


def persona_code(name: str) -> int:
    """Integer code of a persona name.

    Args:
        name: Persona key from `INDIVIDUALS` or `BUSINESSES`.

    Returns:
        Its index in `PERSONAS`.
    """
    return PERSONAS.index(name)
