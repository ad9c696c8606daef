"""Recall: answer a later question from outputs compressed before it was asked.

An output is compressed once, when it arrives, knowing only what preceded it;
its compressed bytes then stay fixed so the provider's prompt cache keeps
hitting. When a user later asks about it, the parts of the *original* that
match the question and are not already visible are appended after that
question, the only place a change costs nothing that is cached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from headroom.core.detect import detect_kind, parse_json, split_json
from headroom.core.relevance import Relevance
from headroom.core.transforms import code, grep, logs
from headroom.core.transforms.gitlog import split_commits
from headroom.core.transforms.json_data import _flatten
from headroom.core.transforms.rag import split_passages
from headroom.core.transforms.tables import _as_number, _cell, parse_text_table

__all__ = ["build_recall", "matching_parts", "units_of"]

_WS = re.compile(r"\s+")
_PER_OUTPUT = 3


def _record_rows(text: str, kind: str) -> list[dict[str, Any]] | None:
    if kind == "json":
        value = parse_json(text)
        if value is None:
            parts = split_json(text)
            value = parts[1] if parts else None
        records = _records(value)
        if records and all(isinstance(r, dict) for r in records):
            return [_flatten(r) for r in records if isinstance(r, dict)]
    if kind in ("table", "csv"):
        table = parse_text_table(text)
        if table is not None:
            return [dict(zip(table.columns, row, strict=False)) for row in table.rows]
    return None


def _row_unit(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def _row_line(row: dict[str, Any]) -> str:
    """How the row reads in a compressed table, to tell whether it is already visible."""
    return "|".join(_cell(v) for v in row.values())


def units_of(text: str) -> list[str]:
    """The original split into answerable units: records, lines, functions, passages."""
    kind = detect_kind(text)
    rows = _record_rows(text, kind)
    if rows is not None:
        return [_row_unit(r) for r in rows]
    if kind == "code" and (functions := code.units(text)) is not None:
        return functions  # each function's own lines: nested bodies are not repeated
    if kind == "rag":
        return split_passages(text)
    if kind == "gitlog":
        return split_commits(text)
    if kind == "grep" or (kind == "text" and grep.is_heading_layout(text.split("\n", 400)[:400])):
        return grep.units(text)  # a match with its context lines is one unit
    if kind == "log":
        return logs.units(text)  # a line with its traceback is one unit
    return [line for line in text.splitlines() if line.strip()]


def _records(value: object, depth: int = 0) -> list[object]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict) and depth < 3:
        best: list[object] = []
        for child in value.values():
            found = _records(child, depth + 1)
            if len(found) > len(best):
                best = found
        return best
    return []


_DESC = re.compile(
    r"\b(?:most|highest|largest|biggest|greatest|maximum|max|top|longest|heaviest|best)\b", re.I
)
_ASC = re.compile(
    r"\b(?:least|lowest|smallest|fewest|minimum|min|bottom|shortest|lightest|cheapest|worst)\b",
    re.I,
)
_COUNT = re.compile(
    r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty)\b", re.I
)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}
_NAME_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _ranked_rows(question: str, rows: list[dict[str, Any]]) -> list[int]:
    """For "which 4 cars have the most horsepower": the top-4 rows by that column."""
    direction = _DESC.search(question), _ASC.search(question)
    if not any(direction):
        return []
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    wanted = _COUNT.search(question)
    k = 1
    if wanted:
        token = wanted.group(1).lower()
        k = int(token) if token.isdigit() else _NUMBER_WORDS[token]
    k = max(1, min(k, 25))
    picked: list[int] = []
    for column in rows[0] if rows else {}:
        parts = {p.lower() for p in _NAME_PARTS.findall(column) if len(p) >= 3}
        if not parts or (not parts <= words and not (parts & words and len(parts) > 1)):
            continue
        values = [(_as_number(r.get(column)), i) for i, r in enumerate(rows)]
        numbers = [(v, i) for v, i in values if v is not None]
        if len(numbers) < len(rows) * 0.9:
            continue
        for found, reverse in ((direction[0], True), (direction[1], False)):
            if found:
                ranked = sorted(numbers, key=lambda p: p[0], reverse=reverse)
                picked.extend(i for _, i in ranked[:k])
    return picked


def _normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


def matching_parts(original: str, query: str, max_units: int = 20) -> str:
    """The units of `original` that match `query`, joined; empty when none match."""
    units = units_of(original)
    picked = Relevance.from_texts([query]).top(units, max_units, max_share=0.2)
    return "\n".join(units[i] for i in sorted(picked))


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

    "go back to the log you pulled earlier (ssh_exec call)" names its source; when
    no output is named this way, every output is a candidate.
    """
    terms = Relevance.from_texts([question]).terms
    scores = []
    for _, _, _, call in earlier:
        lowered = call.lower()
        scores.append(sum(1 for t in terms if t in lowered))
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
        kind = detect_kind(original)
        rows = _record_rows(original, kind)
        if rows is not None:
            units = [_row_unit(r) for r in rows]
            keys = [_normalize(_row_line(r)) for r in rows]
            picks = [
                *relevance.top(units, _PER_OUTPUT, max_share=0.05),
                *_ranked_rows(question, rows),
            ]
        else:
            units = units_of(original)
            keys = [_normalize(u) for u in units]
            picks = relevance.top(units, _PER_OUTPUT, max_share=0.05)
        fresh = [units[i] for i in dict.fromkeys(picks) if keys[i] not in visible]  # best first
        header = f"from the output stored as {ccr_hash}:"
        block = _fit([header], fresh, max_tokens - used, count)
        if block is None:
            continue
        blocks.append(block)
        used += count(block)
    if not blocks:
        return ""
    return (
        "[headroom recall: parts of earlier compressed outputs that match this question]\n"
        + "\n".join(blocks)
    )
