"""`moneytrail serve` and `moneytrail rules stats` from the command line."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
from webkit import Planted

from engine.dispositions import Disposition, set_disposition


def test_serve_prints_its_loopback_address_and_answers(planted: Planted) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", "--db", str(planted.db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert found, line
            con = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=30)
            con.request("GET", "/")
            answer = con.getresponse()
            body = answer.read().decode()
            con.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert answer.status == 200 and "TS-WIRE-01" in body


def test_rules_stats_reports_dispositions_per_rule(planted: Planted) -> None:
    with duckdb.connect(str(planted.db), read_only=True) as con:
        case_id = con.sql("SELECT case_id FROM cases").fetchall()[0][0]
    set_disposition(planted.db, Disposition("case", case_id, "closed_reported", "ana"))

    table = subprocess.run(
        [sys.executable, "-m", "engine.cli", "rules", "stats", "--db", str(planted.db)],
        capture_output=True,
        text=True,
    )
    as_json = subprocess.run(
        [sys.executable, "-m", "engine.cli", "rules", "stats", "--db", str(planted.db),
         "--format", "json"],
        capture_output=True,
        text=True,
    )  # fmt: skip

    assert table.returncode == 0, table.stderr
    assert "TS-WIRE-01" in table.stdout and "100%" in table.stdout and "precision =" in table.stdout
    (row,) = json.loads(as_json.stdout)
    assert row["rule_id"] == "TS-WIRE-01" and row["closed_reported"] == 1 and row["precision"] == 1


def test_rules_stats_on_a_missing_store_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "rules", "stats", "--db", str(tmp_path / "x.duckdb")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no such alert store" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_on_a_taken_port_is_one_line(planted: Planted) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "serve", "--db", str(planted.db), "--port",
             str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    assert done.returncode == 2 and "cannot listen on 127.0.0.1" in done.stderr
    assert "Traceback" not in done.stderr
