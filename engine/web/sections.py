"""The parts of a case, rendered once for the page and the offline report alike.

Every value goes through `markup.el`/`esc`; links are made by a caller-supplied function (the
report passes none, so it links nowhere).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from engine.web.markup import Markup, el, join
from engine.web.sources import source_title

__all__ = [
    "STATUS_LABELS",
    "alert_card",
    "case_facts",
    "evidence_table",
    "fmt",
    "history_table",
    "kyc_section",
    "network_table",
    "status_badge",
]

STATUS_LABELS = {
    "open": "open",
    "in_review": "in review",
    "escalated": "escalated",
    "closed_false_positive": "closed: false positive",
    "closed_reported": "closed: reported",
}
EVIDENCE_HEADERS = (
    ("ts_utc", "time (UTC)"),
    ("account_id", "account"),
    ("direction", "dir"),
    ("amount_base", "amount (base)"),
    ("channel", "channel"),
    ("counterparty_account_id", "counterparty account"),
    ("counterparty_name", "counterparty name"),
    ("reference_text", "reference"),
)
SortLink = Callable[[str, bool], str]


def fmt(value: Any) -> str:
    """A value as an investigator reads it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 or value != round(value) else f"{value:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def status_badge(status: str | None) -> Markup:
    """A coloured label for a disposition status."""
    key = status or "open"
    return el("span", STATUS_LABELS.get(key, key), class_=f"badge status-{key}")


def case_facts(case: dict[str, Any]) -> Markup:
    """The case's header facts."""
    items = (
        ("subject", f"{case['subject']} ({case['subject_type']})"),
        ("role hint", case["subject_role"]),
        ("score", fmt(case["score"])),
        ("escalated", "yes (HT composite)" if case["escalated"] else "no"),
        ("pillars", ", ".join(case["pillars"]) or "none"),
        ("period", f"{fmt(case['case_start'])} to {fmt(case['case_end'])} UTC"),
        ("alerts", str(case["n_alerts"])),
        ("summary", case["summary"]),
    )
    return el("dl", [join(el("dt", k), el("dd", v)) for k, v in items], class_="facts")


def _threshold(spec: Any) -> tuple[str, str]:
    if isinstance(spec, dict):
        value = f"{fmt(spec.get('value'))}{' ' + spec['currency'] if spec.get('currency') else ''}"
        return value, spec.get("source") or "default (tunable)"
    return fmt(spec), ""


def alert_card(alert: dict[str, Any], *, link: Callable[[str], str] | None = None) -> Markup:
    """One alert: what it says, what was measured beside the thresholds, its sources."""
    measures = alert.get("measures") or {}
    thresholds = alert.get("thresholds") or {}
    refs = alert.get("references") or []
    measured = el(
        "table",
        el("caption", "measured"),
        el("tr", el("th", "measure"), el("th", "value")),
        [
            el("tr", el("td", k.replace("_", " ")), el("td", fmt(v), class_="num"))
            for k, v in measures.items()
        ],
        class_="kv",
    )
    limits = el(
        "table",
        el("caption", "thresholds"),
        el("tr", el("th", "parameter"), el("th", "value"), el("th", "source")),
        [
            el(
                "tr",
                el("td", k),
                el("td", _threshold(v)[0], class_="num"),
                el("td", _threshold(v)[1]),
            )
            for k, v in thresholds.items()
        ],
        class_="kv",
    )
    sources = el(
        "ul", [el("li", el("strong", r), " ", source_title(str(r))) for r in refs], class_="sources"
    )
    title = join(el("span", alert["rule_id"], class_="rule"), " ", alert["title"])
    return el(
        "article",
        el(
            "header",
            el("h3", title),
            el(
                "p",
                el("span", alert["severity"], class_=f"badge sev-{alert['severity']}"),
                " ",
                el("span", f"pillar: {alert['pillar']}", class_="badge"),
                " ",
                el("span", f"specificity: {alert['specificity']}", class_="badge"),
                " ",
                el("span", f"role hint: {alert['subject_role']}", class_="badge role"),
                " ",
                status_badge(alert.get("status")),
            ),
        ),
        el("p", alert["explanation"], class_="explanation"),
        el(
            "p",
            f"entity {alert['entity']} ({alert['entity_type']}), episode "
            f"{fmt(alert['episode_start'])} to {fmt(alert['episode_end'])} UTC, "
            f"{alert['n_windows']} window(s), rule version {alert['rule_version']}, alert ",
            el("a", alert["alert_id"], href=link(alert["alert_id"])) if link else alert["alert_id"],
            class_="muted",
        ),
        el("div", measured, limits, class_="pair"),
        el("h4", "cited sources"),
        sources if refs else el("p", "none cited", class_="muted"),
        class_="alert",
        id=f"alert-{alert['alert_id']}",
    )


