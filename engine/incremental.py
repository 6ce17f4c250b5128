"""Incremental scans: scan one more day, get exactly the alerts a full rescan would give.

The store keeps the canonical postings of incremental runs as state. Each rule recomputes
only the hits the new postings can change: those whose window starts at or after
`min(new timestamps) - reach` (`Kind.history`: no window of the rule is longer than its
reach, so a window starting earlier ends before the new postings). A stored alert whose
windows reach past that point may hold windows the new postings change (a forward window
that was still open, a count that has now grown past a ceiling), so the point moves back to
its first window, until no stored alert straddles it; everything from there on is recomputed
and replaces what was stored, everything before stays as it was. No stored episode is
merged with new hits: an episode ending at or before the point cannot overlap a window
starting at or after it. So a 3-day rule reads a few days of state whatever else the pack
holds, and ids, evidence and measures equal a full rescan's.

A rule whose history is unbounded (an anomaly fit over the population, a profile ranking
every entity that ever transacted, a graph pattern, or an expression with a window function,
whose result depends on what is scanned together) reads the whole state and recomputes all
its alerts. Postings older than the newest already scanned can add alerts, but a full rescan
is needed to retract one they would have prevented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from engine.evaluate import CompiledRule
from engine.kinds import KINDS
from engine.kinds.common import WHOLE_HISTORY, History

__all__ = ["EVERYTHING", "Recompute", "complete_hits", "recompute", "rule_history"]


@dataclass(frozen=True, slots=True)
class Recompute:
    """What an incremental run recomputes of one rule.

    Attributes:
        since: its hits whose windows start at or after this (all of them when None); its
            stored alerts with a window ending after it are replaced.
        state_from: the earliest state posting those hits read (the whole state when None).
    """

    since: datetime | None
    state_from: datetime | None


EVERYTHING = Recompute(None, None)


def rule_history(compiled: CompiledRule) -> History:
    """How much past the rule's hits read."""
    if compiled.rule.batch_windows:
        return WHOLE_HISTORY
    return KINDS[compiled.rule.kind].history(compiled.rule.logic)


def recompute(
    history: History, first: datetime, floor: datetime, stored: pl.DataFrame
) -> Recompute:
    """What to recompute of a rule when postings from `first` on are added to a state that
    starts at `floor`; `stored` are the rule's stored alerts (`window_start`, `window_end`)."""
    if history.reach is None:
        return EVERYTHING
    since = first - history.reach
    while True:  # back to the first window of any stored alert that straddles `since`
        straddling = stored.filter(pl.col("window_end") > since)["window_start"].min()
        if not isinstance(straddling, datetime) or straddling >= since:
            break
        since = straddling
    state_from = since - history.extra
    return Recompute(since, state_from) if state_from > floor else EVERYTHING


def complete_hits(hits: pl.DataFrame, since: datetime | None) -> pl.DataFrame:
    """The hits recomputed in full: those whose window starts at or after `since`."""
    if since is None:
        return hits
    return hits.filter(pl.col("window_start") >= since)
