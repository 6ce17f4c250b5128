"""Stable hash buckets of the canonical transactions, in memory and as Parquet on disk.

A row's bucket for a partition key is `crc32(UTF-8 text of the key) mod N`; a row whose key
is null has no bucket (no rule keyed on that column reads it). CRC-32 is fixed by its
standard, so a bucket does not depend on the process, the machine or the Polars version, and
Spark's `crc32` computes the same one. A key that is a customer column
(`onboarding_device_id`) is looked up through the row's `customer_id`.

`moneytrail partition` writes one bucketing per partition key of the pack, account first:
`DIR/<key>/bucket=<b>/part-0.parquet`, rows with a null key in `bucket=none`; customers,
reference lists and rejected rows travel whole.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import InputError

__all__ = [
    "HASH",
    "Partitioned",
    "bucket_of",
    "key_values",
    "partition_inputs",
    "split",
    "write_partitions",
]

HASH = "crc32(utf8(key)) mod buckets; null keys in bucket=none"


def bucket_of(values: pl.Series, buckets: int) -> pl.Series:
    """The bucket of each value (UInt32, null for null), hashed once per distinct value."""
    text = values.cast(pl.String)
    distinct = text.drop_nulls().unique().to_list()
    mapping = pl.DataFrame(
        {"_key": distinct, "_bucket": [zlib.crc32(v.encode()) % buckets for v in distinct]},
        schema={"_key": pl.String, "_bucket": pl.UInt32},
    )
    found = text.to_frame("_key").join(mapping, on="_key", how="left", maintain_order="left")
    return found["_bucket"]


def key_values(
    frame: pl.DataFrame, key: str, /, *, customers: pl.DataFrame | None = None
) -> pl.Series | None:
    """The partition key of each row: its own column, else its customer's; None if neither.

    The transactions' column wins over the customers' one, as in `engine.evaluate`.
    """
    if key in frame.columns:
        return frame[key]
    if customers is None or key not in customers.columns or "customer_id" not in frame.columns:
        return None
    # customer ids are unique after ingest (duplicates are rejected), so no row is repeated
    looked_up = frame.select("customer_id").join(
        customers.select("customer_id", key), on="customer_id", how="left", maintain_order="left"
    )
    return looked_up[key]


def split(
    frame: pl.DataFrame,
    key: str,
    buckets: int,
    /,
    *,
    customers: pl.DataFrame | None = None,
) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """`frame` cut into `buckets` frames by its key, each in the frame's row order, and the
    rows whose key is null.

    Raises:
        InputError: the key is neither a column of the frame nor a customer column.
    """
    values = key_values(frame, key, customers=customers)
    if values is None:
        raise InputError(f"partition key '{key}' is not a transaction or customer column")
    keyed = frame.with_columns(bucket_of(values, buckets).alias("_bucket"))
    parts = keyed.partition_by("_bucket", as_dict=True, maintain_order=True, include_key=False)
    empty = frame.clear()
    return [parts.get((b,), empty) for b in range(buckets)], parts.get((None,), empty)


@dataclass(frozen=True, slots=True)
class Partitioned:
    """What `write_partitions` wrote: rows per bucket for each key, under `out`."""

    out: Path
    buckets: int
    rows: int
    keys: dict[str, tuple[int, ...]]
    without_key: dict[str, int]

    def __str__(self) -> str:
        lines = [f"{self.rows:,} transactions in {self.buckets} buckets under {self.out}"]
        for key, counts in self.keys.items():
            spread = f"{min(counts):,} to {max(counts):,} rows a bucket"
            lines.append(f"  {key}: {spread}, {self.without_key[key]:,} without a key")
        return "\n".join(lines)


def write_partitions(
    transactions: pl.DataFrame,
    /,
    *,
    out: Path,
    buckets: int,
    keys: Sequence[str],
    customers: pl.DataFrame | None = None,
    lists: dict[str, pl.DataFrame] | None = None,
    rejects: pl.DataFrame | None = None,
) -> Partitioned:
    """Write the transactions bucketed once per key, with customers, lists and rejects whole.

    Everything is written under a temporary folder beside `out` and renamed at the end, so a
    failure leaves no half-written `out`.

    Raises:
        InputError: `out` exists and is not empty, `buckets` < 1, or a key cannot be found.
    """
    if buckets < 1:
        raise InputError(f"--buckets {buckets}: need at least 1")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: exists and is not empty (choose a new folder)")
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, tuple[int, ...]] = {}
    without: dict[str, int] = {}
    root = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        for key in keys:
            parts, nulls = split(transactions, key, buckets, customers=customers)
            for b, part in [*enumerate(parts), ("none", nulls)]:
                folder = root / key / f"bucket={b}"
                folder.mkdir(parents=True)
                part.write_parquet(folder / "part-0.parquet")
            counts[key] = tuple(p.height for p in parts)
            without[key] = nulls.height
        if customers is not None:
            customers.write_parquet(root / "customers.parquet")
        if rejects is not None:
            rejects.write_parquet(root / "rejects.parquet")
        (root / "lists").mkdir()
        for name, table in (lists or {}).items():
            table.write_csv(root / "lists" / f"{name}.csv")
        manifest = {
            "buckets": buckets,
            "hash": HASH,
            "rows": transactions.height,
            "rejected": 0 if rejects is None else rejects.height,
            "keys": counts,
            "without_key": without,
        }
        (root / "partitions.json").write_text(json.dumps(manifest, indent=1) + "\n")
        if out.exists():
            out.rmdir()  # empty, checked above
        root.rename(out)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Partitioned(out, buckets, transactions.height, counts, without)


def partition_inputs(
    inputs: Sequence[str | Path],
    /,
    *,
    out: Path,
    buckets: int,
    customers: Path | None = None,
    mapping: str = "canonical",
    rules: Sequence[Path] = (),
    lists: Path | None = None,
    fx: Path | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Partitioned:
    """Ingest `inputs` as a scan would and write them bucketed by the partition keys of the
    pack's partition-safe rules (account first), customers and lists whole.

    Raises:
        InputError, RuleError: as for a scan; nothing is written then.
    """
    from engine.distributed import partition_key
    from engine.evaluate import compile_rule
    from engine.ingest import load_customers, load_fx, read_transactions
    from engine.lists import load_lists
    from engine.spec import load_pack

    if buckets < 1:
        raise InputError(f"--buckets {buckets}: need at least 1")
    ref = load_lists(lists)
    pack = load_pack(*rules, overrides=params or {}, lists=ref)
    ingested = read_transactions(inputs, mapping=mapping, fx=load_fx(fx))
    kyc, kyc_rejects = load_customers(customers) if customers else (None, None)
    rejects = (
        ingested.rejects if kyc_rejects is None else pl.concat([ingested.rejects, kyc_rejects])
    )
    txns = ingested.transactions
    found = {partition_key(compile_rule(r)) for r in pack.rules} - {None}
    keys = [k for k in found if k and key_values(txns.head(0), k, customers=kyc) is not None]
    keys.sort(key=lambda k: (k != "account_id", k))
    if "account_id" not in keys:
        keys.insert(0, "account_id")
    return write_partitions(
        txns,
        out=out,
        buckets=buckets,
        keys=keys,
        customers=kyc,
        lists=dict(ref.tables),
        rejects=rejects,
    )
