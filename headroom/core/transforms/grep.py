"""grep/search output: hoist each file path once; keep the matches that matter.

`path:line:text` matches, `path-line-text` context lines (`-A/-B/-C`) and
ripgrep's heading layout (a path line, then `line:text` / `line-text` under
it) are grouped under their path (lossless). A *group* is a run of adjacent
lines of one file (a match and its context) between `--` separators: when
there are many matches, whole groups are kept or left out, so a context line
never loses the match it belongs to. Each file keeps its first groups, every
group the request names, and every group under a path the request names in
words ("the tests", "the migrations folder"); the rest are counted per file
and retrievable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom.core.heuristics import (
    GREP_HEADING_SHARE,
    GREP_MAX_PATH_SHARE,
    GREP_MIN_MATCHES,
    GREP_MIN_MATCHES_FOR_SELECTION,
    GREP_PER_FILE,
    GREP_RELEVANT,
    GREP_SEARCH_ROOTS_SHARE,
    TEXT_KINDS_TERM_MAX_SHARE,
)
from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker

__all__ = [
    "GrepTransform",
    "Match",
    "compress_grep",
    "is_heading_layout",
    "parse_grep",
    "path_words",
    "units",
]

_LINE = re.compile(r"^(?:\./)?(?P<path>[^\s:]+?)(?P<sep>[:-])(?P<num>\d+)(?P=sep)(?P<text>.*)$")
# ripgrep --heading: `12:text` for a match, `12-text` for context, under a path line.
_NUMBERED = re.compile(r"^(?P<num>\d+)(?P<sep>[:-])(?P<text>.*)$")
_HEADING = re.compile(r"^(?:\./)?[^\s:]*[\w-]\.\w{1,8}$|^(?:\./)?(?:[\w.@+-]+/)+[\w.@+-]+$")
_PATH_SPLIT = re.compile(r"[/\\._\-\s]+")
_SEPARATOR = "--"


@dataclass(frozen=True, slots=True)
class Match:
    """One match (`sep` ":") or context line (`sep` "-") of one file.

    The number and text are slices of `raw`, taken when read: a million-line
    output then holds one string per line, not three.
    """

    path: str
    sep: str
    raw: str
    num_at: int  # where the line number starts in `raw`
    text_at: int  # where the matched text starts in `raw`

    @property
    def number(self) -> str:
        return self.raw[self.num_at : self.text_at - 1]

    @property
    def text(self) -> str:
        return self.raw[self.text_at :]


def is_heading_layout(lines: list[str]) -> bool:
    """Whether the lines are ripgrep's heading layout: path lines, numbered lines under them."""
    headings = numbered = 0
    for k, line in enumerate(lines[:400]):
        if _NUMBERED.match(line):
            numbered += 1
        elif _HEADING.match(line) and k + 1 < len(lines) and _NUMBERED.match(lines[k + 1]):
            headings += 1
    sample = sum(1 for line in lines[:400] if line.strip() and line.strip() != _SEPARATOR)
    return headings >= 1 and numbered + headings >= GREP_HEADING_SHARE * sample


def parse_grep(text: str) -> list[Match | str]:
    """Matches and context lines, with any other line (`--` separators, prose) as text."""
    lines = text.splitlines()
    heading = is_heading_layout(lines)
    current: str | None = None
    out: list[Match | str] = []
    paths: dict[str, str] = {}  # one string per path, however many lines name it
    for k, raw in enumerate(lines):
        if heading:
            m = _NUMBERED.match(raw)
            if m and current is not None:
                shift = len(current) + 1
                line = f"{current}:{raw}"
                out.append(Match(current, m["sep"], line, shift, shift + m.end("num") + 1))
                continue
            if _HEADING.match(raw) and k + 1 < len(lines) and _NUMBERED.match(lines[k + 1]):
                current = raw[2:] if raw.startswith("./") else raw
                continue
            if not raw.strip():
                current = None
            out.append(raw)
            continue
        m = _LINE.match(raw)
        if m is None:
            out.append(raw)
            continue
        path = paths.setdefault(m["path"], m["path"])
        out.append(Match(path, m["sep"], raw, m.start("num"), m.start("text")))
    return out


def _groups(items: list[Match | str]) -> list[range]:
    """Indices of items per group: adjacent lines of one file, split at `--` and gaps.

    Any other item ends a group, so a group is a run of consecutive items: a
    `range` holds it in constant space where a list of indices took a pointer
    and an int per line.
    """
    groups: list[range] = []
    start = end = -1
    last: Match | None = None
    for i, item in enumerate(items):
        if not isinstance(item, Match):
            last = None  # a separator or any other line ends the group
            continue
        adjacent = (
            last is not None and last.path == item.path and int(item.number) == int(last.number) + 1
        )
        if not adjacent:
            if start >= 0:
                groups.append(range(start, end))
            start = i
        end = i + 1
        last = item
    if start >= 0:
        groups.append(range(start, end))
    return groups


