"""Reference lists (`rules/lists/*.csv`) and their use in rule expressions as `@name`.

A list is a CSV whose first two columns are `value` and `group`. In an expression,
`@mcc_groups.LODGING` becomes the SQL tuple of the values of that group and `@name` the tuple
of all values; the tuple is a quoted literal handed to `polars.sql_expr`, never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engine.paths import LISTS_DIR

__all__ = ["LISTS_DIR", "LIST_REF", "RefLists", "load_lists"]

LIST_REF = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z0-9_\-]+))?")


@dataclass(frozen=True, slots=True)
class RefLists:
    """Every loaded reference list, by name."""

    tables: Mapping[str, pl.DataFrame]

    def values(self, name: str, group: str | None = None) -> tuple[str, ...] | None:
        """The values of a list (or of one group of it); None when there is no such list."""
        table = self.tables.get(name)
        if table is None:
            return None
        if group is not None:
            if "group" not in table.columns:
                return None
            table = table.filter(pl.col("group") == group)
        return tuple(sorted(set(table["value"].drop_nulls().to_list())))

    def is_empty(self, name: str) -> bool:
        """A list that exists but holds no rows (a per-bank feed not supplied with this pack)."""
        table = self.tables.get(name)
        return table is not None and table.is_empty()

    def groups(self, name: str) -> tuple[str, ...]:
        """The group names of a list."""
        table = self.tables.get(name)
        if table is None or "group" not in table.columns:
            return ()
        return tuple(sorted(set(table["group"].drop_nulls().to_list())))

    def sql_tuple(self, name: str, group: str | None = None) -> str | None:
        """The list as a SQL tuple literal with quotes escaped, e.g. `('7011', '3501')`."""
        values = self.values(name, group)
        if values is None:
            return None
        if not values:
            return "(NULL)"
        return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def load_lists(*folders: Path | str | None) -> RefLists:
    """Lists from the shipped folder, then from each extra folder (later names override)."""
    tables: dict[str, pl.DataFrame] = {}
    for folder in (LISTS_DIR, *folders):
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).glob("*.csv")):
            frame = pl.read_csv(path, infer_schema=False)
            if "value" in frame.columns:
                tables[path.stem] = frame
    return RefLists(tables)
