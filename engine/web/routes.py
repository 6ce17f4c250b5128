"""URL -> page, JSON or export. Each route opens the store read-only, except disposition posts.

Paths: `/` queue; `/case/<id>` (+ `/report.html`, `/evidence.csv`, `/network.graphml`,
`/network.cyjs`, `/disposition` by POST); `/alert/<id>` (+ `/disposition`);
`/api/case/<id>/network`, `/api/node`, `/api/expand`, `/api/trail` (JSON for the network view).
"""

from __future__ import annotations

import getpass
import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.dispositions import Disposition, alert_status_sql, set_disposition
from engine.errors import InputError
from engine.web import export, queries
from engine.web.casefile import load_case
from engine.web.markup import url
from engine.web.network import MIN_TRAIL_AMOUNT, case_graph, expand, node_details, trail
from engine.web.pages import alert_page, case_page, error_page, queue_page

if TYPE_CHECKING:
    from engine.web.server import App, Response

__all__ = ["route"]


def _not_found(app: App, what: str) -> Response:
    return app.page(404, "Not found", error_page("Not found", what))


def _redirect(location: str) -> Response:
    from engine.web.server import Response

    return Response(303, b"", "text/plain", {"Location": location})


def _queue(app: App, query: dict[str, str]) -> Response:
    filters = queries.Filters.parse(query)
    with app.reading() as store:
        page, total = queries.queue(store, filters)
        by_rule, by_status = queries.counts(store, filters.view)
        choices = queries.filter_choices(store)
    body = queue_page(filters, page, total, by_rule, by_status, choices)
    return app.page(200, "Queue", body)


def _case(app: App, case_id: str, rest: list[str], query: dict[str, str]) -> Response:
    from engine.web.server import Response

    sort = query.get("sort", "ts_utc")
    desc = query.get("dir") == "desc"
    with app.reading() as store:
        cf = load_case(store, app.context, case_id, sort=sort, desc=desc)
    if cf is None:
        return _not_found(app, f"No case {case_id!r} in this store.")
    if not rest:
        body = case_page(cf, token=app.token, sort=sort, desc=desc, saved=query.get("saved") == "1")
        return app.page(200, f"Case {cf.case['subject']}", body, network=True)
    name = rest[0]
    stem = f"case-{export.safe_name(case_id)}"
    if name == "report.html":
        text = export.report_html(cf, db=str(app.db))
        return Response(200, text.encode(), "text/html; charset=utf-8", export.report_headers(stem))
    if name == "evidence.csv":
        return Response(
            200,
            export.evidence_csv(cf.evidence).encode(),
            "text/csv; charset=utf-8",
            export.attachment(f"{stem}-evidence.csv"),
        )
    if name == "network.graphml":
        return Response(
            200,
            export.graphml(cf.graph, case_id=case_id).encode(),
            "application/xml; charset=utf-8",
            export.attachment(f"{stem}-network.graphml"),
        )
    if name == "network.cyjs":
        return Response(
            200,
            export.cytoscape_json(cf.graph, case_id=case_id).encode(),
            "application/json",
            export.attachment(f"{stem}-network.cyjs"),
        )
    return _not_found(app, f"No export {name!r}.")


def _alert(app: App, alert_id: str, query: dict[str, str]) -> Response:
    with app.reading() as store:
        frame = store.query(
            f"WITH {alert_status_sql()} SELECT a.*, s.status, s.assignee "  # noqa: S608
            "FROM alerts a JOIN alert_status s USING (alert_id) WHERE a.alert_id = ?",
            [alert_id],
        )
        if frame.is_empty():
            return _not_found(app, f"No alert {alert_id!r} in this store.")
        alert = queries.decode_alert(frame.row(0, named=True))
        evidence = queries.evidence(store, [alert_id])
        cases = store.query(
            "SELECT case_id FROM case_alerts WHERE alert_id = ? ORDER BY 1", [alert_id]
        )["case_id"].to_list()
        own = store.query(
            "SELECT status, assignee, notes FROM dispositions "
            "WHERE subject_kind = 'alert' AND subject_id = ?",
            [alert_id],
        )
        history = queries.history(store, "alert", alert_id)
    current = own.row(0, named=True) if own.height else {"status": alert["status"]}
    body = alert_page(
        alert, evidence, cases, history, current, token=app.token, saved=query.get("saved") == "1"
    )
    return app.page(200, f"Alert {alert['rule_id']}", body)


