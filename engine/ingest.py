"""Read transaction and customer files through a mapping into canonical frames.

Every source row is accounted for: each posting it makes is either accepted or rejected with
its file, line, field and reason, and a row that makes no posting at all is rejected too.
Files that cannot be used at all (missing, unreadable, empty, missing columns) raise
`InputError` with one line naming the file and the problem.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import polars as pl

from engine.errors import InputError
from engine.mapping import Mapping, Source, load_mapping
from engine.paths import LISTS_DIR
from engine.schema import (
    CHANNELS,
    CUSTOMER_COLUMNS,
    DIRECTIONS,
    MONEY,
    REQUIRED_TRANSACTION_COLUMNS,
    TRANSACTION_COLUMNS,
    TS_UTC,
)

__all__ = [
    "FX_PATH",
    "REJECT_SCHEMA",
    "Ingested",
    "SourceFile",
    "expand_inputs",
    "load_customers",
    "load_fx",
    "read_transactions",
]

FX_PATH = LISTS_DIR / "fx_rates.csv"
EXTENSIONS = (".csv", ".csv.gz", ".parquet", ".ndjson", ".jsonl")
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line": pl.Int64(),
    "field": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
}
_ISO_FORMATS = ("%+", "%Y-%m-%d %H:%M:%S%.f%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file and its fingerprint."""

    path: str
    size: int
    sha256: str
    rows: int


@dataclass(frozen=True, slots=True)
class Ingested:
    """The result of reading inputs: accepted canonical postings plus every reject."""

    transactions: pl.DataFrame
    rejects: pl.DataFrame
    labels: pl.DataFrame | None
    files: tuple[SourceFile, ...]
    rows_read: int

    @property
    def postings(self) -> int:
        """Postings made from the rows read: accepted + rejected, always."""
        return self.transactions.height + self.rejects.height


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files named directly, by glob, or as folders (searched recursively), in sorted order."""
    found: list[Path] = []
    for item in inputs:
        text = str(item)
        if any(ch in text for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
            if not matches:
                raise InputError(f"{text}: no file matches this pattern")
            found.extend(p for p in matches if p.is_file())
        elif Path(text).is_dir():
            files = sorted(p for p in Path(text).rglob("*") if p.name.endswith(EXTENSIONS))
            if not files:
                raise InputError(f"{text}: folder holds no .csv, .parquet or .ndjson file")
            found.extend(files)
        elif Path(text).is_file():
            found.append(Path(text))
        else:
            raise InputError(f"{text}: no such file or folder")
    return found


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _format(path: Path, mapping: Mapping) -> str:
    return mapping.format or (
        "parquet"
        if path.suffix == ".parquet"
        else "ndjson"
        if path.suffix in (".ndjson", ".jsonl")
        else "csv"
    )


def _seekable(path: Path, mapping: Mapping) -> bool:
    """Can a slice of the file's rows be read without reading the rows before it?"""
    return _format(path, mapping) == "parquet"


def _scan(path: Path, mapping: Mapping) -> pl.LazyFrame:
    """A lazy frame over one file with a 1-based `_line` (the header is line 1 of a CSV)."""
    fmt = _format(path, mapping)
    try:
        if fmt == "parquet":
            return pl.scan_parquet(path).with_row_index("_line", offset=1)
        if fmt == "ndjson":
            return pl.scan_ndjson(path, infer_schema_length=None).with_row_index("_line", offset=1)
        options = dict(
            separator=mapping.separator,
            quote_char=mapping.quote_char,
            infer_schema=False,
            encoding="utf8-lossy" if mapping.encoding != "utf8" else "utf8",
        )
        if path.name.endswith(".gz"):
            return pl.read_csv(path, **options).lazy().with_row_index("_line", offset=2)  # type: ignore[arg-type]
        return pl.scan_csv(path, **options).with_row_index("_line", offset=2)  # type: ignore[arg-type]
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: unreadable: {str(exc).splitlines()[0]}") from exc


