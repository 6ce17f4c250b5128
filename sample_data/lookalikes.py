"""Benign look-alikes of typologies.md §7.3, as (name, case) pairs."""

from __future__ import annotations

from sample_data.plant import Case

__all__ = ["LOOKALIKES"]

LOOKALIKES: tuple[tuple[str, Case], ...] = ()
