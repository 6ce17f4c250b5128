"""A case's money network for the page: nodes, edges, one-hop expansion, money trails.

Money movements ("flows") come from what is known: the networks `graphs/` stored
(`network_edges`), every alert's evidence postings, and, when the scanned files were given
to `serve`, every posting. A posting without a counterparty account still flows somewhere:
to a named counterparty (`name:<name>`) or, for cash and the like, to a per-account channel
node (`via:cash:<account>`), so unrelated accounts never meet in a shared "cash" node.

The result is Cytoscape.js JSON (`{"elements": {"nodes": [...], "edges": [...]}}`); the
browser writes every value with `textContent`, never as HTML.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from engine.dispositions import STATUS_RANK, alert_status_sql
from engine.store import Store
from engine.web.context import Context

__all__ = ["MIN_TRAIL_AMOUNT", "Flow", "Graph", "case_graph", "expand", "node_details", "trail"]

MAX_CASE_NODES = 150
"""A case graph shows at most this many nodes of a stored network (more: expand)."""
MAX_EXPAND = 40
"""At most this many edges added by one expansion (the largest by amount)."""
MAX_TRAIL_HOPS = 6
MAX_TRAIL_FLOWS = 120
MAX_TRAIL_PER_NODE = 8
MIN_TRAIL_AMOUNT = Decimal(100)
"""A money trail follows flows of at least this much (base currency)."""


@dataclass(frozen=True, slots=True)
class Flow:
    """One movement of money from `source` to `target`."""

    source: str
    target: str
    ts: datetime
    amount: Decimal
    txn_id: str
    alerted: bool


@dataclass(slots=True)
class Graph:
    """Nodes (id -> attributes) and edges ((source, target) -> attributes)."""

    nodes: dict[str, dict[str, Any]]
    edges: dict[tuple[str, str], dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def cytoscape(self) -> dict[str, Any]:
        """Cytoscape.js JSON elements."""
        nodes = [{"data": {"id": k, **v}} for k, v in sorted(self.nodes.items())]
        edges = [
            {"data": {"id": f"{s}->{t}", "source": s, "target": t, **v}}
            for (s, t), v in sorted(self.edges.items())
        ]
        return {"elements": {"nodes": nodes, "edges": edges}}


def _kind(node: str) -> str:
    """account, counterparty (`name:...`) or channel (`via:<channel>:<account>`)."""
    if node.startswith("name:"):
        return "counterparty"
    if node.startswith("via:") and node.count(":") >= 2:
        return "channel"
    return "account"


def _posting_flows(frame: pl.DataFrame, alerted: set[str]) -> list[Flow]:
    """Postings (account_id, direction, counterparty ...) -> flows."""
    flows = []
    for row in frame.iter_rows(named=True):
        account = row["account_id"]
        other = (
            row["counterparty_account_id"]
            or (f"name:{row['counterparty_name']}" if row["counterparty_name"] else None)
            or f"via:{row['channel'] or 'unknown'}:{account}"
        )
        source, target = (account, other) if row["direction"] == "out" else (other, account)
        amount = row["amount_base"] if row["amount_base"] is not None else row["amount"]
        flows.append(
            Flow(
                str(source),
                str(target),
                row["ts_utc"],
                Decimal(amount or 0),
                str(row["txn_id"]),
                row["txn_id"] in alerted,
            )
        )
    return flows


_POSTING = (
    "txn_id, account_id, ts_utc, direction, amount, amount_base, channel, "
    "counterparty_account_id, counterparty_name"
)


def flows_touching(store: Store, context: Context, nodes: Iterable[str]) -> list[Flow]:
    """Every known flow into or out of these nodes, one per transaction."""
    ids = sorted(set(nodes))
    accounts = [n for n in ids if _kind(n) == "account"]
    names = [n.removeprefix("name:") for n in ids if _kind(n) == "counterparty"]
    channel_accounts = [n.split(":", 2)[2] for n in ids if _kind(n) == "channel"]
    evidence = store.query(
        f"SELECT DISTINCT {_POSTING} FROM alert_transactions "  # noqa: S608
        "WHERE account_id IN (SELECT unnest(?::VARCHAR[])) "
        "OR counterparty_account_id IN (SELECT unnest(?::VARCHAR[])) "
        "OR counterparty_name IN (SELECT unnest(?::VARCHAR[])) "
        "OR account_id IN (SELECT unnest(?::VARCHAR[]))",
        [accounts, accounts, names, channel_accounts],
    )
    parts = [evidence]
    if context.transactions is not None:
        t = context.transactions
        parts.append(
            t.filter(
                pl.col("account_id").is_in(accounts + channel_accounts)
                | pl.col("counterparty_account_id").is_in(accounts)
                | pl.col("counterparty_name").is_in(names)
            ).select(evidence.columns)
        )
    postings = pl.concat([p.cast(parts[-1].schema) for p in parts], how="vertical_relaxed").unique(
        "txn_id", keep="first"
    )
    alerted = store.query(
        "SELECT DISTINCT txn_id FROM alert_transactions "
        "WHERE txn_id IN (SELECT unnest(?::VARCHAR[]))",
        [postings["txn_id"].to_list()],
    )
    flagged = {str(v) for v in alerted["txn_id"]}
    wanted = set(ids)
    flows = [
        f for f in _posting_flows(postings, flagged) if f.source in wanted or f.target in wanted
    ]
    # transfers between two monitored accounts arrive as two postings: keep one flow
    seen: set[tuple[str, str, datetime, Decimal]] = set()
    unique = []
    for f in sorted(flows, key=lambda f: (f.ts, f.txn_id)):
        key = (f.source, f.target, f.ts, f.amount)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    stored = store.query(
        "SELECT source, target, amount, first_ts FROM network_edges "
        "WHERE source IN (SELECT unnest(?::VARCHAR[])) OR target IN (SELECT unnest(?::VARCHAR[]))",
        [ids, ids],
    )
    have = {(f.source, f.target) for f in unique}
    for s, t, amount, first in stored.iter_rows():
        if (s, t) not in have:
            unique.append(Flow(s, t, first, Decimal(str(amount or 0)), f"edge:{s}->{t}", False))
    return unique


def _aggregate(flows: Iterable[Flow]) -> dict[tuple[str, str], dict[str, Any]]:
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for f in flows:
        e = edges.setdefault(
            (f.source, f.target),
            {"total": Decimal(0), "n": 0, "first_ts": f.ts, "last_ts": f.ts, "alerted": False},
        )
        e["total"] += f.amount
        e["n"] += 1
        e["first_ts"] = min(e["first_ts"], f.ts)
        e["last_ts"] = max(e["last_ts"], f.ts)
        e["alerted"] = e["alerted"] or f.alerted
    for e in edges.values():
        total = e.pop("total")
        e["amount"] = f"{total:.2f}"
        # width by amount on a log scale: 100 -> 1, 10k -> 5, 1M -> 9
        e["width"] = round(min(12.0, max(1.0, 1 + 2 * math.log10(max(float(total), 1) / 100))), 2)
        e["first_ts"] = e["first_ts"].isoformat()
        e["last_ts"] = e["last_ts"].isoformat()
    return edges


def _describe_nodes(
    store: Store, context: Context, ids: set[str], *, subject_accounts: set[str], role: str
) -> dict[str, dict[str, Any]]:
    """Label, kind, role, customer, alerts and alert status of each node."""
    accounts = sorted(n for n in ids if _kind(n) == "account")
    rank = {s: r for s, r in STATUS_RANK.items()}
    alerts = store.query(
        f"WITH {alert_status_sql()} "  # noqa: S608
        "SELECT DISTINCT t.account_id, a.alert_id, a.rule_id, a.subject_role, a.customer_id, "
        "s.status "
        "FROM alert_transactions t JOIN alerts a USING (alert_id) "
        "JOIN alert_status s USING (alert_id) "
        "WHERE t.account_id IN (SELECT unnest(?::VARCHAR[])) "
        "UNION SELECT a.entity, a.alert_id, a.rule_id, a.subject_role, a.customer_id, s.status "
        "FROM alerts a JOIN alert_status s USING (alert_id) "
        "WHERE a.entity_type = 'account_id' AND a.entity IN (SELECT unnest(?::VARCHAR[]))",
        [accounts, accounts],
    )
    # every column, so both layouts of network_members (with customer_id, or with name) serve
    members = store.query(
        "SELECT * FROM network_members WHERE account_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY network_id",
        [accounts],
    )
    known: dict[str, dict[str, Any]] = {}
    for r in members.iter_rows(named=True):
        seen = known.setdefault(r["account_id"], {})
        for key in ("customer_id", "role", "name"):
            if r.get(key) is not None:
                seen.setdefault(key, r[key])
    if context.transactions is not None:
        owners = (
            context.transactions.filter(pl.col("account_id").is_in(accounts))
            .group_by("account_id")
            .agg(pl.col("customer_id").drop_nulls().first())
        )
        for acct, cust in owners.iter_rows():
            known.setdefault(acct, {}).setdefault("customer_id", cust)
    per_account: dict[str, list[dict[str, Any]]] = {}
    for r in alerts.iter_rows(named=True):
        per_account.setdefault(r["account_id"], []).append(r)
    nodes: dict[str, dict[str, Any]] = {}
    for node in ids:
        if _kind(node) == "counterparty":
            nodes[node] = {"label": node[5:], "kind": "counterparty", "role": "counterparty"}
            continue
        if _kind(node) == "channel":
            _, channel, account = node.split(":", 2)
            nodes[node] = {"label": channel, "kind": "channel", "role": "channel", "of": account}
            continue
        found = per_account.get(node, [])
        info = known.get(node, {})
        roles = [r["subject_role"] for r in found if r["subject_role"] not in (None, "unknown")]
        node_role = (
            role
            if node in subject_accounts
            else info.get("role") or (max(set(roles), key=roles.count) if roles else None)
        )
        statuses = {r["status"] for r in found}
        if not found:
            status = "none"
        elif statuses == {"closed_false_positive"}:
            status = "closed_false_positive"
        else:
            status = max(statuses - {"closed_false_positive"}, key=lambda s: rank.get(s, 0))
        customer = info.get("customer_id") or next(
            (r["customer_id"] for r in found if r["customer_id"]), None
        )
        nodes[node] = {
            "label": node,
            "name": info.get("name"),
            "kind": "account",
            "role": node_role or ("unknown" if found or customer else "external"),
            "customer_id": customer,
            "n_alerts": len({r["alert_id"] for r in found}),
            "rules": sorted({r["rule_id"] for r in found}),
            "alert_status": status,
            "subject": node in subject_accounts,
        }
    return nodes


def _graph(
    store: Store,
    context: Context,
    flows: list[Flow],
    *,
    subject_accounts: set[str],
    role: str,
    extra_nodes: Iterable[str] = (),
) -> Graph:
    edges = _aggregate(flows)
    ids = {n for pair in edges for n in pair} | set(extra_nodes)
    nodes = _describe_nodes(store, context, ids, subject_accounts=subject_accounts, role=role)
    return Graph(nodes, edges)


def case_graph(
    store: Store, context: Context, alert_ids: list[str], *, accounts: list[str], role: str
) -> Graph:
    """The case's network: its alerts' evidence flows, plus any stored network it belongs to."""
    evidence = store.query(
        f"SELECT DISTINCT {_POSTING} FROM alert_transactions "  # noqa: S608
        "WHERE alert_id IN (SELECT unnest(?::VARCHAR[]))",
        [alert_ids],
    )
    flows = _posting_flows(evidence, set(evidence["txn_id"].to_list()))
    networks = store.query(
        "SELECT network_id, count(*) AS members FROM network_members WHERE network_id IN "
        "(SELECT network_id FROM network_members WHERE account_id IN (SELECT unnest(?::VARCHAR[])))"
        " GROUP BY 1 ORDER BY 1",
        [accounts],
    )
    notes: list[str] = []
    if networks.height:
        stored = store.query(
            "SELECT source, target, amount, first_ts FROM network_edges "
            "WHERE network_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY amount DESC, source, target",
            [networks["network_id"].to_list()],
        )
        flows += _nearest(stored, flows, accounts)
        shown = {n for f in flows for n in (f.source, f.target)} | set(accounts)
        for network_id, members in networks.iter_rows():
            if members > len(shown):
                notes.append(
                    f"The subject belongs to network {network_id} of {members:,} accounts: "
                    f"showing the {len(shown):,} nearest (its flows with the subject first, then "
                    "the largest). Expand a node to see more."
                )
    graph = _graph(
        store, context, flows, subject_accounts=set(accounts), role=role, extra_nodes=accounts
    )
    graph.notes.extend(notes)
    return graph


def _nearest(stored: pl.DataFrame, flows: list[Flow], accounts: list[str]) -> list[Flow]:
    """A stored network's edges, the subject's own first, then the largest, within the cap."""
    have = {(f.source, f.target) for f in flows}
    nodes = {n for f in flows for n in (f.source, f.target)} | set(accounts)
    own = set(accounts)
    rows = list(stored.iter_rows())
    ordered = [r for r in rows if r[0] in own or r[1] in own]
    ordered += [r for r in rows if not (r[0] in own or r[1] in own)]
    added = []
    for s, t, amount, first in ordered:
        new = {s, t} - nodes
        if (s, t) in have or len(nodes) + len(new) > MAX_CASE_NODES:
            continue
        nodes |= new
        added.append(Flow(s, t, first, Decimal(str(amount or 0)), f"edge:{s}->{t}", False))
    return added


def expand(store: Store, context: Context, node: str, *, subject_accounts: set[str]) -> Graph:
    """One more hop around `node`: its largest known flows in and out."""
    flows = flows_touching(store, context, [node])
    edges = _aggregate(flows)
    keep = sorted(edges, key=lambda k: Decimal(edges[k]["amount"]), reverse=True)[:MAX_EXPAND]
    kept = set(keep)
    chosen = [f for f in flows if (f.source, f.target) in kept]
    return _graph(
        store, context, chosen, subject_accounts=subject_accounts, role="", extra_nodes=[node]
    )


def trail(
    store: Store,
    context: Context,
    node: str,
    *,
    forward: bool,
    start: datetime | None = None,
    min_amount: Decimal = MIN_TRAIL_AMOUNT,
    subject_accounts: set[str],
) -> tuple[Graph, list[dict[str, Any]]]:
    """Follow the money from `node` forward (or backward) in time, hop by hop.

    Forward: flows out of `node` from `start` on, then out of each account reached, each no
    earlier than the money arrived there (earliest arrival first). Backward mirrors it: flows
    into `node` up to `start`, then into each sender no later than it sent. Only flows of at
    least `min_amount`, to (from) the `MAX_TRAIL_PER_NODE` counterparties that received (sent)
    the most; named counterparties and cash end a trail (paying the same shop does not link
    two people's money). A step is one counterparty: its first time, count and total.

    Returns:
        The trail's graph and its steps in the order they were followed.
    """
    frontier: list[tuple[float, str, int]] = []
    edge = start.timestamp() if start else (-math.inf if forward else math.inf)
    best: dict[str, float] = {node: edge}
    heapq.heappush(frontier, (edge if forward else -edge, node, 0))
    steps: list[dict[str, Any]] = []
    used: list[Flow] = []
    taken: set[str] = set()
    while frontier and len(used) < MAX_TRAIL_FLOWS:
        key, current, hops = heapq.heappop(frontier)
        at = key if forward else -key
        if at != best.get(current) or hops >= MAX_TRAIL_HOPS:
            continue
        candidates = [
            f
            for f in flows_touching(store, context, [current])
            if f.amount >= min_amount
            and f.txn_id not in taken
            and (
                (f.source == current and f.ts.timestamp() >= at)
                if forward
                else (f.target == current and f.ts.timestamp() <= at)
            )
        ]
        groups: dict[str, list[Flow]] = {}
        for f in candidates:
            groups.setdefault(f.target if forward else f.source, []).append(f)
        ranked = sorted(groups.items(), key=lambda g: (-sum(f.amount for f in g[1]), g[0]))
        for other, flows in ranked[:MAX_TRAIL_PER_NODE]:
            flows.sort(key=lambda f: (f.ts, f.txn_id))
            first = flows[0] if forward else flows[-1]  # when money first arrives / last leaves
            taken.update(f.txn_id for f in flows)
            used.extend(flows)
            steps.append(
                {
                    "hop": hops + 1,
                    "source": first.source,
                    "target": first.target,
                    "ts": first.ts.isoformat(),
                    "n": len(flows),
                    "amount": f"{sum(f.amount for f in flows):.2f}",
                }
            )
            ts = first.ts.timestamp()
            improves = (
                ts < best.get(other, math.inf) if forward else ts > best.get(other, -math.inf)
            )
            if improves and _kind(other) == "account":
                best[other] = ts
                heapq.heappush(frontier, (ts if forward else -ts, other, hops + 1))
    graph = _graph(
        store, context, used, subject_accounts=subject_accounts, role="", extra_nodes=[node]
    )
    steps.sort(key=lambda s: (s["hop"], s["ts"]))
    return graph, steps


def node_details(
    store: Store, context: Context, node: str, *, subject_accounts: set[str], role: str
) -> dict[str, Any]:
    """What the side panel shows for a node: its flows in and out, alerts and customer."""
    flows = flows_touching(store, context, [node])
    inflow = sum((f.amount for f in flows if f.target == node), Decimal(0))
    outflow = sum((f.amount for f in flows if f.source == node), Decimal(0))
    alerts = store.query(
        f"WITH {alert_status_sql()} "  # noqa: S608
        "SELECT DISTINCT a.alert_id, a.rule_id, a.title, a.severity, a.subject_role, s.status "
        "FROM alerts a JOIN alert_status s USING (alert_id) "
        "LEFT JOIN alert_transactions t USING (alert_id) "
        "WHERE t.account_id = ? OR (a.entity_type = 'account_id' AND a.entity = ?) "
        "ORDER BY a.rule_id, a.alert_id",
        [node, node],
    )
    described = _describe_nodes(
        store, context, {node}, subject_accounts=subject_accounts, role=role
    )[node]
    cases = store.query(
        "SELECT DISTINCT ca.case_id FROM case_alerts ca "
        "WHERE ca.alert_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1",
        [alerts["alert_id"].to_list()],
    )
    return {
        "id": node,
        **described,
        "in_total": f"{inflow:.2f}",
        "out_total": f"{outflow:.2f}",
        "n_flows": len(flows),
        "first_ts": min((f.ts for f in flows), default=None),
        "last_ts": max((f.ts for f in flows), default=None),
        "alerts": alerts.to_dicts(),
        "cases": cases["case_id"].to_list(),
    }
