"""Local wall clock to UTC and back, vectorised over a table of hourly UTC offsets.

Every zone used by the bank changes its offset only on whole UTC hours, so one offset per
(zone, UTC hour) is exact. `ts_local` is always recomputed from `ts_utc`, so the two agree even
for wall-clock times that fall into a daylight-saving gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from sample_data.events import HOUR

__all__ = ["Clock"]


@dataclass(frozen=True, slots=True)
class Clock:
    """Hourly UTC offsets of a set of zones over a period.

    Attributes:
        zones: IANA zone names; a zone index refers to this tuple.
        first_hour: UTC hour number (hours since epoch) of column 0 of `offsets`.
        offsets: Offset in µs to add to UTC to get local time, shape (n_zones, n_hours).
    """

    zones: tuple[str, ...]
    first_hour: int
    offsets: np.ndarray

    @classmethod
    def build(cls, zones: tuple[str, ...], start: date, days: int) -> Clock:
        """Offsets of `zones` from two days before `start` to three days after the end."""
        begin = datetime.combine(start - timedelta(days=2), datetime.min.time(), UTC)
        end = begin + timedelta(days=days + 5)
        utc = pl.datetime_range(begin, end, "1h", time_zone="UTC", eager=True, closed="left")
        naive = utc.dt.replace_time_zone(None)
        rows = [
            (utc.dt.convert_time_zone(z).dt.replace_time_zone(None) - naive)
            .dt.total_microseconds()
            .to_numpy()
            for z in zones
        ]
        first = int(utc[0].timestamp()) // 3600
        return cls(zones, first, np.vstack(rows).astype(np.int64))

    def _offset(self, zone: np.ndarray, utc: np.ndarray) -> np.ndarray:
        hour = np.clip(utc // HOUR - self.first_hour, 0, self.offsets.shape[1] - 1)
        return np.asarray(self.offsets[zone, hour], dtype=np.int64)

    def to_utc(self, local: np.ndarray, zone: np.ndarray) -> np.ndarray:
        """UTC instants (µs) of local wall-clock times `local` in zones `zone`."""
        guess = local - self._offset(zone, local)
        guess = local - self._offset(zone, guess)
        return np.asarray(local - self._offset(zone, guess), dtype=np.int64)

    def to_local(self, utc: np.ndarray, zone: np.ndarray) -> np.ndarray:
        """Local wall-clock times (µs, naive) of UTC instants `utc` in zones `zone`."""
        return np.asarray(utc + self._offset(zone, utc), dtype=np.int64)