def _raw(src: Source) -> pl.Expr:
    if src.const is not None:
        expr = pl.lit(src.const, dtype=pl.String)
    elif src.concat:
        expr = pl.concat_str([pl.col(c).cast(pl.String) for c in src.concat], separator=src.sep)
    else:
        expr = pl.col(str(src.column)).cast(pl.String)
    if src.value_map:
        mapping = dict(src.value_map)
        if src.unmapped == "null":
            expr = expr.replace_strict(mapping, default=None, return_dtype=pl.String)
        else:
            expr = expr.replace(mapping)
    return expr.str.strip_chars()


def _timestamp(raw: pl.Expr, src: Source, *, local: bool) -> pl.Expr:
    """Parse to UTC (or to naive wall-clock time when `local`)."""
    if src.epoch is not None:
        base = datetime.fromisoformat(src.epoch.replace("Z", "+00:00"))
        offset = raw.cast(pl.Int64, strict=False)
        step = {
            "s": pl.duration(seconds=offset), "ms": pl.duration(milliseconds=offset),
            "us": pl.duration(microseconds=offset), "m": pl.duration(minutes=offset),
            "h": pl.duration(hours=offset), "d": pl.duration(days=offset),
        }[src.unit]  # fmt: skip
        parsed = pl.lit(base).dt.replace_time_zone(None) + step
        return parsed if local else parsed.dt.replace_time_zone("UTC")
    formats = (src.ts_format,) if src.ts_format else _ISO_FORMATS + _NAIVE_FORMATS
    aware = [f for f in formats if "z" in f or f.endswith("Z") or f == "%+"]
    naive = [f for f in formats if f not in aware]
    parts: list[pl.Expr] = []
    zone = src.timezone or "UTC"
    for fmt in aware:
        parsed = raw.str.to_datetime(fmt, strict=False, time_zone="UTC", time_unit="us")
        parts.append(parsed.dt.replace_time_zone(None) if local else parsed)
    for fmt in naive:
        parsed = raw.str.to_datetime(fmt, strict=False, time_unit="us")
        if not local:
            parsed = parsed.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            parsed = parsed.dt.convert_time_zone("UTC")
        parts.append(parsed)
    return pl.coalesce(parts) if len(parts) > 1 else parts[0]


def _amount(raw: pl.Expr, mapping: Mapping) -> pl.Expr:
    text = raw
    if mapping.thousands:
        text = text.str.replace_all(mapping.thousands, "", literal=True)
    if mapping.decimal_comma:
        text = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    return text.cast(pl.Decimal(38, 6), strict=False).round(2).cast(MONEY, strict=False)


