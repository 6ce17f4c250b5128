"""Fault injection points for crash-safety tests.

`MONEYTRAIL_FAULT=store.before_commit` makes the process die at that point exactly as a kill
would (no cleanup, no rollback), so tests can prove a crashed run leaves nothing behind.
"""

from __future__ import annotations

import os

__all__ = ["fault"]


def fault(point: str) -> None:
    """Die abruptly here when the environment names this point."""
    if os.environ.get("MONEYTRAIL_FAULT") == point:
        os._exit(137)
