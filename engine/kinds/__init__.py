"""The rule-kind registry: the word used in YAML -> how to parse it and build its plan.

Adding a kind is adding one module with a `Kind` and one entry in `KINDS`. A kind's `build`
is pure: it turns the parsed logic into a function from the canonical frame (lazy) to hits
(`engine.schema.HIT_SCHEMA`), without touching data or YAML.
"""

from __future__ import annotations

from engine.kinds import anomaly, graph, profile, row, sequence, velocity, window
from engine.kinds.common import EvalContext, Kind, Plan

__all__ = ["KINDS", "EvalContext", "Kind", "Plan"]

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        row.TRANSACTION,
        row.REFERENCE,
        window.AGGREGATE,
        window.SHARED_ATTRIBUTE,
        velocity.VELOCITY,
        sequence.SEQUENCE,
        profile.PROFILE,
        graph.GRAPH,
        anomaly.ANOMALY,
    )
}
