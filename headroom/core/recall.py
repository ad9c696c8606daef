"""Recall: answer a later question from outputs compressed before it was asked.

An output is compressed once, when it arrives, knowing only what preceded it;
its compressed bytes then stay fixed so the provider's prompt cache keeps
hitting. When a user later asks about it, the parts of the *original* that
match the question and are not already visible are appended after that
question, the only place a change costs nothing that is cached.

The same units answer `headroom_retrieve(hash, query)` (`matching_parts`),
where the query may also take the structured forms the tool documents:
`field=value`, `field>value`, `top N by column`, `bottom N by column`, or a
column name alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from headroom.core import transforms
from headroom.core.heuristics import RETRIEVE_MAX_UNITS, RETRIEVE_PROJECTION_MAX
from headroom.core.relevance import Relevance, split_identifier, stem
from headroom.core.transforms.base import record_text
from headroom.core.transforms.table_model import MISSING, Table, cell_text
from headroom.core.transforms.table_values import order_key, order_keys, ranked
from headroom.core.transforms.tables import asked_rows

__all__ = ["RECALL_MARK", "build_recall", "matching_parts", "units_of"]

#: How recall's appended block starts: a question carrying it has had its recall.
RECALL_MARK = "[headroom recall:"

_WS = re.compile(r"\s+")
_PER_OUTPUT = 3


def units_of(text: str) -> list[str]:
    """The original split into answerable units: records, lines, functions, passages."""
    return list(transforms.units_of(text).parts)


def _asked_rows(relevance: Relevance, rows: list[dict[str, Any]]) -> list[int]:
    """Rows the question asks for by rank ("the 4 slowest"), range or position."""
    if not rows or not (relevance.ranks or relevance.ranges or relevance.positions):
        return []
    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = Table(columns, [[row.get(c, MISSING) for c in columns] for row in rows])
    return asked_rows(table, relevance)


def _normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


# --- headroom_retrieve queries --------------------------------------------------------------

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
    columns = list(dict.fromkeys(key for row in rows for key in row))
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
    columns = list(dict.fromkeys(key for row in rows for key in row))
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
    picked = _word_matches(Relevance.from_texts([query]), units.searched)
    if not picked:
        return ""
    shown = sorted(picked[:max_units])
    more = len(picked) - len(shown)
    tail = [f"... {more} more parts match; narrow the query"] if more else []
    return "\n".join([*(units.parts[i] for i in shown), *tail])


# --- recall after a later question -------------------------------------------------------


def _fit(head: list[str], units: list[str], budget: int, count: Callable[[str], int]) -> str | None:
    """`head` plus as many of `units` (best first) as fit in `budget` tokens.

    A unit too large for what is left is cut at a line boundary, so a long
    function still shows its signature and first lines rather than nothing.
    """
    lines = list(head)
    used = count("\n".join(lines))
    added = 0
    for unit in units:
        cost = count(unit)
        if used + cost <= budget:
            lines.append(unit)
            used += cost
            added += 1
            continue
        kept: list[str] = []
        for line in unit.splitlines():
            line_cost = count(line) + 1
            if used + line_cost > budget - 12:
                break
            kept.append(line)
            used += line_cost
        if kept:
            lines.append("\n".join([*kept, "... (cut to fit; retrieve the hash for the rest)"]))
            added += 1
        break
    return "\n".join(lines) if added else None


def _targeted(question: str, earlier: Sequence[tuple[str, str, str, str]]) -> list[int]:
    """Indices of the outputs the question points at by tool name or call arguments.

    A question that names the tool or what it was called with ("the output of
    `fetch_invoices`") picks those outputs; otherwise every output is a candidate.
    """
    relevance = Relevance.from_texts([question])
    calls = [call for _, _, _, call in earlier]
    found = relevance.hits(calls)
    scores = [0] * len(earlier)
    for where in found.values():
        if len(where) < len(earlier):  # a word every call shares names none of them
            for i in where:
                scores[i] += 1
    best = max(scores, default=0)
    return [i for i, s in enumerate(scores) if s == best] if best else list(range(len(earlier)))


def build_recall(
    question: str,
    earlier: Sequence[tuple[str, str, str, str]],
    max_tokens: int,
    count: Callable[[str], int],
) -> str:
    """Text to append after `question`: matching units not already visible, within budget.

    `earlier` holds (ccr hash, original, compressed, "tool name + arguments") of
    each lossy output before the question.
    """
    relevance = Relevance.from_texts([question])
    if not relevance or max_tokens <= 0:
        return ""
    blocks: list[str] = []
    used = 0
    chosen = [earlier[i] for i in _targeted(question, earlier)]
    for ccr_hash, original, compressed, _ in reversed(chosen):  # the newest output first
        visible = _normalize(compressed)
        units = transforms.units_of(original)
        keys = [_normalize(s) for s in units.shown]
        picks = relevance.top(units.searched, _PER_OUTPUT, max_share=0.05)
        if units.rows is not None:
            picks = [*picks, *_asked_rows(relevance, units.rows)]
        fresh = [units.parts[i] for i in dict.fromkeys(picks) if keys[i] not in visible]
        header = f"from the output stored as {ccr_hash}:"
        block = _fit([header], fresh, max_tokens - used, count)
        if block is None:
            continue
        blocks.append(block)
        used += count(block)
    if not blocks:
        return ""
    return (
        f"{RECALL_MARK} parts of earlier compressed outputs that match this question]\n"
        + "\n".join(blocks)
    )
