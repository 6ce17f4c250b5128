"""The workbench tests' kit: planted payloads, a server in a thread, plain HTTP requests."""

from __future__ import annotations

import csv
import http.client
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from engine.scan import ScanOptions, run_scan
from engine.web import Context, make_server
from engine.web.server import WorkbenchServer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "bank"
ARTIFACTS = ROOT / "test-artifacts"

# Written by the people under investigation: must show as text, never run.
SCRIPT = "<script>window.__pwned=1;alert(1)</script>"
IMG = '"><img src=x onerror="window.__pwned=1;alert(1)">'
SVG = '\'><svg onload="window.__pwned=1;alert(1)">'
FORMULA = '=HYPERLINK("http://example.invalid","click")'
PAYLOADS = (SCRIPT, IMG, SVG)

PLANTED_RULE = """
id: TS-WIRE-01
title: Test wires out in a burst
kind: aggregate
pillar: moving_proceeds
severity: high
subject_role: launderer
by: account_id
where: "channel = 'wire' AND direction = 'out'"
window: 10d
measures:
  wires: "count(*)"
  total: "sum(amount_base)"
having: "wires >= $min_wires"
params:
  min_wires: 3
"""


def scan(inputs: list[Path], db: Path, **options: object) -> None:
    """Scan into `db` (quietly)."""
    run_scan([str(p) for p in inputs], options=ScanOptions(db=db, **options))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Planted:
    """A small bank whose counterparties and references carry attack strings."""

    db: Path
    transactions: Path
    customers: Path
    rules: Path


def write_planted(folder: Path) -> Planted:
    """Three wires out of A1 to hostile counterparties, and a hostile KYC name."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "ts-wire-01.yaml").write_text(PLANTED_RULE)
    txns = folder / "txns.csv"
    header = [
        "txn_id", "account_id", "customer_id", "ts_utc", "direction", "amount", "currency",
        "channel", "counterparty_account_id", "counterparty_name", "reference_text",
    ]  # fmt: skip
    rows = [
        ["t1", "A1", "C1", "2024-01-01T10:00:00Z", "out", "9500.00", "USD", "wire", IMG, SCRIPT, IMG],
        ["t2", "A1", "C1", "2024-01-02T10:00:00Z", "out", "9400.00", "USD", "wire", "B2", IMG, SCRIPT],
        ["t3", "A1", "C1", "2024-01-03T10:00:00Z", "out", "9300.00", "USD", "wire", "B3", SVG, FORMULA],
        ["t4", "A1", "C1", "2023-12-30T10:00:00Z", "in", "30000.00", "USD", "wire", "", SCRIPT, SVG],
        ["t5", "B2", "C2", "2024-01-04T10:00:00Z", "out", "9000.00", "USD", "wire", "B9", SVG, IMG],
    ]  # fmt: skip
    with txns.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,customer_type,full_name,occupation\n"
        f'C1,individual,"{SCRIPT}","{IMG.replace(chr(34), chr(34) * 2)}"\n'
    )
    db = folder / "alerts.duckdb"
    scan([txns], db, rules=(rules,))
    return Planted(db, txns, customers, rules)


@contextmanager
def running(
    db: Path, context: Context | None = None, *, host: str = "127.0.0.1"
) -> Iterator[WorkbenchServer]:
    """A workbench server on a free port, in a thread, for the duration of the block."""
    server = make_server(db, host=host, port=0, context=context, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


def request(
    server: WorkbenchServer,
    path: str,
    *,
    method: str = "GET",
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request to the server (no redirects followed)."""
    host, port = str(server.server_address[0]), int(server.server_address[1])
    con = http.client.HTTPConnection(host, port, timeout=30)
    body = urlencode(form).encode() if form is not None else None
    sent = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    try:
        con.request(method, path, body=body, headers=sent | (headers or {}))
        answer = con.getresponse()
        return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        con.close()


@contextmanager
def holding(db: Path) -> Iterator[None]:
    """Another process holds the store read-write, as a running scan does."""
    code = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"
    with subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            yield
        finally:
            holder.kill()
            holder.wait()
