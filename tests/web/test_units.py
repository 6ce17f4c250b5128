"""The workbench's small parts: escaping, dispositions, exports, the vendored library."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import networkx as nx
import pytest
from webkit import FORMULA, IMG, SCRIPT, Planted

from engine.dispositions import Disposition, rule_stats, set_disposition
from engine.errors import InputError, StoreError
from engine.store import open_store
from engine.web import export
from engine.web.casefile import load_case
from engine.web.context import load_context
from engine.web.markup import Markup, el, esc, url

REPORT_TAGS = frozenset(
    (
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "span",
        "section", "dl", "dt", "dd", "div", "article", "header", "strong", "ul", "li", "table",
        "caption", "thead", "tbody", "tr", "th", "td", "svg", "g", "rect", "line", "text",
    )
)  # fmt: skip
VENDOR = Path(__file__).resolve().parents[2] / "engine" / "web" / "static" / "vendor"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)


def tags(html: str) -> set[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def attributes(html: str) -> set[str]:
    parser = _Tags()
    parser.feed(html)
    return parser.attrs


def first_case(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return str(con.sql("SELECT case_id FROM cases ORDER BY score DESC").fetchall()[0][0])


# --- markup ----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [SCRIPT, IMG, "'\"<>&"])
def test_text_and_attributes_are_escaped(payload: str) -> None:
    html = el("td", payload, title=payload, data_x=payload)
    assert payload not in html
    assert html.count("<") == 2 and html.count(">") == 2
    assert esc(payload) == Markup(esc(payload))  # escaping twice is a no-op on Markup


def test_only_markup_made_here_passes_through() -> None:
    inner = el("b", "x")
    assert el("p", inner, "<i>") == "<p><b>x</b>&lt;i&gt;</p>"
    with pytest.raises(ValueError):
        el("p", onclick="alert(1)")
    with pytest.raises(ValueError):
        el("img src=x", "")
    assert url("case", "a/b?c") == "/case/a%2Fb%3Fc"
    assert url("", rule="HT-1", status="") == "/?rule=HT-1"


# --- dispositions ----------------------------------------------------------------------------


def test_set_disposition_upserts_and_keeps_the_history(planted: Planted) -> None:
    case_id = first_case(planted.db)
    set_disposition(planted.db, Disposition("case", case_id, "in_review", "ana", "first"))
    set_disposition(planted.db, Disposition("case", case_id, "closed_false_positive", "ana", "no"))

    with open_store(planted.db, read_only=True) as store:
        current = store.query("SELECT status, notes FROM dispositions").rows()
        history = store.query("SELECT status FROM disposition_history ORDER BY changed_at").rows()
        stats = rule_stats(store).row(0, named=True)
    assert current == [("closed_false_positive", "no")]
    assert history == [("in_review",), ("closed_false_positive",)]
    assert stats["closed_false_positive"] == stats["alerts"] and stats["precision"] == 0.0


@pytest.mark.parametrize(
    ("disposition", "message"),
    [
        (Disposition("case", "x", "done"), "status 'done'"),
        (Disposition("note", "x", "open"), "subject kind"),
        (Disposition("case", "no-such-case", "open"), "no case 'no-such-case'"),
        (Disposition("case", "x", "open", notes="n" * 20_001), "notes: longer"),
    ],
)
def test_bad_dispositions_are_refused_and_write_nothing(
    planted: Planted, disposition: Disposition, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        set_disposition(planted.db, disposition)
    with open_store(planted.db, read_only=True) as store:
        assert store.query("SELECT count(*) FROM disposition_history").item() == 0


def test_a_disposition_never_creates_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such alert store"):
        set_disposition(tmp_path / "none.duckdb", Disposition("case", "x", "open"))
    assert not (tmp_path / "none.duckdb").exists()


# --- exports ---------------------------------------------------------------------------------


def test_exports_of_a_planted_case(planted: Planted, tmp_path: Path) -> None:
    context = load_context((planted.transactions,), customers=planted.customers)
    with open_store(planted.db, read_only=True) as store:
        cf = load_case(store, context, first_case(planted.db))
    assert cf is not None

    report = export.report_html(cf, db="<db>")
    graphml = tmp_path / "n.graphml"
    graphml.write_text(export.graphml(cf.graph, case_id="c1"))
    graph = nx.read_graphml(graphml)
    cyjs = json.loads(export.cytoscape_json(cf.graph, case_id="c1"))
    csv = export.evidence_csv(cf.evidence)

    csp = f'<meta http-equiv="Content-Security-Policy" content="{esc(export.REPORT_CSP)}">'
    assert csp in report
    assert tags(report) <= REPORT_TAGS
    assert not any(a.startswith("on") for a in attributes(report))
    assert SCRIPT not in report and "&lt;script&gt;" in report and "&lt;db&gt;" in report
    assert set(graph.nodes) == set(cf.graph.nodes) and IMG in graph.nodes
    assert graph.is_directed() and graph.nodes["A1"]["is_seed"] is True
    assert graph.nodes["A1"]["rule_ids"] == "TS-WIRE-01"
    assert graph.edges["A1", "B2"]["amount_exact"] == "9400.00"
    assert {(e["data"]["source"], e["data"]["target"]) for e in cyjs["elements"]["edges"]} == set(
        cf.graph.edges
    )
    assert {n["data"]["id"] for n in cyjs["elements"]["nodes"]} == set(cf.graph.nodes)
    assert "'" + FORMULA.replace('"', '""') in csv
    assert export.safe_name('../"x"') == "_x_"


# --- the vendored library --------------------------------------------------------------------


def test_vendored_cytoscape_matches_its_recorded_hash() -> None:
    readme = (VENDOR / "README.md").read_text()
    recorded = re.search(r"`cytoscape\.min\.js` .*\| `([0-9a-f]{64})` \|", readme)
    assert recorded, "vendor/README.md records the sha256 of cytoscape.min.js"
    digest = hashlib.sha256((VENDOR / "cytoscape.min.js").read_bytes()).hexdigest()
    assert digest == recorded.group(1)
    assert (VENDOR / "cytoscape.LICENSE").read_text().startswith("Copyright (c)")


# --- stored networks (graphs/) ---------------------------------------------------------------


def test_a_stored_network_joins_the_case_graph(planted: Planted) -> None:
    with duckdb.connect(str(planted.db)) as con:
        con.execute("INSERT INTO networks (network_id, score) VALUES ('N1', 1.0)")
        # the columns both layouts of the network tables have
        con.execute(
            "INSERT INTO network_members (network_id, account_id, role, n_alerts) VALUES "
            "('N1', 'A1', 'hub', 1), ('N1', 'Z9', 'possible_victim', 0)"
        )
        con.execute(
            "INSERT INTO network_edges (network_id, source, target, amount, first_ts, last_ts) "
            "VALUES ('N1', 'Z9', 'A1', 2500, '2024-01-01 00:00:00+00', '2024-01-02 00:00:00+00')"
        )
    with open_store(planted.db, read_only=True) as store:
        cf = load_case(store, load_context(), first_case(planted.db))
    assert cf is not None
    assert ("Z9", "A1") in cf.graph.edges and cf.graph.edges[("Z9", "A1")]["amount"] == "2500.00"
    assert cf.graph.nodes["Z9"]["role"] == "possible_victim"
