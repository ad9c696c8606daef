"""Code reads: keep the outline, and the bodies the request is about.

Imports, module-level code, class lines, every signature and the first line of
each docstring stay; bodies of functions the request does not name are
elided with a marker giving their line count. Inside an elided body the
lines that carry a literal (a retry count, a threshold, a raised message, an
assert, a returned constant) stay in place: a question about behaviour ("how
many times does it retry?") names no function, so it cannot pick the body.
`cat -n` numbering is kept on the lines that stay, so the model can still
cite line numbers.

Every scan here is linear in the text: definitions are matched only on
lines short enough to be definitions, a signature scan stops at its colon
or a one-line body, and elided ranges are merged in one sorted sweep.
Finding functions (and a read's units) is `code_functions`; this module elides.
"""

from __future__ import annotations

import re
from collections import Counter

from headroom.core.heuristics import (
    CODE_DOC_KEEP_LINES,
    CODE_DOC_MIN_LINES,
    CODE_FACT_LINE_MAX_CHARS,
    CODE_FACT_MAX_REPEAT,
    CODE_FACTS_PER_BODY,
    CODE_MIN_BODY,
    CODE_MIN_LINES,
    CODE_RELEVANT,
    CODE_STATEMENT_MAX_LINES,
    TEXT_KINDS_TERM_MAX_SHARE,
)
from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker
from headroom.core.transforms.code_functions import (
    Function,
    find_functions,
    indent_width,
    own_text,
    split_numbering,
    units,
)
from headroom.core.transforms.logs import template_of

__all__ = [
    "CodeTransform",
    "Function",
    "compress_code",
    "fact_lines",
    "find_functions",
    "own_text",
    "split_numbering",
    "units",
]
# `Function`, `find_functions`, `own_text`, `split_numbering` and `units` live in
# `code_functions` and are re-exported: they were this module's before the split.

_split_numbering = split_numbering  # the old private name, still imported by other branches


def _docstring_end(code: list[str], body_start: int, end: int) -> int:
    """Index after the first docstring line, if the body opens with a docstring."""
    if body_start < end and code[body_start].strip().startswith(('"""', "'''", 'r"""')):
        return body_start + 1
    return body_start


_DOC_OPEN = re.compile(r'^\s*[rRuU]?("""|\'\'\')')
_CLASS = re.compile(r"\s*class\s+\w")


def _long_docstrings(code: list[str]) -> list[tuple[int, int]]:
    """Ranges to elide inside long module and class docstrings (their opening lines stay)."""
    openers = [0] + [i + 1 for i, line in enumerate(code) if "class" in line and _CLASS.match(line)]
    ranges: list[tuple[int, int]] = []
    for i in openers:
        while i < len(code) and not code[i].strip():
            i += 1
        m = _DOC_OPEN.match(code[i]) if i < len(code) else None
        if m is None or code[i].count(m.group(1)) >= 2:
            continue  # no docstring, or a one-liner
        end = next((j for j in range(i + 1, len(code)) if m.group(1) in code[j]), None)
        if end is not None and end - i > CODE_DOC_MIN_LINES:
            ranges.append((i + CODE_DOC_KEEP_LINES, end))
    return ranges


# Lines of a body that carry a literal a behaviour question may be about, strongest first.
_LITERAL = r"(?:-?\.?\d|[\'\"`]|True\b|False\b|true\b|false\b)"
# A number that is not a lone 0 or 1 (not part of a name or a longer number).
_TELLING_NUMBER = r"(?<![\w.])-?(?:\d*\.\d+|\d\d+|[2-9])(?![\w.])"
_FACT_KINDS: tuple[re.Pattern[str], ...] = (
    # raise/throw/assert/panic with a literal message or value
    re.compile(r"^\s*(?:raise|throw|panic!?|assert\w*|abort|die)\b.*[\'\"\d]"),
    # a named value set to a literal: MAX_RETRIES = 5, self.timeout = 30.0, const n = 3;
    re.compile(
        r"^\s*(?:[\w<>\[\],.*&]+\s+){0,3}[\w.\[\]\'\"]+\s*(?::[^=]{1,40})?"
        r"(?::=|[-+*/|&]?=)(?!=)\s*" + _LITERAL
    ),
    # a comparison, a numeric argument or keyword: if retries > 3, range(5), timeout=30
    re.compile(r"(?:[<>]=?|[=!]==?)\s*(?:-?\.?\d|[\'\"`])|\w\(\s*-?\.?\d|[(,]\s*\w+\s*=\s*-?\.?\d"),
    # a telling number as an operand anywhere in an expression: a later argument
    # (min(delay * 2, 300), clamp(v, 10, 99)), either side of an operator (n * 4096,
    # 3 < n); 0 and 1 alone (counters, i + 1) are not telling
    re.compile(
        r"(?:[(,]|[-+*/%<>]=?|[=!]=)\s*"
        + _TELLING_NUMBER
        + r"|"
        + _TELLING_NUMBER
        + r"\s*(?:[-+*/%)<>,]|[=!]=)"
    ),
    # a returned literal
    re.compile(r"^\s*return\s+" + _LITERAL),
)
# Literals that say nothing alone: 0, 1, -1, empty strings, subscripts like [2].
_TRIVIAL = re.compile(r"(?<![\w.])-?[01](?![\w.])|\[\s*-?\d+\s*\]|\"\"|''")
_ANY_LITERAL = re.compile(r"(?<![\w.])-?\.?\d|[\'\"`]|\b(?:True|False|true|false)\b")


