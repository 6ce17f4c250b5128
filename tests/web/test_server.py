"""The workbench server without a browser: pages, JSON, dispositions, safety defaults."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import duckdb
from webkit import PAYLOADS, SCRIPT, Planted, holding, request, running, scan

from engine.cli_web import serve
from engine.web import make_server
from engine.web.context import load_context
from engine.web.server import CSP


def top_case(db: Path, kind: str = "customer") -> tuple[str, str]:
    """The highest-scoring case whose subject is of `kind` (a customer, or a network)."""
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.sql(
            "SELECT case_id, subject FROM cases WHERE subject_type = ? "
            "ORDER BY score DESC, case_id LIMIT 1",
            params=[kind],
        )
        case_id, subject = row.fetchall()[0]
    return str(case_id), str(subject)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def case_links(html: str) -> list[str]:
    return re.findall(r'href="/case/([^"#?]+)" class="case-link"', html)


def save(server: object, case_id: str, token: str, **fields: str) -> int:
    form = {"token": token, "status": "in_review", "assignee": "", "notes": ""} | fields
    return request(server, f"/case/{case_id}/disposition", method="POST", form=form).status  # type: ignore[arg-type]


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, "the disposition form carries a token"
    return found.group(1)


# --- the queue -----------------------------------------------------------------------------


def test_queue_lists_cases_by_score_with_counts(sample_store: Path) -> None:
    with duckdb.connect(str(sample_store), read_only=True) as con:
        expected = [
            r[0]
            for r in con.sql("SELECT case_id FROM cases ORDER BY score DESC, case_id").fetchall()
        ]
        rules = [
            r[0]
            for r in con.sql(
                "SELECT DISTINCT rule_id FROM case_alerts JOIN alerts USING (alert_id)"
            ).fetchall()
        ]
    with running(sample_store) as server:
        page = request(server, "/")

    assert page.status == 200
    assert case_links(page.text) == expected[:100]
    assert "cases per rule" in page.text and "cases per status" in page.text
    for rule in rules:
        assert f">{rule}</a>" in page.text


def test_queue_filters_by_rule_status_and_date(sample_store: Path) -> None:
    with duckdb.connect(str(sample_store), read_only=True) as con:
        rule = con.sql("SELECT rule_id FROM alerts ORDER BY rule_id LIMIT 1").fetchall()[0][0]
        with_rule = {
            r[0]
            for r in con.sql(
                "SELECT DISTINCT case_id FROM case_alerts JOIN alerts USING (alert_id) WHERE rule_id = ?",
                params=[rule],
            ).fetchall()
        }
    with running(sample_store) as server:
        by_rule = request(server, f"/?rule={rule}")
        closed = request(server, "/?status=closed_reported")
        bad_date = request(server, "/?since=yesterday")
        future = request(server, "/?since=2999-01-01")
        alerts = request(server, f"/?view=alerts&rule={rule}")

    assert set(case_links(by_rule.text)) == with_rule
    assert case_links(closed.text) == []
    assert "is not a date" in bad_date.text and case_links(bad_date.text)
    assert case_links(future.text) == []
    assert alerts.status == 200 and f">{rule}</a>" in alerts.text
    assert "alerts per rule" in alerts.text


# --- the case --------------------------------------------------------------------------------


def test_case_page_shows_alerts_measures_sources_timeline_evidence(sample_store: Path) -> None:
    case_id, subject = top_case(sample_store)
    with duckdb.connect(str(sample_store), read_only=True) as con:
        alerts = con.sql(
            "SELECT a.rule_id, a.alert_id, a.references FROM case_alerts JOIN alerts a USING (alert_id) WHERE case_id = ?",
            params=[case_id],
        ).fetchall()
        n_txns = con.sql(
            "SELECT count(DISTINCT txn_id) FROM alert_transactions WHERE alert_id IN "
            "(SELECT alert_id FROM case_alerts WHERE case_id = ?)",
            params=[case_id],
        ).fetchall()[0][0]
    with running(sample_store) as server:
        page = request(server, f"/case/{case_id}")

    assert page.status == 200
    html = page.text
    assert subject in html
    for rule_id, alert_id, refs in alerts:
        assert f'id="alert-{alert_id}"' in html
        assert rule_id in html
        for ref in json.loads(refs):
            assert f"<strong>{ref}</strong>" in html
    assert "<caption>measured</caption>" in html and "<caption>thresholds</caption>" in html
    assert "role hint:" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="episode"' in html
    assert f"Evidence transactions ({n_txns})" in html
    assert "--customers FILE" in html  # no KYC file given: the page says how to get it


def test_case_page_with_the_scanned_files_shows_kyc_and_full_history(sample_store: Path) -> None:
    case_id, subject = top_case(sample_store)
    from webkit import SAMPLE

    context = load_context(customers=SAMPLE / "customers.parquet")
    with running(sample_store, context) as server:
        html = request(server, f"/case/{case_id}").text

    assert re.search(r"<dt>customer id</dt><dd>" + re.escape(subject) + "</dd>", html)
    assert "<dt>full name</dt>" in html


def test_a_network_case_page_shows_every_members_alerts_and_no_kyc(sample_store: Path) -> None:
    case_id, subject = top_case(sample_store, "network")
    with duckdb.connect(str(sample_store), read_only=True) as con:
        members = con.sql(
            "SELECT DISTINCT coalesce(a.customer_id, a.entity) FROM case_alerts "
            "JOIN alerts a USING (alert_id) WHERE case_id = ?",
            params=[case_id],
        ).fetchall()
    from webkit import SAMPLE

    context = load_context(customers=SAMPLE / "customers.parquet")
    with running(sample_store, context) as server:
        html = request(server, f"/case/{case_id}").text

    assert subject.startswith("net-") and subject in html
    assert len(members) >= 2
    assert "The subject is a network" in html
    assert "alerted customers or entities in one money-flow network" in html


def test_evidence_sorts_by_a_whitelisted_column_only(sample_store: Path) -> None:
    case_id, _ = top_case(sample_store)
    with running(sample_store) as server:
        desc = request(server, f"/case/{case_id}?sort=amount_base&dir=desc").text
        hostile = request(server, f"/case/{case_id}?sort=1;DROP%20TABLE%20alerts").status

    amounts = re.findall(r'<td class="num" title="[^"]*">([\d,.]+)</td>', desc)
    values = [float(a.replace(",", "")) for a in amounts]
    assert values and values == sorted(values, reverse=True)
    assert hostile == 200  # unknown sort columns fall back to time


def test_unknown_case_is_a_404_page(sample_store: Path) -> None:
    with running(sample_store) as server:
        page = request(server, "/case/nope")
    assert page.status == 404 and "No case" in page.text


# --- the network JSON ------------------------------------------------------------------------


def test_network_json_expand_and_trail(sample_store: Path, sample_context: object) -> None:
    case_id, _ = top_case(sample_store)
    with running(sample_store, sample_context) as server:  # type: ignore[arg-type]
        reply = request(server, f"/api/case/{case_id}/network")
        graph = json.loads(reply.body)
        nodes = {n["data"]["id"]: n["data"] for n in graph["elements"]["nodes"]}
        subject = next(i for i, d in nodes.items() if d.get("subject"))
        expanded = json.loads(request(server, f"/api/expand?id={subject}&case={case_id}").body)
        forward = json.loads(
            request(server, f"/api/trail?id={subject}&case={case_id}&direction=forward").body
        )
        backward = json.loads(
            request(server, f"/api/trail?id={subject}&case={case_id}&direction=backward").body
        )
        details = json.loads(request(server, f"/api/node?id={subject}&case={case_id}").body)

    assert reply.headers["content-type"] == "application/json"
    assert graph["subject_accounts"] and subject in graph["subject_accounts"]
    for edge in graph["elements"]["edges"]:
        assert edge["data"]["source"] in nodes and edge["data"]["target"] in nodes
        assert edge["data"]["width"] >= 1
    assert nodes[subject]["alert_status"] == "open"
    grown = {n["data"]["id"] for n in expanded["elements"]["nodes"]}
    assert subject in grown and len(grown) > 1
    assert forward["steps"] and forward["steps"][0]["source"] == subject
    assert backward["steps"] and backward["steps"][0]["target"] == subject
    arrival: dict[str, str] = {}
    for step in forward["steps"]:  # a later hop never leaves before the money arrived
        if step["hop"] > 1:
            assert step["ts"] >= arrival[step["source"]]
        arrival[step["target"]] = min(arrival.get(step["target"], step["ts"]), step["ts"])
    assert details["alerts"] and case_id in details["cases"]


# --- dispositions ----------------------------------------------------------------------------


def test_disposition_round_trip_with_history_and_rule_stats(sample_copy: Path) -> None:
    case_id, _ = top_case(sample_copy)
    with running(sample_copy) as server:
        token = token_of(request(server, f"/case/{case_id}").text)
        first = request(
            server,
            f"/case/{case_id}/disposition",
            method="POST",
            form={"token": token, "status": "in_review", "assignee": "ana", "notes": "look"},
        )
        save(server, case_id, token, status="closed_reported", assignee="ana", notes="SAR filed")
        page = request(server, f"/case/{case_id}").text
        queue = request(server, "/?status=closed_reported&assignee=ana").text

    assert (
        first.status == 303 and first.headers["location"] == f"/case/{case_id}?saved=1#disposition"
    )
    assert '<option value="closed_reported" selected>' in page
    assert "SAR filed" in page and page.count('class="badge status-in_review"') >= 1
    assert case_links(queue) == [case_id]
    with duckdb.connect(str(sample_copy), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM disposition_history").fetchall()[0][0] == 2
        rules = {
            r[0]
            for r in con.sql(
                "SELECT rule_id FROM case_alerts JOIN alerts USING (alert_id) WHERE case_id = ?",
                params=[case_id],
            ).fetchall()
        }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "rules",
            "stats",
            "--db",
            str(sample_copy),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    stats = {r["rule_id"]: r for r in json.loads(done.stdout)}
    for rule in rules:
        assert stats[rule]["closed_reported"] >= 1 and stats[rule]["precision"] == 1.0


def test_disposition_without_the_page_token_or_from_another_site_is_refused(
    sample_copy: Path,
) -> None:
    case_id, _ = top_case(sample_copy)
    before = digest(sample_copy)
    with running(sample_copy) as server:
        token = token_of(request(server, f"/case/{case_id}").text)
        no_token = save(server, case_id, "forged")
        cross = request(
            server,
            f"/case/{case_id}/disposition",
            method="POST",
            form={"token": token, "status": "closed_false_positive"},
            headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        ).status
        bad_status = save(server, case_id, token, status="deleted")

    assert (no_token, cross, bad_status) == (403, 403, 400)
    assert digest(sample_copy) == before


def test_a_rescan_keeps_dispositions(planted: Planted) -> None:
    case_id, _ = top_case(planted.db)
    with running(planted.db) as server:
        token = token_of(request(server, f"/case/{case_id}").text)
        assert save(server, case_id, token, status="escalated", assignee="bo", notes="n") == 303

    scan([planted.transactions], planted.db, rules=(planted.rules,))

    with duckdb.connect(str(planted.db), read_only=True) as con:
        kept = con.sql("SELECT status, assignee, notes FROM dispositions").fetchall()
        runs = con.sql("SELECT count(*) FROM runs").fetchall()[0][0]
    assert runs == 2 and kept == [("escalated", "bo", "n")]


def test_alert_disposition_overrides_its_case(planted: Planted) -> None:
    with duckdb.connect(str(planted.db), read_only=True) as con:
        alert_id = con.sql("SELECT alert_id FROM alerts").fetchall()[0][0]
    with running(planted.db) as server:
        token = token_of(request(server, f"/alert/{alert_id}").text)
        reply = request(
            server,
            f"/alert/{alert_id}/disposition",
            method="POST",
            form={"token": token, "status": "closed_false_positive", "assignee": "cy"},
        )
        queue = request(server, "/?view=alerts&status=closed_false_positive").text

    assert reply.status == 303
    assert alert_id in queue


# --- escaping --------------------------------------------------------------------------------


def test_planted_payloads_are_escaped_everywhere(planted: Planted) -> None:
    case_id, _ = top_case(planted.db)
    context = load_context((planted.transactions,), customers=planted.customers)
    with duckdb.connect(str(planted.db), read_only=True) as con:
        alert_id = con.sql("SELECT alert_id FROM alerts").fetchall()[0][0]
    with running(planted.db, context) as server:
        pages = {
            "queue": request(server, "/").text,
            "alerts": request(server, "/?view=alerts").text,
            "case": request(server, f"/case/{case_id}").text,
            "alert": request(server, f"/alert/{alert_id}").text,
            "report": request(server, f"/case/{case_id}/report.html").text,
            "hostile query": request(server, "/?rule=" + quote(SCRIPT)).text,
            "404": request(server, "/case/%3Cscript%3Ealert(1)%3C%2Fscript%3E").text,
        }
        network = request(server, f"/api/case/{case_id}/network")

    for name, html in pages.items():
        for payload in PAYLOADS:
            assert payload not in html, f"{name} page carries a raw payload"
        assert "<script>" not in html.lower(), name
        assert "onerror=" not in html.replace("onerror=&quot;", ""), name
        assert "<img" not in html and "<svg onload" not in html, name
    assert "&lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt;" in pages["case"]
    assert "&quot;&gt;&lt;img src=x onerror=&quot;" in pages["case"]
    assert "&lt;script&gt;" in pages["case"].split('id="kyc"')[1]  # the KYC name, as text
    assert network.headers["content-type"] == "application/json"
    assert network.headers["x-content-type-options"] == "nosniff"
    assert json.loads(network.body)  # payloads travel as JSON strings; the page uses textContent


def test_evidence_csv_defuses_spreadsheet_formulas(planted: Planted) -> None:
    case_id, _ = top_case(planted.db)
    with running(planted.db) as server:
        reply = request(server, f"/case/{case_id}/evidence.csv")
    assert reply.headers["content-disposition"].startswith("attachment;")
    assert "'=HYPERLINK" in reply.text and ",=HYPERLINK" not in reply.text


# --- safe defaults ---------------------------------------------------------------------------


def test_binds_to_loopback_by_default() -> None:
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(make_server).parameters["host"].default == "127.0.0.1"
    server = make_server(Path("missing.duckdb"), port=0, quiet=True)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_requests_naming_another_host_are_refused(sample_store: Path) -> None:
    with running(sample_store) as server:
        rebound = request(server, "/", headers={"Host": "attacker.example:8765"})
        local = request(server, "/", headers={"Host": "localhost:8765"})
    assert rebound.status == 421 and local.status == 200


def test_every_page_carries_the_strict_csp_and_no_inline_script(sample_store: Path) -> None:
    case_id, _ = top_case(sample_store)
    with running(sample_store) as server:
        replies = [request(server, p) for p in ("/", f"/case/{case_id}", "/nope")]

    for reply in replies:
        assert reply.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert reply.headers["x-frame-options"] == "DENY"
        for tag in re.findall(r"<script[^>]*>", reply.text):
            assert re.fullmatch(r'<script src="/static/[\w./-]+\.js" defer>', tag), tag
        assert " style=" not in reply.text and "<style" not in reply.text


def test_reads_never_write_and_never_hold_the_store(sample_copy: Path) -> None:
    case_id, _ = top_case(sample_copy)
    before = digest(sample_copy)
    with running(sample_copy) as server:
        for path in ("/", "/?view=alerts", f"/case/{case_id}", f"/api/case/{case_id}/network"):
            assert request(server, path).status == 200
        # between requests the store is free: a scan could take it
        with duckdb.connect(str(sample_copy)) as con:
            con.sql("SELECT 1").fetchall()
    assert digest(sample_copy) == before
    assert not sample_copy.with_suffix(".duckdb.wal").exists()


def test_a_missing_store_gets_a_clear_page_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "<b>alerts</b>.duckdb"
    with running(db) as server:
        page = request(server, "/")
        post = request(server, "/case/x/disposition", method="POST", form={"token": "t"})
    assert page.status == 503
    assert "No alert store to show" in page.text and "moneytrail scan" in page.text
    assert "&lt;b&gt;alerts&lt;/b&gt;" in page.text and "<b>alerts" not in page.text
    assert post.status in (403, 503)
    assert not db.exists()


def test_a_store_held_by_a_scan_gets_a_busy_page(sample_copy: Path) -> None:
    case_id, _ = top_case(sample_copy)
    with holding(sample_copy), running(sample_copy) as server:
        page = request(server, "/")
        api = request(server, f"/api/case/{case_id}/network")

    assert page.status == 503 and page.headers["retry-after"] == "5"
    assert "The alert store is busy" in page.text
    assert api.status == 503


def test_a_busy_store_refuses_a_disposition_and_keeps_nothing(sample_copy: Path) -> None:
    case_id, _ = top_case(sample_copy)
    with running(sample_copy) as server:
        token = token_of(request(server, f"/case/{case_id}").text)
        with holding(sample_copy):
            busy = save(server, case_id, token, status="escalated")
        later = save(server, case_id, token, status="escalated")

    assert (busy, later) == (503, 303)


def test_static_files_cannot_escape_their_folder(sample_store: Path) -> None:
    with running(sample_store) as server:
        assert request(server, "/static/network.js").status == 200
        assert request(server, "/static/../server.py").status == 404
        assert request(server, "/static/%2e%2e/server.py").status == 404
