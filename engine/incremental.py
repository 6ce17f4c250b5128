"""Incremental scans: scan one more day, get exactly the alerts a full rescan would give.

The store keeps the canonical postings of incremental runs as state. Each rule reads only
the state its own hits could need: from `min(new timestamps) - reach - extra`
(`Kind.history`), so a 3-day velocity rule reads three days whatever else the pack holds.
Hits are kept only when everything they read was loaded; stored episodes they touch are
merged with them (`engine.alerts.Prior`), so ids, evidence and measures equal a full
rescan's.

A rule whose history is unbounded (an anomaly fit over the population, a profile ranking
every entity that ever transacted, a graph over all flows, or an expression with a window
function, whose result depends on what is scanned together) reads the whole state. Late
postings older than the last run can add alerts, but a full rescan is needed to retract one
they would have prevented.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from engine.evaluate import CompiledRule
from engine.kinds import KINDS
from engine.kinds.common import WHOLE_HISTORY, History

__all__ = ["complete_hits", "rule_history", "state_start"]


def rule_history(compiled: CompiledRule) -> History:
    """How much past the rule's hits read."""
    if compiled.rule.batch_windows:
        return WHOLE_HISTORY
    return KINDS[compiled.rule.kind].history(compiled.rule.logic)


def state_start(history: History, first: datetime, floor: datetime) -> datetime | None:
    """The earliest state posting a rule's hits that touch postings from `first` on can read,
    or None when that is the whole state (from `floor`, the earliest kept, on)."""
    if history.reach is None:
        return None
    start = first - history.reach - history.extra
    return start if start > floor else None


def complete_hits(
    hits: pl.DataFrame, history: History, state_start: datetime | None
) -> pl.DataFrame:
    """The hits whose inputs were all loaded (every hit when the whole state was read)."""
    if state_start is None:
        return hits
    if history.reach is None:
        return hits.clear()
    return hits.filter(pl.col("window_start") - history.extra >= state_start)
