"""The end-to-end trafficking scenarios S1-S8 of typologies.md §7.2, as (name, case) pairs."""

from __future__ import annotations

from sample_data.plant import Case
from sample_data.s_circuit import circuit
from sample_data.s_front import gangmaster, massage_network
from sample_data.s_network import NETWORK_SHAPES
from sample_data.s_proceeds import credit_drain, funnel, osec_demand, prepaid_crypto

__all__ = ["SCENARIOS", "TRAFFICKING"]

SCENARIOS: tuple[tuple[str, Case], ...] = (
    ("S1", circuit),
    ("S2", funnel),
    ("S3", massage_network),
    ("S4", gangmaster),
    ("S5", prepaid_crypto),
    ("S6", credit_drain),
    ("S7", osec_demand),
    *(("S8", shape) for shape in NETWORK_SHAPES),
)
TRAFFICKING = ("S1", "S2", "S3", "S4", "S5", "S6", "S7")
"""Scenarios that plant trafficking cases (S8 is generic laundering)."""
