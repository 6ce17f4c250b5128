"""The DuckDB alert store: schema, migrations, and one-transaction run writes.

Only this module talks to DuckDB. Frames go in through Arrow; every value reaches SQL as a
parameter or a registered relation, never by string formatting. A run is written in one
transaction, so a process that dies mid-write leaves no trace of that run. Investigator state
(`dispositions`) is never touched by a scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from engine.errors import StoreError, StoreLockedError
from engine.faults import fault
from engine.schema import TRANSACTION_COLUMNS

__all__ = ["MIGRATIONS", "RunRecord", "Store", "open_store"]


def _duck_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision}, {dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        return _duck_type(inner() if isinstance(inner, type) else inner) + "[]"
    simple = {pl.Boolean(): "BOOLEAN", pl.Int64(): "BIGINT", pl.Int32(): "INTEGER",
              pl.UInt32(): "UINTEGER", pl.Float64(): "DOUBLE"}  # fmt: skip
    return simple.get(dtype, "VARCHAR")


def _network_tables_ddl() -> str:
    from graphs.networks import EDGE_SCHEMA, MEMBER_SCHEMA, NETWORK_SCHEMA

    tables = {
        "networks": (NETWORK_SCHEMA, "network_id"),
        "network_members": (MEMBER_SCHEMA, "network_id, account_id"),
        "network_edges": (EDGE_SCHEMA, "network_id, source, target"),
    }
    out = []
    for name, (schema, key) in tables.items():
        columns = ", ".join(f'"{n}" {_duck_type(t)}' for n, t in schema.items())
        out.append(f"CREATE TABLE {name} ({columns}, PRIMARY KEY ({key}));")
    return "\n".join(out)


def _state_table_ddl() -> str:
    columns = ", ".join(f'"{n}" {_duck_type(t)}' for n, t in TRANSACTION_COLUMNS.items())
    return f"CREATE TABLE state_postings ({columns});"


MIGRATIONS: tuple[str, ...] = (
    # 1: the foundation tables
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        engine_version VARCHAR, rule_pack_hash VARCHAR, mode VARCHAR, inputs JSON, params JSON,
        rows_read BIGINT, postings BIGINT, accepted BIGINT, rejected BIGINT,
        alerts BIGINT, new_alerts BIGINT, timings JSON, notices JSON
    );
    CREATE TABLE alerts (
        alert_id VARCHAR PRIMARY KEY, rule_id VARCHAR, rule_version VARCHAR, kind VARCHAR,
        title VARCHAR, pillar VARCHAR, severity VARCHAR, weight DOUBLE, specificity VARCHAR,
        subject_role VARCHAR, entity_type VARCHAR, entity VARCHAR, customer_id VARCHAR,
        episode_start TIMESTAMPTZ, episode_end TIMESTAMPTZ, n_windows BIGINT,
        measures JSON, thresholds JSON, explanation VARCHAR, "references" JSON,
        first_run VARCHAR, last_run VARCHAR
    );
    CREATE TABLE alert_transactions (
        alert_id VARCHAR, txn_id VARCHAR, account_id VARCHAR, ts_utc TIMESTAMPTZ,
        direction VARCHAR, amount DECIMAL(18, 2), currency VARCHAR, amount_base DECIMAL(18, 2),
        channel VARCHAR, counterparty_account_id VARCHAR, counterparty_name VARCHAR,
        reference_text VARCHAR, PRIMARY KEY (alert_id, txn_id)
    );
    CREATE TABLE rejects (
        run_id VARCHAR, file VARCHAR, line BIGINT, field VARCHAR, reason VARCHAR, raw VARCHAR
    );
    CREATE TABLE cases (
        case_id VARCHAR PRIMARY KEY, subject_type VARCHAR, subject VARCHAR, score DOUBLE,
        escalated BOOLEAN, pillars JSON, n_alerts BIGINT, high_specificity BIGINT,
        case_start TIMESTAMPTZ, case_end TIMESTAMPTZ, subject_role VARCHAR, summary VARCHAR,
        first_run VARCHAR, last_run VARCHAR
    );
    CREATE TABLE case_alerts (case_id VARCHAR, alert_id VARCHAR, PRIMARY KEY (case_id, alert_id));
    CREATE TABLE dispositions (
        subject_kind VARCHAR, subject_id VARCHAR, status VARCHAR, assignee VARCHAR,
        notes VARCHAR, updated_at TIMESTAMPTZ, PRIMARY KEY (subject_kind, subject_id)
    );
    CREATE TABLE disposition_history (
        subject_kind VARCHAR, subject_id VARCHAR, status VARCHAR, assignee VARCHAR,
        notes VARCHAR, changed_at TIMESTAMPTZ, changed_by VARCHAR
    );
    """,
    # 2: networks grown from alerted accounts (graphs/)
    """
    CREATE TABLE networks (
        network_id VARCHAR PRIMARY KEY, score DOUBLE, n_members BIGINT, n_alerts BIGINT,
        pillars JSON, total_flow DOUBLE, first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ,
        summary VARCHAR, first_run VARCHAR, last_run VARCHAR
    );
    CREATE TABLE network_members (
        network_id VARCHAR, account_id VARCHAR, customer_id VARCHAR, role VARCHAR,
        centrality DOUBLE, n_alerts BIGINT, PRIMARY KEY (network_id, account_id)
    );
    CREATE TABLE network_edges (
        network_id VARCHAR, source VARCHAR, target VARCHAR, amount DOUBLE, n BIGINT,
        first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ, PRIMARY KEY (network_id, source, target)
    );
    """,
    # 3: backtests against labels
    """
    CREATE TABLE backtests (
        backtest_id VARCHAR PRIMARY KEY, run_id VARCHAR, created_at TIMESTAMPTZ, truth VARCHAR,
        population JSON
    );
    CREATE TABLE backtest_rules (
        backtest_id VARCHAR, rule_id VARCHAR, indicator VARCHAR, alerts BIGINT, subjects BIGINT,
        true_positives BIGINT, false_positives BIGINT, lookalike_hits BIGINT, "precision" DOUBLE,
        expected BIGINT, recall DOUBLE
    );
    CREATE TABLE backtest_scenarios (
        backtest_id VARCHAR, scenario VARCHAR, cases BIGINT, escalated_recall DOUBLE,
        alert_recall DOUBLE
    );
    """,
    # 4: evidence names the customer of each posting (alerts keyed on a beneficiary or a
    # device concern the customers whose postings they cite)
    """
    ALTER TABLE alert_transactions ADD COLUMN customer_id VARCHAR;
    """,
    # 5: incremental scans - each alert's window envelope and peak, and the postings kept as
    # state (with the columns its inputs had)
    """
    ALTER TABLE alerts ADD COLUMN window_start TIMESTAMPTZ;
    ALTER TABLE alerts ADD COLUMN window_end TIMESTAMPTZ;
    ALTER TABLE alerts ADD COLUMN peak_start TIMESTAMPTZ;
    ALTER TABLE alerts ADD COLUMN peak_end TIMESTAMPTZ;
    CREATE TABLE state_columns (name VARCHAR PRIMARY KEY);
    """
    + _state_table_ddl(),
    # 6: networks as graphs/ builds them (the tables of migration 2 were never written)
    """
    DROP TABLE network_edges;
    DROP TABLE network_members;
    DROP TABLE networks;
    """
    + _network_tables_ddl(),
)