def _dispose(
    app: App, kind: str, subject_id: str, form: dict[str, str], origin_ok: bool
) -> Response:
    if not origin_ok or not hmac.compare_digest(form.get("token", ""), app.token):
        return app.page(
            403,
            "Refused",
            error_page(
                "Refused",
                "This form did not come from this workbench's own page.",
                "Reload the page and save again.",
            ),
        )
    disposition = Disposition(
        subject_kind=kind,
        subject_id=subject_id,
        status=form.get("status", ""),
        assignee=form.get("assignee", "").strip(),
        notes=form.get("notes", ""),
        changed_by=form.get("changed_by", "").strip() or _user(),
    )
    with app.writing():
        set_disposition(app.db, disposition)
    return _redirect(url(kind, subject_id, saved=1) + "#disposition")


def _user() -> str:
    """Who runs the server: the default author of a disposition."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return ""


def _case_subject(app: App, case_id: str) -> tuple[set[str], str]:
    """The accounts of a case's subject and its role hint (none without a case)."""
    if not case_id:
        return set(), ""
    with app.reading() as store:
        case = queries.case_row(store, case_id)
        ids = [a["alert_id"] for a in queries.case_alerts(store, case_id)]
        role = (case or {}).get("subject_role") or ""
        return set(queries.subject_accounts(store, ids)), role


def _api(app: App, segments: list[str], query: dict[str, str]) -> Response:
    node = query.get("id", "")
    case_id = query.get("case", "")
    if len(segments) == 3 and segments[0] == "case" and segments[2] == "network":
        with app.reading() as store:
            case = queries.case_row(store, segments[1])
            if case is None:
                return app.json({"error": "no such case"}, 404)
            ids = [a["alert_id"] for a in queries.case_alerts(store, segments[1])]
            own = queries.subject_accounts(store, ids)
            graph = case_graph(
                store, app.context, ids, accounts=own, role=case["subject_role"] or ""
            )
        return app.json(graph.cytoscape() | {"subject_accounts": own})
    if not node:
        return app.json({"error": "give ?id=<node>"}, 400)
    accounts, role = _case_subject(app, case_id)
    with app.reading() as store:
        if segments == ["node"]:
            return app.json(
                node_details(store, app.context, node, subject_accounts=accounts, role=role)
            )
        if segments == ["expand"]:
            return app.json(expand(store, app.context, node, subject_accounts=accounts).cytoscape())
        if segments == ["trail"]:
            forward = query.get("direction") != "backward"
            start = _since(query.get("from", ""))
            case = queries.case_row(store, case_id) if case_id and start is None else None
            if case is not None:  # within a case: from its start, or back from its end
                start = case["case_start"] if forward else case["case_end"]
            graph, steps = trail(
                store,
                app.context,
                node,
                forward=forward,
                start=start,
                subject_accounts=accounts,
            )
            return app.json(
                graph.cytoscape() | {"steps": steps, "min_amount": f"{MIN_TRAIL_AMOUNT:.2f}"}
            )
    return app.json({"error": "no such API"}, 404)


def _since(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InputError(f"from: {raw!r} is not an ISO date or time") from exc


def route(
    app: App,
    method: str,
    segments: list[str],
    query: dict[str, str],
    form: dict[str, Any],
    origin_ok: bool,
) -> Response:
    """Answer one request."""
    reading = method in ("GET", "HEAD")
    if reading and not segments:
        return _queue(app, query)
    if len(segments) >= 2 and segments[0] in ("case", "alert"):
        kind, subject_id, rest = segments[0], segments[1], segments[2:]
        if method == "POST" and rest == ["disposition"]:
            return _dispose(app, kind, subject_id, form, origin_ok)
        if reading and kind == "case":
            return _case(app, subject_id, rest, query)
        if reading and not rest:
            return _alert(app, subject_id, query)
    if reading and segments[:1] == ["api"]:
        return _api(app, segments[1:], query)
    if not reading:
        return app.page(405, "Not allowed", error_page("Not allowed", f"{method} is not allowed."))
    return _not_found(app, "No such page.")
