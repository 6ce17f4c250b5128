"""The canonical data contract: column names and Polars dtypes of every frame the engine reads.

Column names follow typologies.md §1. Money columns are exact decimals (`MONEY`); timestamps
are microsecond datetimes, UTC for `ts_utc` and naive wall-clock for `ts_local`.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "CHANNELS",
    "CUSTOMER_COLUMNS",
    "DIRECTIONS",
    "HIT_SCHEMA",
    "MONEY",
    "REQUIRED_TRANSACTION_COLUMNS",
    "TRANSACTION_COLUMNS",
    "TS_LOCAL",
    "TS_UTC",
    "empty_transactions",
]

MONEY = pl.Decimal(18, 2)
"""Amounts are exact: a float sum depends on the order of addition (DESIGN.md)."""

TS_UTC = pl.Datetime("us", "UTC")
TS_LOCAL = pl.Datetime("us")

DIRECTIONS = ("in", "out")
CHANNELS = (
    "cash",
    "atm",
    "wire",
    "ach",
    "card",
    "p2p",
    "cheque",
    "remittance",
    "crypto",
    "prepaid",
    "internal",
    "loan",
)

TRANSACTION_COLUMNS: dict[str, pl.DataType] = {
    "txn_id": pl.String(),
    "account_id": pl.String(),
    "ts_utc": TS_UTC,
    "direction": pl.String(),
    "amount": MONEY,
    "currency": pl.String(),
    "channel": pl.String(),
    # optional from here on
    "customer_id": pl.String(),
    "amount_base": MONEY,
    "txn_type": pl.String(),
    "ts_local": TS_LOCAL,
    "counterparty_account_id": pl.String(),
    "counterparty_customer_id": pl.String(),
    "counterparty_name": pl.String(),
    "counterparty_type": pl.String(),
    "counterparty_bank_id": pl.String(),
    "counterparty_country": pl.String(),
    "ultimate_party_name": pl.String(),
    "mcc": pl.String(),
    "merchant_id": pl.String(),
    "location_type": pl.String(),
    "terminal_id": pl.String(),
    "txn_city": pl.String(),
    "txn_region": pl.String(),
    "txn_country": pl.String(),
    "card_id": pl.String(),
    "card_present": pl.Boolean(),
    "conductor_id": pl.String(),
    "device_id": pl.String(),
    "ip_address": pl.String(),
    "reference_text": pl.String(),
    "crypto_address": pl.String(),
    "crypto_risk_tag": pl.String(),
    "attempt_status": pl.String(),
    "balance_after": MONEY,
}

REQUIRED_TRANSACTION_COLUMNS: tuple[str, ...] = (
    "txn_id",
    "account_id",
    "ts_utc",
    "direction",
    "amount",
    "currency",
    "channel",
)

CUSTOMER_COLUMNS: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "customer_type": pl.String(),
    "full_name": pl.String(),
    "surname_norm": pl.String(),
    "date_of_birth": pl.Date(),
    "country_of_residence": pl.String(),
    "address_norm": pl.String(),
    "address_type": pl.String(),
    "phone_e164": pl.String(),
    "email": pl.String(),
    "occupation": pl.String(),
    "employer_name": pl.String(),
    "declared_annual_income": pl.Float64(),
    "expected_monthly_turnover": pl.Float64(),
    "industry_code": pl.String(),
    "declared_employees": pl.Int32(),
    "opening_hours": pl.String(),
    "open_min": pl.Int16(),
    "close_min": pl.Int16(),
    "home_region": pl.String(),
    "home_city": pl.String(),
    "timezone": pl.String(),
    "onboarding_ts": TS_UTC,
    "onboarding_channel": pl.String(),
    "onboarding_branch_id": pl.String(),
    "onboarding_device_id": pl.String(),
    "onboarding_accompanied_by": pl.String(),
    # FIN20 behavioural flags captured by staff, ';'-separated (CSV-friendly)
    "staff_observation_flags": pl.String(),
    "beneficial_owner_ids": pl.String(),
}

HIT_SCHEMA: dict[str, pl.DataType] = {
    "entity": pl.String(),
    "window_start": TS_UTC,
    "window_end": TS_UTC,
    "evidence": pl.List(pl.String()),
    "measures": pl.String(),
}
"""What every rule kind returns: one row per triggering window.

`entity` is the subject (an account, customer, counterparty or attribute value); the window is
half-open `(window_start, window_end]`; `evidence` lists the txn ids inside it that the rule
looked at; `measures` is a JSON object of the measured values at the trigger. Overlapping
windows of one rule and entity are merged into episodes by `engine.alerts`.
"""


def empty_transactions() -> pl.DataFrame:
    """An empty frame with every canonical transaction column."""
    return pl.DataFrame(schema=TRANSACTION_COLUMNS)
