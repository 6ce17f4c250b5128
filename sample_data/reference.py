"""Static reference data of the synthetic bank: places, currencies, jurisdictions, entities.

Everything here is synthetic. Jurisdiction codes XA-XE are user-assigned ISO 3166 codes that
no real country uses, and every named entity is invented; a bank replaces these lists with its
own (typologies.md §1.3, §7.1).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BASE_CURRENCY",
    "CITIES",
    "CURRENCIES",
    "FX_RATES",
    "HT_CONDUIT",
    "KNOWN_ENTITIES",
    "OSEC_RISK",
    "REPORTING_THRESHOLDS",
    "City",
    "KnownEntity",
]


@dataclass(frozen=True, slots=True)
class City:
    """A place where transactions happen.

    Attributes:
        name: City name as it appears in `txn_city`.
        region: State or province code (`txn_region`).
        country: ISO 3166-1 alpha-2 code (`txn_country`).
        tz: IANA time zone of the city's wall clock.
        weight: Share of the population living there (0 for places nobody lives in).
        area_code: Telephone area code used for residents' phone numbers.
    """

    name: str
    region: str
    country: str
    tz: str
    weight: float
    area_code: str = ""


CITIES: tuple[City, ...] = (
    City("New York", "NY", "US", "America/New_York", 0.19, "212"),
    City("Newark", "NJ", "US", "America/New_York", 0.05, "973"),
    City("Philadelphia", "PA", "US", "America/New_York", 0.06, "215"),
    City("Boston", "MA", "US", "America/New_York", 0.04, "617"),
    City("Miami", "FL", "US", "America/New_York", 0.05, "305"),
    City("Atlanta", "GA", "US", "America/New_York", 0.04, "404"),
    City("Chicago", "IL", "US", "America/Chicago", 0.06, "312"),
    City("Houston", "TX", "US", "America/Chicago", 0.05, "713"),
    City("Dallas", "TX", "US", "America/Chicago", 0.04, "214"),
    City("Denver", "CO", "US", "America/Denver", 0.03, "303"),
    City("Phoenix", "AZ", "US", "America/Phoenix", 0.03, "602"),
    City("Las Vegas", "NV", "US", "America/Los_Angeles", 0.03, "702"),
    City("Los Angeles", "CA", "US", "America/Los_Angeles", 0.15, "213"),
    City("San Diego", "CA", "US", "America/Los_Angeles", 0.04, "619"),
    City("San Francisco", "CA", "US", "America/Los_Angeles", 0.05, "415"),
    City("Fresno", "CA", "US", "America/Los_Angeles", 0.03, "559"),
    City("Seattle", "WA", "US", "America/Los_Angeles", 0.06, "206"),
    City("Toronto", "ON", "CA", "America/Toronto", 0.0),
    City("Vancouver", "BC", "CA", "America/Vancouver", 0.0),
    City("Sydney", "NSW", "AU", "Australia/Sydney", 0.0),
    City("London", "ENG", "GB", "Europe/London", 0.0),
    City("Berlin", "BE", "DE", "Europe/Berlin", 0.0),
    City("Xa Port", "XA-1", "XA", "Asia/Bangkok", 0.0),
    City("Xd Town", "XD-1", "XD", "Asia/Manila", 0.0),
)
"""Home cities (weight > 0) are all US; the rest are travel and conduit destinations."""

BASE_CURRENCY = "USD"
CURRENCIES: tuple[str, ...] = ("USD", "CAD", "AUD", "EUR", "GBP")
FX_RATES: dict[str, float] = {"USD": 1.0, "CAD": 0.74, "AUD": 0.66, "EUR": 1.09, "GBP": 1.27}
"""USD per unit of currency; the same rates as the shipped `rules/lists/fx_rates.csv`."""

HT_CONDUIT: tuple[str, ...] = ("XA", "XB", "XC")
OSEC_RISK: tuple[str, ...] = ("XD", "XE")

REPORTING_THRESHOLDS: tuple[tuple[str, str, int, str], ...] = (
    ("cash", "US", 10000, "USD"),
    ("wire", "US", 3000, "USD"),
    ("cash", "CA", 10000, "CAD"),
    ("cash", "AU", 10000, "AUD"),
    ("cash", "GB", 10000, "GBP"),
)
"""(channel class, country, threshold, currency) per typologies.md §0.3."""


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """A synthetic entity of the `known_entities` list.

    Attributes:
        value: `merchant_id` (card merchants) or `counterparty_account_id` (account holders).
        category: Category from typologies.md §1.3.
        name: Descriptor shown as `counterparty_name`.
        country: ISO country of the entity.
        mcc: Merchant category code for card merchants, empty for account holders.
        cp_type: `counterparty_type` of the entity's postings.
    """

    value: str
    category: str
    name: str
    country: str
    mcc: str = ""
    cp_type: str = "business"


KNOWN_ENTITIES: tuple[KnownEntity, ...] = (
    KnownEntity("MK0001", "classified_ads", "NIGHTBOARD CLASSIFIEDS", "XB", "7311", "merchant"),
    KnownEntity("MK0002", "classified_ads", "QUICKPOST LISTINGS", "US", "7311", "merchant"),
    KnownEntity("MK0003", "escort_ads", "VELVETLINE ADS", "XC", "7311", "merchant"),
    KnownEntity("MK0004", "escort_ads", "CITYCOMPANION DIR", "CA", "7273", "merchant"),
    KnownEntity("MK0005", "web_hosting", "OFFSHOREHOST NET", "XB", "4816", "merchant"),
    KnownEntity("MK0006", "short_term_rental", "STAYHOP RENTALS", "US", "7011", "merchant"),
    KnownEntity("MK0007", "short_term_rental", "NIGHTLYNEST", "US", "6513", "merchant"),
    KnownEntity("MK0008", "rideshare", "ZIPRIDE TRIP", "US", "4121", "merchant"),
    KnownEntity("MK0009", "rideshare", "HOPCAR", "US", "4121", "merchant"),
    KnownEntity("MK0010", "vasp", "COINHARBOR EXCHANGE", "US", "6051", "merchant"),
    KnownEntity("MK0011", "p2p_crypto_exchange", "PEERCOIN MARKET", "XB", "6051", "merchant"),
    KnownEntity("XK0001", "tppp", "SWIFTPAYOUT PROCESSING", "US", cp_type="psp"),
    KnownEntity("XK0002", "tppp", "GLOBEPAY GATEWAY", "XC", cp_type="psp"),
    KnownEntity("XK0003", "vasp", "COINHARBOR EXCHANGE", "US", cp_type="vasp"),
    KnownEntity("XK0004", "p2p_crypto_exchange", "PEERCOIN MARKET", "XB", cp_type="vasp"),
    KnownEntity("XK0005", "payroll_provider", "PAYCREST PAYROLL", "US", cp_type="business"),
    KnownEntity("XK0006", "payroll_provider", "WAGEWORKS BUREAU", "US", cp_type="business"),
    KnownEntity("XK0007", "biller", "METRO POWER & GAS", "US", cp_type="business"),
    KnownEntity("XK0008", "biller", "CITYWATER UTILITY", "US", cp_type="business"),
    KnownEntity("XK0009", "biller", "NATIONWIDE WIRELESS", "US", cp_type="business"),
    KnownEntity("XK0010", "biller", "SHIELD MUTUAL INSURANCE", "US", cp_type="business"),
    KnownEntity("XK0011", "licensed_recruiter", "BRIGHTPATH STAFFING", "US", cp_type="business"),
    KnownEntity("XK0012", "licensed_recruiter", "GLOBAL STUDY AGENTS", "US", cp_type="business"),
    KnownEntity("XK0013", "unlicensed_recruiter", "GOLDEN JOBS OVERSEAS", "XA", cp_type="business"),
    KnownEntity(
        "XK0014", "unlicensed_recruiter", "FASTTRACK LABOUR AGENCY", "US", cp_type="business"
    ),
    KnownEntity("XK0015", "tppp", "MARKETLY SELLER PAYOUTS", "US", cp_type="psp"),
)
