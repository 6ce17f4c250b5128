"""S8: the generic laundering shapes of AMLworld, AMLSim and SAML-D, one case per shape.

Each shape touches as few of our customers as it can while staying visible: a hop between two
external accounts is invisible to a bank, so external nodes sit between our accounts.
"""

from __future__ import annotations

import numpy as np

from sample_data.kit import flow
from sample_data.plant import Planter
from sample_data.world import FIRST_NAMES, SURNAMES

__all__ = ["NETWORK_SHAPES"]

_POOL = ("salaried_monthly", "salaried_fortnightly", "low_income", "gig_driver", "student")


def _people(p: Planter, n: int, country: str = "US") -> np.ndarray:
    r = p.rng
    return p.party(
        [
            f"{FIRST_NAMES[int(i)]} {SURNAMES[int(j)]}"
            for i, j in zip(
                r.integers(0, len(FIRST_NAMES), n), r.integers(0, len(SURNAMES), n), strict=True
            )
        ],
        "individual",
        country,
    )


def _t0(p: Planter) -> int:
    return int(p.rng.integers(p.w.days // 3, p.w.days - 12))


def fan_in(p: Planter) -> None:
    """5-16 new senders converge on one mule within 1-3 days, similar amounts."""
    r, m = p.rng, int(p.take(_POOL, 1)[0])
    k, t0, base = int(r.integers(5, 17)), _t0(p), r.uniform(1_500, 4_000)
    flow(
        p,
        m,
        t0 + r.integers(0, 3, k),
        r.uniform(8, 20, k),
        base * r.uniform(0.9, 1.1, k),
        out=False,
        chan="wire",
        ext=_people(p, k),
    )
    p.truth(m, "mule", ("ML-FANIN-01",))


def fan_out(p: Planter) -> None:
    """A one-off burst to 5-16 new receivers in 72 hours, round amounts."""
    r, m = p.rng, int(p.take(_POOL, 1)[0])
    k, t0 = int(r.integers(5, 17)), _t0(p)
    flow(p, m, np.array([t0 - 1]), 10.0, k * 2_000.0, out=False, chan="wire", ext=_people(p, 1))
    flow(
        p,
        m,
        t0 + r.integers(0, 3, k),
        r.uniform(8, 20, k),
        r.choice([1_500, 2_000], k),
        out=True,
        chan="p2p",
        ext=_people(p, k),
        dev=m * 10,
    )
    p.truth(m, "mule", ("ML-FANOUT-01",))


def cycle(p: Planter) -> None:
    """A loop of 3-4 hops through two of our accounts, 5-10 % shaved at each hop."""
    r = p.rng
    a, b = p.take(_POOL, 2).tolist()
    hops = int(r.integers(3, 5))
    x = _people(p, hops - 2)
    amount, day = r.uniform(8_000, 20_000), _t0(p) - 8
    path = [
        ("a", -1),
        *[("x", int(e)) for e in x[: (hops - 2) // 2]],
        ("b", -1),
        *[("x", int(e)) for e in x[(hops - 2) // 2 :]],
    ]
    for i in range(hops):
        src, dst = path[i], path[(i + 1) % hops]
        d = np.array([day])
        if src[0] in "ab":
            flow(
                p,
                a if src[0] == "a" else b,
                d,
                12.0,
                amount,
                out=True,
                chan="wire",
                ext=dst[1] if dst[0] == "x" else -1,
                cp=-1 if dst[0] == "x" else (a if dst[0] == "a" else b),
            )
        elif dst[0] in "ab":
            flow(p, a if dst[0] == "a" else b, d, 12.0, amount, out=False, chan="wire", ext=src[1])
        amount *= r.uniform(0.9, 0.95)
        day += int(r.integers(1, 3))
    p.truth([a, b], "launderer", ("ML-CYCLE-01",))


def scatter_gather(p: Planter) -> None:
    """Source splits about USD 20 k over 4 mules who forward it to one sink within a day."""
    r = p.rng
    s, t = p.take(_POOL, 2).tolist()
    mules, t0 = _people(p, 4), _t0(p)
    part = r.uniform(4_500, 5_500, 4)
    flow(p, s, np.full(4, t0), r.uniform(9, 12, 4), part, out=True, chan="wire", ext=mules)
    flow(
        p,
        t,
        np.full(4, t0 + 1),
        r.uniform(9, 15, 4),
        part * r.uniform(0.9, 0.97, 4),
        out=False,
        chan="wire",
        ext=mules,
    )
    p.truth([s, t], "launderer", ("ML-SCATGATH-01",))


def gather_scatter(p: Planter) -> None:
    """4-8 feeders pay a hub that pays 3-6 others within 48 hours."""
    r, h = p.rng, int(p.take(_POOL, 1)[0])
    n_in, n_out, t0 = int(r.integers(4, 9)), int(r.integers(3, 7)), _t0(p)
    amt = r.uniform(1_000, 3_000, n_in)
    flow(
        p,
        h,
        np.full(n_in, t0),
        r.uniform(8, 20, n_in),
        amt,
        out=False,
        chan="p2p",
        ext=_people(p, n_in),
    )
    flow(
        p,
        h,
        np.full(n_out, t0 + 1),
        r.uniform(8, 20, n_out),
        np.full(n_out, amt.sum() * 0.9 / n_out),
        out=True,
        chan="wire",
        ext=_people(p, n_out),
    )
    p.truth(h, "mule", ("ML-GATHSCAT-01",))


def bipartite(p: Planter) -> None:
    """Two or three of our customers each pay the same 4 outsiders within 30 days."""
    r = p.rng
    src = p.take(_POOL, int(r.integers(2, 4)))
    dst, t0 = _people(p, 4), int(r.integers(0, max(1, p.w.days - 30)))
    for s in src.tolist():
        flow(
            p,
            s,
            t0 + r.integers(0, 28, 4),
            r.uniform(9, 20, 4),
            r.uniform(1_500, 3_000, 4),
            out=True,
            chan="wire",
            ext=dst,
        )
    p.truth(src, "launderer", ("ML-BIPART-01",))


def stack(p: Planter) -> None:
    """Layers 3 -> 4 -> 3 within a week; our customers form the middle layer."""
    r = p.rng
    mid, a, c, t0 = p.take(_POOL, 4), _people(p, 3), _people(p, 3), _t0(p) - 5
    for m in mid.tolist():
        got = r.uniform(2_000, 4_000, 3)
        flow(p, m, np.full(3, t0), r.uniform(9, 18, 3), got, out=False, chan="wire", ext=a)
        flow(
            p,
            m,
            np.full(3, t0 + 2),
            r.uniform(9, 18, 3),
            got * r.uniform(0.85, 0.95, 3),
            out=True,
            chan="wire",
            ext=c,
        )
    p.truth(mid, "mule", ("ML-STACK-01",))


def chain(p: Planter) -> None:
    """A 4-hop path through two of our accounts, 2-8 % shaved per hop within 48 hours."""
    r = p.rng
    a, b = p.take(_POOL, 2).tolist()
    x, t0 = _people(p, 3), _t0(p)
    amt = r.uniform(5_000, 15_000)
    flow(p, a, np.array([t0]), 9.0, amt, out=False, chan="wire", ext=x[0])
    flow(p, a, np.array([t0]), 20.0, amt * 0.95, out=True, chan="wire", ext=x[1])
    flow(p, b, np.array([t0 + 1]), 11.0, amt * 0.95 * 0.96, out=False, chan="wire", ext=x[1])
    flow(p, b, np.array([t0 + 2]), 9.0, amt * 0.95 * 0.96 * 0.95, out=True, chan="wire", ext=x[2])
    p.truth([a, b], "mule", ("ML-RANDOM-01", "HT-PASS-01"))


def behaviour_change(p: Planter) -> None:
    """A quiet account starts receiving five times its usual inflow from new payers."""
    r, m = p.rng, int(p.take(("retiree", "student", "low_income"), 1)[0])
    k, t0 = int(r.integers(8, 15)), p.w.days - 30
    flow(
        p,
        m,
        t0 + np.sort(r.integers(0, 28, k)),
        r.uniform(8, 20, k),
        r.uniform(1_500, 4_500, k),
        out=False,
        chan="wire",
        ext=_people(p, k),
    )
    p.truth(m, "mule", ("ML-BEHAV-01",))


NETWORK_SHAPES = (
    fan_in,
    fan_out,
    cycle,
    scatter_gather,
    gather_scatter,
    bipartite,
    stack,
    chain,
    behaviour_change,
)
