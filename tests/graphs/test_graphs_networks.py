import polars as pl
from graphs_testkit import at, postings

from graphs.networks import EDGE_SCHEMA, MEMBER_SCHEMA, NETWORK_SCHEMA, grow_networks, network_id


def ring() -> pl.DataFrame:
    feeds = [(f"v{i}", "H", 1000, at(i)) for i in range(4)]
    onward = [("H", "X", 3000, at(30)), ("X", "Y", 2900, at(40)), ("p1", "v0", 1200, at(-5))]
    far = [("Y", "Z", 2800, at(50)), ("Q", "R", 5000, at(1))]
    return postings(feeds + onward + far, external=["X"])


ALERTS = pl.DataFrame(
    {
        "rule_id": ["HT-P2P-01", "HT-P2P-01", "HT-P2P-01", "HT-XBORDER-01"],
        "entity": ["v0", "v1", "c-v2", "H"],
        "pillar": ["exploitation", "exploitation", "exploitation", "proceeds"],
    }
)


def test_network_grows_within_hops_and_has_the_store_schemas() -> None:
    nets = grow_networks(ring(), ALERTS, hops=2)
    assert nets.networks.schema == pl.Schema(NETWORK_SCHEMA)
    assert nets.members.schema == pl.Schema(MEMBER_SCHEMA)
    assert nets.edges.schema == pl.Schema(EDGE_SCHEMA)
    assert nets.networks.height == 1
    members = set(nets.members.get_column("account_id"))
    assert members == {"H", "X", "Y", "p1", "v0", "v1", "v2", "v3"}  # Z is 3 hops, Q-R unlinked
    row = nets.networks.row(0, named=True)
    assert row["network_id"] == network_id(sorted(members))
    assert row["pillars"] == ["exploitation", "proceeds"]
    assert row["n_alerts"] == 4


def test_roles() -> None:
    roles = dict(grow_networks(ring(), ALERTS, hops=2).members.select("account_id", "role").rows())
    assert roles["H"] == "hub"
    assert roles["X"] == "external"
    assert roles["v1"] == "possible_victim"


def test_overlapping_neighbourhoods_join_and_disjoint_ones_do_not() -> None:
    txns = postings([("a", "m", 900, at(0)), ("b", "m", 900, at(1)), ("c", "d", 900, at(2))])
    alerts = pl.DataFrame({"rule_id": ["R"] * 3, "entity": ["a", "b", "c"], "pillar": ["p"] * 3})
    nets = grow_networks(txns, alerts, hops=1)
    groups = sorted(
        sorted(g) for g in nets.members.group_by("network_id").agg("account_id")["account_id"]
    )
    assert groups == [["a", "b", "m"], ["c", "d"]]


def test_ids_are_stable_and_flows_below_the_minimum_are_not_followed() -> None:
    first = grow_networks(ring(), ALERTS, hops=2)
    again = grow_networks(ring().sample(fraction=1.0, shuffle=True, seed=3), ALERTS, hops=2)
    assert (
        first.networks.get_column("network_id").to_list()
        == again.networks.get_column("network_id").to_list()
    )
    small = grow_networks(ring(), ALERTS, hops=2, min_flow=2000)
    assert "v0" not in set(small.members.get_column("account_id"))


def test_no_alerts_no_networks() -> None:
    empty = grow_networks(ring(), ALERTS.head(0))
    assert empty.networks.is_empty() and empty.networks.schema == pl.Schema(NETWORK_SCHEMA)
