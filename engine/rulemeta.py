"""The identity and provenance of a rule: the keys every rule may carry, their allowed values,
and the checks of a rule's header (id, kind, unknown keys, pillar, severity, role, weight).

These tuples are the one source of the rule language's vocabulary: the loader checks against
them and `engine.jsonschema` generates the editors' schema from them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.errors import Diagnostic, suggest
from engine.yamldoc import Doc

__all__ = ["META_KEYS", "PILLARS", "ROLES", "SEVERITIES", "STATUSES", "check_meta"]

PILLARS = ("recruitment_transport", "exploitation_revenue", "moving_proceeds", "network")
SEVERITIES = ("low", "medium", "high", "critical")
ROLES = ("controller", "victim", "buyer", "facilitator", "launderer", "mule", "unknown")
STATUSES = ("stable", "test", "experimental", "deprecated")
META_KEYS = (
    "id",
    "title",
    "description",
    "typology",
    "pillar",
    "severity",
    "weight",
    "specificity",
    "subject_role",
    "references",
    "status",
    "version",
    "tags",
    "kind",
    "params",
    "tests",
    "explain",
)
ID_PATTERN = r"^(HT|ML|AN|[A-Z]{2,6})-[A-Z0-9]+-\d{2}$"
_ID = re.compile(ID_PATTERN)
CHOICES = {"pillar": PILLARS, "severity": SEVERITIES, "subject_role": ROLES, "status": STATUSES}
LISTS = ("references", "tags")


def check_meta(
    doc: Doc, data: Mapping[str, Any], rule_id: str, kinds: Mapping[str, Any]
) -> list[Diagnostic]:
    """Problems of a rule's header: duplicate keys, id, kind, unknown keys, choices, weight.

    `kinds` is the kind registry (`engine.kinds.KINDS`), each kind with its `keys`.
    """
    errors = [
        doc.diagnostic(path, rule_id, f"duplicate key '{key}'", "keep one of the two")
        for path, key in doc.duplicate_keys
    ]
    if "id" not in data:
        errors.append(doc.diagnostic(("id",), rule_id, "missing id", "add id: PREFIX-NAME-NN"))
    elif not _ID.match(rule_id):
        errors.append(
            doc.diagnostic(
                ("id",),
                rule_id,
                f"id '{rule_id}' does not follow the convention",
                "use PREFIX-NAME-NN, e.g. HT-STRUCT-01",
            )
        )
    kind_name = data.get("kind")
    kind = kinds.get(str(kind_name))
    names = "kinds: " + ", ".join(sorted(kinds))
    if kind_name is None:
        errors.append(doc.diagnostic(("kind",), rule_id, "missing kind", names))
    elif kind is None:
        errors.append(
            doc.diagnostic(
                ("kind",),
                rule_id,
                f"unknown kind '{kind_name}'",
                suggest(str(kind_name), kinds) or names,
            )
        )
    # without a known kind, any kind's key may be meant: only report keys no kind has
    kind_keys = kind.keys if kind else tuple(k for each in kinds.values() for k in each.keys)
    allowed = {*META_KEYS, *kind_keys}
    for key in data:
        if key not in allowed:
            errors.append(
                doc.diagnostic((key,), rule_id, f"unknown key '{key}'", suggest(str(key), allowed))
            )
    for key, choices in CHOICES.items():
        if key in data and data[key] not in choices:
            errors.append(
                doc.diagnostic(
                    (key,),
                    rule_id,
                    f"unknown {key} '{data[key]}'",
                    suggest(str(data[key]), choices) or "one of: " + ", ".join(choices),
                )
            )
    for key in LISTS:
        if key in data and not isinstance(data[key], list):
            errors.append(
                doc.diagnostic((key,), rule_id, f"expected a list, not {data[key]!r}", "[a, b]")
            )
    weight = data.get("weight", 1.0)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
        errors.append(
            doc.diagnostic(("weight",), rule_id, f"expected a non-negative number, not {weight!r}")
        )
    return errors
