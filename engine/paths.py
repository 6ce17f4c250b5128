"""Where the shipped rules, mappings and lists are, in a checkout and in an installed wheel.

A wheel carries `rules/` as `engine/_shipped/rules` (see pyproject.toml), so an installed
moneytrail finds its pack without a checkout; a checkout uses the top-level folder.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LISTS_DIR", "MAPPINGS_DIR", "RULES_DIR"]

_SHIPPED = Path(__file__).resolve().parent / "_shipped" / "rules"
RULES_DIR = _SHIPPED if _SHIPPED.is_dir() else Path(__file__).resolve().parent.parent / "rules"
MAPPINGS_DIR = RULES_DIR / "mappings"
LISTS_DIR = RULES_DIR / "lists"
