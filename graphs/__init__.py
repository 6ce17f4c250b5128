"""moneytrail graphs: counterparty graphs, graph-pattern rules, networks and exports.

Polars frames go in and out; NetworkX stays inside this package.
"""

from graphs.build import Hygiene, edge_table, transfers
from graphs.hits import GraphContext
from graphs.patterns import PATTERNS, Pattern, run_pattern

__all__ = [
    "PATTERNS",
    "GraphContext",
    "Hygiene",
    "Pattern",
    "edge_table",
    "run_pattern",
    "transfers",
]
