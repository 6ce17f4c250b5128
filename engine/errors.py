"""The small exception tree and the one diagnostic format of the engine.

Every problem a person can act on becomes one line:
`path:line:col: rule-id: field: problem (suggestion)`. The CLI turns exceptions into that
line and an exit code (0 clean, 1 findings or failures, 2 usage or input errors).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Diagnostic",
    "InputError",
    "MoneytrailError",
    "RuleError",
    "StoreError",
    "StoreLockedError",
    "suggest",
]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem in a rule, mapping, feature set or input file."""

    path: str
    line: int
    col: int
    rule_id: str
    field: str
    problem: str
    suggestion: str = ""

    def __str__(self) -> str:
        tail = f" ({self.suggestion})" if self.suggestion else ""
        where = f"{self.path}:{self.line}:{self.col}"
        return f"{where}: {self.rule_id}: {self.field}: {self.problem}{tail}"


class MoneytrailError(Exception):
    """Base of every error the CLI reports as one line."""

    exit_code = 2


class InputError(MoneytrailError):
    """An input file cannot be used at all (missing, unreadable, empty, missing columns)."""


class RuleError(MoneytrailError):
    """A rule pack (or mapping, or feature set) has problems; all of them are collected."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(sorted(diagnostics, key=lambda d: (d.path, d.line, d.col)))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class StoreError(MoneytrailError):
    """The alert store cannot be opened or written."""


class StoreLockedError(StoreError):
    """Another process holds the write lock on the store."""


def suggest(word: str, candidates: Iterable[str]) -> str:
    """A 'did you mean' suggestion from the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'" if close else ""
