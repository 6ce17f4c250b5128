"""Investigator state: dispositions of cases and alerts, their history, and rule feedback.

A disposition is the one thing an investigator writes. It goes to `dispositions` (one row per
subject, upserted) and `disposition_history` (appended) in one transaction, through a
short-lived read-write connection that never migrates, never creates a store and never
touches any other table. A scan never writes these tables, so a re-scan keeps them.

An alert without a disposition of its own takes the disposition of its cases: the strongest
by `STATUS_RANK` (a case reported anywhere makes its alerts true positives).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from engine.errors import InputError, StoreError, StoreLockedError
from engine.store import Store

__all__ = [
    "KINDS",
    "STATUSES",
    "STATUS_RANK",
    "Disposition",
    "alert_status_sql",
    "rule_stats",
    "set_disposition",
]

STATUSES = ("open", "in_review", "escalated", "closed_false_positive", "closed_reported")
"""Every status, in the order an investigator meets them; `open` is also 'no disposition yet'."""
STATUS_RANK = {
    "open": 0,
    "closed_false_positive": 1,
    "in_review": 2,
    "escalated": 3,
    "closed_reported": 4,
}
"""Which case status an alert inherits when its cases disagree: the highest."""
KINDS = ("case", "alert")
MAX_TEXT = 20_000


@dataclass(frozen=True, slots=True)
class Disposition:
    """What an investigator sets on a case or an alert."""

    subject_kind: str
    subject_id: str
    status: str
    assignee: str = ""
    notes: str = ""
    changed_by: str = ""

    def check(self) -> None:
        """Raise `InputError` when a field is out of range."""
        if self.subject_kind not in KINDS:
            raise InputError(f"subject kind {self.subject_kind!r}: use one of {', '.join(KINDS)}")
        if self.status not in STATUSES:
            raise InputError(f"status {self.status!r}: use one of {', '.join(STATUSES)}")
        if not self.subject_id:
            raise InputError("a disposition needs a subject id")
        for name in ("assignee", "notes", "changed_by"):
            if len(getattr(self, name)) > MAX_TEXT:
                raise InputError(f"{name}: longer than {MAX_TEXT:,} characters")


def alert_status_sql() -> str:
    """A SQL `WITH` body naming `alert_status(alert_id, status, assignee)` for every alert.

    The rank table is written from `STATUS_RANK` (constants of this module, not data).
    """
    rank = " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items())
    return f"""
    case_status AS (
        SELECT ca.alert_id, arg_max(d.status, CASE d.status {rank} ELSE 0 END) AS status,
            arg_max(d.assignee, CASE d.status {rank} ELSE 0 END) AS assignee
        FROM case_alerts ca
        JOIN dispositions d ON d.subject_kind = 'case' AND d.subject_id = ca.case_id
        GROUP BY ca.alert_id
    ),
    alert_status AS (
        SELECT a.alert_id, coalesce(d.status, cs.status, 'open') AS status,
            coalesce(d.assignee, cs.assignee) AS assignee
        FROM alerts a
        LEFT JOIN dispositions d ON d.subject_kind = 'alert' AND d.subject_id = a.alert_id
        LEFT JOIN case_status cs ON cs.alert_id = a.alert_id
    )"""  # noqa: S608


@contextmanager
def _writable(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection to an existing store (never creates one)."""
    if not path.is_file():
        raise StoreError(f"{path}: no such alert store (run `moneytrail scan` first)")
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        text = str(exc).lower()
        if "lock" in text or "conflicting" in text:
            raise StoreLockedError(
                f"{path}: the store is in use by another moneytrail process; "
                "wait for it to finish and try again"
            ) from exc
        raise StoreError(f"{path}: cannot open the store: {str(exc).splitlines()[0]}") from exc
    try:
        yield con
    finally:
        con.close()


def set_disposition(path: Path, disposition: Disposition, /) -> None:
    """Upsert the disposition and append it to the history, in one transaction.

    Raises:
        InputError: a field is out of range, or the subject is not in the store.
        StoreLockedError: a scan holds the store.
        StoreError: the store is missing or unusable.
    """
    disposition.check()
    table = "cases" if disposition.subject_kind == "case" else "alerts"
    key = "case_id" if disposition.subject_kind == "case" else "alert_id"
    d = disposition
    with _writable(path) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            # table and key come from the two fixed pairs above; the id is a parameter
            found = con.execute(f"SELECT count(*) FROM {table} WHERE {key} = ?", [d.subject_id])  # noqa: S608
            if int(found.fetchall()[0][0]) == 0:
                raise InputError(f"no {d.subject_kind} {d.subject_id!r} in {path}")
            con.execute(
                "INSERT INTO dispositions VALUES (?, ?, ?, ?, ?, now()) "
                "ON CONFLICT (subject_kind, subject_id) DO UPDATE SET status = excluded.status, "
                "assignee = excluded.assignee, notes = excluded.notes, "
                "updated_at = excluded.updated_at",
                [d.subject_kind, d.subject_id, d.status, d.assignee, d.notes],
            )
            con.execute(
                "INSERT INTO disposition_history VALUES (?, ?, ?, ?, ?, now(), ?)",
                [d.subject_kind, d.subject_id, d.status, d.assignee, d.notes, d.changed_by],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def rule_stats(store: Store, /) -> pl.DataFrame:
    """Per rule: alerts, their (own or inherited) dispositions, and real-world precision.

    `precision` is reported / (reported + false positive) over the closed alerts, null while
    none is closed.
    """
    counts = ", ".join(
        f"count(*) FILTER (WHERE s.status = '{status}') AS {status}" for status in STATUSES
    )
    sql = f"""
    WITH {alert_status_sql()}
    SELECT a.rule_id, any_value(a.title) AS title, count(*) AS alerts, {counts}
    FROM alerts a JOIN alert_status s USING (alert_id)
    GROUP BY a.rule_id ORDER BY a.rule_id
    """  # noqa: S608  (fixed fragments from this module's constants)
    frame = store.query(sql)
    closed = pl.col("closed_reported") + pl.col("closed_false_positive")
    return frame.with_columns(
        pl.when(closed > 0)
        .then(pl.col("closed_reported") / closed)
        .otherwise(None)
        .round(3)
        .alias("precision")
    )
