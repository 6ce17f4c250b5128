"""The workbench in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Skipped, with the reason printed, when /usr/bin/chromium or the `playwright` package is
absent; the server tests (test_server.py) still run. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from webkit import ARTIFACTS, Planted, request, running

from engine.web import Context, load_context

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _skip(reason: str) -> None:
    print(f"\nbrowser tests skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, or a skip saying why there is none."""
    if not CHROMIUM.exists():
        _skip(f"{CHROMIUM} not found (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records script errors, dialogs and CSP violations."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda e: tab.problems.append(f"script error: {e}"))
    tab.on("dialog", lambda d: (tab.problems.append(f"dialog: {d.message}"), d.dismiss()))
    tab.on(
        "console",
        lambda m: (
            tab.problems.append(f"console: {m.text}")
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    try:
        yield tab
    finally:
        context.close()


def shot(page: Any, name: str, *, element: str = "") -> None:
    """A screenshot in test-artifacts/: the page (its top 4,000 px), or one element of it."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = str(ARTIFACTS / f"{name}.png")
    if element:
        page.locator(element).screenshot(path=path)
    else:
        # the page's top 4,000 px: a network case's long alert list would make a full-page
        # shot of tens of thousands of pixels, slow to take on a loaded machine
        height = min(int(page.evaluate("document.documentElement.scrollHeight")), 4_000)
        clip = {"x": 0, "y": 0, "width": 1400, "height": height}
        page.screenshot(path=path, full_page=True, clip=clip)


def wait_for(page: Any, selector: str, timeout: int = 60_000) -> None:
    """Wait for a selector; on timeout, say what the network view showed."""
    try:
        page.wait_for_selector(selector, state="attached", timeout=timeout)
    except Exception as exc:
        state = page.get_attribute("#cy", "data-state")
        panel = page.locator("#node-details").inner_text()
        raise AssertionError(f"{selector}: network state {state!r}; panel: {panel}") from exc


def click_node(page: Any, node_id: str, attempts: int = 5) -> None:
    """A real mouse click on a node where Cytoscape drew it, until its details show.

    The view is zoomed in on the node and its position read just before the click; a layout
    or viewport still settling can move the node in between, so a click that missed (the
    panel still says "Select a node", or shows another node) is made again at its new place.
    """
    for _ in range(attempts):
        page.locator("#cy").scroll_into_view_if_needed()
        pos = page.evaluate(
            "id => { const cy = window.moneytrailNetwork, n = cy.getElementById(id);"
            " cy.zoom(Math.max(cy.zoom(), 2)); cy.center(n); return n.renderedPosition(); }",
            node_id,
        )
        box = page.locator("#cy").bounding_box()
        page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
        try:
            page.wait_for_selector("#node-details dl", state="attached", timeout=3_000)
        except Exception:
            page.wait_for_timeout(500)
            continue
        if node_id in page.locator("#node-details").inner_text():
            return
        page.wait_for_timeout(500)


def test_investigator_works_the_top_case(
    page: Any, sample_store: Path, sample_context: Context, tmp_path: Path
) -> None:
    db = tmp_path / "alerts.duckdb"
    shutil.copy(sample_store, db)
    with running(db, sample_context) as server:
        base = server.url.rstrip("/")
        # the queue
        page.goto(base + "/")
        rows = page.locator("table.queue tbody tr")
        assert rows.count() > 0
        shot(page, "01-queue")
        # the top case
        top = page.locator("a.case-link").first
        subject = top.inner_text()
        top.click()
        wait_for(page, "#cy[data-state=ready]")
        assert subject in page.locator("h1").inner_text()
        assert page.locator("article.alert").count() > 0
        assert page.locator("svg.timeline").count() == 1
        # its network
        nodes = int(page.get_attribute("#cy", "data-nodes"))
        assert nodes >= 2
        page.locator("#network").scroll_into_view_if_needed()
        shot(page, "02-case")
        shot(page, "02-network", element="#network")
        # the subject node that stands clearest of the others, so the click cannot land on a
        # neighbour drawn over it (a network case has many subject nodes)
        subject_node = page.evaluate(
            """() => {
              const cy = window.moneytrailNetwork, all = cy.nodes();
              const gap = n => Math.min(...all.filter(o => o !== n).map(o => Math.hypot(
                o.position('x') - n.position('x'), o.position('y') - n.position('y'))));
              return cy.nodes('[?subject]').sort((a, b) => gap(b) - gap(a))[0].id();
            }"""
        )
        click_node(page, subject_node)
        wait_for(page, "#node-details dl")
        assert subject_node in page.locator("#node-details").inner_text()
        # one more hop
        page.click("#expand")
        wait_for(page, f'#cy[data-expanded="{subject_node}"]')
        assert int(page.get_attribute("#cy", "data-nodes")) > nodes
        shot(page, "03-expanded", element="#network")
        # the money trail forward in time
        click_node(page, subject_node)
        page.click("#trail-forward")
        wait_for(page, "#cy[data-trail]")
        assert int(page.get_attribute("#cy", "data-trail")) > 0
        shot(page, "04-trail-forward", element="#network")
        # a disposition, kept across a reload
        page.select_option("#disposition-status", "escalated")
        page.fill("#disposition-assignee", "ana")
        page.fill("#disposition-notes", "two pillars; network to check")
        page.click("#disposition-save")
        page.wait_for_selector(".notice.saved")
        page.reload()
        assert page.locator("#disposition-status").input_value() == "escalated"
        assert page.locator("#disposition-assignee").input_value() == "ana"
        assert "two pillars; network to check" in page.locator("table.history").inner_text()
        page.locator("#disposition").scroll_into_view_if_needed()
        shot(page, "05-disposition-kept", element="#disposition")
        # and the queue shows it
        page.goto(base + "/?status=escalated")
        assert subject in page.locator("table.queue").inner_text()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT status FROM dispositions").fetchall() == [("escalated",)]
    assert page.problems == []


def test_planted_payloads_never_run_in_the_page_or_the_export(
    page: Any, planted: Planted, tmp_path: Path
) -> None:
    context = load_context((planted.transactions,), customers=planted.customers)
    with duckdb.connect(str(planted.db), read_only=True) as con:
        case_id = con.sql("SELECT case_id FROM cases").fetchall()[0][0]
        alert_id = con.sql("SELECT alert_id FROM alerts").fetchall()[0][0]
    with running(planted.db, context) as server:
        base = server.url.rstrip("/")
        for path in ("/", "/?view=alerts", f"/alert/{alert_id}"):
            page.goto(base + path)
        page.goto(f"{base}/case/{case_id}")
        wait_for(page, "#cy[data-state=ready]")
        for node_id in page.evaluate("window.moneytrailNetwork.nodes().map(n => n.id())"):
            click_node(page, node_id)
            wait_for(page, "#node-details dl")
        page.click("#expand")
        wait_for(page, "#cy[data-expanded]")
        shot(page, "06-planted-case")
        evidence = page.locator("table.evidence").inner_text()
        kyc = page.locator("#kyc").inner_text()
        hostile_elements = page.evaluate(
            "document.querySelectorAll('img, svg[onload], [onerror], script:not([src])').length"
        )
        pwned = page.evaluate("typeof window.__pwned")
        report = request(server, f"/case/{case_id}/report.html").text
    assert pwned == "undefined"
    assert hostile_elements == 0
    assert "<script>window.__pwned=1;alert(1)</script>" in evidence  # shown as text
    assert '"><img src=x onerror=' in kyc
    # the exported report, opened from disk as an investigator would
    exported = tmp_path / "report.html"
    exported.write_text(report, encoding="utf-8")
    assert not re.search(r"<script", report, re.IGNORECASE)
    page.goto(exported.as_uri())
    shot(page, "07-planted-report")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('img, [onerror], script').length") == 0
    assert (
        "<script>window.__pwned=1;alert(1)</script>" in page.locator("table.evidence").inner_text()
    )
    assert page.problems == []
