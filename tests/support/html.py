"""Typed look-ups in a parsed page: each asserts it found what it looks for and returns a `Tag`, so a
test reads elements and attributes rather than `Tag | NavigableString | None` unions."""

from __future__ import annotations

from bs4 import Tag


def one(node: Tag, selector: str) -> Tag:
    """The first element under `node` matching the CSS `selector`; failing the test if there is none."""
    found = node.select_one(selector)
    assert found is not None, f"nothing matches {selector!r}"
    return found


def around(node: Tag, selector: str) -> Tag:
    """The element holding the first match of `selector`, e.g. the section around a heading."""
    parent = one(node, selector).parent
    assert parent is not None, f"{selector!r} has no parent"
    return parent


def attr(node: Tag, name: str) -> str:
    """A single-valued attribute (`href`, `aria-sort`), failing the test if it is absent."""
    value = node.get(name)
    assert isinstance(value, str), f"{name}={value!r} on <{node.name}>"
    return value


def text(node: Tag) -> str:
    """The element's text with whitespace collapsed, as a reader sees it."""
    return " ".join(node.get_text(" ").split())
