"""Fixtures of the workbench tests: the scanned sample bank, its files, a planted bank."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from webkit import SAMPLE, Planted, scan, write_planted

from engine.web import Context, load_context


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sample bank scanned once with the shipped pack (copy it before writing)."""
    db = tmp_path_factory.mktemp("sample") / "alerts.duckdb"
    scan(
        [SAMPLE / "transactions.parquet"],
        db,
        customers=SAMPLE / "customers.parquet",
        lists=SAMPLE / "lists",
    )
    return db


@pytest.fixture
def sample_copy(sample_store: Path, tmp_path: Path) -> Path:
    """A private copy of the sample store, for tests that write dispositions."""
    target = tmp_path / "alerts.duckdb"
    shutil.copy(sample_store, target)
    return target


@pytest.fixture(scope="session")
def sample_context() -> Context:
    """The sample bank's files, as `serve --sample` reads them."""
    return load_context((SAMPLE / "transactions.parquet",), customers=SAMPLE / "customers.parquet")


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    """A fresh bank whose counterparties, references and KYC name carry attack strings."""
    return write_planted(tmp_path / "planted")
