"""Exports of networks: GraphML, GEXF, Cytoscape JSON, a self-contained HTML page and PNG.

Every exporter takes the `Networks` frames and an optional network id (None: all networks).
Names and ids come from transaction data, which criminals write: XML formats are escaped by
their writers, the HTML page carries its data as escaped JSON and sets every text with
`textContent`, never as markup, and it loads nothing from the network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Protocol

import networkx as nx
import polars as pl

from graphs.networks import Networks

__all__ = [
    "EXPORTERS",
    "Exporter",
    "cytoscape_json",
    "network_graph",
    "write_cytoscape",
    "write_gexf",
    "write_graphml",
    "write_html",
    "write_png",
]

ROLE_COLOURS = {
    "hub": "#d62728",
    "collector": "#ff7f0e",
    "mule": "#9467bd",
    "possible_victim": "#2ca02c",
    "external": "#7f7f7f",
    "member": "#1f77b4",
}


class Exporter(Protocol):
    """Writes networks to a file."""

    def __call__(
        self, networks: Networks, path: Path | str, /, *, network_id: str | None = None
    ) -> None:
        """Write `networks` (or the one named) to `path`."""


def _pick(frame: pl.DataFrame, network_id: str | None) -> pl.DataFrame:
    return frame if network_id is None else frame.filter(pl.col("network_id") == network_id)


def network_graph(networks: Networks, /, *, network_id: str | None = None) -> nx.DiGraph[str]:
    """A NetworkX DiGraph of the networks, with plain (str, int, float, bool) attributes."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    for row in _pick(networks.members, network_id).iter_rows(named=True):
        graph.add_node(
            row["account_id"],
            label=row["name"] or row["account_id"],
            network_id=row["network_id"],
            role=row["role"],
            is_seed=bool(row["is_seed"]),
            is_internal=bool(row["is_internal"]),
            n_alerts=int(row["n_alerts"]),
            rule_ids=",".join(row["rule_ids"] or []),
            in_flow=float(row["in_flow"]),
            out_flow=float(row["out_flow"]),
            centrality=float(row["centrality"]),
        )
    for row in _pick(networks.edges, network_id).iter_rows(named=True):
        graph.add_edge(
            row["source"],
            row["target"],
            network_id=row["network_id"],
            amount=float(row["amount"]),
            amount_exact=str(row["amount"]),
            count=int(row["count"]),
            first_ts=row["first_ts"].isoformat(),
            last_ts=row["last_ts"].isoformat(),
            channels=",".join(row["channels"] or []),
        )
    return graph


def write_graphml(
    networks: Networks, path: Path | str, /, *, network_id: str | None = None
) -> None:
    """GraphML (yEd, Gephi, Cytoscape desktop)."""
    nx.write_graphml(network_graph(networks, network_id=network_id), str(path))


def write_gexf(networks: Networks, path: Path | str, /, *, network_id: str | None = None) -> None:
    """GEXF (Gephi)."""
    nx.write_gexf(network_graph(networks, network_id=network_id), str(path))


def cytoscape_json(networks: Networks, /, *, network_id: str | None = None) -> dict[str, Any]:
    """Cytoscape.js elements (`nx.cytoscape_data`)."""
    data: dict[str, Any] = nx.cytoscape_data(network_graph(networks, network_id=network_id))
    return data


def write_cytoscape(
    networks: Networks, path: Path | str, /, *, network_id: str | None = None
) -> None:
    """Cytoscape JSON file."""
    text = json.dumps(cytoscape_json(networks, network_id=network_id), indent=1, sort_keys=True)
    Path(path).write_text(text, encoding="utf-8")


def _layout(graph: nx.DiGraph[str]) -> dict[str, tuple[float, float]]:
    if graph.number_of_nodes() == 0:
        return {}
    positions = nx.spring_layout(graph, seed=7)
    return {str(n): (float(x), float(y)) for n, (x, y) in positions.items()}


def _script_json(value: object) -> str:
    """JSON safe inside a <script> element: no '<', '>', '&' or line separators survive."""
    text = json.dumps(value, sort_keys=True)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def write_html(
    networks: Networks,
    path: Path | str,
    /,
    *,
    network_id: str | None = None,
    title: str = "moneytrail network",
) -> None:
    """A self-contained interactive page: drag to pan, wheel to zoom, hover for details."""
    graph = network_graph(networks, network_id=network_id)
    layout = _layout(graph)
    nodes = [
        {"id": n, **attrs, "x": layout[n][0], "y": layout[n][1]}
        for n, attrs in graph.nodes(data=True)
    ]
    links = [{"source": u, "target": v, **attrs} for u, v, attrs in graph.edges(data=True)]
    summary = _pick(networks.networks, network_id).select(
        "network_id", "n_members", "n_alerts", "pillars", "score"
    )
    payload = {
        "nodes": nodes,
        "links": links,
        "colours": ROLE_COLOURS,
        "networks": summary.to_dicts(),
    }
    page = _PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", _script_json(payload))
    Path(path).write_text(page, encoding="utf-8")


