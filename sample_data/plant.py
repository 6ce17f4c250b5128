"""Planting cases: the `Planter` that scenarios and look-alikes use, and `plant` that runs them.

A case takes customers out of the benign pool (so no customer is in two cases), may change
their persona and KYC, adds raw events for the whole period, and writes truth rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.schema import CUSTOMER_COLUMNS
from sample_data.draw import at
from sample_data.events import RAW, events
from sample_data.links import World
from sample_data.personas import PERSONAS

__all__ = ["TRUTH_SCHEMA", "Planted", "Planter", "plant"]

TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "scenario": pl.String(),
    "role": pl.String(),
    "customer_id": pl.String(),
    "account_id": pl.String(),
    "expected_indicator_ids": pl.List(pl.String()),
    "is_lookalike": pl.Boolean(),
}
IDENTIFIER_SCHEMA: dict[str, pl.DataType] = {
    "value": pl.String(),
    "group": pl.String(),
    "source": pl.String(),
    "first_seen": pl.Date(),
    "last_seen": pl.Date(),
    "ad_city": pl.String(),
}


@dataclass(frozen=True, slots=True)
class Planted:
    """What planting produced.

    Attributes:
        events: Raw events of every case over the whole period.
        truth: One row per (case, customer) with `TRUTH_SCHEMA`.
        kyc: The KYC frame with every patch applied (still carrying `idx`).
        identifiers: The bank's `external_identifiers` feed.
    """

    events: pl.DataFrame
    truth: pl.DataFrame
    kyc: pl.DataFrame
    identifiers: pl.DataFrame


class Planter:
    """Mutable helper handed to every case function."""

    def __init__(self, world: World, rng: np.random.Generator) -> None:
        self.w = world
        self.rng = rng
        self.taken = np.zeros(world.pop.n, dtype=bool)
        self._events: list[pl.DataFrame] = []
        self._truth: list[dict[str, object]] = []
        self._patches: list[pl.DataFrame] = []
        self.identifiers: list[dict[str, object]] = []
        self.case_id = ""
        self.scenario = ""
        self._counter: dict[str, int] = {}

    def open_case(self, scenario: str) -> str:
        """Start a new case of `scenario` and return its id."""
        k = self._counter[scenario] = self._counter.get(scenario, 0) + 1
        self.case_id, self.scenario = f"{scenario}-{k:03d}", scenario
        return self.case_id

    def take(self, personas: tuple[str, ...], k: int, *, home: int | None = None) -> np.ndarray:
        """Take `k` untaken customers of the given personas (any home unless `home`)."""
        codes = [PERSONAS.index(p) for p in personas]
        ok = np.isin(self.w.pop.persona, codes) & ~self.taken
        if home is not None and (ok & (self.w.pop.home == home)).sum() >= k:
            ok &= self.w.pop.home == home
        pool = np.flatnonzero(ok)
        if len(pool) < k:
            raise ValueError(f"{self.case_id}: not enough {personas} customers left")
        chosen = np.sort(self.rng.choice(pool, k, replace=False))
        self.taken[chosen] = True
        return chosen

    def become(self, idx: np.ndarray, persona: str) -> None:
        """Give customers `idx` another persona for their baseline activity."""
        self.w.pop.persona[idx] = PERSONAS.index(persona)

    def patch(self, idx: np.ndarray | int, **cols: object) -> None:
        """Overwrite KYC columns of customers `idx` (scalars broadcast)."""
        idx = np.atleast_1d(np.asarray(idx))
        data: dict[str, object] = {"idx": pl.Series(idx, dtype=pl.Int32)}
        for name, value in cols.items():
            dtype = CUSTOMER_COLUMNS[name]
            values = value if isinstance(value, (list, np.ndarray)) else [value] * len(idx)
            data[name] = pl.Series(name, values).cast(dtype)
        self._patches.append(pl.DataFrame(data))

    def add(self, **cols: object) -> None:
        """Add raw events (see `events.events`)."""
        self._events.append(events(**cols))

    def truth(
        self,
        idx: np.ndarray | int | list[int],
        role: str,
        indicators: tuple[str, ...] = (),
        *,
        lookalike: bool = False,
    ) -> None:
        """Record truth rows for customers `idx` of the current case."""
        for i in np.atleast_1d(np.asarray(idx)).tolist():
            self._truth.append(
                {
                    "case_id": self.case_id,
                    "scenario": self.scenario,
                    "role": role,
                    "customer": int(i),
                    "expected_indicator_ids": list(indicators),
                    "is_lookalike": lookalike,
                }
            )

    def when(self, day: np.ndarray | int, hour: np.ndarray | float) -> np.ndarray:
        """Local wall-clock µs of fractional `hour` on period day `day`, plus jitter."""
        return at(self.w.start, np.asarray(day), hour, self.rng)

    def party(self, names: list[str], kind: str, country: str) -> np.ndarray:
        """Register external parties."""
        return self.w.parties.add(names, kind, country)

    def finish(self) -> Planted:
        """Apply KYC patches and collect the planted events and truth."""
        kyc = self.w.pop.kyc
        for p in self._patches:
            kyc = kyc.update(p, on="idx")
        raw = pl.concat(self._events) if self._events else pl.DataFrame(schema=RAW)
        truth = pl.DataFrame(
            self._truth, schema_overrides={"expected_indicator_ids": pl.List(pl.String)}
        )
        cust = truth["customer"].to_numpy()
        ids = kyc["customer_id"].gather(cust)
        truth = (
            truth.with_columns(customer_id=ids, account_id=("A" + ids.str.slice(1)))
            .select(list(TRUTH_SCHEMA))
            .cast(pl.Schema(TRUTH_SCHEMA))
        )
        feed = pl.DataFrame(self.identifiers, schema=IDENTIFIER_SCHEMA)
        return Planted(raw, truth, kyc, feed)


Case = Callable[[Planter], None]


def plant(world: World, rng: np.random.Generator) -> Planted:
    """Plant every scenario and look-alike into `world`.

    Scenario cases scale with the bank (one per 4,000 customers, at least one); look-alikes
    one per 5,000 customers, at least one.
    """
    from sample_data.lookalikes import LOOKALIKES
    from sample_data.scenarios import SCENARIOS

    p = Planter(world, rng)
    n = world.pop.n
    for cases, per in ((SCENARIOS, max(1, n // 4000)), (LOOKALIKES, max(1, n // 5000))):
        for _ in range(per):
            for name, case in cases:
                p.open_case(name)
                case(p)
    return p.finish()