def evidence_table(
    frame: pl.DataFrame, *, sort: str = "", desc: bool = False, sort_link: SortLink | None = None
) -> Markup:
    """The evidence postings; with `sort_link`, headers sort the table."""
    heads = []
    for column, label in EVIDENCE_HEADERS:
        if sort_link is None:
            heads.append(el("th", label))
            continue
        mark = (" \u25bc" if desc else " \u25b2") if column == sort else ""
        aria = ("descending" if desc else "ascending") if column == sort else None
        link = sort_link(column, column == sort and not desc)
        heads.append(el("th", el("a", label + mark, href=link), aria_sort=aria))
    heads.append(el("th", "rules"))
    rows = [
        el(
            "tr",
            el("td", fmt(r["ts_utc"])),
            el("td", r["account_id"]),
            el("td", r["direction"]),
            el(
                "td",
                f"{fmt(r['amount_base'])}",
                class_="num",
                title=f"{fmt(r['amount'])} {r['currency'] or ''}",
            ),
            el("td", r["channel"]),
            el("td", r["counterparty_account_id"]),
            el("td", r["counterparty_name"]),
            el("td", r["reference_text"]),
            el("td", r["rules"]),
            class_=f"dir-{r['direction']}",
        )
        for r in frame.iter_rows(named=True)
    ]
    return el("table", el("thead", el("tr", heads)), el("tbody", rows), class_="evidence")


def kyc_section(row: dict[str, Any] | None, note: str) -> Markup:
    """The customer's KYC facts, or why there are none."""
    if row is None:
        return el("p", note, class_="muted")
    items = [(k.replace("_", " "), fmt(v)) for k, v in row.items() if v not in (None, "")]
    return el("dl", [join(el("dt", k), el("dd", v)) for k, v in items], class_="facts kyc")


def history_table(frame: pl.DataFrame) -> Markup:
    """Every disposition set, newest first."""
    if frame.is_empty():
        return el("p", "No disposition yet: the case is open.", class_="muted")
    rows = [
        el(
            "tr",
            el("td", fmt(r["changed_at"])),
            el("td", status_badge(r["status"])),
            el("td", r["assignee"]),
            el("td", el("div", r["notes"], class_="notes")),
            el("td", r["changed_by"]),
        )
        for r in frame.iter_rows(named=True)
    ]
    head = el("tr", [el("th", h) for h in ("when (UTC)", "status", "assignee", "notes", "by")])
    return el("table", el("thead", head), el("tbody", rows), class_="history")


def network_table(elements: dict[str, Any]) -> Markup:
    """The network as two tables (members, money flows): for print and for screen readers."""
    nodes = elements["elements"]["nodes"]
    edges = elements["elements"]["edges"]
    members = [
        el(
            "tr",
            el("td", n["data"]["label"]),
            el("td", n["data"].get("kind")),
            el("td", n["data"].get("role")),
            el("td", n["data"].get("customer_id")),
            el("td", STATUS_LABELS.get(n["data"].get("alert_status", ""), "")),
        )
        for n in nodes
    ]
    flows = [
        el(
            "tr",
            el("td", e["data"]["source"]),
            el("td", e["data"]["target"]),
            el("td", fmt(Decimal(e["data"]["amount"])), class_="num"),
            el("td", str(e["data"]["n"]), class_="num"),
            el("td", e["data"]["first_ts"][:10]),
            el("td", e["data"]["last_ts"][:10]),
            el("td", "yes" if e["data"]["alerted"] else ""),
        )
        for e in edges
    ]
    member_head = ("node", "kind", "role", "customer", "alert status")
    flow_head = ("from", "to", "amount", "n", "first", "last", "evidence")
    return join(
        el(
            "table",
            el("caption", f"members ({len(nodes)})"),
            el("tr", [el("th", h) for h in member_head]),
            members,
            class_="network-members",
        ),
        el(
            "table",
            el("caption", f"money flows ({len(edges)})"),
            el("tr", [el("th", h) for h in flow_head]),
            flows,
            class_="network-edges",
        ),
    )