def write_png(
    networks: Networks,
    path: Path | str,
    /,
    *,
    network_id: str | None = None,
    size: tuple[float, float] = (10.0, 8.0),
) -> None:
    """A static picture (matplotlib, Agg backend): nodes coloured by role, width by flow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = network_graph(networks, network_id=network_id)
    layout = _layout(graph)
    figure, axes = plt.subplots(figsize=size)
    try:
        colours = [ROLE_COLOURS.get(str(graph.nodes[n]["role"]), "#1f77b4") for n in graph]
        flows = [float(graph.edges[e]["amount"]) for e in graph.edges]
        top = max(flows, default=1.0) or 1.0
        nx.draw_networkx_nodes(graph, layout, ax=axes, node_color=colours, node_size=220)
        nx.draw_networkx_edges(
            graph, layout, ax=axes, width=[0.5 + 3.5 * f / top for f in flows], arrows=True
        )
        labels = {n: str(graph.nodes[n]["label"])[:24] for n in graph}
        nx.draw_networkx_labels(graph, layout, labels=labels, ax=axes, font_size=7)
        axes.set_axis_off()
        figure.tight_layout()
        figure.savefig(str(path), format="png", dpi=120)
    finally:
        plt.close(figure)


EXPORTERS: dict[str, Exporter] = {
    "cytoscape": write_cytoscape,
    "gexf": write_gexf,
    "graphml": write_graphml,
    "html": write_html,
    "png": write_png,
}

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>__TITLE__</title>
<style>
body{margin:0;font:13px sans-serif;display:flex;height:100vh}
#side{width:300px;padding:10px;overflow:auto;border-right:1px solid #ccc}
#view{flex:1}svg{width:100%;height:100%;cursor:grab}
.edge{stroke:#999;stroke-opacity:.7}.node{stroke:#fff;stroke-width:1.5}
.dim{opacity:.15}dt{font-weight:bold}dd{margin:0 0 4px 8px;word-break:break-all}
</style></head><body>
<div id="side"><h3 id="title"></h3><div id="nets"></div><dl id="info"></dl>
<p>Drag to pan, wheel to zoom, click a node to highlight its flows.</p></div>
<div id="view"><svg id="svg"><defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5"
 markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#999"/>
</marker></defs><g id="root"></g></svg></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
document.getElementById("title").textContent = document.title;
const NS = "http://www.w3.org/2000/svg", root = document.getElementById("root");
const svg = document.getElementById("svg"), info = document.getElementById("info");
const W = 1000, S = 420, pos = {};
data.nodes.forEach(n => { pos[n.id] = [W / 2 + n.x * S, W / 2 + n.y * S]; });
const nets = document.getElementById("nets");
data.networks.forEach(n => {
  const p = document.createElement("p");
  p.textContent = n.network_id + ": " + n.n_members + " members, " + n.n_alerts +
    " alerts, pillars " + n.pillars.join(", ") + ", score " + n.score;
  nets.appendChild(p);
});
function show(obj) {
  info.replaceChildren();
  Object.keys(obj).filter(k => k !== "x" && k !== "y").forEach(k => {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k; dd.textContent = String(obj[k]);
    info.append(dt, dd);
  });
}
const maxAmount = Math.max(1, ...data.links.map(l => l.amount));
const edgeEls = data.links.map(l => {
  const e = document.createElementNS(NS, "line");
  const [x1, y1] = pos[l.source], [x2, y2] = pos[l.target];
  e.setAttribute("x1", x1); e.setAttribute("y1", y1);
  e.setAttribute("x2", x2); e.setAttribute("y2", y2);
  e.setAttribute("class", "edge");
  e.setAttribute("stroke-width", 1 + 5 * l.amount / maxAmount);
  e.setAttribute("marker-end", "url(#arrow)");
  e.addEventListener("mouseenter", () => show(l));
  root.appendChild(e);
  return [l, e];
});
const nodeEls = data.nodes.map(n => {
  const g = document.createElementNS(NS, "g"), c = document.createElementNS(NS, "circle");
  const t = document.createElementNS(NS, "text"), title = document.createElementNS(NS, "title");
  c.setAttribute("cx", pos[n.id][0]); c.setAttribute("cy", pos[n.id][1]);
  c.setAttribute("r", n.is_seed ? 9 : 6); c.setAttribute("class", "node");
  c.setAttribute("fill", data.colours[n.role] || "#1f77b4");
  t.setAttribute("x", pos[n.id][0] + 10); t.setAttribute("y", pos[n.id][1] + 4);
  t.textContent = String(n.label).slice(0, 40);
  title.textContent = n.label + " (" + n.role + ")";
  g.append(title, c, t);
  g.addEventListener("mouseenter", () => show(n));
  g.addEventListener("click", ev => { ev.stopPropagation(); focus(n.id); });
  root.appendChild(g);
  return [n, g];
});
function focus(id) {
  const near = new Set([id]);
  edgeEls.forEach(([l, e]) => {
    const on = l.source === id || l.target === id;
    if (on) { near.add(l.source); near.add(l.target); }
    e.classList.toggle("dim", id !== null && !on);
  });
  nodeEls.forEach(([n, g]) => g.classList.toggle("dim", id !== null && !near.has(n.id)));
}
svg.addEventListener("click", () => focus(null));
let view = [0, 0, W, W], drag = null;
function apply() { svg.setAttribute("viewBox", view.join(" ")); }
svg.addEventListener("mousedown", e => { drag = [e.clientX, e.clientY, view[0], view[1]]; });
window.addEventListener("mouseup", () => { drag = null; });
window.addEventListener("mousemove", e => {
  if (!drag) return;
  const k = view[2] / svg.clientWidth;
  view[0] = drag[2] - (e.clientX - drag[0]) * k; view[1] = drag[3] - (e.clientY - drag[1]) * k;
  apply();
});
svg.addEventListener("wheel", e => {
  e.preventDefault();
  const f = e.deltaY > 0 ? 1.15 : 1 / 1.15;
  view = [view[0] + view[2] * (1 - f) / 2, view[1] + view[3] * (1 - f) / 2,
          view[2] * f, view[3] * f];
  apply();
}, {passive: false});
apply();
</script></body></html>
"""