RUN_COLUMNS = frozenset(
    (
        "run_id", "started_at", "finished_at", "engine_version", "rule_pack_hash", "mode",
        "inputs", "params", "rows_read", "postings", "accepted", "rejected", "alerts",
        "new_alerts", "timings", "notices",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a scan hands the store: the run's facts and its result frames."""

    run_id: str
    facts: Mapping[str, Any]
    alerts: pl.DataFrame
    evidence: pl.DataFrame
    rejects: pl.DataFrame
    cases: pl.DataFrame | None = None
    case_alerts: pl.DataFrame | None = None
    networks: Mapping[str, pl.DataFrame] | None = None
    # incremental runs: postings to keep as state, alerts superseded by a merged episode, and
    # cases recomputed over the whole store (they replace the stored ones)
    state: pl.DataFrame | None = None
    retired: tuple[str, ...] = ()
    replace_cases: bool = False


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


class Store:
    """An open DuckDB alert store."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, *, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    def close(self) -> None:
        """Close the connection (and release the file lock)."""
        self.con.close()

    def migrate(self) -> int:
        """Apply pending migrations in order; returns the schema version."""
        self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        row = self.execute("SELECT max(version) FROM schema_version")
        current = int(row[0][0]) if row and row[0][0] is not None else 0
        for version, ddl in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            self.execute("BEGIN TRANSACTION")
            for statement in filter(str.strip, ddl.split(";")):
                self.execute(statement)
            self.execute("INSERT INTO schema_version VALUES (?)", [version])
            self.execute("COMMIT")
        return len(MIGRATIONS)

    def query(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run a parameterised query and return a Polars frame."""
        frame: pl.DataFrame = self.con.sql(sql, params=params or []).pl()
        return frame

    def execute(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        """Run a parameterised statement to completion; returns its rows."""
        return self.con.execute(sql, params or []).fetchall()

    @contextmanager
    def _relation(self, name: str, frame: pl.DataFrame) -> Iterator[None]:
        """Expose a frame to SQL as a named relation for the duration of a statement."""
        self.con.register(name, frame.to_arrow())
        try:
            yield
        finally:
            self.con.unregister(name)

    def _insert(self, table: str, frame: pl.DataFrame, *, conflict: str = "") -> None:
        if frame.is_empty():
            return
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        with self._relation("_incoming", frame):
            # table and column names come from this module, never from data
            self.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming {conflict}"  # noqa: S608
            )

    def write_run(self, record: RunRecord) -> int:
        """Write a whole run in one transaction; returns how many alerts are new.

        Alerts already stored (same deterministic id) keep their first run and get their
        episode, measures and evidence refreshed; dispositions are never touched.
        """
        self.execute("BEGIN TRANSACTION")
        try:
            if record.retired:
                gone = pl.DataFrame(
                    {"alert_id": list(record.retired)}, schema={"alert_id": pl.String}
                )
                with self._relation("_gone", gone):
                    for table in ("alerts", "alert_transactions", "case_alerts"):
                        sql = f"DELETE FROM {table} WHERE alert_id IN (SELECT alert_id FROM _gone)"  # noqa: S608
                        self.execute(sql)
            ids = record.alerts.select("alert_id")
            with self._relation("_ids", ids):
                known = self.execute(
                    "SELECT count(*) FROM alerts WHERE alert_id IN (SELECT alert_id FROM _ids)"
                )
                new_alerts = record.alerts.height - int(known[0][0])
            alerts = record.alerts.with_columns(
                pl.lit(record.run_id).alias("first_run"), pl.lit(record.run_id).alias("last_run")
            )
            update = ", ".join(
                f'"{c}" = excluded."{c}"'
                for c in alerts.columns
                if c not in ("alert_id", "first_run")
            )
            self._insert(
                "alerts", alerts, conflict=f"ON CONFLICT (alert_id) DO UPDATE SET {update}"
            )
            with self._relation("_ids", ids):
                self.execute(
                    "DELETE FROM alert_transactions WHERE alert_id IN (SELECT alert_id FROM _ids)"
                )
            self._insert("alert_transactions", record.evidence)
            fault("store.mid_write")
            self._insert(
                "rejects", record.rejects.with_columns(pl.lit(record.run_id).alias("run_id"))
            )
            if record.replace_cases and record.cases is not None:
                with self._relation("_keep", record.cases.select("case_id")):
                    self.execute(
                        "DELETE FROM cases WHERE case_id NOT IN (SELECT case_id FROM _keep)"
                    )
                self.execute("DELETE FROM case_alerts")
                # networks are regrown over the whole history too: drop those that are gone
                kept = (record.networks or {}).get("networks")
                ids = (
                    kept.select("network_id")
                    if kept is not None
                    else pl.DataFrame(schema={"network_id": pl.String})
                )
                with self._relation("_nets", ids):
                    for table in ("network_edges", "network_members", "networks"):
                        self.execute(
                            f"DELETE FROM {table} "  # noqa: S608
                            "WHERE network_id NOT IN (SELECT network_id FROM _nets)"
                        )
            if record.state is not None and not record.state.is_empty():
                self._insert("state_postings", record.state)
                seen = pl.DataFrame({"name": record.state.columns})
                self._insert("state_columns", seen, conflict="ON CONFLICT DO NOTHING")
            if record.cases is not None:
                cases = record.cases.with_columns(
                    pl.lit(record.run_id).alias("first_run"),
                    pl.lit(record.run_id).alias("last_run"),
                )
                update = ", ".join(
                    f'"{c}" = excluded."{c}"'
                    for c in cases.columns
                    if c not in ("case_id", "first_run")
                )
                self._insert(
                    "cases", cases, conflict=f"ON CONFLICT (case_id) DO UPDATE SET {update}"
                )
            if record.case_alerts is not None:
                self._insert("case_alerts", record.case_alerts, conflict="ON CONFLICT DO NOTHING")
            for table, frame in (record.networks or {}).items():
                self._replace_by_key(table, frame)
            facts = dict(record.facts) | {"run_id": record.run_id, "new_alerts": new_alerts}
            names = list(facts)
            values = [
                json.dumps(v, default=str) if isinstance(v, (dict, list, tuple)) else v
                for v in facts.values()
            ]
            unknown = set(names) - RUN_COLUMNS
            if unknown:
                raise StoreError(f"unknown run facts: {', '.join(sorted(unknown))}")
            self.execute(
                # column names are checked against the schema above; values are parameters
                f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",  # noqa: S608
                values,
            )
            fault("store.before_commit")
            self.execute("COMMIT")
        except BaseException:
            self.execute("ROLLBACK")
            raise
        return new_alerts

    def state_floor(self) -> datetime | None:
        """The earliest posting kept as state, or None when no state is kept."""
        # through Arrow: DuckDB's own Python conversion of TIMESTAMPTZ would need pytz
        first = self.query("SELECT min(ts_utc) AS first FROM state_postings")["first"][0]
        return first if isinstance(first, datetime) else None

    def read_state(
        self, since: datetime | None, *, columns: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """State postings from `since` on (all when None), with the columns their inputs had
        (only those of `columns` among them, when given)."""
        names = [r[0] for r in self.execute("SELECT name FROM state_columns ORDER BY name")]
        wanted = set(TRANSACTION_COLUMNS) & (
            {"ts_utc", "txn_id", *columns} if columns else set(TRANSACTION_COLUMNS)
        )
        names = [n for n in names if n in wanted]
        if not names:
            return pl.DataFrame()
        columns_sql = ", ".join(f'"{n}"' for n in names)
        where, params = ("WHERE ts_utc >= ?", [since]) if since is not None else ("", [])
        # column names come from the state_columns table this module writes
        frame = self.query(f"SELECT {columns_sql} FROM state_postings {where}", params)  # noqa: S608
        return frame.with_columns(
            [pl.col(c).cast(TRANSACTION_COLUMNS[c]) for c in frame.columns]
        ).sort("ts_utc", "txn_id")

    def stored_alerts(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Every stored alert, and the accounts its evidence cites (`alert_id`, `account_id`)."""
        alerts = self.query("SELECT * FROM alerts")
        evidence = self.query("SELECT alert_id, account_id FROM alert_transactions")
        return alerts, evidence

    def write_backtest(
        self,
        backtest_id: str,
        run_id: str,
        truth: str,
        rules: pl.DataFrame,
        scenarios: pl.DataFrame,
        population: pl.DataFrame,
    ) -> None:
        """Store one backtest's figures, in one transaction."""
        self.execute("BEGIN TRANSACTION")
        try:
            self.execute(
                "INSERT INTO backtests VALUES (?, ?, now(), ?, ?)",
                [backtest_id, run_id, truth, population.write_json()],
            )
            tag = pl.lit(backtest_id).alias("backtest_id")
            if rules.height:
                self._insert("backtest_rules", rules.select(tag, pl.all()))
            if scenarios.height:
                self._insert("backtest_scenarios", scenarios.select(tag, pl.all()))
            self.execute("COMMIT")
        except BaseException:
            self.execute("ROLLBACK")
            raise

    def _replace_by_key(self, table: str, frame: pl.DataFrame) -> None:
        """Networks are recomputed per run: replace the rows of the networks this run found."""
        if frame.is_empty():
            return
        with self._relation("_ids", frame.select("network_id").unique()):
            self.execute(f"DELETE FROM {table} WHERE network_id IN (SELECT network_id FROM _ids)")  # noqa: S608
        self._insert(table, frame)


@contextmanager
def open_store(path: str | Path, *, read_only: bool = False) -> Iterator[Store]:
    """Open (and migrate, when writable) the store at `path`.

    Raises:
        StoreLockedError: another process is writing to it.
        StoreError: it cannot be opened (missing when read-only, not a DuckDB file, ...).
    """
    target = str(path)
    if read_only and not Path(target).is_file():
        raise StoreError(f"{target}: no such alert store (run `moneytrail scan` first)")
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.IOException as exc:
        if _is_lock_error(exc):
            raise StoreLockedError(
                f"{target}: the store is in use by another moneytrail process; "
                "wait for it to finish and try again"
            ) from exc
        raise StoreError(f"{target}: cannot open the store: {str(exc).splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"{target}: cannot open the store: {str(exc).splitlines()[0]}") from exc
    con.execute("SET TimeZone = 'UTC'").fetchall()  # TIMESTAMPTZ values come back in UTC
    store = Store(con, target, read_only=read_only)
    try:
        if not read_only:
            store.migrate()
        yield store
    finally:
        store.close()