def _posting_frame(
    lf: pl.LazyFrame,
    mapping: Mapping,
    index: int,
    file_index: int,
    path: str,
    *,
    keep: frozenset[str] | None = None,
    sample: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One posting of every source row, typed, with the text (`_raw_*`) it was parsed from.

    `sample` is the whole file when `lf` is a slice of it: timestamp formats are picked from
    the file's first values, so every slice parses alike.

    With `keep` (the lean frame of accepted postings), only those canonical fields are made,
    and a plain text field keeps no separate raw copy: it is null exactly when its text is
    missing, which is all validation asks of it. Reject messages are made from the full frame.
    """
    posting = mapping.postings[index]
    fields = dict(posting.fields)
    if mapping.passthrough:
        names = lf.collect_schema().names()
        fields = {c: Source(column=c) for c in TRANSACTION_COLUMNS if c in names} | fields
    if keep is not None:
        fields = {k: v for k, v in fields.items() if k in keep}
    if posting.when:
        lf = lf.filter(pl.sql_expr(posting.when).fill_null(False))
        sample = (
            None if sample is None else sample.filter(pl.sql_expr(posting.when).fill_null(False))
        )
    exprs: list[pl.Expr] = [
        pl.col("_line").cast(pl.Int64),
        pl.lit(file_index * 8 + index).alias("_order"),
    ]
    if keep is None:
        exprs.insert(1, pl.lit(path).alias("_file"))
    schema = lf.collect_schema()
    natives = {name: _native(src, schema, name) for name, src in fields.items()}
    lean_text = {
        name
        for name, src in fields.items()
        if keep is not None
        and natives[name] is None
        and TRANSACTION_COLUMNS[name] == pl.String()
        and not (src.signed and name == "amount")
    }
    for name, src in fields.items():
        native = natives[name]
        if native is not None:
            # already of the canonical type (Parquet, NDJSON numbers): no text round-trip;
            # its text form is made only for the messages of rejected rows
            exprs.append(native.alias(name))
        elif name in lean_text:
            text = _raw(src).replace("", None)
            if name == "txn_id" and posting.txn_id_suffix:
                text = text + pl.lit(posting.txn_id_suffix)
            exprs.append(text.alias(name))
        else:
            exprs.append(_raw(src).alias(f"_raw_{name}"))
    framed = lf.select(exprs)
    typed: list[pl.Expr] = []
    for name, src in fields.items():
        if natives[name] is not None or name in lean_text:
            continue
        raw = pl.col(f"_raw_{name}")
        dtype = TRANSACTION_COLUMNS[name]
        if name in ("ts_utc", "ts_local"):
            if src.ts_format is None and src.epoch is None:
                src = _with_sampled_format(lf if sample is None else sample, src)
            typed.append(_timestamp(raw, src, local=name == "ts_local").alias(name))
            if name == "ts_utc" and "ts_local" not in fields and _is_naive(src):
                typed.append(_timestamp(raw, src, local=True).alias("ts_local"))
        elif dtype == MONEY:
            value = _amount(raw, mapping)
            if src.signed and name == "amount":
                typed.append(value.abs().alias(name))
                if "direction" not in fields:
                    sign = pl.when(value < 0).then(pl.lit("out")).when(value > 0).then(pl.lit("in"))
                    typed.append(sign.alias("direction"))
                    framed = framed.with_columns(pl.col(f"_raw_{name}").alias("_raw_direction"))
            else:
                typed.append(value.alias(name))
        elif dtype == pl.Boolean():
            flags = {"true": True, "1": True, "t": True, "yes": True}
            flags |= {"false": False, "0": False, "f": False, "no": False}
            typed.append(
                raw.str.to_lowercase()
                .replace_strict(flags, default=None, return_dtype=pl.Boolean)
                .alias(name)
            )
        else:
            text = raw.replace("", None)
            if name == "txn_id" and posting.txn_id_suffix:
                text = text + pl.lit(posting.txn_id_suffix)
            typed.append(text.alias(name))
    return framed.with_columns(typed)


def _is_naive(src: Source) -> bool:
    """Does this timestamp source give wall-clock time (so it also yields ts_local)?"""
    if src.epoch is not None:
        return True
    fmt = src.ts_format
    return fmt is not None and "z" not in fmt and not fmt.endswith("Z") and fmt != "%+"


def _native(src: Source, schema: pl.Schema, name: str) -> pl.Expr | None:
    """The typed source column as the canonical type, when it needs no parsing."""
    if src.column is None or src.value_map or src.epoch is not None or src.signed:
        return None
    if name == "txn_id":
        return None  # ids may carry a per-posting suffix: always the text path
    have = schema.get(src.column)
    want = TRANSACTION_COLUMNS[name]
    col = pl.col(src.column)
    if isinstance(have, pl.Datetime) and isinstance(want, pl.Datetime):
        if name == "ts_local":
            return col.dt.replace_time_zone(None) if have.time_zone else col
        if have.time_zone:
            return col.dt.convert_time_zone("UTC").cast(TS_UTC)
        zone = src.timezone or "UTC"
        return (
            col.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .cast(TS_UTC)
        )
    if want == MONEY and (isinstance(have, pl.Decimal) or (have is not None and have.is_numeric())):
        return col.cast(pl.Decimal(38, 6)).round(2).cast(MONEY, strict=False)
    if want == pl.Boolean() and have == pl.Boolean():
        return col
    return None


def _with_sampled_format(lf: pl.LazyFrame, src: Source) -> Source:
    """Pick the timestamp format from a sample of the values, rather than trying all per row."""
    sample = lf.select(_raw(src).alias("v")).drop_nulls().head(200).collect()["v"]
    best, hits = None, 0
    for fmt in _ISO_FORMATS + _NAIVE_FORMATS:
        tz = "UTC" if fmt in _ISO_FORMATS else None
        parsed = sample.str.to_datetime(fmt, strict=False, time_zone=tz).drop_nulls().len()
        if parsed > hits:
            best, hits = fmt, parsed
    if best is None or hits < sample.len():
        return src  # mixed formats: keep trying them all
    return dataclasses.replace(src, ts_format=best)


def _check_columns(lf: pl.LazyFrame, mapping: Mapping, path: Path) -> None:
    try:
        names = set(lf.collect_schema().names())
    except pl.exceptions.NoDataError as exc:
        raise InputError(f"{path}: file holds no rows") from exc
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{path}: unreadable: {str(exc).splitlines()[0]}") from exc
    if mapping.passthrough:
        missing = [c for c in REQUIRED_TRANSACTION_COLUMNS if c not in names]
        if missing:
            raise InputError(
                f"{path}: missing required column '{missing[0]}' (mapping {mapping.name})"
            )
        return
    for column in mapping.source_columns:
        if column not in names:
            raise InputError(
                f"{path}: missing column '{column}' required by mapping {mapping.name}"
            )
    for posting in mapping.postings:
        given = {name for name, _ in posting.fields} | (
            {"direction"} if any(s.signed for _, s in posting.fields) else set()
        )
        for column in REQUIRED_TRANSACTION_COLUMNS:
            if column not in given:
                raise InputError(
                    f"{mapping.path}: mapping {mapping.name} gives no source "
                    f"for required column '{column}'"
                )


def load_fx(path: Path | str | None = None, *, base_currency: str = "USD") -> pl.DataFrame:
    """The FX table: `currency` and `rate` (units of base currency per unit), exact decimals."""
    fx_path = Path(path) if path else FX_PATH
    if not fx_path.is_file():
        return pl.DataFrame({"currency": [base_currency], "_rate": ["1"]}).with_columns(
            pl.col("_rate").str.to_decimal(scale=8)
        )
    frame = pl.read_csv(fx_path, infer_schema=False)
    if not {"currency", "rate"} <= set(frame.columns):
        raise InputError(f"{fx_path}: an FX table needs the columns currency and rate")
    frame = frame.select(
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        pl.col("rate").cast(pl.Decimal(18, 8), strict=False).alias("_rate"),
    )
    if frame.filter(pl.col("currency") == base_currency).is_empty():
        frame = pl.concat(
            [
                frame,
                pl.DataFrame(
                    {"currency": [base_currency], "_rate": [1]},
                    schema={"currency": pl.String, "_rate": pl.Decimal(18, 8)},
                ),
            ]
        )
    return frame


# why a posting is rejected: (field, message template, column whose text fills the template)
_REASONS: dict[str, tuple[str, str, str]] = {
    "missing": ("", "missing required value", ""),
    "ts_utc": ("ts_utc", "unparseable timestamp '{}'", "ts_utc"),
    "ts_local": ("ts_local", "unparseable timestamp '{}'", "ts_local"),
    "amount": ("amount", "unparseable amount '{}'", "amount"),
    "non_positive": ("amount", "non-positive amount '{}'", "amount"),
    "direction": ("direction", "unknown direction '{}' (use in or out)", "direction"),
    "channel": ("channel", "unknown channel '{}' after mapping", "channel"),
    "fx": ("currency", "no FX rate for currency '{}'", "currency"),
    "amount_base": ("amount_base", "bad base amount '{}'", "amount_base"),
    "duplicate": ("txn_id", "duplicate txn_id '{}'", "txn_id"),
}


def _checked(frame: pl.LazyFrame, fx: pl.DataFrame) -> pl.LazyFrame:
    """Mark each posting with the first reason its own fields reject it for (`_reject`),
    cheaply; duplicates across postings are marked later (`_mark_duplicates`).

    Only literal codes are computed over every row; messages with the offending text are
    made later for the rejected rows alone (`_reasons`).
    """
    names = set(frame.collect_schema().names())

    def text_missing(column: str) -> pl.Expr:
        # files may differ: a Parquet row has the typed value, a CSV row its text
        typed = pl.col(column).is_null() if column in names else pl.lit(True)
        raw = f"_raw_{column}"
        if raw in names:
            return typed & (pl.col(raw).is_null() | (pl.col(raw) == ""))
        return typed

    checks: list[tuple[pl.Expr, str]] = [
        (text_missing(c), f"missing:{c}") for c in REQUIRED_TRANSACTION_COLUMNS
    ]
    checks.append((pl.col("ts_utc").is_null(), "ts_utc"))
    if "_raw_ts_local" in names:
        checks.append((pl.col("ts_local").is_null() & ~text_missing("ts_local"), "ts_local"))
    checks.append((pl.col("amount").is_null(), "amount"))
    checks.append((pl.col("amount") <= 0, "non_positive"))
    checks.append((~pl.col("direction").is_in(DIRECTIONS), "direction"))
    checks.append((~pl.col("channel").is_in(CHANNELS), "channel"))
    frame = _with_rate(frame, fx)
    checks.append((pl.col("_rate").is_null(), "fx"))
    if "amount_base" in names:
        bad_base = pl.col("amount_base").is_null() | (pl.col("amount_base") <= 0)
        checks.append((bad_base, "amount_base"))
    code: pl.Expr = pl.when(checks[0][0].fill_null(False)).then(pl.lit(checks[0][1]))
    for cond, name in checks[1:]:
        code = code.when(cond.fill_null(False)).then(pl.lit(name))  # type: ignore[attr-defined]
    frame = frame.with_columns(code.alias("_reject"))
    if "amount_base" not in names:
        base = (pl.col("amount") * pl.col("_rate")).round(2).cast(MONEY)
        frame = frame.with_columns(base.alias("amount_base"))
    return frame


def _mark_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """Reject as `duplicate` every valid posting of a txn_id but the first (in file, posting
    and line order)."""
    valid = frame.filter(pl.col("_reject").is_null()).select("txn_id", "_order", "_line")
    repeated = valid.filter(pl.col("txn_id").is_duplicated())
    if repeated.is_empty():
        return frame
    order = pl.col("_order").cast(pl.Int64) * (1 << 40) + pl.col("_line")
    later = repeated.filter(order != order.min().over("txn_id")).select(
        "_order", "_line", pl.lit("duplicate").alias("_dup")
    )
    return (
        frame.join(later, on=["_order", "_line"], how="left", maintain_order="left")
        .with_columns(pl.coalesce("_dup", "_reject").alias("_reject"))
        .drop("_dup")
    )


def _with_rate(frame: pl.LazyFrame, fx: pl.DataFrame) -> pl.LazyFrame:
    """Upper-case `currency` and add its FX `_rate` (null when the table has none)."""
    frame = frame.with_columns(pl.col("currency").str.to_uppercase())
    if fx["currency"].is_duplicated().any():
        return frame.join(fx.lazy(), on="currency", how="left")
    # a small table: looked up per row, which keeps the row order (a join need not)
    rate = pl.col("currency").replace_strict(
        fx["currency"], fx["_rate"], default=None, return_dtype=fx.schema["_rate"]
    )
    return frame.with_columns(rate.alias("_rate"))


def _reasons(rejected: pl.DataFrame) -> pl.DataFrame:
    """File, line, field, message and raw values of the rejected postings (a small frame)."""
    text: dict[str, pl.Expr] = {}
    for column in TRANSACTION_COLUMNS:
        raw = f"_raw_{column}"
        parts = [pl.col(raw)] if raw in rejected.columns else []
        if column in rejected.columns:
            parts.append(pl.col(column).cast(pl.String))
        if parts:
            text[column] = pl.coalesce(parts) if len(parts) > 1 else parts[0]
    code = pl.col("_reject").str.split(":").list.first()
    missing_field = pl.col("_reject").str.split(":").list.get(1, null_on_oob=True)
    field: pl.Expr = pl.when(code == "missing").then(missing_field)
    message: pl.Expr = pl.when(code == "missing").then(pl.lit("missing required value"))
    for key, (name, template, source) in _REASONS.items():
        if key == "missing":
            continue
        value = text.get(source, pl.lit(None, pl.String))
        field = field.when(code == key).then(pl.lit(name))  # type: ignore[attr-defined]
        message = message.when(code == key).then(pl.format(template, value.fill_null("")))  # type: ignore[attr-defined]
    return rejected.select(
        pl.col("_file").alias("file"),
        pl.col("_line").alias("line"),
        field.alias("field"),
        message.alias("reason"),
        pl.struct([expr.alias(name) for name, expr in text.items()])
        .struct.json_encode()
        .alias("raw"),
    )


def read_transactions(
    inputs: Sequence[str | Path],
    /,
    *,
    mapping: str | Path | Mapping = "canonical",
    fx: pl.DataFrame | None = None,
    streaming: bool = False,
    columns: Collection[str] | None = None,
) -> Ingested:
    """Read, map and validate transaction files into canonical postings.

    Args:
        columns: the canonical columns to keep (the required ones are always kept); None
            keeps every canonical column the input gives. Columns left out are never read
            from a typed file; validation and rejects are the same either way.

    Raises:
        InputError: a file cannot be used at all.
        RuleError: the mapping file has problems.
    """
    spec = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    paths = expand_inputs(inputs)
    fx_table = fx if fx is not None else load_fx()
    wanted = frozenset(TRANSACTION_COLUMNS if columns is None else columns)
    wanted |= set(REQUIRED_TRANSACTION_COLUMNS)
    keep = wanted | _VALIDATED
    scans: list[tuple[int, Path, pl.LazyFrame]] = []
    chunks: list[pl.DataFrame] = []
    unposted: list[pl.LazyFrame] = []
    label_parts: list[pl.LazyFrame] = []
    files: list[SourceFile] = []
    rows_read = 0
    engine: Literal["streaming", "auto"] = "streaming" if streaming else "auto"
    for file_index, path in enumerate(paths):
        lf = _scan(path, spec)
        _check_columns(lf, spec, path)
        try:
            rows = int(lf.select(pl.len()).collect().item())
        except pl.exceptions.PolarsError as exc:
            raise InputError(f"{path}: unreadable: {str(exc).splitlines()[0]}") from exc
        if rows == 0:
            raise InputError(f"{path}: file holds no rows")
        rows_read += rows
        files.append(SourceFile(str(path), path.stat().st_size, _fingerprint(path), rows))
        scans.append((file_index, path, lf))
        # a slice of rows at a time: parsing and checking a whole file at once held several
        # times the accepted frame (4.1 GB for a 0.7 GB frame at 5M rows). Only Parquet seeks
        # to a slice; a text file would be re-read from its start for every slice.
        step = _ROWS_AT_ONCE if _seekable(path, spec) else rows
        for offset in range(0, rows, step):
            piece = lf.slice(offset, step)
            for index in range(len(spec.postings)):
                part = _posting_frame(
                    piece, spec, index, file_index, str(path), keep=keep, sample=lf
                )
                checked = _checked(part, fx_table)
                names = checked.collect_schema().names()
                out = [c for c in TRANSACTION_COLUMNS if c in wanted and c in names]
                chunks.append(
                    checked.select("_order", "_line", "_reject", *out).collect(engine=engine)
                )
        whens = [p.when for p in spec.postings]
        if all(whens):
            applies = pl.any_horizontal([pl.sql_expr(str(w)).fill_null(False) for w in whens])
            unposted.append(
                lf.filter(~applies).select(
                    pl.lit(str(path)).alias("file"),
                    pl.col("_line").cast(pl.Int64).alias("line"),
                    pl.lit("-").alias("field"),
                    pl.lit("no posting of the mapping applies to this row").alias("reason"),
                    pl.lit(None, pl.String).alias("raw"),
                )
            )
        if spec.labels:
            first = spec.postings[0]
            ids = _raw(dict(first.fields)["txn_id"])
            label_parts.append(
                lf.select(
                    ids.alias("source_txn_id"),
                    *[pl.col(c).cast(pl.String).alias(k) for k, c in spec.labels],
                )
            )
    collected = _mark_duplicates(pl.concat(chunks, how="diagonal_relaxed", rechunk=False))
    out = [c for c in TRANSACTION_COLUMNS if c in collected.columns]
    # only rejected postings are looked at again, with every field and its raw text
    codes = collected.filter(pl.col("_reject").is_not_null()).select("_order", "_line", "_reject")
    rejected = _rejects(scans, spec, fx_table, codes)
    if unposted:
        rejected = pl.concat([rejected, pl.concat(unposted).collect()], how="vertical_relaxed")
    accepted = collected if codes.is_empty() else collected.filter(pl.col("_reject").is_null())
    if not _in_order(accepted):
        accepted = accepted.sort("_order", "_line")
    accepted = accepted.select([pl.col(c).cast(TRANSACTION_COLUMNS[c]) for c in out])
    labels = pl.concat(label_parts).collect() if label_parts else None
    return Ingested(accepted, rejected.sort("file", "line"), labels, tuple(files), rows_read)


# what validation reads besides the required columns: kept in the lean frame even when unwanted
_VALIDATED = frozenset({"amount_base", "ts_local"})

_ROWS_AT_ONCE = 1 << 20
"""Source rows parsed and checked at a time (about one large Parquet row group)."""


def _in_order(frame: pl.DataFrame) -> bool:
    """Are the postings in file, posting and line order already (the usual case)?"""
    if frame.height < 2:
        return True
    key = pl.col("_order").cast(pl.Int64) * (1 << 40) + pl.col("_line")
    return bool(frame.select((key.diff().drop_nulls() > 0).all()).item())


def _rejects(
    scans: list[tuple[int, Path, pl.LazyFrame]],
    spec: Mapping,
    fx: pl.DataFrame,
    codes: pl.DataFrame,
) -> pl.DataFrame:
    """File, line, field, reason and raw text of the postings `codes` rejects."""
    if codes.is_empty():
        return pl.DataFrame(schema=REJECT_SCHEMA)
    full = [
        _posting_frame(lf, spec, index, file_index, str(path))
        for file_index, path, lf in scans
        for index in range(len(spec.postings))
    ]
    frame = _with_rate(pl.concat(full, how="diagonal_relaxed"), fx)
    if "amount_base" not in frame.collect_schema().names():
        base = (pl.col("amount") * pl.col("_rate")).round(2).cast(MONEY)
        frame = frame.with_columns(base.alias("amount_base"))
    rejected = (
        frame.join(codes.lazy(), on=["_order", "_line"], how="inner")
        .collect()
        .sort("_order", "_line")
    )
    return _reasons(rejected)


def load_customers(path: str | Path, /) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Customers (KYC) cast to the canonical dtypes, and their rejects.

    Raises:
        InputError: the file cannot be used at all.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: no such customers file")
    try:
        if file.suffix == ".parquet":
            frame = pl.read_parquet(file).with_row_index("_line", offset=1)
        else:
            frame = pl.read_csv(file, infer_schema=False).with_row_index("_line", offset=2)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"{file}: unreadable: {str(exc).splitlines()[0]}") from exc
    if "customer_id" not in frame.columns:
        raise InputError(f"{file}: missing required column 'customer_id'")
    casts = []
    for name, dtype in CUSTOMER_COLUMNS.items():
        if name not in frame.columns:
            continue
        col = pl.col(name)
        if frame.schema[name] == pl.List(pl.String):
            col = col.list.join(";")
        if dtype == TS_UTC and frame.schema[name] == pl.String:
            col = col.str.to_datetime(strict=False, time_zone="UTC")
        casts.append(col.cast(dtype, strict=False).alias(name))
    typed = frame.select(pl.col("_line").cast(pl.Int64), *casts)
    bad = (
        typed["customer_id"].is_null()
        | typed["customer_id"].is_duplicated() & ~typed["customer_id"].is_first_distinct()
    )
    rejects = typed.filter(bad).select(
        pl.lit(str(file)).alias("file"),
        pl.col("_line").alias("line"),
        pl.lit("customer_id").alias("field"),
        pl.when(pl.col("customer_id").is_null())
        .then(pl.lit("missing required value"))
        .otherwise(pl.format("duplicate customer_id '{}'", pl.col("customer_id")))
        .alias("reason"),
        pl.lit(None, pl.String).alias("raw"),
    )
    return typed.filter(~bad).drop("_line"), rejects
