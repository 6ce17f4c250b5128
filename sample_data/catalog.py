"""Merchant categories with real MCCs, their hours and ticket sizes, and the MCC groups.

A category is what a cardholder buys (groceries, a motel night, a bus ticket). Each has an MCC
from typologies.md §1.4, an hour-of-day profile (local time) from which the population-derived
merchant hours emerge, and a log-normal ticket size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CAT", "CATEGORIES", "HOUR_PROFILES", "MCC_GROUPS", "Category", "hour_cdf"]

_H = {
    # 24 relative weights, index = local hour
    "day": [0, 0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 7, 9, 8, 6, 6, 6, 6, 5, 3, 1, 0, 0, 0],
    "shop": [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 6, 5, 5, 6, 8, 8, 6, 4, 2, 1, 0],
    "meal": [0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 5, 9, 7, 2, 2, 3, 6, 9, 8, 5, 2, 1, 0],
    "late": [4, 3, 2, 1, 0, 0, 0, 1, 2, 2, 3, 5, 7, 5, 3, 3, 4, 6, 7, 7, 6, 5, 5, 5],
    "bar": [6, 5, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 9, 8],
    "allday": [1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 6, 5, 4, 3, 2, 1],
    "lodging": [2, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 6, 5, 4, 3, 2],
    "online": [1, 1, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 4, 3, 3, 3, 3, 4, 5, 6, 6, 5, 4, 2],
}
HOUR_PROFILES: tuple[str, ...] = tuple(_H)


@dataclass(frozen=True, slots=True)
class Category:
    """A spending category.

    Attributes:
        name: Short key used in persona mixes.
        mcc: Four-digit merchant category code.
        hours: Key of the hour profile in `HOUR_PROFILES`.
        median: Median ticket in USD.
        sigma: Log-normal sigma of the ticket.
        per_city: Merchants of this category per city; 0 for online-only categories.
        label: Descriptor stem for merchant names.
    """

    name: str
    mcc: str
    hours: str
    median: float
    sigma: float
    per_city: int
    label: str


CATEGORIES: tuple[Category, ...] = (
    Category("grocery", "5411", "shop", 42.0, 0.7, 6, "MARKET"),
    Category("restaurant", "5812", "meal", 34.0, 0.5, 6, "BISTRO"),
    Category("fast_food", "5814", "late", 11.0, 0.4, 5, "BURGER"),
    Category("bar", "5813", "bar", 32.0, 0.6, 3, "TAVERN"),
    Category("fuel", "5541", "allday", 46.0, 0.4, 3, "FUEL"),
    Category("truck_stop", "5542", "allday", 180.0, 0.4, 1, "TRUCK STOP"),
    Category("pharmacy", "5912", "shop", 19.0, 0.6, 3, "PHARMACY"),
    Category("cosmetics", "5977", "shop", 28.0, 0.5, 2, "BEAUTY SUPPLY"),
    Category("womens_wear", "5621", "shop", 52.0, 0.6, 2, "BOUTIQUE"),
    Category("family_clothing", "5651", "shop", 58.0, 0.6, 2, "CLOTHING"),
    Category("dept_store", "5311", "shop", 61.0, 0.7, 2, "DEPT STORE"),
    Category("electronics", "5732", "shop", 140.0, 0.8, 1, "ELECTRONICS"),
    Category("salon", "7230", "day", 45.0, 0.5, 2, "HAIR STUDIO"),
    Category("spa", "7298", "day", 85.0, 0.4, 1, "DAY SPA"),
    Category("massage", "7297", "day", 70.0, 0.3, 1, "MASSAGE"),
    Category("gym", "7997", "day", 40.0, 0.3, 1, "FITNESS"),
    Category("medical", "8011", "day", 90.0, 0.6, 1, "CLINIC"),
    Category("hotel", "7011", "lodging", 125.0, 0.35, 3, "INN"),
    Category("motel", "3700", "lodging", 72.0, 0.25, 2, "BUDGET MOTEL"),
    Category("car_rental", "7512", "day", 85.0, 0.4, 1, "CAR RENTAL"),
    Category("taxi", "4121", "allday", 19.0, 0.4, 1, "CITY CAB"),
    Category("car_dealer", "5511", "day", 9000.0, 0.6, 1, "MOTORS"),
    Category("jewelry", "5944", "day", 300.0, 0.8, 1, "JEWELERS"),
    Category("casino", "7995", "bar", 200.0, 0.8, 0, "CASINO"),
    Category("airline", "4511", "online", 240.0, 0.4, 0, "AIRWAYS"),
    Category("airline_brand", "3058", "online", 260.0, 0.4, 0, "SKYLINE AIR"),
    Category("rail", "4112", "online", 55.0, 0.5, 0, "RAIL"),
    Category("bus", "4131", "online", 38.0, 0.4, 0, "COACH LINES"),
    Category("travel_agency", "4722", "online", 420.0, 0.6, 0, "TRAVEL"),
    Category("rideshare", "4121", "online", 17.0, 0.45, 0, "RIDE"),
    Category("telecom", "4814", "online", 25.0, 0.4, 0, "MOBILE TOPUP"),
    Category("streaming", "4899", "online", 14.0, 0.3, 0, "STREAM"),
    Category("online_shop", "5999", "online", 38.0, 0.8, 0, "WEBSHOP"),
    Category("dating", "7273", "online", 29.99, 0.0, 0, "MATCHLY"),
    Category("ads", "7311", "online", 60.0, 0.5, 0, "SOCIALADS"),
    Category("prepaid", "6540", "online", 200.0, 0.5, 0, "GIFTCARD HUB"),
    Category("crypto", "6051", "online", 200.0, 0.5, 0, "COIN"),
    Category("education", "8299", "online", 900.0, 0.5, 0, "EDU AGENT"),
)
CAT: dict[str, int] = {c.name: i for i, c in enumerate(CATEGORIES)}


def hour_cdf() -> np.ndarray:
    """Cumulative hour distribution per category, shape (n_categories, 24)."""
    weights = np.array([_H[c.hours] for c in CATEGORIES], dtype=np.float64)
    cdf = np.cumsum(weights, axis=1)
    return cdf / cdf[:, -1:]


def _codes(lo: int, hi: int) -> tuple[str, ...]:
    return tuple(f"{m:04d}" for m in range(lo, hi + 1))


MCC_GROUPS: dict[str, tuple[str, ...]] = {
    "LODGING": ("7011", *_codes(3501, 3835)),
    "AIR": (*_codes(3000, 3299), "4511"),
    "GROUND_TRAVEL": ("4112", "4131", "4111", "4722"),
    "LOCAL_TRANSPORT": ("4121", "4789", "7512", *_codes(3351, 3441)),
    "VENUE": ("7273", "7297", "7298", "5813", "7230", "7299"),
    "ADS_HOSTING": ("7311", "4816"),
    "SUPPLIES": ("5912", "5977", "5621", "5631", "5699", "5651"),
    "FOOD": ("5814", "5812", "5411"),
    "TELECOM": ("4814", "4812"),
    "MONEY_TRANSFER": ("4829", "6051", "6540", "6010", "6011", "6012"),
    "EMPLOYMENT": ("7361", "8299"),
    "HIGH_VALUE": ("5511", "5521", "5944", "5094", "6513", "7995"),
}
"""typologies.md §1.4, with brand-code ranges listed code by code."""
