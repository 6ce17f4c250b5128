"""Where the shipped rules, mappings and lists are, in a checkout and in an installed wheel.

A wheel carries `rules/` as `engine/_shipped/rules` (see pyproject.toml), so an installed
moneytrail finds its pack without a checkout; a checkout uses the top-level folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LISTS_DIR", "MAPPINGS_DIR", "RULES_DIR", "SAMPLE_DIR", "BankFiles", "bank_files"]

_SHIPPED = Path(__file__).resolve().parent / "_shipped" / "rules"
RULES_DIR = _SHIPPED if _SHIPPED.is_dir() else Path(__file__).resolve().parent.parent / "rules"
MAPPINGS_DIR = RULES_DIR / "mappings"
LISTS_DIR = RULES_DIR / "lists"


@dataclass(frozen=True, slots=True)
class BankFiles:
    """The files of a bank folder as `moneytrail sample` writes it."""

    transactions: Path
    customers: Path
    lists: Path
    truth: Path


def bank_files(folder: Path | str, *, truth: bool = False) -> BankFiles:
    """The files of a generated bank folder, checked to exist (the truth table when asked).

    Raises:
        InputError: the folder is not a generated bank.
    """
    from engine.errors import InputError

    root = Path(folder)
    files = BankFiles(
        root / "transactions.parquet",
        root / "customers.parquet",
        root / "lists",
        root / "truth" / "truth.parquet",
    )
    needed = (files.transactions, files.customers) + ((files.truth,) if truth else ())
    for path in needed:
        if not path.exists():
            raise InputError(f"{root}: not a generated bank folder (missing {path.name})")
    return files


SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "bank"
"""The shipped sample bank (a package folder, so it is found from a wheel too)."""
