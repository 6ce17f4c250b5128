"""Source mappings: how a bank's own file layout becomes canonical postings.

A mapping is a YAML file in `rules/mappings/` (or anywhere, given by path). A new bank layout
is a new mapping file, never new code:

```yaml
mapping: amlsim
format: csv                       # csv | parquet | ndjson (default: from the file extension)
csv: {separator: ",", decimal_comma: false}
fields:                           # shared by every posting of a source row
  txn_id: tran_id
  ts_utc: {column: tran_timestamp, format: "%Y-%m-%dT%H:%M:%SZ", timezone: UTC}
  channel: {column: tx_type, map: {TRANSFER: wire}}
  currency: {const: USD}
postings:                         # one source row -> one posting per entry (when it applies)
  - {direction: out, account_id: orig_acct, counterparty_account_id: bene_acct, amount: base_amt}
  - {direction: in, account_id: bene_acct, counterparty_account_id: orig_acct, amount: base_amt}
labels: {is_sar: is_sar, alert_id: alert_id}
```

A source is a column name, or `{column | concat + sep | const}` with an optional value `map`,
a timestamp `format` and `timezone`, an `epoch` and `unit` for numeric offsets, or
`signed: true` on an amount (its sign then gives the direction). A posting's `when` is a SQL
expression over the source columns (parsed by `polars.sql_expr`, never evaluated as Python).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from engine.errors import Diagnostic, RuleError, suggest
from engine.paths import MAPPINGS_DIR
from engine.schema import TRANSACTION_COLUMNS
from engine.yamldoc import Doc, KeyPath, load_docs, yaml_diagnostic

__all__ = ["MAPPINGS_DIR", "Mapping", "Posting", "Source", "load_mapping", "mapping_names"]


_SOURCE_KEYS = {"column", "concat", "sep", "const", "map", "format", "timezone", "epoch", "unit"}
_SOURCE_KEYS_ALL = _SOURCE_KEYS | {"signed", "unmapped"}
_TOP_KEYS = {
    "mapping",
    "description",
    "format",
    "csv",
    "fields",
    "postings",
    "labels",
    "passthrough",
}
_CSV_KEYS = {"separator", "decimal_comma", "thousands", "quote_char", "encoding"}
_UNITS = {"s": "s", "ms": "ms", "us": "us", "m": "m", "h": "h", "d": "d"}


@dataclass(frozen=True, slots=True)
class Source:
    """Where one canonical field comes from in the source row."""

    column: str | None = None
    concat: tuple[str, ...] = ()
    sep: str = ""
    const: str | None = None
    value_map: tuple[tuple[str, str | None], ...] = ()
    unmapped: str = "keep"  # keep | null: what happens to values the map does not name
    ts_format: str | None = None
    timezone: str | None = None
    epoch: str | None = None
    unit: str = "s"
    signed: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns this field reads."""
        return (self.column,) if self.column else self.concat


@dataclass(frozen=True, slots=True)
class Posting:
    """One posting made from each source row (for which `when` holds)."""

    fields: tuple[tuple[str, Source], ...]
    when: str | None = None
    txn_id_suffix: str = ""


