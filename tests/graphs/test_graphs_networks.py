from decimal import Decimal

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


def test_a_busy_account_is_kept_but_neither_grown_through_nor_joining() -> None:
    # an employer paying fourteen people, two of them alerted for unrelated reasons
    staff = [("EMP", f"s{i}", 1500, at(i)) for i in range(14)]
    txns = postings([*staff, ("s0", "f0", 900, at(20)), ("s1", "f1", 900, at(21))])
    alerts = pl.DataFrame({"rule_id": ["R", "R"], "entity": ["s0", "s1"], "pillar": ["p", "p"]})

    nets = grow_networks(txns, alerts, hops=2, max_degree=12)

    groups = sorted(
        sorted(g) for g in nets.members.group_by("network_id").agg("account_id")["account_id"]
    )
    assert groups == [["EMP", "f0", "s0"], ["EMP", "f1", "s1"]]  # the other staff not reached
    joined = grow_networks(txns, alerts, hops=2, max_degree=14)
    assert joined.networks.height == 1 and joined.networks["n_members"].to_list() == [17]


def test_a_busy_seed_is_still_grown() -> None:
    clients = [(f"c{i}", "HUB", 600, at(i)) for i in range(15)]
    alerts = pl.DataFrame({"rule_id": ["R"], "entity": ["HUB"], "pillar": ["p"]})

    nets = grow_networks(postings(clients), alerts, hops=1, max_degree=5)

    assert nets.networks["n_members"].to_list() == [16]


def test_an_alert_on_a_device_seeds_the_accounts_it_cites_and_links_to_its_network() -> None:
    txns = postings([("v1", "X", 800, at(0)), ("v2", "X", 900, at(1))], external=["X"])
    alerts = pl.DataFrame(
        {
            "alert_id": ["d1", "q1"],
            "rule_id": ["HT-CONTROL-01", "R"],
            "entity": ["DEV-7", "NOWHERE"],
            "pillar": ["recruitment_transport", "p"],
        }
    )
    evidence = pl.DataFrame({"alert_id": ["d1", "d1"], "account_id": ["v1", "v2"]})

    nets = grow_networks(txns, alerts, hops=1, evidence=evidence)

    assert set(nets.members["account_id"]) == {"v1", "v2", "X"}
    assert nets.alerts.rows() == [(nets.networks["network_id"].item(), "d1")]
    seeds = nets.members.filter(pl.col("is_seed"))["account_id"].to_list()
    assert sorted(seeds) == ["v1", "v2"]


def test_small_transfers_add_up_to_a_followed_flow() -> None:
    # forty remittances of 15 to one facilitator: below the per-transfer floor of the
    # pattern rules, 600 in all, above the network's minimum flow
    txns = postings([("b1", "F", 15, at(i)) for i in range(40)], external=["F"])
    alerts = pl.DataFrame({"rule_id": ["R"], "entity": ["b1"], "pillar": ["p"]})

    nets = grow_networks(txns, alerts, hops=1, min_flow=500)

    assert set(nets.members["account_id"]) == {"b1", "F"}


def test_a_boundary_member_of_two_networks_is_counted_in_each_on_its_own() -> None:
    # G is its network's hub though H, in the other network, is more central; their shared
    # employer is a boundary member of both, with the flows of each
    ring_h = [(f"a{i}", "H", 1000, at(i)) for i in (1, 2, 3)]
    ring_h += [("H", "a4", 2500, at(4)), ("a4", "a5", 2000, at(5))]
    ring_g = [(f"b{i}", "G", 1000, at(i)) for i in (1, 2, 3)] + [("G", "b4", 2500, at(4))]
    staff = [("EMP", f"s{i}", 1500, at(-24)) for i in range(13)]
    payroll = [("EMP", "a1", 1500, at(-24)), ("EMP", "b1", 1600, at(-24)), *staff]
    alerts = pl.DataFrame({"rule_id": ["R", "R"], "entity": ["H", "G"], "pillar": ["p", "p"]})

    nets = grow_networks(postings([*ring_h, *ring_g, *payroll]), alerts, hops=2, max_degree=12)

    seed = pl.col("account_id").filter(pl.col("is_seed")).first().over("network_id")
    rows = {
        (r["seed"], r["account_id"]): r
        for r in nets.members.with_columns(seed.alias("seed")).iter_rows(named=True)
    }
    assert nets.networks.height == 2
    assert rows["H", "H"]["centrality"] > rows["G", "G"]["centrality"] > 0
    assert rows["H", "H"]["role"] == "hub" and rows["G", "G"]["role"] == "hub"
    assert rows["H", "EMP"]["out_flow"] == Decimal("1500")
    assert rows["G", "EMP"]["out_flow"] == Decimal("1600")
    assert rows["H", "EMP"]["n_out"] == rows["G", "EMP"]["n_out"] == 1
