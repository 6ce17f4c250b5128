import json
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from graphs_testkit import at, postings

from graphs.export import EXPORTERS, cytoscape_json
from graphs.networks import Networks, grow_networks

EVIL = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def nets() -> Networks:
    feeds = [(f"v{i}", "H", 1000, at(i)) for i in range(4)]
    out = [("H", "X", 3000, at(30), {"counterparty_name": EVIL})]
    txns = postings(feeds + out, external=["X"])
    alerts = pl.DataFrame(
        {"rule_id": ["HT-P2P-01"] * 3, "entity": ["v0", "v1", "v2"], "pillar": ["e"] * 3}
    )
    return grow_networks(txns, alerts, hops=2)


def test_html_is_self_contained_and_escapes_names(nets: Networks, tmp_path: Path) -> None:
    path = tmp_path / "net.html"
    EXPORTERS["html"](nets, path)
    page = path.read_text(encoding="utf-8")
    assert page.count("<script") == 2  # the JSON data block and the page's own code
    assert "alert(" in page and EVIL not in page and "<img" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert "innerHTML" not in page
    data = page.split('id="data">', 1)[1].split("</script>", 1)[0]
    labels = {n["label"] for n in json.loads(data)["nodes"]}
    assert EVIL in labels  # the name survives as data, shown with textContent


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_xml_formats_parse_and_keep_the_name(nets: Networks, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"net.{fmt}"
    EXPORTERS[fmt](nets, path)
    text = path.read_text(encoding="utf-8")
    ET.fromstring(text)  # well-formed despite the name
    assert "<script>" not in text


def test_cytoscape_json(nets: Networks, tmp_path: Path) -> None:
    data = cytoscape_json(nets)
    assert len(data["elements"]["nodes"]) == nets.members.height
    assert len(data["elements"]["edges"]) == nets.edges.height
    EXPORTERS["cytoscape"](nets, tmp_path / "net.json")
    assert json.loads((tmp_path / "net.json").read_text())["elements"]


def test_png(nets: Networks, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "net.png"
    EXPORTERS["png"](nets, path, network_id=nets.networks.item(0, "network_id"))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
