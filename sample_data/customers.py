"""The customer population: personas, homes, employers, accounts and KYC (vectorised).

Primary account index equals customer index; savings accounts follow after the last customer.
Scenarios later re-assign personas and patch KYC rows of the customers they plant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from engine.schema import CUSTOMER_COLUMNS
from sample_data.personas import BUSINESSES, INDIVIDUALS, PERSONAS
from sample_data.reference import CITIES
from sample_data.world import FIRST_NAMES, SURNAMES, Parties

__all__ = ["Population", "build_population"]

_STREETS = [
    "OAK",
    "MAPLE",
    "PINE",
    "CEDAR",
    "ELM",
    "MAIN",
    "PARK",
    "LAKE",
    "HILL",
    "RIVER",
    "SUNSET",
    "MARKET",
    "UNION",
    "BAY",
]
_SUFFIX = ("ST", "AVE", "BLVD", "RD", "DR")
BUSINESS_SHARE = 0.07


@dataclass(frozen=True, slots=True)
class Population:
    """Customers and accounts of the bank.

    Attributes:
        persona: Persona code per customer (mutable until activity is generated).
        home: Home city index per customer.
        income: Declared annual income per customer (USD).
        first: First-name index per customer (-1 for businesses).
        surname: Surname index per customer (-1 for businesses).
        employer: External employer party index per customer (-1 none).
        employer_cust: Employing business customer index (-1 none).
        acct_cust: Customer index per account.
        savings: Savings account index per customer (-1 none).
        open_ts: Onboarding instant per customer (µs since epoch, UTC).
        kyc: KYC frame with `CUSTOMER_COLUMNS` plus an `idx` column.
    """

    persona: np.ndarray
    home: np.ndarray
    income: np.ndarray
    first: np.ndarray
    surname: np.ndarray
    employer: np.ndarray
    employer_cust: np.ndarray
    acct_cust: np.ndarray
    savings: np.ndarray
    open_ts: np.ndarray
    kyc: pl.DataFrame

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.persona)

    def names(self, idx: np.ndarray) -> list[str]:
        """Full names of customers `idx`."""
        return self.kyc["full_name"].gather(idx).to_list()


MIN_EACH_BUSINESS = 6


def _pick(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def build_population(n: int, start: date, rng: np.random.Generator, parties: Parties) -> Population:
    """Draw `n` customers with personas, homes, employers and KYC.

    Args:
        n: Number of customers.
        start: First day of the transaction period.
        rng: Random generator.
        parties: External party registry (employers are added to it).

    Returns:
        The population.
    """
    # every business persona appears at least MIN_EACH_BUSINESS times: the scenarios and
    # look-alikes take several (S3 alone plants three storefronts), even in a small bank
    floor = MIN_EACH_BUSINESS * len(BUSINESSES)
    n_biz = max(floor, round(n * BUSINESS_SHARE))
    is_biz = np.zeros(n, dtype=bool)
    is_biz[rng.choice(n, n_biz, replace=False)] = True
    persona = _pick(rng, [p.weight for p in INDIVIDUALS], n).astype(np.int16)
    biz_code = len(INDIVIDUALS) + _pick(rng, [b.weight for b in BUSINESSES], n_biz)
    biz_code[:floor] = len(INDIVIDUALS) + np.tile(np.arange(len(BUSINESSES)), MIN_EACH_BUSINESS)
    persona[is_biz] = biz_code
    home = _pick(rng, [c.weight for c in CITIES], n).astype(np.int16)
    first = rng.integers(0, len(FIRST_NAMES), n).astype(np.int32)
    surname = rng.integers(0, len(SURNAMES), n).astype(np.int32)
    # households: a tenth of individuals share surname and address with the previous customer
    household = (rng.random(n) < 0.1) & ~is_biz & np.roll(~is_biz, 1)
    household[0] = False
    surname[household] = surname[np.flatnonzero(household) - 1]
    home[household] = home[np.flatnonzero(household) - 1]

    lo = np.array([p.income[0] for p in INDIVIDUALS] + [b.revenue[0] * 12 for b in BUSINESSES])
    hi = np.array([p.income[1] for p in INDIVIDUALS] + [b.revenue[1] * 12 for b in BUSINESSES])
    income = np.round(lo[persona] + rng.random(n) * (hi[persona] - lo[persona]), -2)

    employer = np.full(n, -1, dtype=np.int32)
    employer_cust = np.full(n, -1, dtype=np.int32)
    pays = np.array(
        [p.pay in ("monthly", "fortnightly") for p in INDIVIDUALS] + [False] * len(BUSINESSES)
    )
    employed = np.flatnonzero(pays[persona])
    n_emp = max(3, n // 25)
    emp_names = [
        f"{SURNAMES[i % len(SURNAMES)]} {w}"
        for i, w in zip(
            rng.integers(0, len(SURNAMES), n_emp).tolist(),
            rng.choice(
                [
                    "LOGISTICS INC",
                    "HEALTH SYSTEM",
                    "RETAIL CORP",
                    "MANUFACTURING CO",
                    "SOFTWARE LLC",
                    "CITY SCHOOLS",
                    "HOSPITAL",
                    "FOODS INC",
                ],
                n_emp,
            ).tolist(),
            strict=True,
        )
    ]
    employer[employed] = parties.add(emp_names, "business", "US")[
        rng.integers(0, n_emp, len(employed))
    ]
    hires = np.flatnonzero(
        np.isin(
            persona,
            [
                PERSONAS.index(b)
                for b in (
                    "restaurant",
                    "bar_nightclub",
                    "cleaning",
                    "construction",
                    "farm",
                    "grocer",
                )
            ],
        )
    )
    internal = employed[rng.random(len(employed)) < 0.25]
    if len(hires):
        employer_cust[internal] = hires[rng.integers(0, len(hires), len(internal))]
        employer[internal] = -1

    n_sav = int((~is_biz).sum() * 0.12)
    sav_owner = np.sort(rng.choice(np.flatnonzero(~is_biz), n_sav, replace=False))
    savings = np.full(n, -1, dtype=np.int32)
    savings[sav_owner] = n + np.arange(n_sav)
    acct_cust = np.concatenate([np.arange(n), sav_owner]).astype(np.int32)

    epoch = datetime(1970, 1, 1)
    start_us = int((datetime.combine(start, datetime.min.time()) - epoch).total_seconds()) * 10**6
    tenure_days = rng.integers(120, 3650, n)
    open_ts = start_us - tenure_days * 86_400_000_000 + rng.integers(14, 22, n) * 3_600_000_000
    age = np.array([p.age for p in INDIVIDUALS] + [(30, 60)] * len(BUSINESSES))[persona]
    age_days = (age[:, 0] + rng.random(n) * (age[:, 1] - age[:, 0])) * 365.25
    kyc = _kyc(
        n,
        start,
        rng,
        persona,
        is_biz,
        home,
        first,
        surname,
        income,
        employer,
        employer_cust,
        open_ts,
        age_days,
        parties,
    )
    individuals = np.flatnonzero(~is_biz)
    owner = individuals[rng.integers(0, len(individuals), n)]
    kyc = kyc.with_columns(
        beneficial_owner_ids=pl.when(pl.col("customer_type") == "business").then(
            kyc["customer_id"].gather(owner)
        )
    )
    return Population(
        persona,
        home,
        income,
        first,
        surname,
        employer,
        employer_cust,
        acct_cust,
        savings,
        open_ts,
        kyc,
    )


def _kyc(
    n: int,
    start: date,
    rng: np.random.Generator,
    persona: np.ndarray,
    is_biz: np.ndarray,
    home: np.ndarray,
    first: np.ndarray,
    surname: np.ndarray,
    income: np.ndarray,
    employer: np.ndarray,
    employer_cust: np.ndarray,
    open_ts: np.ndarray,
    age_days: np.ndarray,
    parties: Parties,
) -> pl.DataFrame:
    idx = np.arange(n)
    city = pl.Series([c.name.upper() for c in CITIES]).gather(home)
    region = pl.Series([c.region for c in CITIES]).gather(home)
    tzs = pl.Series([c.tz for c in CITIES]).gather(home)
    area = pl.Series([c.area_code for c in CITIES]).gather(home)
    fn = pl.Series(FIRST_NAMES).gather(first)
    sn = pl.Series(SURNAMES).gather(surname)
    biz_label = pl.Series([""] * len(INDIVIDUALS) + [b.label for b in BUSINESSES]).gather(persona)
    street = (
        pl.Series((rng.integers(1, 9800, n)).astype(str))
        + " "
        + pl.Series(_STREETS).gather(rng.integers(0, len(_STREETS), n))
        + " "
        + pl.Series(_SUFFIX).gather(rng.integers(0, len(_SUFFIX), n))
    )
    unit = pl.Series(rng.integers(1, 40, n).astype(str)) + pl.Series(list("ABCD")).gather(
        rng.integers(0, 4, n)
    )
    household = np.zeros(n, dtype=bool)
    household[1:] = (surname[1:] == surname[:-1]) & (home[1:] == home[:-1]) & ~is_biz[1:]
    phone_no = (idx * 7_919 + 1_000_003) % 9_000_000 + 1_000_000
    channel = pl.Series(["branch", "online", "mobile"]).gather(_pick(rng, [0.4, 0.35, 0.25], n))
    frame = pl.DataFrame(
        {
            "idx": idx,
            "is_biz": is_biz,
            "persona": pl.Series(PERSONAS).gather(persona),
            "fn": fn,
            "sn": sn,
            "biz_label": biz_label,
            "street": street,
            "unit": unit,
            "city": city,
            "region": region,
            "tz": tzs,
            "area": area,
            "household": household,
            "phone_no": phone_no,
            "income": income,
            "channel": channel,
            "open_ts": pl.Series(open_ts).cast(pl.Datetime("us", "UTC")),
            "age_days": age_days.astype(np.int64),
            "home": home,
            "branch_k": rng.integers(1, 4, n),
            "employer": employer,
            "employer_cust": employer_cust,
        }
    )
    emp_names = parties.frame()["name"]
    biz = pl.col("is_biz")
    cid = pl.concat_str(pl.lit("C"), (pl.col("idx") + 1).cast(pl.String).str.zfill(6))
    frame = frame.with_columns(customer_id=cid).with_columns(
        full_name=pl.when(biz)
        .then(pl.concat_str("sn", "biz_label", separator=" "))
        .otherwise(pl.concat_str("fn", "sn", separator=" ")),
        addr=pl.concat_str(
            "street",
            pl.when(biz).then(pl.lit("")).otherwise(pl.concat_str(pl.lit(" APT "), "unit")),
            pl.lit(", "),
            "city",
            pl.lit(", "),
            "region",
        ),
    )
    # household members live at their predecessor's address
    frame = frame.with_columns(
        address_norm=pl.when("household").then(pl.col("addr").shift(1)).otherwise("addr")
    )
    boss = pl.Series(frame["full_name"]).gather(np.maximum(employer_cust, 0))
    frame = frame.with_columns(
        employer_name=pl.when(pl.col("employer_cust") >= 0)
        .then(boss)
        .when(pl.col("employer") >= 0)
        .then(emp_names.gather(np.maximum(employer, 0))),
        onboarding_branch_id=pl.when(pl.col("channel") == "branch").then(
            pl.concat_str(
                pl.lit("BR"),
                pl.col("home").cast(pl.String).str.zfill(2),
                pl.col("branch_k").cast(pl.String),
            )
        ),
    )
    occupations = [p.occupation for p in INDIVIDUALS] + [None] * len(BUSINESSES)
    hours = [None] * len(INDIVIDUALS) + [
        f"{b.hours[0]} {b.hours[1] // 60:02d}:{b.hours[1] % 60:02d}-"
        f"{b.hours[2] // 60:02d}:{b.hours[2] % 60:02d}"
        for b in BUSINESSES
    ]
    by_persona = pl.DataFrame(
        {
            "persona": PERSONAS,
            "occupation": pl.Series(occupations, dtype=pl.String),
            "industry_code": [None] * len(INDIVIDUALS) + [b.industry for b in BUSINESSES],
            "opening_hours": pl.Series(hours, dtype=pl.String),
            "open_min": [None] * len(INDIVIDUALS) + [b.hours[1] for b in BUSINESSES],
            "close_min": [None] * len(INDIVIDUALS) + [b.hours[2] for b in BUSINESSES],
            "emp_lo": [0] * len(INDIVIDUALS) + [b.employees[0] for b in BUSINESSES],
            "emp_hi": [0] * len(INDIVIDUALS) + [b.employees[1] for b in BUSINESSES],
        }
    )
    frame = frame.join(by_persona, on="persona", how="left", maintain_order="left")
    emp_draw = pl.Series(rng.random(n))
    dev = pl.concat_str(pl.lit("DV"), pl.col("idx").cast(pl.String).str.zfill(7), pl.lit("0"))
    tablet = pl.concat_str(pl.lit("BANK-TAB-"), pl.col("home").cast(pl.String).str.zfill(2))
    start_days = (start - date(1970, 1, 1)).days
    out = frame.select(
        "customer_id",
        customer_type=pl.when(biz).then(pl.lit("business")).otherwise(pl.lit("individual")),
        full_name="full_name",
        surname_norm=pl.when(biz).then(None).otherwise("sn"),
        date_of_birth=pl.when(biz)
        .then(None)
        .otherwise((pl.lit(start_days) - pl.col("age_days")).cast(pl.Int32).cast(pl.Date)),
        country_of_residence=pl.lit("US"),
        address_norm="address_norm",
        address_type=pl.when(biz).then(pl.lit("commercial")).otherwise(pl.lit("residential")),
        phone_e164=pl.concat_str(pl.lit("+1"), "area", pl.col("phone_no").cast(pl.String)),
        email=pl.concat_str(
            pl.when(biz)
            .then(pl.lit("info"))
            .otherwise(pl.concat_str("fn", pl.lit("."), "sn"))
            .str.to_lowercase(),
            pl.lit("."),
            pl.col("idx").cast(pl.String),
            pl.lit("@mail.example"),
        ),
        occupation="occupation",
        employer_name="employer_name",
        declared_annual_income=pl.col("income").cast(pl.Float64),
        expected_monthly_turnover=(pl.col("income") / 12 * 1.1).round(0),
        industry_code="industry_code",
        declared_employees=pl.when(biz)
        .then((pl.col("emp_lo") + emp_draw * (pl.col("emp_hi") - pl.col("emp_lo"))).round(0))
        .cast(pl.Int32),
        opening_hours="opening_hours",
        open_min=pl.col("open_min").cast(pl.Int16),
        close_min=pl.col("close_min").cast(pl.Int16),
        home_region="region",
        home_city="city",
        timezone="tz",
        onboarding_ts="open_ts",
        onboarding_channel="channel",
        onboarding_branch_id="onboarding_branch_id",
        onboarding_device_id=pl.when(pl.col("channel") == "branch").then(tablet).otherwise(dev),
        onboarding_accompanied_by=pl.lit(None, pl.String),
        staff_observation_flags=pl.lit(None, pl.String),
        beneficial_owner_ids=pl.lit(None, pl.String),
    )
    return out.cast(pl.Schema(CUSTOMER_COLUMNS)).with_columns(idx=pl.Series(idx, dtype=pl.Int32))
