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

from headroom.core.detect import detect_kind, parse_json
from headroom.core.relevance import Relevance
from headroom.core.transforms.code import _split_numbering, find_functions
from headroom.core.transforms.rag import split_passages
from headroom.core.transforms.tables import parse_text_table

__all__ = ["build_recall", "matching_parts", "units_of"]

_WS = re.compile(r"\s+")
_PER_OUTPUT = 3


def units_of(text: str) -> list[str]:
    """The original split into answerable units: records, lines, functions, passages."""
    kind = detect_kind(text)
    if kind == "json":
        value = parse_json(text)
        records = _records(value)
        if records:
            return [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    if kind in ("table", "csv"):
        table = parse_text_table(text)
        if table is not None:
            return [json.dumps(dict(zip(table.columns, row)), ensure_ascii=False) for row in table.rows]
    if kind == "code":
        lines = text.splitlines()
        _, code = _split_numbering(lines)
        functions = find_functions(code)
        if functions:
            return ["\n".join(lines[f.start : f.end]) for f in functions]
    if kind == "rag":
        return split_passages(text)
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


def _normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


def matching_parts(original: str, query: str, max_units: int = 20) -> str:
    """The units of `original` that match `query`, joined; empty when none match."""
    units = units_of(original)
    picked = Relevance.from_texts([query]).top(units, max_units, max_share=0.2)
    return "\n".join(units[i] for i in sorted(picked))


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
        units = units_of(original)
        picks = relevance.top(units, _PER_OUTPUT, max_share=0.05)
        fresh = [units[i] for i in sorted(picks) if _normalize(units[i]) not in visible]
        if not fresh:
            continue
        block = f"from the output stored as {ccr_hash}:\n" + "\n".join(fresh)
        cost = count(block)
        if used + cost > max_tokens:
            continue
        blocks.append(block)
        used += cost
    if not blocks:
        return ""
    return "[headroom recall: parts of earlier compressed outputs that match this question]\n" + "\n".join(blocks)
