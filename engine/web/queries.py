"""The workbench's reads: the queue, a case and its parts, dispositions. Parameterised only.

Every function takes an open (read-only) `Store`. SQL text is built from fixed fragments of
this module; every value from a request or the data reaches DuckDB as a parameter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from engine.cases import SPECIFICITY
from engine.dispositions import STATUSES, alert_status_sql
from engine.store import Store

__all__ = [
    "EVIDENCE_SORTS",
    "Filters",
    "case_alerts",
    "case_row",
    "counts",
    "decode_alert",
    "evidence",
    "filter_choices",
    "history",
    "queue",
    "subject_accounts",
]

EVIDENCE_SORTS = (
    "ts_utc",
    "account_id",
    "direction",
    "amount_base",
    "channel",
    "counterparty_account_id",
    "counterparty_name",
    "reference_text",
)
"""Columns the evidence table may be sorted by (a whitelist: the name goes into SQL)."""
PAGE = 100


@dataclass(frozen=True, slots=True)
class Filters:
    """The queue's filters, read from a query string. Bad values are dropped with a notice."""

    view: str = "cases"
    rule: str = ""
    pillar: str = ""
    severity: str = ""
    status: str = ""
    assignee: str = ""
    since: date | None = None
    until: date | None = None
    offset: int = 0
    notices: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        """From the request's query parameters."""
        notices: list[str] = []

        def day(name: str) -> date | None:
            raw = query.get(name, "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                notices.append(f"{name}: {raw!r} is not a date (YYYY-MM-DD); ignored")
                return None

        status = query.get("status", "").strip()
        if status and status not in STATUSES:
            notices.append(f"status: {status!r} is not a status; ignored")
            status = ""
        try:
            offset = max(0, int(query.get("offset", "0") or 0))
        except ValueError:
            offset = 0
        return cls(
            view="alerts" if query.get("view") == "alerts" else "cases",
            rule=query.get("rule", "").strip(),
            pillar=query.get("pillar", "").strip(),
            severity=query.get("severity", "").strip(),
            status=status,
            assignee=query.get("assignee", "").strip(),
            since=day("since"),
            until=day("until"),
            offset=offset,
            notices=tuple(notices),
        )

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters as query parameters, with some changed."""
        values: dict[str, Any] = {
            "view": self.view,
            "rule": self.rule,
            "pillar": self.pillar,
            "severity": self.severity,
            "status": self.status,
            "assignee": self.assignee,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        } | changes
        return {k: str(v) for k, v in values.items() if v not in (None, "", 0)}


def _bounds(filters: Filters) -> tuple[datetime | None, datetime | None]:
    since = datetime.combine(filters.since, datetime.min.time(), UTC) if filters.since else None
    until = (
        datetime.combine(filters.until, datetime.min.time(), UTC) + timedelta(days=1)
        if filters.until
        else None
    )
    return since, until


def queue(store: Store, filters: Filters) -> tuple[pl.DataFrame, int]:
    """One page of cases (or alerts) by score, and how many match in all."""
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    since, until = _bounds(filters)
    if filters.view == "cases":
        for column, value in (
            ("rule_id", filters.rule),
            ("pillar", filters.pillar),
            ("severity", filters.severity),
        ):
            if value:
                # column names come from the fixed tuple above
                where.append(
                    "EXISTS (SELECT 1 FROM case_alerts x JOIN alerts y USING (alert_id) "  # noqa: S608
                    f"WHERE x.case_id = c.case_id AND y.{column} = ?)"
                )
                params.append(value)
        start, end = "c.case_start", "c.case_end"
        sql = (
            "SELECT c.case_id, c.subject, c.subject_type, c.subject_role, c.score, c.escalated, "
            "c.pillars, c.n_alerts, c.case_start, c.case_end, c.summary, "
            "coalesce(d.status, 'open') AS status, d.assignee "
            "FROM cases c LEFT JOIN dispositions d "
            "ON d.subject_kind = 'case' AND d.subject_id = c.case_id"
        )
        order = "c.score DESC, c.case_id"
    else:
        for column, value in (
            ("a.rule_id", filters.rule),
            ("a.pillar", filters.pillar),
            ("a.severity", filters.severity),
        ):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        start, end = "a.episode_start", "a.episode_end"
        factor = " ".join(f"WHEN '{k}' THEN {v}" for k, v in SPECIFICITY.items())
        sql = (
            f"WITH {alert_status_sql()} "  # noqa: S608
            "SELECT a.alert_id, a.rule_id, a.title, a.pillar, a.severity, a.entity, "
            "a.customer_id, a.subject_role, "
            f"a.weight * CASE a.specificity {factor} ELSE 1 END AS score, "
            "a.episode_start, a.episode_end, a.explanation, s.status, s.assignee, "
            "(SELECT min(case_id) FROM case_alerts ca WHERE ca.alert_id = a.alert_id) AS case_id "
            "FROM alerts a JOIN alert_status s USING (alert_id)"
        )
        order = "score DESC, a.episode_end DESC, a.alert_id"
    status_col = "coalesce(d.status, 'open')" if filters.view == "cases" else "s.status"
    assignee_col = "d.assignee" if filters.view == "cases" else "s.assignee"
    if filters.status:
        where.append(f"{status_col} = ?")
        params.append(filters.status)
    if filters.assignee:
        where.append(f"{assignee_col} = ?")
        params.append(filters.assignee)
    if since is not None:
        where.append(f"{end} >= ?")
        params.append(since)
    if until is not None:
        where.append(f"{start} < ?")
        params.append(until)
    body = f"{sql} WHERE {' AND '.join(where)}"
    total = int(store.query(f"SELECT count(*) AS n FROM ({body})", params).item())  # noqa: S608
    page = store.query(f"{body} ORDER BY {order} LIMIT ? OFFSET ?", [*params, PAGE, filters.offset])
    return page, total


def counts(store: Store, view: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """At a glance, over the whole store: (per rule, per status) for cases or alerts."""
    if view == "cases":
        by_rule = store.query(
            "SELECT a.rule_id, count(DISTINCT ca.case_id) AS n FROM case_alerts ca "
            "JOIN alerts a USING (alert_id) GROUP BY a.rule_id ORDER BY n DESC, a.rule_id"
        )
        by_status = store.query(
            "SELECT coalesce(d.status, 'open') AS status, count(*) AS n FROM cases c "
            "LEFT JOIN dispositions d ON d.subject_kind = 'case' AND d.subject_id = c.case_id "
            "GROUP BY 1"
        )
    else:
        by_rule = store.query(
            "SELECT rule_id, count(*) AS n FROM alerts GROUP BY rule_id ORDER BY n DESC, rule_id"
        )
        by_status = store.query(
            f"WITH {alert_status_sql()} SELECT status, count(*) AS n FROM alert_status GROUP BY 1"  # noqa: S608
        )
    order = {s: i for i, s in enumerate(STATUSES)}
    by_status = by_status.sort(pl.col("status").replace_strict(order, default=99))
    return by_rule, by_status


def filter_choices(store: Store) -> dict[str, list[str]]:
    """The values the queue's drop-downs offer."""
    choices: dict[str, list[str]] = {}
    for name, sql in (
        ("rule", "SELECT DISTINCT rule_id FROM alerts ORDER BY 1"),
        ("pillar", "SELECT DISTINCT pillar FROM alerts WHERE pillar IS NOT NULL ORDER BY 1"),
        ("severity", "SELECT DISTINCT severity FROM alerts WHERE severity IS NOT NULL ORDER BY 1"),
        ("assignee", "SELECT DISTINCT assignee FROM dispositions WHERE assignee <> '' ORDER BY 1"),
    ):
        choices[name] = [str(v) for v in store.query(sql).to_series()]
    return choices


def case_row(store: Store, case_id: str) -> dict[str, Any] | None:
    """The case with its disposition, or `None`."""
    frame = store.query(
        "SELECT c.*, coalesce(d.status, 'open') AS status, d.assignee, d.notes, d.updated_at "
        "FROM cases c LEFT JOIN dispositions d "
        "ON d.subject_kind = 'case' AND d.subject_id = c.case_id WHERE c.case_id = ?",
        [case_id],
    )
    if frame.is_empty():
        return None
    row = frame.row(0, named=True)
    row["pillars"] = json.loads(row["pillars"] or "[]")
    return row


def case_alerts(store: Store, case_id: str) -> list[dict[str, Any]]:
    """The case's alerts, strongest first, with decoded measures, thresholds and sources."""
    frame = store.query(
        f"WITH {alert_status_sql()} "  # noqa: S608
        "SELECT a.*, s.status, s.assignee FROM case_alerts ca JOIN alerts a USING (alert_id) "
        "JOIN alert_status s USING (alert_id) WHERE ca.case_id = ? "
        "ORDER BY a.weight DESC, a.episode_start, a.alert_id",
        [case_id],
    )
    return [decode_alert(row) for row in frame.to_dicts()]


def decode_alert(row: dict[str, Any]) -> dict[str, Any]:
    """An alert row with its JSON columns (measures, thresholds, references) decoded."""
    for key in ("measures", "thresholds", "references"):
        try:
            row[key] = json.loads(row[key] or "null")
        except (TypeError, ValueError):
            row[key] = None
    return row


def evidence(
    store: Store, alert_ids: list[str], *, sort: str = "ts_utc", descending: bool = False
) -> pl.DataFrame:
    """The evidence postings of these alerts, one row per transaction, with its alerts' rules."""
    column = sort if sort in EVIDENCE_SORTS else "ts_utc"
    direction = "DESC" if descending else "ASC"
    # the sort column is from the EVIDENCE_SORTS whitelist, the direction one of two words
    return store.query(
        "SELECT t.txn_id, any_value(t.account_id) AS account_id, any_value(t.ts_utc) AS ts_utc, "  # noqa: S608
        "any_value(t.direction) AS direction, any_value(t.amount) AS amount, "
        "any_value(t.currency) AS currency, any_value(t.amount_base) AS amount_base, "
        "any_value(t.channel) AS channel, "
        "any_value(t.counterparty_account_id) AS counterparty_account_id, "
        "any_value(t.counterparty_name) AS counterparty_name, "
        "any_value(t.reference_text) AS reference_text, "
        "string_agg(DISTINCT a.rule_id, ', ' ORDER BY a.rule_id) AS rules "
        "FROM alert_transactions t JOIN alerts a USING (alert_id) "
        "WHERE t.alert_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY t.txn_id "
        f"ORDER BY {column} {direction} NULLS LAST, ts_utc, t.txn_id",
        [alert_ids],
    )


def subject_accounts(store: Store, alert_ids: list[str]) -> list[str]:
    """The monitored accounts behind these alerts: evidence accounts and account entities."""
    frame = store.query(
        "SELECT DISTINCT account_id FROM alert_transactions "
        "WHERE alert_id IN (SELECT unnest(?::VARCHAR[])) AND account_id IS NOT NULL "
        "UNION SELECT DISTINCT entity FROM alerts WHERE entity_type = 'account_id' "
        "AND alert_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1",
        [alert_ids, alert_ids],
    )
    return [str(v) for v in frame.to_series()]


def history(store: Store, kind: str, subject_id: str) -> pl.DataFrame:
    """Every disposition ever set on a subject, newest first."""
    return store.query(
        "SELECT changed_at, status, assignee, notes, changed_by FROM disposition_history "
        "WHERE subject_kind = ? AND subject_id = ? ORDER BY changed_at DESC",
        [kind, subject_id],
    )