@dataclass(frozen=True, slots=True)
class Mapping:
    """A parsed, validated source mapping."""

    name: str
    path: str
    format: str | None
    separator: str = ","
    decimal_comma: bool = False
    thousands: str | None = None
    quote_char: str | None = '"'
    encoding: str = "utf8"
    postings: tuple[Posting, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    description: str = ""
    passthrough: bool = False

    @property
    def source_columns(self) -> tuple[str, ...]:
        """Every source column any posting or label reads, in a stable order."""
        cols: dict[str, None] = {}
        for posting in self.postings:
            for _, src in posting.fields:
                cols.update(dict.fromkeys(src.columns))
        cols.update(dict.fromkeys(c for _, c in self.labels))
        return tuple(cols)


def _source(doc: Doc, keys: KeyPath, raw: Any, errors: list[Diagnostic], name: str) -> Source:
    if isinstance(raw, str):
        return Source(column=raw)
    if not isinstance(raw, dict):
        errors.append(doc.diagnostic(keys, name, "expected a column name or a mapping"))
        return Source()
    for key in raw:
        if key not in _SOURCE_KEYS_ALL:
            errors.append(
                doc.diagnostic(
                    (*keys, key), name, f"unknown key '{key}'", suggest(key, _SOURCE_KEYS_ALL)
                )
            )
    picked = [k for k in ("column", "concat", "const") if k in raw]
    if len(picked) != 1:
        errors.append(doc.diagnostic(keys, name, "give exactly one of column, concat, const"))
    value_map = raw.get("map") or {}
    if not isinstance(value_map, dict):
        errors.append(doc.diagnostic((*keys, "map"), name, "map must be a mapping of values"))
        value_map = {}
    unit = str(raw.get("unit", "s"))
    if unit not in _UNITS:
        errors.append(
            doc.diagnostic(
                (*keys, "unit"), name, f"unknown unit '{unit}'", "use s, ms, us, m, h or d"
            )
        )
    return Source(
        column=None if raw.get("column") is None else str(raw["column"]),
        concat=tuple(str(c) for c in raw.get("concat") or ()),
        sep=str(raw.get("sep", "")),
        const=None if raw.get("const") is None else str(raw["const"]),
        value_map=tuple((str(k), None if v is None else str(v)) for k, v in value_map.items()),
        unmapped=str(raw.get("unmapped", "keep")),
        ts_format=raw.get("format"),
        timezone=raw.get("timezone"),
        epoch=None if raw.get("epoch") is None else str(raw["epoch"]),
        unit=unit,
        signed=bool(raw.get("signed", False)),
    )


def _fields(
    doc: Doc, keys: KeyPath, raw: dict[str, Any], errors: list[Diagnostic], name: str
) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for field_name, spec in raw.items():
        if field_name in ("when", "txn_id_suffix"):
            continue
        if field_name not in TRANSACTION_COLUMNS:
            errors.append(
                doc.diagnostic(
                    (*keys, field_name),
                    name,
                    f"unknown canonical column '{field_name}'",
                    suggest(field_name, TRANSACTION_COLUMNS),
                    at_key=True,
                )
            )
            continue
        out[field_name] = _source(doc, (*keys, field_name), spec, errors, name)
    return out


def _parse(doc: Doc) -> Mapping:
    errors: list[Diagnostic] = []
    data = doc.data if isinstance(doc.data, dict) else {}
    name = str(data.get("mapping") or Path(doc.path).stem)
    if not isinstance(doc.data, dict):
        raise RuleError([doc.diagnostic((), name, "a mapping file is a YAML mapping")])
    for where, key in doc.duplicate_keys:
        errors.append(doc.diagnostic(where, name, f"duplicate key '{key}'", "keep one of the two"))
    for key in data:
        if key not in _TOP_KEYS:
            errors.append(
                doc.diagnostic((key,), name, f"unknown key '{key}'", suggest(key, _TOP_KEYS))
            )
    csv = data.get("csv") or {}
    if not isinstance(csv, dict):
        errors.append(doc.diagnostic(("csv",), name, "csv must be a mapping of options"))
        csv = {}
    for key in csv:
        if key not in _CSV_KEYS:
            errors.append(
                doc.diagnostic(("csv", key), name, f"unknown key '{key}'", suggest(key, _CSV_KEYS))
            )
    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, dict):
        errors.append(doc.diagnostic(("fields",), name, "fields must be a mapping"))
        raw_fields = {}
    shared = _fields(doc, ("fields",), raw_fields, errors, name)
    raw_postings = data.get("postings") or [{}]
    if not isinstance(raw_postings, list):
        errors.append(doc.diagnostic(("postings",), name, "postings must be a list of mappings"))
        raw_postings = [{}]
    postings = []
    for i, raw in enumerate(raw_postings):
        keys: KeyPath = ("postings", i)
        if not isinstance(raw, dict):
            errors.append(doc.diagnostic(keys, name, "a posting is a mapping of fields"))
            continue
        own = _fields(doc, keys, raw, errors, name)
        merged = {**shared, **own}
        when = raw.get("when")
        if when is not None:
            try:
                pl.sql_expr(str(when))
            except Exception as exc:  # polars raises several types for bad SQL
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                errors.append(
                    doc.diagnostic((*keys, "when"), name, f"bad SQL expression: {first}", offset=0)
                )
        default_suffix = (
            f"-{merged['direction'].const}"
            if len(raw_postings) > 1 and "direction" in merged and merged["direction"].const
            else ""
        )
        postings.append(
            Posting(
                fields=tuple(merged.items()),
                when=None if when is None else str(when),
                txn_id_suffix=str(raw.get("txn_id_suffix", default_suffix)),
            )
        )
    fmt = data.get("format")
    if fmt is not None and fmt not in ("csv", "parquet", "ndjson"):
        errors.append(
            doc.diagnostic(
                ("format",), name, f"unknown format '{fmt}'", "use csv, parquet or ndjson"
            )
        )
    if errors:
        raise RuleError(errors)
    return Mapping(
        name=name,
        path=doc.path,
        format=fmt,
        separator=str(csv.get("separator", ",")),
        decimal_comma=bool(csv.get("decimal_comma", False)),
        thousands=csv.get("thousands"),
        quote_char=csv.get("quote_char", '"'),
        encoding=str(csv.get("encoding", "utf8")),
        postings=tuple(postings),
        labels=tuple((str(k), str(v)) for k, v in (data.get("labels") or {}).items()),
        description=str(data.get("description", "")),
        passthrough=bool(data.get("passthrough", False)),
    )


def mapping_names() -> tuple[str, ...]:
    """Names of the mappings shipped in `rules/mappings/`."""
    return tuple(sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml")))


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A shipped mapping by name (`amlsim`) or any mapping file by path.

    Raises:
        InputError: no such mapping.
        RuleError: the mapping file has problems (all of them, located).
    """
    from engine.errors import InputError

    path = Path(name_or_path)
    if not path.suffix:
        path = MAPPINGS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        hint = suggest(str(name_or_path), mapping_names())
        raise InputError(
            f"{name_or_path}: no such mapping (shipped: {', '.join(mapping_names())})"
            + (f"; {hint}" if hint else "")
        )
    text = path.read_text(encoding="utf-8")
    try:
        docs = load_docs(path, text)
    except yaml.YAMLError as exc:
        raise RuleError([yaml_diagnostic(path, exc, text)]) from exc
    if len(docs) != 1:
        raise InputError(f"{path}: a mapping file holds exactly one YAML document")
    return _parse(docs[0])
