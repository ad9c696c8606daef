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
from dataclasses import dataclass
from typing import Any

from headroom.core import transforms
from headroom.core.heuristics import (
    GREP_MAX_PATH_SHARE,
    GREP_SEARCH_ROOTS_SHARE,
    RANGE_ROWS_MAX,
    RECALL_GROUP_MAX_SHARE,
    RECALL_GROUP_MAX_TOKENS,
    RETRIEVE_MAX_UNITS,
    RETRIEVE_PROJECTION_MAX,
)
from headroom.core.relevance import Relevance
from headroom.core.transforms import grep
from headroom.core.transforms.base import record_text
from headroom.core.transforms.table_model import MISSING, Table, cell_text
from headroom.core.transforms.table_requests import asked_rows
from headroom.core.transforms.table_values import order_key, order_keys, ranked
from headroom.core.words import split_identifier, stem

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


_BOUND_PARTS = re.compile(r"^[$€£¥]?([\d,]*\.?\d+)\s?([A-Za-z%µ]{0,12})$")
_LINE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
_LINE_CLOCK = re.compile(r"(?<![\d:])(\d{2}):(\d{2})(?::(\d{2}))?(?![\d])")


def _text_bound(text: str | None) -> tuple[float | str, str] | None:
    """(value, unit) of a bound as written: a number and the unit glued to it ("895ms"),
    a clock reading in seconds since midnight ("14:05", unit ":"), or an ISO date."""
    if not text:
        return None
    if _LINE_DATE.fullmatch(text.replace("Z", "")):
        return text.replace("T", " ").replace("Z", ""), "date"
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if clock:
        h, m, sec = (int(g or 0) for g in clock.groups())
        return float(h * 3600 + m * 60 + sec), ":"
    parts = _BOUND_PARTS.match(text)
    if parts is None:
        return None
    return float(parts.group(1).replace(",", "")), parts.group(2).lower()


def _range_units(relevance: Relevance, searched: Sequence[str]) -> list[int]:
    """Lines (log lines, text, grep groups) holding a value in a range the question asks:
    a number written with the question's unit ("took over 500 ms" finds "... 812ms"), a
    time of day ("between 14:00 and 14:05" reads each line's first clock), or an ISO date.
    A number without a unit is too common in text to select anything."""
    picks: list[int] = []
    for request in relevance.ranges:
        low, high = _text_bound(request.low), _text_bound(request.high)
        said = low or high
        if said is None or (low and high and low[1] != high[1] and low[1] and high[1]):
            continue
        unit = said[1] or (high[1] if high else "") or request.unit
        lo = low[0] if low else None
        hi = high[0] if high else None
        if unit == "date":
            found = [
                i
                for i, u in enumerate(searched)
                if (m := _LINE_DATE.search(u))
                and (lo is None or m.group(0).replace("T", " ")[: len(str(lo))] >= str(lo))
                and (hi is None or m.group(0).replace("T", " ")[: len(str(hi))] <= str(hi))
            ]
        elif unit == ":":
            found = []
            for i, u in enumerate(searched):
                m = _LINE_CLOCK.search(u)
                if m is None:
                    continue
                t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
                if (lo is None or t >= float(lo)) and (hi is None or t <= float(hi)):
                    found.append(i)
        elif unit.isalpha():
            number = re.compile(rf"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?{re.escape(unit)}\b", re.I)
            found = [
                i
                for i, u in enumerate(searched)
                if any(
                    (lo is None or x >= float(lo)) and (hi is None or x <= float(hi))
                    for x in (float(m.group(1).replace(",", "")) for m in number.finditer(u))
                )
            ]
        else:
            continue
        if len(found) > RANGE_ROWS_MAX:  # too many: those that also hold the question's words
            worded = {
                i for where in relevance.hits([searched[i] for i in found]).values() for i in where
            }
            found = [found[k] for k in sorted(worded)]
        if len(found) <= RANGE_ROWS_MAX:
            picks.extend(found)
    return picks


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
        # A range or rank in words ("amount between 400 and 420", "the 3rd longest"), read
        # as a question's would be. Not a position: "Result 123" is more likely a value.
        read = Relevance.from_texts([query])
        read = Relevance(read.terms, read.strong, read.ranks, read.ranges)
        asked = list(dict.fromkeys(_asked_rows(read, rows)))
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


# --- recall after a later question -------------------------------------------------------


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


@dataclass(frozen=True)
class _Group:
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


def _path_groups(relevance: Relevance, units: Sequence[str]) -> list[_Group]:
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
    groups: list[_Group] = []
    for words, where in sorted(by_words.items(), key=lambda kv: (len(kv[1]), sorted(kv[0]))):
        place = _common_dir([paths[i] for i in where])
        query = place.rstrip("/") or " ".join(sorted(words))
        groups.append(_Group(where, f"matches under {place}", query, hoist=True))
    return groups


def _names_value(relevance: Relevance, value: str) -> bool:
    """Whether the question names a label value: every word of it, at least one a word
    and not a number or date (a date is asked for by range, not as a group)."""
    parts = split_identifier(value)
    if not any(p.isalpha() and len(p) >= 3 for p in parts):
        return False
    return relevance.names(value)


def _value_groups(relevance: Relevance, rows: Sequence[dict[str, Any]]) -> list[_Group]:
    """Rows holding a value the question names, when that value recurs ("the west region").

    A value held by most rows is the column's norm and names no group; a value
    held once is a single record, which relevance finds by itself.
    """
    n = len(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    groups: list[_Group] = []
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
                groups.append(_Group(where, f"rows with {column}={value}", f"{column}={value}"))
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


def _group_block(
    ccr_hash: str,
    group: _Group,
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
            groups = _value_groups(relevance, found.rows)
            picks = [*picks, *_asked_rows(relevance, found.rows)]
        else:
            groups = _path_groups(relevance, units)
            picks += _range_units(relevance, found.searched) if relevance.ranges else []
        head = [f"from the output stored as {ccr_hash}:"]
        covered: set[int] = set()
        for group in groups:
            if covered.issuperset(group.units):
                continue
            fresh_units = [i for i in group.units if i not in covered and keys[i] not in visible]
            covered.update(group.units)
            if not fresh_units:
                continue
            lines = _group_block(ccr_hash, group, units, fresh_units, count)
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
