"""moneytrail graphs: counterparty graphs, graph-pattern rules, networks and exports.

Polars frames go in and out; NetworkX stays inside this package.
"""

from graphs.build import Hygiene, edge_table, to_digraph, transfers
from graphs.export import EXPORTERS, Exporter, cytoscape_json, network_graph
from graphs.hits import GraphContext
from graphs.networks import (
    EDGE_SCHEMA,
    MEMBER_SCHEMA,
    NETWORK_SCHEMA,
    Networks,
    grow_networks,
    network_id,
)
from graphs.patterns import PATTERNS, Pattern, run_pattern
from graphs.trail import Hop, Path, trail

__all__ = [
    "EDGE_SCHEMA",
    "EXPORTERS",
    "MEMBER_SCHEMA",
    "NETWORK_SCHEMA",
    "PATTERNS",
    "Exporter",
    "GraphContext",
    "Hop",
    "Hygiene",
    "Networks",
    "Path",
    "Pattern",
    "cytoscape_json",
    "edge_table",
    "grow_networks",
    "network_graph",
    "network_id",
    "run_pattern",
    "to_digraph",
    "trail",
    "transfers",
]
