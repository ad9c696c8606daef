"""What a `headroom_retrieve(hash, query)` query selects from an original.

Plain words return the units holding them, the most and rarest first. For
records the query may also take the structured forms the tool documents
(`field=value`, `field>value`, `top N by column`, `bottom N by column`, or a
column name alone), or a range or rank said in words, read as a question's
would be. When nothing matches the answer is empty, so the caller can say so
instead of returning the whole original.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from headroom.core import transforms
from headroom.core.heuristics import RETRIEVE_MAX_UNITS, RETRIEVE_PROJECTION_MAX
from headroom.core.relevance import Relevance
from headroom.core.transforms.base import record_text
from headroom.core.transforms.table_model import cell_text, record_columns
from headroom.core.transforms.table_requests import asked_records
from headroom.core.transforms.table_values import order_key, order_keys, ranked
from headroom.core.words import split_identifier, stem

__all__ = ["matching_parts"]

_TOP = re.compile(r"^\s*(top|bottom|highest|lowest)\s+(\d{1,6})\s+(?:by|of)\s+(.+?)\s*$", re.I)
_CONDITION = re.compile(r"^\s*([^=!<>~]+?)\s*(=|==|!=|>=|<=|>|<|~)\s*(.*?)\s*$")
_SPLIT = re.compile(r"\s*(?:,|;|&&|\band\b)\s*", re.I)


def _column(name: str, columns: Sequence[str]) -> str | None:
    """The column `name` refers to: exact, case-insensitive, last dotted part, or its words."""
    wanted = name.strip().strip("`'\"")
    lowered = wanted.lower()
    for column in columns:
        if column == wanted:
            return column
    for column in columns:
        if column.lower() == lowered or column.lower().rsplit(".", 1)[-1] == lowered:
            return column
    parts = {stem(p) for p in split_identifier(wanted)}
    for column in columns:
        if parts and {stem(p) for p in split_identifier(column)} == parts:
            return column
    return None


def _matches(cell: Any, op: str, value: str) -> bool:
    text = cell_text(cell)
    if op in ("=", "=="):
        return text.lower() == value.lower()
    if op == "!=":
        return text.lower() != value.lower()
    if op == "~":
        return value.lower() in text.lower()
    left, right = order_key(cell), order_key(value)
    if left is None or right is None or type(left) is not type(right):
        return False
    return bool(
        (op == ">" and left > right)  # type: ignore[operator]
        or (op == "<" and left < right)  # type: ignore[operator]
        or (op == ">=" and left >= right)  # type: ignore[operator]
        or (op == "<=" and left <= right)  # type: ignore[operator]
    )


def _structured(rows: list[dict[str, Any]], query: str) -> tuple[list[int], str] | None:
    """Rows a structured query selects, best first, and a header; None if not structured."""
    columns = record_columns(rows)
    top = _TOP.match(query)
    if top:
        column = _column(top.group(3), columns)
        if column is None:
            return [], f"no column named {top.group(3)!r}; columns: {', '.join(columns)}"
        keys = order_keys([row.get(column) for row in rows])
        if keys is None:
            return [], f"column {column!r} holds no numbers or dates to order by"
        descending = top.group(1).lower() in ("top", "highest")
        count = int(top.group(2))
        chosen = ranked(keys[0], count, descending)
        chosen.sort(key=lambda i: keys[0][i], reverse=descending)
        word = "top" if descending else "bottom"
        return chosen[:count], f"{word} {count} of {len(rows)} rows by {column}:"
    conditions = []
    for part in _SPLIT.split(query.strip()):
        m = _CONDITION.match(part)
        if not m or not part.strip():
            return None
        column = _column(m.group(1), columns)
        if column is None:
            return [], f"no column named {m.group(1).strip()!r}; columns: {', '.join(columns)}"
        conditions.append((column, m.group(2), m.group(3).strip().strip("'\"")))
    if not conditions:
        return None
    chosen = [
        i
        for i, row in enumerate(rows)
        if all(_matches(row.get(c, None), op, v) for c, op, v in conditions)
    ]
    return chosen, f"{len(chosen)} of {len(rows)} rows where {query.strip()}:"


def _projection(rows: list[dict[str, Any]], query: str) -> str | None:
    """A query naming only columns: those columns of every row (with the first column)."""
    columns = record_columns(rows)
    names = [_column(part, columns) for part in _SPLIT.split(query.strip()) if part.strip()]
    if not names or any(n is None for n in names):
        return None
    picked = [c for c in dict.fromkeys([columns[0], *names]) if c is not None]
    lines = [record_text({c: row.get(c) for c in picked}) for row in rows[:RETRIEVE_PROJECTION_MAX]]
    more = len(rows) - len(lines)
    head = f"columns {', '.join(picked)} of {len(rows)} rows:"
    tail = [f"... {more} more rows; ask for `top N by column` or `field=value`"] if more else []
    return "\n".join([head, *lines, *tail])


def _word_matches(relevance: Relevance, searched: Sequence[str]) -> list[int]:
    """Units holding any query word, those holding the most (and rarest) first."""
    found = relevance.hits(searched)
    score: dict[int, float] = {}
    for term, where in found.items():
        weight = (2.0 if term in relevance.strong else 1.0) / len(where)
        for i in where:
            score[i] = score.get(i, 0.0) + 1.0 + weight
    return sorted(score, key=lambda i: (-score[i], i))


def matching_parts(original: str, query: str, max_units: int = RETRIEVE_MAX_UNITS) -> str:
    """The units of `original` that match `query`, joined; empty when none match."""
    units = transforms.units_of(original)
    rows = units.rows
    if rows is not None:
        structured = _structured(rows, query)
        if structured is not None:
            chosen, header = structured
            if not chosen:
                return "" if header.endswith(":") else header
            lines = [record_text(rows[i]) for i in chosen[:max_units]]
            more = len(chosen) - len(lines)
            tail = [f"... {more} more rows match; narrow the query"] if more else []
            return "\n".join([header, *lines, *tail])
        projected = _projection(rows, query)
        if projected is not None:
            return projected
        # A range or rank in words ("amount between 400 and 420", "the 3rd longest"), read
        # as a question's would be. Not a position: "Result 123" is more likely a value.
        read = Relevance.from_texts([query])
        read = Relevance(read.terms, read.strong, read.ranks, read.ranges)
        asked = list(dict.fromkeys(asked_records(read, rows)))
        if asked:
            lines = [record_text(rows[i]) for i in asked[:max_units]]
            more = len(asked) - len(lines)
            tail = [f"... {more} more rows match; narrow the query"] if more else []
            return "\n".join([f"{len(asked)} of {len(rows)} rows asked for:", *lines, *tail])
    picked = _word_matches(Relevance.from_texts([query]), units.searched)
    if not picked:
        return ""
    shown = sorted(picked[:max_units])
    more = len(picked) - len(shown)
    tail = [f"... {more} more parts match; narrow the query"] if more else []
    return "\n".join([*(units.parts[i] for i in shown), *tail])
