"""Groups a later question names as a whole: a directory's matches, a value's rows.

"What matched under the billing folder?" or "which jobs belong to team atlas?"
asks for every unit of a kind, not the few that match best: recall appends the
whole group when it fits, else grep's match lines only or its first matches,
else the `headroom_retrieve` query that returns the group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from headroom.core.heuristics import (
    GREP_MAX_PATH_SHARE,
    GREP_SEARCH_ROOTS_SHARE,
    RECALL_GROUP_MAX_SHARE,
    RECALL_GROUP_MAX_TOKENS,
)
from headroom.core.relevance import Relevance
from headroom.core.transforms import grep
from headroom.core.transforms.table_model import MISSING, cell_text, record_columns
from headroom.core.words import split_identifier

__all__ = ["Group", "group_block", "path_groups", "value_groups"]


@dataclass(frozen=True)
class Group:
    """Units of one output that the question names as a whole, and how to ask for them."""

    units: list[int]  # in output order
    what: str  # "matches under migrations/versions/", "rows with region=west"
    query: str  # the `headroom_retrieve` query that returns them all
    hoist: bool = False  # grep matches: print each path once


# A line of a grep unit: `path:12:text`, `path-12-text`, or (ripgrep's heading layout,
# joined to its path) `path:12-text`.
_GREP_LINE = re.compile(
    r"^(?:\./)?(?P<path>[^\s:]+?)(?:(?P<s1>[:-])(?P<n1>\d+)(?P=s1)|:(?P<n2>\d+)(?P<s2>[:-]))"
    r"(?P<text>.*)$"
)


def _grep_lines(unit: str) -> list[tuple[str, str, str, str]]:
    """(path, separator, line number, text) of each line of a grep unit."""
    out = []
    for line in unit.splitlines():
        m = _GREP_LINE.match(line)
        if m:
            out.append((m["path"], m["s1"] or m["s2"], m["n1"] or m["n2"], m["text"]))
    return out


def _unit_path(unit: str) -> str:
    m = _GREP_LINE.match(unit.split("\n", 1)[0])
    return m["path"] if m else ""


def _common_dir(paths: Sequence[str]) -> str:
    """The directory all `paths` share ("a/b/"), else the shortest path."""
    parts = [p.split("/") for p in paths]
    shared: list[str] = []
    for column in zip(*(p[:-1] for p in parts), strict=False):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    return "/".join(shared) + "/" if shared else min(paths, key=len)


def path_groups(relevance: Relevance, units: Sequence[str]) -> list[Group]:
    """Matches under a path the question names by a word ("the migration scripts").

    A word is a path's when it is one of the path's directory or file-name words,
    plural folded. Words of an identifier found in most units are the searched
    pattern itself ("fetch_user" in every match), and a word naming most units is
    the searched directory: neither names a group. The paths holding the most of the
    question's words are the group; the smallest groups come first.
    """
    paths = [_unit_path(u) for u in units]
    with_path = sum(1 for p in paths if p)
    if not with_path or with_path < len(units) / 2:
        return []  # not search results: a line that looks like `name:12:` is chance
    pattern = Relevance(frozenset(t for t in relevance.terms if not t.isalpha()))
    common = {t for t, where in pattern.hits(units).items() if len(where) > with_path / 2}
    ignored = {w for t in common for w in grep.path_words(t)}
    wanted = {
        w
        for t in relevance.terms
        if t.isalpha() or "/" in t
        for w in grep.path_words(t)
        if w not in ignored
    }
    per_word: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        for word in grep.path_words(path) & wanted if path else ():
            per_word.setdefault(word, []).append(i)
    named = {i for where in per_word.values() for i in where}
    if len(named) >= GREP_SEARCH_ROOTS_SHARE * with_path:
        return []
    narrow = {w for w, where in per_word.items() if len(where) <= GREP_MAX_PATH_SHARE * with_path}
    # A unit's path may hold several of the question's words ("the test fixtures" and
    # tests/fixtures/): the paths holding the most of them are the ones meant.
    found = {i: frozenset(grep.path_words(paths[i]) & narrow) for i in named}
    most = max((len(words) for words in found.values()), default=0)
    by_words: dict[frozenset[str], list[int]] = {}
    for i in sorted(found):
        if most and len(found[i]) == most:
            by_words.setdefault(found[i], []).append(i)
    groups: list[Group] = []
    for words, where in sorted(by_words.items(), key=lambda kv: (len(kv[1]), sorted(kv[0]))):
        place = _common_dir([paths[i] for i in where])
        query = place.rstrip("/") or " ".join(sorted(words))
        groups.append(Group(where, f"matches under {place}", query, hoist=True))
    return groups


def _names_value(relevance: Relevance, value: str) -> bool:
    """Whether the question names a label value: every word of it, at least one a word
    and not a number or date (a date is asked for by range, not as a group)."""
    parts = split_identifier(value)
    if not any(p.isalpha() and len(p) >= 3 for p in parts):
        return False
    return relevance.names(value)


def value_groups(relevance: Relevance, rows: Sequence[dict[str, Any]]) -> list[Group]:
    """Rows holding a value the question names, when that value recurs ("the west region").

    A value held by most rows is the column's norm and names no group; a value
    held once is a single record, which relevance finds by itself.
    """
    n = len(rows)
    columns = record_columns(rows)
    groups: list[Group] = []
    for column in columns:
        texts = [cell_text(row.get(column, MISSING)) for row in rows]
        counts: dict[str, int] = {}
        for text in texts:
            counts[text] = counts.get(text, 0) + 1
        if len(counts) > n / 2:
            continue  # identifiers and free text: no value recurs enough to be a group
        for value, count in counts.items():
            if 2 <= count <= RECALL_GROUP_MAX_SHARE * n and _names_value(relevance, value):
                where = [i for i, t in enumerate(texts) if t == value]
                groups.append(Group(where, f"rows with {column}={value}", f"{column}={value}"))
    groups.sort(key=lambda g: len(g.units))
    return groups


def _hoisted(units: Sequence[str], matches_only: bool) -> list[str]:
    """grep units with each path said once, as the grep transform prints them."""
    lines: list[str] = []
    current = None
    for unit in units:
        for path, sep, number, text in _grep_lines(unit):
            if matches_only and sep != ":":
                continue
            if path != current:
                current = path
                lines.append(f"{path}:")
            lines.append(f"  {'' if sep == ':' else '-'}{number}:{text}")
    return lines


def group_block(
    ccr_hash: str,
    group: Group,
    units: Sequence[str],
    fresh: Sequence[int],
    count: Callable[[str], int],
) -> list[str]:
    """Lines appending a named group: whole; else (grep) its match lines without their
    context, else its first matches; else (rows) the query that returns them."""
    total = len(group.units)
    said = f" ({total - len(fresh)} already in the output above)" if len(fresh) < total else ""
    picked = [units[i] for i in fresh]
    forms = [(_hoisted(picked, False), ""), (_hoisted(picked, True), ", match lines only")]
    if not group.hoist:
        forms = [(picked, "")]
    for lines, how in forms:
        if count("\n".join(lines)) <= RECALL_GROUP_MAX_TOKENS:
            return [f"all {total} {group.what}{how}{said}:", *lines]
    rest = f'headroom_retrieve(hash="{ccr_hash}", query="{group.query}")'
    if not group.hoist:  # some rows of a listing read as all of it: say how to get them
        return [f"{total} {group.what}{said}, too many to append: {rest} returns them"]
    shown: list[str] = []
    used = 0
    for unit in picked:
        cost = count(unit) + 1
        if used + cost > RECALL_GROUP_MAX_TOKENS:
            break
        shown.append(unit)
        used += cost
    lines = _hoisted(shown, False)
    return [f"{len(shown)} of {total} {group.what}{said}; the rest: {rest}:", *lines]
