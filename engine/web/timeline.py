"""The subject's money in and out over time, alerted episodes marked, as inline SVG.

Drawn on the server (no script), so the same picture serves the page, the printed page and
the offline HTML report. Every label goes through `markup.el`, so it is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from engine.store import Store
from engine.web.context import Context
from engine.web.markup import Markup, el, join

__all__ = ["Series", "subject_series", "timeline_svg"]

WIDTH, HEIGHT, PAD = 920, 240, 34


@dataclass(frozen=True, slots=True)
class Series:
    """Money in and out per bin, and where the numbers come from."""

    bins: pl.DataFrame  # day (Date), in (Decimal), out (Decimal)
    days_per_bin: int
    source: str


def subject_series(store: Store, context: Context, *, subject: str, accounts: list[str]) -> Series:
    """Daily (or weekly, past 400 days) money in and out of the subject's accounts."""
    if context.transactions is not None:
        postings = context.transactions.filter(
            (pl.col("customer_id") == subject) | pl.col("account_id").is_in(accounts)
        ).select("txn_id", "ts_utc", "direction", "amount_base", "amount")
        source = "every posting of the scanned files"
    else:
        postings = store.query(
            "SELECT DISTINCT txn_id, ts_utc, direction, amount_base, amount "
            "FROM alert_transactions WHERE account_id IN (SELECT unnest(?::VARCHAR[]))",
            [accounts],
        )
        source = "evidence postings only (start serve with --transactions for the full history)"
    if postings.is_empty():
        empty = pl.DataFrame(
            schema={"day": pl.Date, "in": pl.Decimal(38, 2), "out": pl.Decimal(38, 2)}
        )
        return Series(empty, 1, source)
    postings = postings.unique("txn_id").with_columns(
        pl.coalesce("amount_base", "amount").cast(pl.Decimal(38, 2)).alias("value"),
        pl.col("ts_utc").dt.date().alias("day"),
    )
    days_seen: list[date] = postings["day"].to_list()
    span = (max(days_seen) - min(days_seen)).days
    every = 7 if span > 400 else 1
    bins = (
        postings.with_columns(pl.col("day").dt.truncate(f"{every}d"))
        .group_by("day")
        .agg(
            pl.col("value").filter(pl.col("direction") == "in").sum().alias("in"),
            pl.col("value").filter(pl.col("direction") == "out").sum().alias("out"),
        )
        .sort("day")
    )
    return Series(bins, every, source)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def timeline_svg(series: Series, episodes: list[dict[str, Any]]) -> Markup:
    """Bars of money in (up) and out (down) per bin; episodes as shaded bands with their rule."""
    bins = series.bins
    if bins.is_empty():
        return el("p", "No postings known for this subject.", class_="muted")
    starts: list[date] = [e["episode_start"].date() for e in episodes]
    ends: list[date] = [e["episode_end"].date() for e in episodes]
    bin_days: list[date] = bins["day"].to_list()
    first = min([*bin_days, *starts])
    last = max([*bin_days, *ends])
    days = max((last - first).days + 1, 1)
    inner = WIDTH - 2 * PAD
    mid = HEIGHT / 2

    def x(day: date) -> float:
        return round(PAD + inner * (day - first).days / days, 1)

    peak = max(
        [Decimal(v or 0) for v in bins["in"]]
        + [Decimal(v or 0) for v in bins["out"]]
        + [Decimal(1)]
    )
    scale = (mid - PAD) / float(peak)
    bar = max(inner * series.days_per_bin / days - 1, 1.0)
    shapes: list[Markup] = []
    for i, e in enumerate(episodes):
        x0, x1 = x(starts[i]), x(ends[i] + timedelta(days=1))
        shapes.append(
            el(
                "g",
                el("title", f"{e['rule_id']}: {starts[i]} to {ends[i]}"),
                el(
                    "rect",
                    x=x0,
                    y=PAD - 14,
                    width=max(x1 - x0, 2),
                    height=HEIGHT - 2 * PAD + 14,
                    class_="episode",
                ),
                el(
                    "text",
                    e["rule_id"],
                    x=x0 + 2,
                    y=PAD - 16 + 12 * (i % 2),
                    class_="episode-label",
                ),
            )
        )
    for day, money_in, money_out in bins.iter_rows():
        v_in, v_out = Decimal(money_in or 0), Decimal(money_out or 0)
        h_in, h_out = float(v_in) * scale, float(v_out) * scale
        label = f"{day:%Y-%m-%d}: in {_money(v_in)}, out {_money(v_out)}"
        shapes.append(
            el(
                "g",
                el("title", label),
                el(
                    "rect",
                    x=x(day),
                    y=round(mid - h_in, 1),
                    width=round(bar, 1),
                    height=round(h_in, 1),
                    class_="money-in",
                )
                if h_in
                else None,
                el(
                    "rect",
                    x=x(day),
                    y=mid,
                    width=round(bar, 1),
                    height=round(h_out, 1),
                    class_="money-out",
                )
                if h_out
                else None,
            )
        )
    ticks = []
    month = date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            ticks.append(
                el(
                    "line",
                    x1=x(month),
                    x2=x(month),
                    y1=HEIGHT - PAD,
                    y2=HEIGHT - PAD + 5,
                    class_="axis",
                )
            )
            ticks.append(el("text", f"{month:%b %Y}", x=x(month) + 2, y=HEIGHT - 8, class_="tick"))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    total_in = sum((Decimal(v or 0) for v in bins["in"]), Decimal(0))
    total_out = sum((Decimal(v or 0) for v in bins["out"]), Decimal(0))
    caption = (
        f"Money in {_money(total_in)} (up), out {_money(total_out)} (down), "
        f"{'weekly' if series.days_per_bin > 1 else 'daily'}, from {series.source}. "
        f"Shaded: alerted episodes. Largest bar {_money(peak)}."
    )
    svg = el(
        "svg",
        el("line", x1=PAD, x2=WIDTH - PAD, y1=mid, y2=mid, class_="axis"),
        join(shapes),
        join(ticks),
        el("text", "in", x=4, y=PAD + 10, class_="tick"),
        el("text", "out", x=4, y=HEIGHT - PAD - 4, class_="tick"),
        xmlns="http://www.w3.org/2000/svg",
        viewbox=f"0 0 {WIDTH} {HEIGHT}",
        class_="timeline",
        role="img",
        aria_label=caption,
    )
    return join(svg, el("p", caption, class_="muted"))
