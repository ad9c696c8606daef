"""Recall: answer a later question from outputs compressed before it was asked.

An output is compressed once, when it arrives, knowing only what preceded it;
its compressed bytes then stay fixed so the provider's prompt cache keeps
hitting. When a user later asks about it, the parts of the *original* that
match the question and are not already visible are appended after that
question, the only place a change costs nothing that is cached.

This module finds the outputs a question points at and fits what it gets
back into the budget. What is appended comes from three readers: the groups the
question names as a whole (`recall_groups`), the rows or lines it asks for by
rank, range or position (`table_requests.asked_records`, `line_ranges`), and
the units that best match its words (`relevance`). `headroom_retrieve` queries
are answered by `retrieve_query` over the same units.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from headroom.core import transforms
from headroom.core.line_ranges import range_units
from headroom.core.recall_groups import group_block, path_groups, value_groups
from headroom.core.relevance import Relevance
from headroom.core.transforms.table_requests import asked_records

__all__ = ["RECALL_MARK", "build_recall", "units_of"]

#: How recall's appended block starts: a question carrying it has had its recall.
RECALL_MARK = "[headroom recall:"

_WS = re.compile(r"\s+")
_PER_OUTPUT = 3


def units_of(text: str) -> list[str]:
    """The original split into answerable units: records, lines, functions, passages."""
    return list(transforms.units_of(text).parts)


def _normalize(text: str) -> str:
    return _WS.sub(" ", text).strip()


_LEFT_OUT = (
    '... {n} more matching parts left out for space: headroom_retrieve(hash="{h}") with a '
    "query (words, `field>=value`, `top N by column`) returns them"
)
#: Tokens kept free for the line saying how many parts did not fit.
_LEFT_OUT_TOKENS = 40


def _fit(
    head: list[str], units: list[str], budget: int, count: Callable[[str], int], ccr_hash: str = ""
) -> str | None:
    """`head` plus as many of `units` (best first) as fit in `budget` tokens, and a line
    saying how many did not.

    A unit too large for what is left is cut at a line boundary, so a long
    function still shows its signature and first lines rather than nothing.
    """
    lines = list(head)
    used = count("\n".join(lines))
    room = budget - (_LEFT_OUT_TOKENS if len(units) > 1 else 0)
    added = 0
    for unit in units:
        cost = count(unit)
        if used + cost <= room:
            lines.append(unit)
            used += cost
            added += 1
            continue
        kept: list[str] = []
        for line in unit.splitlines():
            line_cost = count(line) + 1
            if used + line_cost > room - 12:
                break
            kept.append(line)
            used += line_cost
        if kept:
            lines.append("\n".join([*kept, "... (cut to fit; retrieve the hash for the rest)"]))
            added += 1
        break
    if not added:
        return None
    if added < len(units):
        lines.append(_LEFT_OUT.format(n=len(units) - added, h=ccr_hash))
    return "\n".join(lines)


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
    each lossy output before the question. A group the question names as a whole
    (the matches under a directory, the rows holding a value) comes first, up to
    `RECALL_GROUP_MAX_TOKENS`; then the few best-matching units.
    """
    relevance = Relevance.from_texts([question])
    if not relevance or max_tokens <= 0:
        return ""
    blocks: list[str] = []
    used = 0
    chosen = [earlier[i] for i in _targeted(question, earlier)]
    for ccr_hash, original, compressed, _ in reversed(chosen):  # the newest output first
        visible = _normalize(compressed)
        found = transforms.units_of(original)
        units = found.parts
        keys = [_normalize(s) for s in found.shown]
        picks = relevance.top(found.searched, _PER_OUTPUT, max_share=0.05)
        if found.rows is not None:
            groups = value_groups(relevance, found.rows)
            picks = [*picks, *asked_records(relevance, found.rows)]
        else:
            groups = path_groups(relevance, units)
            picks += range_units(relevance, found.searched) if relevance.ranges else []
        head = [f"from the output stored as {ccr_hash}:"]
        covered: set[int] = set()
        for group in groups:
            if covered.issuperset(group.units):
                continue
            fresh_units = [i for i in group.units if i not in covered and keys[i] not in visible]
            covered.update(group.units)
            if not fresh_units:
                continue
            lines = group_block(ccr_hash, group, units, fresh_units, count)
            if count("\n".join([*head, *lines])) + used <= max_tokens:
                head += lines
        fresh = [
            units[i] for i in dict.fromkeys(picks) if i not in covered and keys[i] not in visible
        ]  # best first
        if len(head) > 1 and fresh:
            head.append("other matching parts:")
        block = _fit(head, fresh, max_tokens - used, count, ccr_hash)
        if block is None:
            if len(head) == 1:
                continue
            block = "\n".join(head)
        blocks.append(block)
        used += count(block)
    if not blocks:
        return ""
    return (
        f"{RECALL_MARK} parts of earlier compressed outputs that match this question]\n"
        + "\n".join(blocks)
    )
