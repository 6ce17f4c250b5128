"""moneytrail: find the financial footprint of human trafficking in bank transactions.

The engine reads bank files through mappings into canonical frames, applies YAML typology
rules compiled to Polars plans, and writes alerts, evidence and cases to DuckDB.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moneytrail")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+checkout"

__all__ = ["__version__"]
