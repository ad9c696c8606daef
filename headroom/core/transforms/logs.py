"""Logs: collapse recurring lines by template, keep everything that stands out.

A line's template masks what varies (numbers, ids, hex, addresses, dates).
Lines whose template recurs are written once with a count; lines that are
rare, and every error/warning/fatal line with a line of context around it
and its whole stack trace, stay verbatim, as do the first and last lines.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

from headroom.core.transforms.base import SEVERITY, Compressed, Job, has_severity, marker

__all__ = ["compress_logs", "is_severe", "template_of"]

_VARIABLE = re.compile(
    r"(?<![\w.:/@+=-])[\w.:/@+=-]*?\d[\w.:/@+=-]*"
    r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
    r"|\b[0-9a-fA-F]{8,}\b"
)
_VARIABLE_SPLIT = re.compile(f"({_VARIABLE.pattern})")
_SPACES = re.compile(r"[ \t]{2,}")
_TRACE = re.compile(
    r"^(?:\s+at |\s+File \"|\s+\.\.\. \d+ more|Caused by:|Traceback \(most recent|\s{4,}\S)"
)

#: A template must recur this often before its lines are collapsed: a handful of
#: look-alike lines is exactly what a question tends to be about.
_COLLAPSE_AT = 5
#: Error/warning lines are collapsed only when their template recurs this often.
_SEVERE_COLLAPSE_AT = 5
_MAX_TRACE_LINES = 60
_MAX_LISTED_VALUES = 6


_RUNS = re.compile(r"<\*>(?:[ :,]+<\*>)+")
#: Lines sharing a template once rare words are masked too must number this many
#: before they are merged (a user name, a host name).
_GENERALIZE_AT = 5


def template_of(line: str) -> str:
    """The line with its varying parts masked as `<*>`."""
    return _RUNS.sub("<*>", _VARIABLE.sub("<*>", _SPACES.sub(" ", line.strip())))


#: Severity written as a level field: logcat's `E/Tag(12):` or `... 123 E Tag:`, syslog-ish
#: `<ERROR>`, `[crit]`.
_LEVEL = re.compile(
    r"(?:^|\s)[EFAW](?:/[\w.$-]+\s*(?:\(\s*\d+\))?:|\s+[\w.$-]+\s*:)"
    r"|[<\[](?:crit|alert|emerg|severe|CRIT|ALERT|EMERG|SEVERE)[>\]]"
)


def is_severe(line: str) -> bool:
    """Whether a log line reports an error, a warning or a failure."""
    return has_severity(line) or _LEVEL.search(line) is not None


def _line_starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    return starts


def _variables_per_line(lines: list[str]) -> list[list[str]]:
    """`_VARIABLE.findall` of every line, from one split of the joined text."""
    pieces = _VARIABLE_SPLIT.split("\n".join(lines))
    found: list[list[str]] = [[]]
    for k, piece in enumerate(pieces):
        if k % 2:
            found[-1].append(piece)
        else:
            for _ in range(piece.count("\n")):
                found.append([])
    return found


def _severe_lines(lines: list[str]) -> list[bool]:
    """`is_severe` for every line, in one regex pass over the whole text."""
    joined = "\n".join(lines)
    starts = _line_starts(lines)
    flags = [False] * len(lines)
    for pattern, text in ((SEVERITY, joined.lower()), (_LEVEL, joined)):
        for match in pattern.finditer(text):
            flags[bisect.bisect_right(starts, match.start()) - 1] = True
    return flags


def _templates(lines: list[str], severe: list[bool]) -> list[str]:
    """Templates per line; rare words are masked too where that merges many lines.

    Numbers and ids are always variable. A word found in very few lines (a user
    name in "Invalid user oracle from ...") is variable only when masking it
    makes the line one of at least `_GENERALIZE_AT` lines of the same shape, so
    a rare line stays a template of its own and is kept verbatim. Error lines
    need twice as many look-alikes: their words are what a question quotes.
    """
    tidy = _SPACES.sub(" ", "\n".join(line.strip() for line in lines))
    base = _RUNS.sub("<*>", _VARIABLE.sub("<*>", tidy)).split("\n")  # one pass, not one per line
    split = [t.split(" ") for t in base]
    df: Counter[str] = Counter()
    for tokens in split:
        df.update(set(tokens))
    rare_at = max(2, len(lines) // 40)
    general = [
        " ".join("<*>" if df[tok] <= rare_at and tok != "<*>" else tok for tok in tokens)
        for tokens in split
    ]
    counts = Counter(general)
    return [
        g if counts[g] >= _GENERALIZE_AT * (2 if bad else 1) else b
        for g, b, bad in zip(general, base, severe, strict=True)
    ]


def compress_logs(job: Job) -> Compressed | None:
    lines = job.text.splitlines()
    if len(lines) < 8:
        return None
    tidy = _SPACES.sub(" ", "\n".join(line.rstrip() for line in lines)).split("\n")
    if not job.config.lossy:
        return Compressed("\n".join(_dedupe_runs(tidy)), "logs:tidy")
    severe = _severe_lines(lines)
    templates = _templates(lines, severe)
    counts = Counter(templates)
    relevant = (
        set(job.relevance.top(lines, job.scaled(8), max_share=0.05)) if job.relevance else set()
    )

    verbatim: set[int] = {0, len(lines) - 1} | relevant
    for i, t in enumerate(templates):
        if severe[i] and counts[t] < _SEVERE_COLLAPSE_AT * job.bias:
            verbatim.update(range(max(0, i - 1), min(len(lines), i + 2)))
            verbatim.update(_trace_after(lines, i))
        elif counts[t] < _COLLAPSE_AT:
            verbatim.add(i)
    first_last: dict[str, tuple[int, int]] = {}
    for i, t in enumerate(templates):
        lo, _ = first_last.get(t, (i, i))
        first_last[t] = (lo, i)
    for i, t in enumerate(templates):  # frequent error lines: show where they begin and end
        if severe[i] and i in first_last[t]:
            verbatim.add(i)

    members: dict[str, list[int]] = {}
    for i, t in enumerate(templates):
        if i not in verbatim:
            members.setdefault(t, []).append(i)
    out: list[str] = []
    shown_groups: set[str] = set()
    collapsed_lines = 0
    for i, line in enumerate(tidy):
        if i in verbatim:
            out.append(line)
            continue
        collapsed_lines += 1
        t = templates[i]
        if t not in shown_groups:
            shown_groups.add(t)
            out.append(f"[×{counts[t]}] {t}{_varying([lines[j] for j in members[t]])}")
    if collapsed_lines == 0:
        return Compressed("\n".join(tidy), "logs:tidy") if tidy != lines else None
    summary = (
        f"{collapsed_lines} of {len(lines)} lines collapsed into {len(shown_groups)} templates "
        f"([×N] = N lines like this, <*> = varying value); error/warning and rare lines kept verbatim"
    )
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n".join(out), "logs:templates", lossy=True)


def _varying(group: list[str]) -> str:
    """The few values a template's masked parts take, e.g. " (varying: 6 ×120, 7 ×125)".

    Only parts with a handful of distinct values are listed: those say which
    hosts, codes or states occurred; timestamps and counters are left out.
    """
    values = _variables_per_line(group)
    width = Counter(len(v) for v in values).most_common(1)[0][0]
    listed: list[str] = []
    for slot in range(width):
        seen = Counter(v[slot] for v in values if len(v) == width)
        if 1 < len(seen) <= _MAX_LISTED_VALUES:
            listed.append(", ".join(f"{value} ×{n}" for value, n in seen.most_common()))
    return f" (varying: {'; '.join(listed)})" if listed else ""


def _trace_after(lines: list[str], i: int) -> range:
    end = i + 1
    while end < len(lines) and end - i <= _MAX_TRACE_LINES and _TRACE.match(lines[end]):
        end += 1
    return range(i + 1, end)


def _dedupe_runs(lines: list[str]) -> list[str]:
    out: list[str] = []
    run = 0
    for i, line in enumerate(lines):
        if i and line == lines[i - 1]:
            run += 1
            continue
        if run:
            out.append(f"[previous line repeated {run} more times]")
            run = 0
        out.append(line)
    if run:
        out.append(f"[previous line repeated {run} more times]")
    return out
