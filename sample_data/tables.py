"""Lookup tables and the accounts frame derived from a finished world."""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.schema import TS_UTC
from sample_data.clock import Clock
from sample_data.finalise import Tables
from sample_data.links import World
from sample_data.reference import CITIES, CURRENCIES, FX_RATES
from sample_data.world import tz_names

__all__ = ["accounts_frame", "tables_of"]


def tables_of(w: World, kyc: pl.DataFrame) -> Tables:
    """Lookup tables for `finalise`, from the world and its (patched) KYC frame."""
    zones = tz_names()
    zone_of = {z: i for i, z in enumerate(zones)}
    city_zone = np.array([zone_of[c.tz] for c in CITIES], dtype=np.int64)
    n_acct = len(w.pop.acct_cust)
    acct_ids = pl.Series("acct", np.arange(1, n_acct + 1)).cast(pl.String).str.zfill(6)
    return Tables(
        acct_ids=("A" + acct_ids).alias("account_id"),
        acct_cust=w.pop.acct_cust,
        cust_ids=kyc["customer_id"],
        cust_names=kyc["full_name"],
        cust_types=kyc["customer_type"],
        home_zone=city_zone[w.pop.home],
        city_zone=city_zone,
        cities=pl.DataFrame(
            {
                "name": [c.name for c in CITIES],
                "region": [c.region for c in CITIES],
                "country": [c.country for c in CITIES],
            }
        ),
        merchants=w.merchants.frame,
        parties=w.parties.frame(),
        fx_micro=np.array([round(FX_RATES[c] * 1_000_000) for c in CURRENCIES], dtype=np.int64),
        clock=Clock.build(zones, w.start, w.days),
    )


def accounts_frame(w: World, t: Tables) -> pl.DataFrame:
    """One row per account: id, holder, type, currency and opening instant."""
    pop = w.pop
    holder = pop.acct_cust
    primary = np.arange(len(holder)) < pop.n
    business = t.cust_types.gather(holder) == "business"
    kind = (
        pl.when(pl.Series(~primary))
        .then(pl.lit("savings"))
        .when(business)
        .then(pl.lit("business_current"))
        .otherwise(pl.lit("personal_current"))
    )
    return pl.DataFrame(
        {"account_id": t.acct_ids, "customer_id": t.cust_ids.gather(holder)}
    ).with_columns(
        account_type=kind,
        currency=pl.lit("USD"),
        open_ts=pl.Series(pop.open_ts[holder]).cast(TS_UTC),
    )
