"""The documented minimum bank size plants every scenario, whatever the seed; the shipped
sample is exactly what the generator makes for its seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sample_data.generator import MIN_CUSTOMERS, generate


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_smallest_bank_plants_everything(tmp_path: Path, seed: int) -> None:
    bank = generate(MIN_CUSTOMERS, 30, seed, tmp_path)
    assert bank.n_customers == MIN_CUSTOMERS


def test_below_the_minimum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"at least {MIN_CUSTOMERS} customers"):
        generate(MIN_CUSTOMERS - 1, 30, 1, tmp_path)


def test_the_shipped_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "sample_data" / "bank"
    fresh = generate(2000, 90, 20240101, tmp_path)
    for name in ("transactions.parquet", "customers.parquet"):
        assert (shipped / name).read_bytes() == (fresh.root / name).read_bytes(), name
    assert (shipped / "truth" / "truth.parquet").read_bytes() == fresh.truth.read_bytes()