def units(text: str) -> list[str]:
    """The output as answerable units: each match group (a match with its context
    lines, as `path:line:text`) and each other non-blank line."""
    items = parse_grep(text)
    grouped = _groups(items)
    first = {members[0]: members for members in grouped}
    out: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            if item.strip() and item.strip() != _SEPARATOR:
                out.append(item)
        elif i in first:
            out.append("\n".join(_raw(items[k]) for k in first[i]))
    return out


def _fold(word: str) -> str:
    """A word without a simple plural ending, so "tests" names `test/` and `tests/`."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def path_words(path: str) -> set[str]:
    """The folded words of a path's directories and file name (`tests/unit/test_io.py`)."""
    return {_fold(w) for w in _PATH_SPLIT.split(path.lower()) if len(w) >= 3}


def compress_grep(job: Job) -> Compressed | None:
    items = parse_grep(job.text)
    total = sum(1 for x in items if isinstance(x, Match) and x.sep == ":")
    if total < GREP_MIN_MATCHES:
        return None
    lossy = job.config.lossy and total >= GREP_MIN_MATCHES_FOR_SELECTION
    keep = _select(items, job) if lossy else None
    out: list[str] = []
    current: str | None = None
    omitted_by_path: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, str):
            if item.strip() and item.strip() != _SEPARATOR:  # prose around the matches stays
                out.append(item)
                current = None
            continue
        if keep is not None and not keep[i]:
            if item.sep == ":":
                omitted_by_path[item.path] = omitted_by_path.get(item.path, 0) + 1
            continue
        if item.path != current:
            current = item.path
            out.append(f"{item.path}:")
        sep = "" if item.sep == ":" else "-"
        out.append(f"  {sep}{item.number}:{item.text}")
    if not lossy or not omitted_by_path:
        return Compressed("\n".join(out), "grep:hoist")
    omitted = sum(omitted_by_path.values())
    per_file = ", ".join(
        f"{p} {n}" for p, n in sorted(omitted_by_path.items(), key=lambda kv: -kv[1])[:12]
    )
    summary = (
        f"{omitted} of {total} matches omitted, with their context lines (per file: {per_file})"
    )
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n".join(out), "grep:select", lossy=True)


def _select(items: list[Match | str], job: Job) -> list[bool]:
    """Per item, whether it stays: whole groups, chosen per file, by the request's terms
    and by the paths it names; every line that is not a match stays."""
    groups = _groups(items)
    chosen: set[int] = set()
    per_file: dict[str, int] = {}
    limit = job.scaled(GREP_PER_FILE)
    for g, members in enumerate(groups):
        path = _path(items, members)
        seen = per_file.get(path, 0)
        if seen < limit:
            chosen.add(g)
        per_file[path] = seen + 1
    if job.relevance:
        texts = ["\n".join(_raw(items[i]) for i in members) for members in groups]
        chosen.update(
            job.relevance.top(texts, job.scaled(GREP_RELEVANT), max_share=TEXT_KINDS_TERM_MAX_SHARE)
        )
        del texts
        chosen.update(_named_paths(items, groups, job))
    keep = [isinstance(item, str) for item in items]
    for g in chosen:
        for i in groups[g]:
            keep[i] = True
    return keep


def _named_paths(items: list[Match | str], groups: list[range], job: Job) -> set[int]:
    """Groups under a path the request names by a word ("tests", "migrations").

    A word naming most of the groups (the repository's top directory) selects
    nothing, nor do words that together name nearly all of them.
    """
    wanted = {_fold(t) for t in job.relevance.terms if t.isalpha() and len(t) >= 3}
    if not wanted:
        return set()
    words: dict[str, set[str]] = {}
    named: list[set[str]] = []
    groups_per_word: dict[str, int] = {}
    for members in groups:
        path = _path(items, members)
        if path not in words:
            words[path] = path_words(path) & wanted
        named.append(words[path])
        for w in words[path]:
            groups_per_word[w] = groups_per_word.get(w, 0) + 1
    # Words that together name nearly every group are the directories the search
    # ran over (repeated in its arguments): they tell nothing about which match matters.
    if sum(1 for found in named if found) >= GREP_SEARCH_ROOTS_SHARE * len(groups):
        return set()
    narrow = {w for w, n in groups_per_word.items() if n <= GREP_MAX_PATH_SHARE * len(groups)}
    return {g for g, found in enumerate(named) if found & narrow}


def _path(items: list[Match | str], members: range) -> str:
    first = items[members[0]]
    return first.path if isinstance(first, Match) else ""


def _raw(item: Match | str) -> str:
    return item.raw if isinstance(item, Match) else item


class GrepTransform(Transform):
    """grep and ripgrep output: matches kept with their context lines."""

    kind = "grep"

    def compress(self, job: Job) -> Compressed | None:
        return compress_grep(job)

    def units(self, text: str) -> Units:
        return Units.of(units(text))