def _fact_rank(line: str) -> int | None:
    """How strongly a body line states a behaviour-defining literal (lower is stronger)."""
    if len(line) > CODE_FACT_LINE_MAX_CHARS or not _ANY_LITERAL.search(_TRIVIAL.sub("", line)):
        return None
    for rank, pattern in enumerate(_FACT_KINDS):
        if pattern.search(line):
            return rank
    return None


def fact_lines(
    code: list[str], ranges: list[tuple[int, int]], limit: int = CODE_FACTS_PER_BODY
) -> list[list[int]]:
    """Per range, the indices of its lines that state a literal: strongest `limit`, in order.

    A line whose shape (numbers and ids masked) recurs in more than
    `CODE_FACT_MAX_REPEAT` bodies is boilerplate (the same guard in every
    method), not a fact that sets this body apart; it is left elided.
    """
    found: list[list[tuple[int, int, str]]] = []
    bodies_per_shape: Counter[str] = Counter()
    shapes: dict[str, str] = {}  # one string per distinct shape, however many lines have it
    for start, end in ranges:
        ranked = []
        for i in range(start, end):
            rank = _fact_rank(code[i])
            if rank is not None:
                shape = template_of(code[i])
                ranked.append((rank, i, shapes.setdefault(shape, shape)))
        bodies_per_shape.update({shape for _, _, shape in ranked})
        found.append(ranked)
    picked: list[list[int]] = []
    for (_, end), ranked in zip(ranges, found, strict=True):
        distinct = sorted(
            (rank, i)
            for rank, i, shape in ranked
            if bodies_per_shape[shape] <= CODE_FACT_MAX_REPEAT
        )
        lines: set[int] = set()
        for _, i in distinct[:limit]:
            lines.update(_statement(code, i, end))
        picked.append(sorted(lines))
    return picked


def _statement(code: list[str], i: int, end: int) -> range:
    """Line `i` and the lines that close the brackets it opens (a message split over lines)."""
    depth, j = 0, i
    while j < end and j - i < CODE_STATEMENT_MAX_LINES:
        line = code[j]
        depth += line.count("(") + line.count("[") - line.count(")") - line.count("]")
        j += 1
        if depth <= 0:
            break
    return range(i, j)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Ranges sorted by start with any range that starts inside an earlier one dropped."""
    kept: list[tuple[int, int]] = []
    reach = -1
    for start, end in sorted(ranges):
        if start < reach:
            continue
        kept.append((start, end))
        reach = end
    return kept


def compress_code(job: Job) -> Compressed | None:
    lines = job.text.splitlines()
    if len(lines) < CODE_MIN_LINES or not job.config.lossy:
        return None
    prefixes, code = split_numbering(lines)
    functions = find_functions(code)
    if not functions:
        return None
    named = {t.rsplit(".", 1)[-1] for t in job.relevance.terms}
    relevant: set[str] = set()
    if job.relevance:
        picked = job.relevance.top(
            own_text(code, functions),
            job.scaled(CODE_RELEVANT),
            max_share=TEXT_KINDS_TERM_MAX_SHARE,
        )
        relevant = {functions[i].name for i in picked}
        relevant |= {f.name for f in functions if f.name.lower() in named}

    candidates: list[tuple[int, int]] = []
    for f in functions:
        if f.name in relevant:
            continue
        start = _docstring_end(code, f.body_start, f.end)
        if f.end - start >= CODE_MIN_BODY:
            candidates.append((start, f.end))
    candidates += _long_docstrings(code)
    elide = _merge(candidates)
    if not elide:
        return None

    def shown(i: int) -> str:
        return prefixes[i] + code[i] if prefixes[i] else lines[i]

    def gap(first: int, stop: int) -> str:
        ref = first if code[first].strip() else max(first - 1, 0)
        lead = code[ref][: indent_width(code[ref])]
        return f"{lead}... ({stop - first} lines elided)"

    out: list[str] = []
    elided = facts = 0
    i = 0
    for (start, end), facts_here in zip(elide, fact_lines(code, elide), strict=True):
        out.extend(shown(k) for k in range(i, start))
        cursor = start
        for k in [*facts_here, end]:
            if k - cursor > 1:  # a one-line gap costs no less shown than marked
                out.append(gap(cursor, k))
                elided += k - cursor
            else:
                out.extend(shown(j) for j in range(cursor, k))
            if k < end:
                out.append(shown(k))
                facts += 1
            cursor = k + 1
        i = end
    if not elided:
        return None
    out.extend(shown(k) for k in range(i, len(lines)))
    summary = f"{elided} of {len(lines)} lines of function bodies elided; signatures kept"
    if facts:
        summary += f", and {facts} body lines holding literals (limits, messages, constants)"
    if relevant:
        summary += "; full bodies kept for " + ", ".join(sorted(relevant)[:8])
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n".join(out), "code:outline", lossy=True)


class CodeTransform(Transform):
    """Code reads: bodies elided around the outline, each function a unit."""

    kind = "code"

    def compress(self, job: Job) -> Compressed | None:
        return compress_code(job)

    def units(self, text: str) -> Units:
        found = units(text)
        return found if found is not None else Units.lines(text)
