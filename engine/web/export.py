"""Exports of a case: an offline HTML report, the evidence as CSV, the network as GraphML and
Cytoscape JSON (written by `graphs.export`, from the case graph turned into its frames).

The report is one self-contained file: inline CSS (allowed here only), no script at all, and
a Content-Security-Policy of its own in a meta tag, so a payment reference that slipped
through escaping still could not run when the file is opened from disk. CSV cells that a
spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) are quoted with a leading
apostrophe: counterparty names and references are written by the people under investigation.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from engine import __version__
from engine.web.casefile import CaseFile
from engine.web.markup import Markup, el, join
from engine.web.network import Graph
from engine.web.sections import (
    alert_card,
    case_facts,
    evidence_table,
    history_table,
    kyc_section,
    network_table,
    status_badge,
)
from engine.web.timeline import timeline_svg
from graphs.export import cytoscape_json as graph_cytoscape_json
from graphs.export import write_graphml
from graphs.networks import EDGE_SCHEMA, MEMBER_SCHEMA, NETWORK_SCHEMA, Networks

__all__ = [
    "REPORT_CSP",
    "attachment",
    "case_networks",
    "cytoscape_json",
    "evidence_csv",
    "graphml",
    "report_headers",
    "report_html",
    "safe_name",
]

REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
REPORT_CSS = Path(__file__).resolve().parent / "static" / "report.css"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of an id."""
    return _UNSAFE_NAME.sub("_", text).lstrip(".")[:80] or "case"


def attachment(filename: str) -> dict[str, str]:
    """Headers that make the browser save the response as `filename`."""
    return {"Content-Disposition": f'attachment; filename="{safe_name(filename)}"'}


def report_headers(stem: str) -> dict[str, str]:
    """The report is a download, and is sandboxed even if a browser shows it inline."""
    return attachment(f"{stem}-report.html") | {"Content-Security-Policy": REPORT_CSP + "; sandbox"}


def report_html(cf: CaseFile, *, db: str) -> str:
    """The whole case as one HTML file that opens offline and prints well."""
    case = cf.case
    now = datetime.now(UTC)
    body = join(
        el("h1", "Case ", case["subject"], " ", status_badge(case["status"])),
        el(
            "p",
            f"moneytrail {__version__} case report, generated {now:%Y-%m-%d %H:%M} UTC "
            f"from {db}. Case id {case['case_id']}.",
            class_="muted",
        ),
        el("section", el("h2", "Case"), case_facts(case)),
        el(
            "section",
            el("h2", "Disposition"),
            el("p", status_badge(case["status"]), " assignee: ", case.get("assignee") or "none"),
            el("div", case.get("notes") or "", class_="notes"),
            el("h3", "History"),
            history_table(cf.history),
        ),
        el("section", el("h2", f"Alerts ({len(cf.alerts)})"), [alert_card(a) for a in cf.alerts]),
        el("section", el("h2", "Money in and out"), timeline_svg(cf.series, cf.alerts)),
        el("section", el("h2", "Network"), network_table(cf.graph.cytoscape())),
        el(
            "section",
            el("h2", f"Evidence transactions ({cf.evidence.height})"),
            evidence_table(cf.evidence),
        ),
        el("section", el("h2", "KYC facts"), kyc_section(cf.kyc, cf.kyc_note)),
    )
    head = join(
        el("meta", charset="utf-8"),
        el("meta", http_equiv="Content-Security-Policy", content=REPORT_CSP),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("title", f"Case {case['subject']} - moneytrail report"),
        el("style", Markup(REPORT_CSS.read_text(encoding="utf-8"))),
    )
    return "<!doctype html>\n" + el("html", el("head", head), el("body", body), lang="en")


def _defuse(expr: pl.Expr) -> pl.Expr:
    starts = pl.any_horizontal([expr.str.starts_with(c) for c in _FORMULA])
    return pl.when(starts).then(pl.lit("'") + expr).otherwise(expr)


def evidence_csv(frame: pl.DataFrame, /) -> str:
    """The evidence table as CSV, formula-looking text cells defused."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns([_defuse(pl.col(c)).alias(c) for c in text]).write_csv()


def case_networks(graph: Graph, /, *, case_id: str) -> Networks:
    """The case graph as `graphs.networks.Networks` frames, for the exporters of `graphs/`.

    The subject's accounts are the seeds; counterparties and channels are members too. A
    node's alert status is not part of those frames (the report and the page show it).
    """
    nid = f"case-{case_id}"
    flows: dict[str, list[Decimal]] = {n: [Decimal(0), Decimal(0), Decimal(0), Decimal(0)]
                                       for n in graph.nodes}  # fmt: skip
    edges = []
    for (source, target), e in sorted(graph.edges.items()):
        amount = Decimal(e["amount"])
        flows[source][1] += amount
        flows[source][3] += 1
        flows[target][0] += amount
        flows[target][2] += 1
        edges.append(
            {
                "network_id": nid, "source": source, "target": target, "amount": amount,
                "count": e["n"], "first_ts": datetime.fromisoformat(e["first_ts"]),
                "last_ts": datetime.fromisoformat(e["last_ts"]), "channels": [],
            }
        )  # fmt: skip
    members = [
        {
            "network_id": nid, "account_id": node, "name": a.get("label"),
            "role": a.get("role"), "is_seed": bool(a.get("subject")),
            "is_internal": a.get("kind") == "account" and a.get("customer_id") is not None,
            "hops": 0 if a.get("subject") else 1, "n_alerts": int(a.get("n_alerts") or 0),
            "rule_ids": list(a.get("rules") or []), "in_flow": flows[node][0],
            "out_flow": flows[node][1], "n_in": int(flows[node][2]),
            "n_out": int(flows[node][3]), "centrality": 0.0,
        }
        for node, a in sorted(graph.nodes.items())
    ]  # fmt: skip
    edge_frame = pl.DataFrame(edges, schema=EDGE_SCHEMA)
    member_frame = pl.DataFrame(members, schema=MEMBER_SCHEMA)
    summary = pl.DataFrame(
        [
            {
                "network_id": nid, "n_members": len(members),
                "n_internal": sum(m["is_internal"] for m in members),
                "n_alerts": sum(m["n_alerts"] for m in members), "n_pillars": 0, "pillars": [],
                "total_flow": sum((e["amount"] for e in edges), Decimal(0)),
                "max_centrality": 0.0, "score": 0.0,
                "first_ts": min((e["first_ts"] for e in edges), default=None),
                "last_ts": max((e["last_ts"] for e in edges), default=None),
                "seeds": [m["account_id"] for m in members if m["is_seed"]],
            }
        ],
        schema=NETWORK_SCHEMA,
    )  # fmt: skip
    return Networks(summary, member_frame, edge_frame)


def graphml(graph: Graph, /, *, case_id: str) -> str:
    """The case network as GraphML (directed), written by `graphs.export.write_graphml`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network.graphml"
        write_graphml(case_networks(graph, case_id=case_id), path)
        return path.read_text(encoding="utf-8")


def cytoscape_json(graph: Graph, /, *, case_id: str) -> str:
    """The case network as Cytoscape JSON, from `graphs.export.cytoscape_json`."""
    data = graph_cytoscape_json(case_networks(graph, case_id=case_id))
    return json.dumps(data, indent=1, sort_keys=True, default=str)
