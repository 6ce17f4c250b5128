"""Incremental scans: scan one more day, get exactly the alerts a full rescan would give.

The store keeps the canonical postings of incremental runs as state. A new run reads only
the state a rule's hits could need: from `min(new timestamps) - horizon`, where the horizon
is the longest reach plus earlier history of any rule of the pack (`Kind.history`). Hits
are kept only when everything they read was loaded; stored episodes they touch are merged
with them (`engine.alerts.Prior`), so ids, evidence and measures equal a full rescan's.

Rules whose history is unbounded (an anomaly fit over the population, or an expression with
a window function, whose result depends on what is scanned together) make the whole state
load. Late postings older than the last run can add alerts, but a full rescan is needed to
retract one they would have prevented.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from engine.evaluate import CompiledRule
from engine.kinds import KINDS
from engine.kinds.common import WHOLE_HISTORY, History

__all__ = ["complete_hits", "horizon", "rule_history"]


def rule_history(compiled: CompiledRule) -> History:
    """How much past the rule's hits read."""
    if compiled.rule.batch_windows:
        return WHOLE_HISTORY
    return KINDS[compiled.rule.kind].history(compiled.rule.logic)


def horizon(compiled: Sequence[CompiledRule]) -> timedelta | None:
    """How far before the new postings the state must be read; None for all of it."""
    longest = timedelta(0)
    for item in compiled:
        history = rule_history(item)
        if history.reach is None:
            return None
        longest = max(longest, history.reach + history.extra)
    return longest


def complete_hits(
    hits: pl.DataFrame, history: History, state_start: datetime | None
) -> pl.DataFrame:
    """The hits whose inputs were all loaded (every hit when the whole state was read)."""
    if state_start is None:
        return hits
    if history.reach is None:
        return hits.clear()
    return hits.filter(pl.col("window_start") - history.extra >= state_start)
