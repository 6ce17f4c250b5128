"""The static world: places, card merchants and the external parties money flows to and from.

Merchants and external parties are tables addressed by integer index; events carry the index
and `finalise.py` turns it into ids, names and countries in one gather.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from sample_data.catalog import CATEGORIES
from sample_data.reference import CITIES, KNOWN_ENTITIES

__all__ = ["FIRST_NAMES", "SURNAMES", "Merchants", "Parties", "build_merchants", "tz_names"]

FIRST_NAMES = [
    "JAMES",
    "MARIA",
    "JOHN",
    "LINDA",
    "ROBERT",
    "ANA",
    "DAVID",
    "MEI",
    "JOSE",
    "SARAH",
    "MICHAEL",
    "AISHA",
    "WEI",
    "ELENA",
    "CARLOS",
    "FATIMA",
    "DANIEL",
    "PRIYA",
    "KEVIN",
    "SOFIA",
    "LUIS",
    "EMILY",
    "AHMED",
    "GRACE",
    "JUAN",
    "OLIVIA",
    "MINH",
    "CHLOE",
    "OMAR",
    "HANNAH",
    "RAJ",
    "ISABEL",
    "TOMAS",
    "NADIA",
    "PETER",
    "LUCIA",
    "SAMUEL",
    "YUKI",
    "ANDRE",
    "ZARA",
    "MARK",
    "ROSA",
    "IVAN",
    "LEILA",
    "PAUL",
    "NINA",
    "ERIC",
    "JOY",
    "VICTOR",
    "AMARA",
    "BRIAN",
    "TERESA",
    "DIEGO",
    "KIM",
    "JORGE",
    "HELEN",
    "ALI",
    "MAYA",
    "FELIX",
    "IRINA",
]
SURNAMES = [
    "SMITH",
    "GARCIA",
    "JOHNSON",
    "NGUYEN",
    "BROWN",
    "RODRIGUEZ",
    "WILLIAMS",
    "LEE",
    "MARTINEZ",
    "KIM",
    "JONES",
    "HERNANDEZ",
    "DAVIS",
    "LOPEZ",
    "MILLER",
    "GONZALEZ",
    "WILSON",
    "PEREZ",
    "ANDERSON",
    "SANCHEZ",
    "THOMAS",
    "RAMIREZ",
    "TAYLOR",
    "TORRES",
    "MOORE",
    "FLORES",
    "JACKSON",
    "RIVERA",
    "MARTIN",
    "GOMEZ",
    "WHITE",
    "DIAZ",
    "HARRIS",
    "REYES",
    "CLARK",
    "CRUZ",
    "LEWIS",
    "MORALES",
    "WALKER",
    "ORTIZ",
    "HALL",
    "GUTIERREZ",
    "ALLEN",
    "CHAVEZ",
    "YOUNG",
    "RAMOS",
    "KING",
    "PATEL",
    "WRIGHT",
    "SHAH",
    "SCOTT",
    "KHAN",
    "GREEN",
    "ALI",
    "BAKER",
    "CHEN",
    "ADAMS",
    "WANG",
    "NELSON",
    "LI",
    "HILL",
    "ZHANG",
    "CAMPBELL",
    "SANTOS",
    "MITCHELL",
    "REYNA",
    "ROBERTS",
    "OKAFOR",
    "CARTER",
    "MENSAH",
    "PHILLIPS",
    "IVANOVA",
    "EVANS",
    "PETROV",
    "TURNER",
    "NOVAK",
    "COLLINS",
    "SILVA",
]


_SERVICE = (
    ("XG0001", "SSA TREAS 310", "government"),
    ("XG0002", "IRS USATAXPYMT", "government"),
    ("XL0001", "SYNB CONSUMER LENDING", "financial_institution"),
    ("XL0002", "NORTHSTAR CARD SERVICES", "financial_institution"),
    ("XL0003", "BLUEBANK CARDMEMBER", "financial_institution"),
)
"""Government and lender parties every bank has (not part of the known-entity list)."""


def tz_names() -> tuple[str, ...]:
    """Distinct IANA zones of `CITIES`, in first-seen order (the tz index space)."""
    return tuple(dict.fromkeys(c.tz for c in CITIES))


@dataclass(frozen=True, slots=True)
class Merchants:
    """Card merchants: generated per city and category, online ones, and known entities.

    Attributes:
        frame: One row per merchant: merchant_id, name, mcc, country, category, city.
        category: Category index per merchant (-1 for business customers' own terminals).
        city: City index per merchant (-1 online).
        start: First merchant index per (city, category), shape (n_cities, n_categories).
        count: Number of merchants per (city, category).
        known: Merchant index of each known-entity merchant by its id.
    """

    frame: pl.DataFrame
    category: np.ndarray
    city: np.ndarray
    start: np.ndarray
    count: np.ndarray
    known: dict[str, int]


def build_merchants() -> Merchants:
    """Build the merchant table (deterministic, independent of the seed)."""
    ids: list[str] = []
    names: list[str] = []
    mccs: list[str] = []
    countries: list[str] = []
    cats: list[int] = []
    cities: list[int] = []
    n_city, n_cat = len(CITIES) + 1, len(CATEGORIES)
    start = np.zeros((n_city, n_cat), dtype=np.int64)
    count = np.zeros((n_city, n_cat), dtype=np.int64)
    for ci, city in enumerate((*CITIES, None)):
        for ki, cat in enumerate(CATEGORIES):
            online = cat.per_city == 0
            k = cat.per_city
            if city is None:
                k = 3 if online and cat.name != "casino" else 0
            elif online:
                k = 2 if cat.name == "casino" and city.name in ("Las Vegas", "Newark") else 0
            start[ci, ki], count[ci, ki] = len(ids), k
            for j in range(k):
                ids.append(f"M{len(ids) + 1:05d}")
                where = city.name.upper() if city else "ONLINE"
                names.append(f"{cat.label} {where} {j + 1}")
                mccs.append(cat.mcc)
                countries.append(city.country if city else "US")
                cats.append(ki)
                cities.append(ci if city else -1)
    known: dict[str, int] = {}
    for e in KNOWN_ENTITIES:
        if e.value.startswith("MK"):
            known[e.value] = len(ids)
            ids.append(e.value)
            names.append(e.name)
            mccs.append(e.mcc)
            countries.append(e.country)
            cats.append(-1)
            cities.append(-1)
    frame = pl.DataFrame(
        {"merchant_id": ids, "name": names, "mcc": mccs, "country": countries},
        schema={
            "merchant_id": pl.String,
            "name": pl.String,
            "mcc": pl.String,
            "country": pl.String,
        },
    )
    return Merchants(
        frame, np.array(cats, np.int32), np.array(cities, np.int32), start, count, known
    )


class Parties:
    """Registry of external counterparties (other banks' accounts, entities, people).

    Built once while the world and the scenarios are assembled, then frozen into a frame.
    """

    __slots__ = ("_parts", "_size", "known")

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []
        self._size = 0
        self.known: dict[str, int] = {}
        for e in KNOWN_ENTITIES:
            if e.value.startswith("XK"):
                self.known[e.value] = int(
                    self.add([e.name], e.cp_type, e.country, ids=[e.value])[0]
                )
        for value, name, kind in _SERVICE:
            self.known[value] = int(self.add([name], kind, "US", ids=[value])[0])

    def add(
        self,
        names: list[str] | pl.Series,
        cp_type: str,
        country: str | list[str] | pl.Series,
        *,
        ids: list[str] | None = None,
        bank: str | None = None,
    ) -> np.ndarray:
        """Register parties and return their indices.

        Args:
            names: Display names, one per party.
            cp_type: `counterparty_type` of all of them.
            country: One ISO country for all, or one per party.
            ids: Account ids; generated (`X` + number) when omitted.
            bank: Bank id; a per-country synthetic BIC when omitted.

        Returns:
            Int32 indices of the new parties.
        """
        n = len(names)
        idx = np.arange(self._size, self._size + n, dtype=np.int32)
        frame = pl.DataFrame(
            {
                "ext_id": ids if ids is not None else [f"X{i + 1:07d}" for i in idx.tolist()],
                "name": pl.Series(names, dtype=pl.String),
                "type": [cp_type] * n,
                "country": pl.Series(
                    [country] * n if isinstance(country, str) else country, dtype=pl.String
                ),
            }
        )
        frame = frame.with_columns(
            bank=pl.lit(bank) if bank else pl.concat_str(pl.lit("SYNB"), "country", pl.lit("XX"))
        )
        self._parts.append(frame)
        self._size += n
        return idx

    def frame(self) -> pl.DataFrame:
        """All registered parties, indexed by registration order."""
        return pl.concat(self._parts, how="vertical")
