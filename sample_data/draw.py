"""Vectorised drawing helpers shared by the baseline streams, scenarios and look-alikes."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from sample_data.events import day_start

__all__ = ["Calendar", "at", "cents", "daily", "hours_between", "lognormal_cents", "per_day"]


class Calendar:
    """Day-of-month, weekday and month length of each day offset of a period."""

    __slots__ = ("dom", "dow", "last")

    def __init__(self, start: date, days: int) -> None:
        dates = [start + timedelta(days=d) for d in range(days + 1)]
        self.dom = np.array([d.day for d in dates], dtype=np.int16)
        self.dow = np.array([d.weekday() for d in dates], dtype=np.int8)  # 0 = Monday
        self.last = np.array([(d + timedelta(days=1)).day == 1 for d in dates])


def per_day(
    rate: np.ndarray, d0: int, d1: int, rng: np.random.Generator, factor: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson event counts per (row, day) expanded to one entry per event.

    Args:
        rate: Mean events per day for each row.
        d0: First day offset (inclusive).
        d1: Last day offset (exclusive).
        rng: Random generator.
        factor: Optional multiplier per day of [d0, d1).

    Returns:
        (row index, day offset) of every event.
    """
    lam = np.outer(rate, factor if factor is not None else np.ones(d1 - d0))
    counts = rng.poisson(lam)
    row, day = np.nonzero(counts)
    reps = counts[row, day]
    return np.repeat(row, reps), np.repeat(day + d0, reps)


def daily(mask: np.ndarray, d0: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, day offset) of every True cell of a (rows, days) mask starting at day `d0`."""
    row, day = np.nonzero(mask)
    return row, day + d0


def at(
    start: date, day: np.ndarray, hour: np.ndarray | float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Local wall-clock µs (whole seconds) at fractional `hour` of `day`, jittered if `rng`."""
    # whole seconds, as banks book them (and as Parquet compresses them)
    t = day_start(start, day) + (np.asarray(hour) * 3600).astype(np.int64) * 1_000_000
    if rng is not None:
        t = t + rng.integers(0, 60, np.shape(t)) * 1_000_000
    return t


def hours_between(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    """Uniform fractional hours in [lo, hi); hi may exceed 24 to cross midnight."""
    return lo + rng.random(n) * (hi - lo)


def cents(amount: np.ndarray | float) -> np.ndarray:
    """Round currency units to integer cents (at least one cent)."""
    return np.maximum(1, np.round(np.asarray(amount, dtype=np.float64) * 100)).astype(np.int64)


def lognormal_cents(
    rng: np.random.Generator, median: np.ndarray | float, sigma: np.ndarray | float, n: int
) -> np.ndarray:
    """Log-normal amounts in cents around `median` units."""
    return cents(np.asarray(median) * np.exp(np.asarray(sigma) * rng.standard_normal(n)))
