"""Exports of a case: an offline HTML report, the evidence as CSV, the network as GraphML and
Cytoscape JSON.

The report is one self-contained file: inline CSS (allowed here only), no script at all, and
a Content-Security-Policy of its own in a meta tag, so a payment reference that slipped
through escaping still could not run when the file is opened from disk. CSV cells that a
spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR) are quoted with a leading
apostrophe: counterparty names and references are written by the people under investigation.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
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

__all__ = [
    "REPORT_CSP",
    "attachment",
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
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
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


_GRAPHML_KEYS = (
    ("node", "label", "string"),
    ("node", "kind", "string"),
    ("node", "role", "string"),
    ("node", "customer_id", "string"),
    ("node", "n_alerts", "int"),
    ("node", "alert_status", "string"),
    ("node", "subject", "boolean"),
    ("edge", "amount", "double"),
    ("edge", "n", "int"),
    ("edge", "first_ts", "string"),
    ("edge", "last_ts", "string"),
    ("edge", "alerted", "boolean"),
)


def _xml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("\ufffd", str(value))


def graphml(graph: Graph, /) -> str:
    """The network as GraphML (directed), for Gephi, yEd or Cytoscape desktop."""
    root = ET.Element("graphml", xmlns="http://graphml.graphdrawing.org/xmlns")
    for domain, name, kind in _GRAPHML_KEYS:
        ET.SubElement(
            root,
            "key",
            id=f"{domain[0]}_{name}",
            attrib={"for": domain, "attr.name": name, "attr.type": kind},
        )
    g = ET.SubElement(root, "graph", id="case", edgedefault="directed")
    names = {name for domain, name, _ in _GRAPHML_KEYS if domain == "node"}
    for node_id, attrs in sorted(graph.nodes.items()):
        node = ET.SubElement(g, "node", id=_xml_text(node_id))
        for key, value in attrs.items():
            if key in names and value is not None:
                ET.SubElement(node, "data", key=f"n_{key}").text = _xml_text(value)
    edge_names = {name for domain, name, _ in _GRAPHML_KEYS if domain == "edge"}
    for i, ((source, target), attrs) in enumerate(sorted(graph.edges.items())):
        edge = ET.SubElement(
            g, "edge", id=f"e{i}", source=_xml_text(source), target=_xml_text(target)
        )
        for key, value in attrs.items():
            if key in edge_names and value is not None:
                ET.SubElement(edge, "data", key=f"e_{key}").text = _xml_text(value)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def cytoscape_json(graph: Graph, /) -> str:
    """The network as Cytoscape JSON (`cy.json()` elements), for Cytoscape desktop or .js."""
    payload = {"format_version": "1.0", "generated_by": f"moneytrail {__version__}"}
    return json.dumps(payload | graph.cytoscape(), indent=1, default=str)
