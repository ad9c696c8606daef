"""Logs: collapse recurring lines by template, keep everything that stands out.

A line's template masks what varies (numbers, ids, hex, addresses, dates).
The unit is a *record*: a line and the continuation lines under it (an
indented traceback, a Java stack trace, `Caused by:` chains), so a block is
kept or collapsed whole and keeps its indentation. Records whose template
recurs are written once with a count; records that are rare *by frequency*
(whatever their level: an unusual INFO event seen a handful of times counts
as much as an error), every error/warning/fatal record with a record of
context around it, and the first and last records stay verbatim.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

from headroom.core.heuristics import (
    LOG_BLOCK_MAX_LINES,
    LOG_COLLAPSE_AT,
    LOG_GENERALIZE_AT,
    LOG_GENERALIZE_MAX_MASKED,
    LOG_MAX_LISTED_VALUES,
    LOG_MIN_LINES,
    LOG_RARE_MAX,
    LOG_RARE_SHARE,
    LOG_RARE_WORD_MIN,
    LOG_RARE_WORD_SHARE,
    LOG_RELEVANT,
    LOG_SCAN_CHUNK,
    TEXT_KINDS_TERM_MAX_SHARE,
)
from headroom.core.transforms.base import (
    SEVERITY,
    Compressed,
    Job,
    Transform,
    Units,
    has_severity,
    marker,
)

__all__ = ["LogTransform", "compress_logs", "is_severe", "template_of", "units"]

_VARIABLE = re.compile(
    r"(?<![\w.:/@+=-])[\w.:/@+=-]*?\d[\w.:/@+=-]*"
    r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
    r"|\b[0-9a-fA-F]{8,}\b"
)
_VARIABLE_SPLIT = re.compile(f"({_VARIABLE.pattern})")
_SPACES = re.compile(r"[ \t]{2,}")
#: How a stack-trace line opens when it is not indented (checked on the stripped line).
_CONTINUATION = re.compile(
    r"(?:Traceback \(most recent call last\)|Caused by:|During handling of the above exception|"
    r"The above exception was the direct cause|\.\.\. \d+ (?:more|common frames omitted)|"
    r"(?:[A-Za-z_$][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception|Throwable|Interrupt|Exit)\b(?::|$))"
)


_RUNS = re.compile(r"<\*>(?:[ :,]+<\*>)+")


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
    """`is_severe` for every line, one regex pass per chunk of lines."""
    flags = [False] * len(lines)
    for offset in range(0, len(lines), LOG_SCAN_CHUNK):
        chunk = lines[offset : offset + LOG_SCAN_CHUNK]
        joined = "\n".join(chunk)
        starts = _line_starts(chunk)
        for pattern, text in ((SEVERITY, joined.lower()), (_LEVEL, joined)):
            for match in pattern.finditer(text):
                flags[offset + bisect.bisect_right(starts, match.start()) - 1] = True
    return flags


def _templates(lines: list[str], severe: list[bool]) -> list[str]:
    """Templates per line; rare words are masked too where that merges many lines.

    Numbers and ids are always variable. A word found in very few lines (a user
    name in "Invalid user oracle from ...") is variable only when masking it
    makes the line one of at least `LOG_GENERALIZE_AT` lines of the same shape
    and at most `LOG_GENERALIZE_MAX_MASKED` of its words are masked, so a rare
    message stays a template of its own and is kept verbatim. Error lines need
    twice as many look-alikes: their words are what a question quotes.
    """
    base: list[str] = []
    for offset in range(0, len(lines), LOG_SCAN_CHUNK):  # one pass per chunk, not per line:
        # no pattern crosses a line, and a chunk's copies are small next to the whole log
        chunk = "\n".join(line.strip() for line in lines[offset : offset + LOG_SCAN_CHUNK])
        base.extend(_RUNS.sub("<*>", _VARIABLE.sub("<*>", _SPACES.sub(" ", chunk))).split("\n"))
    df: Counter[str] = Counter()
    for line in base:  # split twice rather than hold every line's words at once
        df.update(set(line.split(" ")))
    rare_at = max(LOG_RARE_WORD_MIN, int(len(lines) * LOG_RARE_WORD_SHARE))
    general: list[str] = []
    for b in base:
        tokens = b.split(" ")
        masked = ["<*>" if tok != "<*>" and df[tok] <= rare_at else tok for tok in tokens]
        changed = sum(1 for tok, m in zip(tokens, masked, strict=True) if tok != m)
        # a line most of whose words are rare is a message of its own, not a variant
        general.append(" ".join(masked) if 0 < changed <= LOG_GENERALIZE_MAX_MASKED else b)
    counts = Counter(general)
    return [
        g if counts[g] >= LOG_GENERALIZE_AT * (2 if bad else 1) else b
        for g, b, bad in zip(general, base, severe, strict=True)
    ]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _record_starts(lines: list[str]) -> list[int]:
    """Index of the first line of each record; a record is a line plus its continuations.

    A continuation line is indented deeper than the log's usual indentation or
    opens like part of a stack trace (`Traceback`, `Caused by:`, `... 12 more`, an
    exception's qualified name). Blank lines are records of their own.
    """
    widths = Counter(_indent(line) for line in lines if line.strip())
    base = widths.most_common(1)[0][0] if widths else 0
    starts: list[int] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        continuation = (
            i > 0
            and bool(stripped)
            and bool(lines[i - 1].strip())
            and (_indent(line) > base or _CONTINUATION.match(stripped) is not None)
        )
        if not continuation:
            starts.append(i)
    return starts


def units(text: str) -> list[str]:
    """The log as answerable units: each record (a line with its traceback or stack
    trace, if any), blank lines left out."""
    lines = text.splitlines()
    starts = _record_starts(lines)
    ends = [*starts[1:], len(lines)][: len(starts)]
    return ["\n".join(lines[s:e]) for s, e in zip(starts, ends, strict=True) if lines[s].strip()]


def _tidy(line: str) -> str:
    """Trailing blanks cut and inner runs of blanks folded; the indentation stays."""
    body = line.lstrip(" \t")
    return line[: len(line) - len(body)] + _SPACES.sub(" ", body.rstrip())


def compress_logs(job: Job) -> Compressed | None:
    lines = job.text.splitlines()
    if len(lines) < LOG_MIN_LINES:
        return None
    if not job.config.lossy:
        return Compressed("\n".join(_dedupe_runs([_tidy(line) for line in lines])), "logs:tidy")
    starts = _record_starts(lines)
    ends = [*starts[1:], len(lines)]
    heads = [lines[s] for s in starts]
    severe_line = _severe_lines(lines)
    severe = [any(severe_line[s:e]) for s, e in zip(starts, ends, strict=True)]
    del severe_line
    n = len(starts)
    relevant: set[int] = set()
    if job.relevance:  # before the templates: relevance's own copies and theirs never coexist
        records = ["\n".join(lines[s:e]) for s, e in zip(starts, ends, strict=True)]
        relevant = set(
            job.relevance.top(
                records, job.scaled(LOG_RELEVANT), max_share=TEXT_KINDS_TERM_MAX_SHARE
            )
        )
        del records  # a copy of the whole log; not needed past this point
    templates = _templates(heads, severe)
    for r, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if e - s > 1:  # a block's template holds its continuations' shapes too
            templates[r] += "".join("\n" + template_of(line) for line in lines[s + 1 : e])
    counts = Counter(templates)

    rare_at = max(LOG_COLLAPSE_AT - 1, min(LOG_RARE_MAX, int(n * LOG_RARE_SHARE)))
    verbatim: set[int] = {0, n - 1} | relevant
    for r, t in enumerate(templates):
        if severe[r] and counts[t] < LOG_COLLAPSE_AT * job.bias:
            verbatim.update(range(max(0, r - 1), min(n, r + 2)))
        elif counts[t] <= rare_at:
            verbatim.add(r)
    first_last: dict[str, tuple[int, int]] = {}
    for r, t in enumerate(templates):
        lo, _ = first_last.get(t, (r, r))
        first_last[t] = (lo, r)
    for r, t in enumerate(templates):  # frequent error records: show where they begin and end
        if severe[r] and r in first_last[t]:
            verbatim.add(r)

    members: dict[str, list[int]] = {}
    for r, t in enumerate(templates):
        if r not in verbatim:
            members.setdefault(t, []).append(r)
    out: list[str] = []
    shown_groups: set[str] = set()
    collapsed_lines = 0
    for r, (s, e) in enumerate(zip(starts, ends, strict=True)):
        if r in verbatim:
            out.append(_tidy(lines[s]))
            out.extend(_block_body(lines, s + 1, e))
            continue
        collapsed_lines += e - s
        t = templates[r]
        if t not in shown_groups:
            shown_groups.add(t)
            head, _, rest = t.partition("\n")
            extra = f" (each with {rest.count(chr(10)) + 1} more lines)" if rest else ""
            varying = _varying([heads[j] for j in members[t]])
            out.append(f"[×{counts[t]}] {head}{varying}{extra}")
    if collapsed_lines == 0:
        tidy = "\n".join(out)
        return Compressed(tidy, "logs:tidy") if tidy != job.text else None
    summary = (
        f"{collapsed_lines} of {len(lines)} lines collapsed into {len(shown_groups)} templates "
        f"([×N] = N lines like this, <*> = varying value); error/warning and rare lines kept verbatim"
    )
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n".join(out), "logs:templates", lossy=True)


def _block_body(lines: list[str], start: int, end: int) -> list[str]:
    """A kept block's continuation lines exactly as written (trailing blanks cut).

    A block longer than `LOG_BLOCK_MAX_LINES` keeps its first and last lines
    around a count: the frames nearest the head and the innermost cause.
    """
    body = [line.rstrip() for line in lines[start:end]]
    if len(body) <= LOG_BLOCK_MAX_LINES:
        return body
    half = LOG_BLOCK_MAX_LINES // 2
    return [
        *body[:half],
        f"    ... ({len(body) - 2 * half} lines of this block omitted)",
        *body[-half:],
    ]


def _varying(group: list[str]) -> str:
    """The few values a template's masked parts take, e.g. " (varying: 6 ×120, 7 ×125)".

    Only parts with a handful of distinct values are listed: those say which
    hosts, codes or states occurred; timestamps and counters are left out.
    Lines are read in chunks and a part stops being counted once it has too
    many values, so memory stays small for a template of a million lines.
    """
    widths: Counter[int] = Counter()
    # per number of masked parts, per part: value counts (None once there are too many)
    slots: dict[int, list[Counter[str] | None]] = {}
    for chunk in range(0, len(group), LOG_SCAN_CHUNK):
        for values in _variables_per_line(group[chunk : chunk + LOG_SCAN_CHUNK]):
            width = len(values)
            widths[width] += 1
            counters = slots.setdefault(width, [Counter() for _ in range(width)])
            for k, value in enumerate(values):
                seen = counters[k]
                if seen is None:
                    continue
                seen[value] += 1
                if len(seen) > LOG_MAX_LISTED_VALUES:
                    counters[k] = None
    width = widths.most_common(1)[0][0]
    listed = [
        ", ".join(f"{value} ×{n}" for value, n in seen.most_common())
        for seen in slots[width]
        if seen is not None and len(seen) > 1
    ]
    return f" (varying: {'; '.join(listed)})" if listed else ""


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


class LogTransform(Transform):
    """Logs: templates collapsed, rare and severe records kept whole."""

    kind = "log"

    def compress(self, job: Job) -> Compressed | None:
        return compress_logs(job)

    def units(self, text: str) -> Units:
        return Units.of(units(text))
