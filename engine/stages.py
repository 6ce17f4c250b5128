"""Rules run in levels: the row and window rules first, then the graph rules, which may read
the earlier levels' alerts (`Kind.stage`).

`run_levels` is the one loop every backend shares; a backend says how one level is evaluated
(`RunLevel`: in one process, per partition, over each rule's stretch of stored state) and,
for incremental runs, which earlier alerts a later level reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence

import polars as pl

from engine.alerts import ALERT_SCHEMA
from engine.evaluate import CompiledRule
from engine.kinds import EvalContext

__all__ = ["Level", "RunLevel", "run_levels"]


@dataclasses.dataclass(frozen=True, slots=True)
class Level:
    """What one level found: alerts (in rule order), their evidence, rules skipped and why."""

    alerts: pl.DataFrame
    evidence: pl.DataFrame
    skipped: dict[str, str]


RunLevel = Callable[[list[CompiledRule], EvalContext], Level]
"""Evaluates the rules of one level with the context given and builds their alerts."""


def run_levels(
    compiled: Sequence[CompiledRule],
    context: EvalContext,
    run_level: RunLevel,
    /,
    *,
    earlier: Callable[[pl.DataFrame, Collection[str]], pl.DataFrame] | None = None,
    on_stage: Callable[[str], None] = lambda _: None,
) -> list[Level]:
    """Each level of `compiled` in order; a later level's context carries the alerts of the
    levels before it (`earlier(alerts so far, their rule ids)` when given, e.g. to add the
    stored alerts an incremental run did not recompute)."""
    done: list[Level] = []
    for level in sorted({c.stage for c in compiled}):
        batch = [c for c in compiled if c.stage == level]
        if level > 1:
            on_stage("graph")
            so_far = pl.concat([pl.DataFrame(schema=ALERT_SCHEMA), *(d.alerts for d in done)])
            if earlier is not None:
                so_far = earlier(so_far, {c.rule.id for c in compiled if c.stage < level})
            context = dataclasses.replace(context, alerts=so_far)
        done.append(run_level(batch, context))
    return done
