"""The shipped reference lists (`rules/lists/*.csv`), written from `reference.py`/`catalog.py`.

`python -m sample_data.lists rules/lists` rewrites the shipped copies (it leaves an existing
`fx_rates.csv` alone: the engine's table covers more currencies than the generator uses);
`generate` writes every list into each generated bank's `lists/` folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from sample_data.catalog import MCC_GROUPS
from sample_data.reference import (
    FX_RATES,
    HT_CONDUIT,
    KNOWN_ENTITIES,
    OSEC_RISK,
    REPORTING_THRESHOLDS,
)

__all__ = ["LIST_FILES", "list_frames", "write_lists"]

LIST_FILES = (
    "known_entities.csv",
    "jurisdiction_risk.csv",
    "mcc_groups.csv",
    "reporting_thresholds.csv",
    "fx_rates.csv",
)


def list_frames() -> dict[str, pl.DataFrame]:
    """Every shipped list as a frame, keyed by file name."""
    return {
        "known_entities.csv": pl.DataFrame(
            {
                "value": [e.value for e in KNOWN_ENTITIES],
                "group": [e.category for e in KNOWN_ENTITIES],
                "name": [e.name for e in KNOWN_ENTITIES],
                "country": [e.country for e in KNOWN_ENTITIES],
                "kind": [
                    "merchant_id" if e.value.startswith("MK") else "account_id"
                    for e in KNOWN_ENTITIES
                ],
            }
        ),
        "jurisdiction_risk.csv": pl.DataFrame(
            {
                "value": [*HT_CONDUIT, *OSEC_RISK],
                "group": ["ht_conduit"] * len(HT_CONDUIT) + ["osec_risk"] * len(OSEC_RISK),
                "source": ["synthetic placeholder"] * (len(HT_CONDUIT) + len(OSEC_RISK)),
            }
        ),
        "mcc_groups.csv": pl.DataFrame(
            {
                "value": [m for codes in MCC_GROUPS.values() for m in codes],
                "group": [g for g, codes in MCC_GROUPS.items() for _ in codes],
            }
        ),
        "reporting_thresholds.csv": pl.DataFrame(
            {
                "value": [r[0] for r in REPORTING_THRESHOLDS],
                "group": [r[1] for r in REPORTING_THRESHOLDS],
                "threshold": [r[2] for r in REPORTING_THRESHOLDS],
                "currency": [r[3] for r in REPORTING_THRESHOLDS],
            }
        ),
        "fx_rates.csv": pl.DataFrame({"currency": list(FX_RATES), "rate": list(FX_RATES.values())}),
    }


def write_lists(folder: Path, *, keep_fx: bool = False) -> None:
    """Write every shipped list into `folder` (created if missing).

    Args:
        folder: Destination folder.
        keep_fx: Leave an existing `fx_rates.csv` untouched.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in list_frames().items():
        if keep_fx and name == "fx_rates.csv" and (folder / name).exists():
            continue
        frame.write_csv(folder / name)


if __name__ == "__main__":
    write_lists(Path(sys.argv[1] if len(sys.argv) > 1 else "rules/lists"), keep_fx=True)
