"""HTML built one way: every value is escaped by `esc`, only `Markup` made here passes through.

Counterparty names and payment references are written by the people under investigation, so
no page, export or error message formats data into HTML by hand. `el` builds an element
from a tag written in code, escaped attributes and children; strings are always escaped;
`Markup` is only ever produced by this module.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote, urlencode

__all__ = ["Markup", "el", "esc", "join", "url"]

_TAG = re.compile(r"^[a-z][a-z0-9]*$")
_ATTR = re.compile(r"^[a-z][a-z0-9-]*$")
_VOID = frozenset(("br", "col", "hr", "img", "input", "link", "meta"))


class Markup(str):
    """Text that is already safe HTML. Only this module makes it."""

    __slots__ = ()


def esc(value: object) -> Markup:
    """Escape any value for HTML text or a quoted attribute (`None` becomes empty)."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def _children(items: Iterable[object]) -> Iterable[Markup]:
    for item in items:
        if item is None or item is False:
            continue
        if isinstance(item, str):
            yield esc(item)
        elif isinstance(item, Iterable):
            yield from _children(item)
        else:
            yield esc(item)


def join(*items: object) -> Markup:
    """Concatenate children (strings escaped, iterables flattened, `None` skipped)."""
    return Markup("".join(_children(items)))


def el(tag: str, *children: object, **attrs: object) -> Markup:
    """One element. Attribute names: `class_` -> `class`, `data_x` -> `data-x`.

    `True` writes a bare attribute, `None` and `False` leave it out, anything else is escaped.
    """
    if not _TAG.match(tag):
        raise ValueError(f"bad tag {tag!r}")
    parts = [tag]
    for raw, value in attrs.items():
        if value is None or value is False:
            continue
        name = raw.rstrip("_").replace("_", "-")
        if not _ATTR.match(name) or name.startswith("on"):
            raise ValueError(f"bad attribute {raw!r}")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    head = "<" + " ".join(parts) + ">"
    if tag in _VOID and not children:
        return Markup(head)
    return Markup(head + join(*children) + f"</{tag}>")


def url(*segments: str, **query: object) -> str:
    """A same-site path: each segment percent-encoded, empty query values dropped."""
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    pairs = {k: str(v) for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(pairs) if pairs else "")
