"""The workbench's HTML pages: layout, queue, case, alert and error pages.

Pages carry no inline script or style (the Content-Security-Policy forbids both); the only
scripts are `/static/vendor/cytoscape.min.js` and `/static/network.js`, on the case page.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from engine.dispositions import STATUSES
from engine.web.casefile import CaseFile
from engine.web.markup import Markup, el, join, url
from engine.web.queries import Filters
from engine.web.sections import (
    STATUS_LABELS,
    alert_card,
    case_facts,
    evidence_table,
    fmt,
    history_table,
    kyc_section,
    network_table,
    status_badge,
)
from engine.web.timeline import timeline_svg

__all__ = ["alert_page", "case_page", "error_page", "layout", "queue_page"]

EVIDENCE_ROWS = 2000
"""At most this many evidence rows on the page (the CSV export and the report have all)."""
CYTOSCAPE_MARKER = "__________cytoscape_stylesheet"
"""Cytoscape.js injects an inline <style> unless an element with this id exists; the CSP
would block that, so the case page links the same rule from /static under this id."""


def layout(
    title: str, body: Markup, *, db: str = "", footer: str = "", network: bool = False
) -> str:
    """A whole page. Scripts only from /static, only where needed."""
    head = [
        el("meta", charset="utf-8"),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("meta", name="referrer", content="same-origin"),
        el("title", f"{title} - moneytrail"),
        el("link", rel="icon", href="data:,"),
        el("link", rel="stylesheet", href="/static/app.css"),
    ]
    if network:
        head += [
            el(
                "link",
                rel="stylesheet",
                id=CYTOSCAPE_MARKER,
                href="/static/cytoscape-container.css",
            ),
            el("script", src="/static/vendor/cytoscape.min.js", defer=True),
            el("script", src="/static/network.js", defer=True),
        ]
    top = el(
        "header",
        el("a", "moneytrail", href="/", class_="brand"),
        el("span", " investigator workbench", class_="muted"),
        el("span", db, class_="db muted"),
        class_="top",
    )
    foot = el("footer", footer, class_="muted") if footer else ""
    page = el("html", el("head", head), el("body", top, el("main", body), foot), lang="en")
    return "<!doctype html>\n" + page


def _select(
    name: str, label: str, options: list[str], current: str, *, labels: dict[str, str] | None = None
) -> Markup:
    opts = [el("option", "any", value="")] + [
        el("option", (labels or {}).get(o, o), value=o, selected=o == current) for o in options
    ]
    return el("label", label, " ", el("select", opts, name=name))


def _counts(title: str, frame: pl.DataFrame, key: str, filters: Filters) -> Markup:
    items = []
    for value, n in frame.iter_rows():
        label = STATUS_LABELS.get(value, value) if key == "status" else value
        link = url("", **filters.query(**{key: value, "offset": 0}))
        items.append(el("li", el("a", label, href=link), " ", el("span", f"{n:,}", class_="n")))
    return el("div", el("h3", title), el("ul", items, class_="counts"), class_="count-box")


def _case_rows(page: pl.DataFrame) -> list[Markup]:
    return [
        el(
            "tr",
            el("td", fmt(r["score"]), class_="num"),
            el("td", el("a", r["subject"], href=url("case", r["case_id"]), class_="case-link")),
            el("td", r["subject_role"]),
            el("td", "yes" if r["escalated"] else ""),
            el("td", ", ".join(json.loads(r["pillars"] or "[]"))),
            el("td", str(r["n_alerts"]), class_="num"),
            el("td", f"{fmt(r['case_start'])[:10]} to {fmt(r['case_end'])[:10]}"),
            el("td", status_badge(r["status"])),
            el("td", r["assignee"]),
            el("td", r["summary"], class_="summary"),
        )
        for r in page.iter_rows(named=True)
    ]


def _alert_rows(page: pl.DataFrame) -> list[Markup]:
    return [
        el(
            "tr",
            el("td", fmt(r["score"]), class_="num"),
            el("td", el("a", r["rule_id"], href=url("alert", r["alert_id"]))),
            el("td", r["title"]),
            el("td", el("span", r["severity"], class_=f"badge sev-{r['severity']}")),
            el("td", r["entity"]),
            el("td", r["subject_role"]),
            el("td", f"{fmt(r['episode_start'])[:10]} to {fmt(r['episode_end'])[:10]}"),
            el("td", status_badge(r["status"])),
            el("td", r["assignee"]),
            el("td", el("a", "case", href=url("case", r["case_id"])) if r["case_id"] else ""),
        )
        for r in page.iter_rows(named=True)
    ]


def queue_page(
    filters: Filters,
    page: pl.DataFrame,
    total: int,
    by_rule: pl.DataFrame,
    by_status: pl.DataFrame,
    choices: dict[str, list[str]],
) -> Markup:
    """Cases or alerts by score, with filters and counts at a glance."""
    cases = filters.view == "cases"
    tabs = el(
        "nav",
        el("a", "Cases", href=url("", view="cases"), class_="tab active" if cases else "tab"),
        el("a", "Alerts", href=url("", view="alerts"), class_="tab" if cases else "tab active"),
        class_="tabs",
    )
    form = el(
        "form",
        el("input", type="hidden", name="view", value=filters.view),
        _select("rule", "rule", choices["rule"], filters.rule),
        _select("pillar", "pillar", choices["pillar"], filters.pillar),
        _select("severity", "severity", choices["severity"], filters.severity),
        _select("status", "status", list(STATUSES), filters.status, labels=STATUS_LABELS),
        _select("assignee", "assignee", choices["assignee"], filters.assignee),
        el(
            "label",
            "from ",
            el(
                "input",
                type="date",
                name="since",
                value=filters.since.isoformat() if filters.since else "",
            ),
        ),
        el(
            "label",
            "to ",
            el(
                "input",
                type="date",
                name="until",
                value=filters.until.isoformat() if filters.until else "",
            ),
        ),
        el("button", "Filter", type="submit"),
        el("a", "clear", href=url("", view=filters.view)),
        method="get",
        action="/",
        class_="filters",
    )
    notices = [el("p", n, class_="notice") for n in filters.notices]
    glance = el(
        "div",
        _counts(f"{filters.view} per rule", by_rule, "rule", filters),
        _counts(f"{filters.view} per status", by_status, "status", filters),
        class_="glance",
    )
    if cases:
        head = (
            "score",
            "subject",
            "role",
            "escalated",
            "pillars",
            "alerts",
            "period",
            "status",
            "assignee",
            "summary",
        )
        rows = _case_rows(page)
    else:
        head = (
            "score",
            "rule",
            "title",
            "severity",
            "entity",
            "role",
            "episode",
            "status",
            "assignee",
            "",
        )
        rows = _alert_rows(page)
    table = el(
        "table",
        el("thead", el("tr", [el("th", h) for h in head])),
        el("tbody", rows),
        class_="queue",
        id="queue",
    )
    shown = f"{filters.offset + 1:,}-{filters.offset + page.height:,} of {total:,}" if total else ""
    pager = el(
        "p",
        el("a", "previous", href=url("", **filters.query(offset=max(filters.offset - 100, 0))))
        if filters.offset
        else None,
        f" {shown} ",
        el("a", "next", href=url("", **filters.query(offset=filters.offset + 100)))
        if filters.offset + page.height < total
        else None,
        class_="pager",
    )
    empty = el("p", f"No {filters.view} match these filters.", class_="muted") if not total else ""
    return join(tabs, form, notices, glance, table, empty, pager)


def disposition_form(kind: str, subject_id: str, current: dict[str, Any], token: str) -> Markup:
    """Status, assignee and notes; posts back to the server (never from script)."""
    status = current.get("status") or "open"
    return el(
        "form",
        el("input", type="hidden", name="token", value=token),
        el(
            "label",
            "status ",
            el(
                "select",
                [el("option", STATUS_LABELS[s], value=s, selected=s == status) for s in STATUSES],
                name="status",
                id="disposition-status",
            ),
        ),
        el(
            "label",
            "assignee ",
            el(
                "input",
                type="text",
                name="assignee",
                maxlength=200,
                value=current.get("assignee") or "",
                id="disposition-assignee",
            ),
        ),
        el(
            "label",
            "notes",
            el(
                "textarea", current.get("notes") or "", name="notes", rows=4, id="disposition-notes"
            ),
        ),
        el("label", "your name ", el("input", type="text", name="changed_by", maxlength=200)),
        el("button", "Save disposition", type="submit", id="disposition-save"),
        method="post",
        action=url(kind, subject_id, "disposition"),
        class_="disposition",
    )


def case_page(cf: CaseFile, *, token: str, sort: str, desc: bool, saved: bool) -> Markup:
    """The case: facts, disposition, alerts, timeline, network, evidence, KYC, exports."""
    case_id = cf.case["case_id"]
    exports = el(
        "p",
        "Export: ",
        el("a", "HTML report", href=url("case", case_id, "report.html")),
        " · ",
        el("a", "evidence CSV", href=url("case", case_id, "evidence.csv")),
        " · ",
        el("a", "network GraphML", href=url("case", case_id, "network.graphml")),
        " · ",
        el("a", "network Cytoscape JSON", href=url("case", case_id, "network.cyjs")),
        class_="exports",
    )
    nav = el(
        "nav",
        [
            el("a", t, href=f"#{a}")
            for t, a in (
                ("alerts", "alerts"),
                ("timeline", "timeline"),
                ("network", "network"),
                ("evidence", "evidence"),
                ("KYC", "kyc"),
                ("disposition", "disposition"),
            )
        ],
        class_="sections",
    )

    def sort_link(column: str, descending: bool) -> str:
        return url("case", case_id, sort=column, dir="desc" if descending else "") + "#evidence"

    legend = el(
        "ul",
        [
            el("li", el("span", class_=f"swatch role-{r}"), r)
            for r in (
                "controller",
                "launderer",
                "facilitator",
                "buyer",
                "victim",
                "unknown",
                "external",
                "counterparty",
                "channel",
            )
        ],
        class_="legend",
    )
    network = el(
        "section",
        el("h2", "Network"),
        el(
            "p",
            "Colour: role. Border: alert status (red alerted, orange escalated, purple "
            "reported, grey false positive). Edge width: amount. Click a node for details.",
            class_="muted",
        ),
        legend,
        [el("p", note, class_="notice") for note in cf.graph.notes],
        el(
            "div",
            el(
                "div",
                id="cy",
                data_case=case_id,
                data_api=url("api", "case", case_id, "network"),
                role="img",
                aria_label="network of the case",
            ),
            el(
                "aside",
                el(
                    "div",
                    el("button", "Expand one hop", type="button", id="expand", disabled=True),
                    el("button", "Trail forward", type="button", id="trail-forward", disabled=True),
                    el(
                        "button",
                        "Trail backward",
                        type="button",
                        id="trail-backward",
                        disabled=True,
                    ),
                    el("button", "Reset", type="button", id="reset"),
                    class_="controls",
                ),
                el("div", el("p", "Select a node.", class_="muted"), id="node-details"),
                class_="panel",
            ),
            class_="network",
        ),
        el("details", el("summary", "network as tables"), network_table(cf.graph.cytoscape())),
        id="network",
    )
    saved_note = el("p", "Disposition saved.", class_="notice saved") if saved else ""
    return join(
        el(
            "h1",
            "Case ",
            el("span", cf.case["subject"], class_="subject"),
            " ",
            status_badge(cf.case["status"]),
        ),
        exports,
        nav,
        saved_note,
        el("section", case_facts(cf.case), id="facts"),
        el(
            "section",
            el("h2", f"Alerts ({len(cf.alerts)})"),
            [alert_card(a, link=lambda i: url("alert", i)) for a in cf.alerts],
            id="alerts",
        ),
        el(
            "section",
            el("h2", "Money in and out"),
            timeline_svg(cf.series, cf.alerts),
            id="timeline",
        ),
        network,
        el(
            "section",
            el("h2", f"Evidence transactions ({cf.evidence.height})"),
            evidence_table(
                cf.evidence.head(EVIDENCE_ROWS), sort=sort, desc=desc, sort_link=sort_link
            ),
            el(
                "p",
                f"Showing {EVIDENCE_ROWS:,} of {cf.evidence.height:,}; the evidence CSV has all.",
                class_="muted",
            )
            if cf.evidence.height > EVIDENCE_ROWS
            else "",
            id="evidence",
        ),
        el("section", el("h2", "KYC facts"), kyc_section(cf.kyc, cf.kyc_note), id="kyc"),
        el(
            "section",
            el("h2", "Disposition"),
            disposition_form("case", case_id, cf.case, token),
            el("h3", "History"),
            history_table(cf.history),
            id="disposition",
        ),
    )


def alert_page(
    alert: dict[str, Any],
    evidence: pl.DataFrame,
    cases: list[str],
    history: pl.DataFrame,
    current: dict[str, Any],
    *,
    token: str,
    saved: bool,
) -> Markup:
    """One alert with its evidence, its cases and its own disposition."""
    return join(
        el(
            "h1",
            "Alert ",
            el("span", alert["rule_id"], class_="rule"),
            " ",
            status_badge(alert.get("status")),
        ),
        el(
            "p",
            "Cases: ",
            [join(el("a", c, href=url("case", c)), " ") for c in cases]
            or "none (victim-role alerts join cases only through a network)",
        ),
        el("p", "Disposition saved.", class_="notice saved") if saved else "",
        alert_card(alert),
        el(
            "section",
            el("h2", f"Evidence transactions ({evidence.height})"),
            evidence_table(evidence),
            id="evidence",
        ),
        el(
            "section",
            el("h2", "Disposition of this alert"),
            disposition_form("alert", alert["alert_id"], current, token),
            el("h3", "History"),
            history_table(history),
            id="disposition",
        ),
    )


def error_page(title: str, message: str, hint: str = "") -> Markup:
    """A plain page for a missing or busy store, a bad request or a missing case."""
    return join(
        el("h1", title),
        el("p", message, class_="error-message"),
        el("p", hint, class_="muted") if hint else "",
        el("p", el("a", "Back to the queue", href="/")),
    )
