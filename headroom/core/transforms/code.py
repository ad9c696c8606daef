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
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from headroom.core.detect import CAT_N
from headroom.core.heuristics import (
    CODE_DOC_KEEP_LINES,
    CODE_DOC_MIN_LINES,
    CODE_FACT_LINE_MAX_CHARS,
    CODE_FACT_MAX_REPEAT,
    CODE_FACTS_PER_BODY,
    CODE_MAX_DEF_LINE_CHARS,
    CODE_MAX_SIGNATURE_LINES,
    CODE_MIN_BODY,
    CODE_MIN_LINES,
    CODE_RELEVANT,
    CODE_STATEMENT_MAX_LINES,
    TEXT_KINDS_TERM_MAX_SHARE,
)
from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker
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

_PY_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)|^(\s*)class\s+(\w+)")
_BRACE_DEF = re.compile(
    r"^(\s*)(?:[\w<>\[\],.*&:]+\s+)*?(?:function\s+|func\s+(?:\([^)]*\)\s*)?|fn\s+)?(\w+)\s*\([^;]*\)[^;]*\{\s*$"
)
_NOT_FUNCTIONS = frozenset(("if", "for", "while", "switch", "catch", "else"))


@dataclass(frozen=True)
class Function:
    """A function or method: its name, header lines and body lines (indices)."""

    name: str
    start: int  # first header line
    body_start: int  # first body line
    end: int  # one past the last body line


def split_numbering(lines: list[str]) -> tuple[list[str], list[str]]:
    """(`cat -n` prefixes, code) per line; a line without numbering has prefix ""."""
    prefixes: list[str] = []
    bodies: list[str] = []
    for line in lines:
        m = CAT_N.match(line)
        prefixes.append(m.group(0) if m else "")
        bodies.append(line[m.end() :] if m else line)
    return prefixes, bodies


_split_numbering = split_numbering  # the old private name, still imported by other branches


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _python_functions(code: list[str]) -> list[Function]:
    functions: list[Function] = []
    n = len(code)
    for i, line in enumerate(code):
        if "def" not in line:
            continue
        m = _PY_DEF.match(line)
        if not m or m.group(2) is None:
            continue
        indent = len(m.group(1))
        j, depth, body_start = i, 0, -1
        while j < n and j - i < CODE_MAX_SIGNATURE_LINES:  # the signature may span lines
            text = code[j]
            depth += text.count("(") + text.count("[") - text.count(")") - text.count("]")
            if depth <= 0:
                if text.rstrip().endswith(":"):
                    body_start = j + 1
                break  # balanced without a trailing colon: a one-line body, nothing to elide
            j += 1
        if body_start < 0:
            continue
        end = body_start
        while end < n and (not code[end].strip() or _indent(code[end]) > indent):
            end += 1
        while end > body_start and not code[end - 1].strip():
            end -= 1
        functions.append(Function(m.group(2), i, body_start, end))
    return functions


def _brace_functions(code: list[str]) -> list[Function]:
    """Definitions ending in `{`, each closed where the brace depth returns to its own.

    One pass with a stack of open definitions: scanning forward from each
    definition instead is quadratic when definitions nest or never close (a
    truncated read).
    """
    functions: list[Function] = []
    open_defs: list[tuple[int, int, str]] = []  # (depth before the line, line, name)
    ends: dict[int, int] = {}
    depth = 0
    for i, line in enumerate(code):
        stripped = line.rstrip()
        if stripped.endswith("{") and "(" in line and len(line) <= CODE_MAX_DEF_LINE_CHARS:
            m = _BRACE_DEF.match(line)
            if m and m.group(2) not in _NOT_FUNCTIONS:
                open_defs.append((depth, i, m.group(2)))
                functions.append(Function(m.group(2), i, i + 1, i))
        depth += line.count("{") - line.count("}")
        while open_defs and open_defs[-1][0] >= depth:
            ends[open_defs.pop()[1]] = i
    for _, i, _ in open_defs:  # never closed: the body runs to the last line
        ends[i] = len(code) - 1
    return [Function(f.name, f.start, f.body_start, ends[f.start]) for f in functions]


def find_functions(code: list[str]) -> list[Function]:
    """Functions in the code, Python by indentation, C-like languages by braces."""
    if any("def" in line and line.rstrip().endswith(":") and _PY_DEF.match(line) for line in code):
        return _python_functions(code)
    return _brace_functions(code)


def own_text(lines: list[str], functions: list[Function]) -> list[str]:
    """Per function, its lines that no nested function holds, joined.

    Each line belongs to its innermost function only, so the texts add up to
    the file once: the whole range of every function would repeat a nested
    body once per enclosing function (quadratic for deep or unclosed nesting).
    """
    order = sorted(range(len(functions)), key=lambda k: (functions[k].start, -functions[k].end))
    own: list[list[str]] = [[] for _ in functions]
    active: list[int] = []  # enclosing functions, innermost last
    cursor = 0
    for k in order:
        f = functions[k]
        while active and functions[active[-1]].end <= f.start:
            top = active.pop()
            own[top].extend(lines[max(cursor, functions[top].start) : functions[top].end])
            cursor = max(cursor, functions[top].end)
        if active:
            outer = active[-1]
            own[outer].extend(lines[max(cursor, functions[outer].start) : f.start])
        cursor = f.start
        active.append(k)
    while active:
        top = active.pop()
        own[top].extend(lines[max(cursor, functions[top].start) : functions[top].end])
        cursor = max(cursor, functions[top].end)
    return ["\n".join(part) for part in own]


#: A definition that methods belong to, in the languages `find_functions` reads.
_OWNER = re.compile(r"^(\s*)(?:[\w]+\s+)*(?:class|struct|interface|impl|trait)\s+(\w+)")


def units(text: str) -> Units | None:
    """The code read as answerable units: each function's own lines (as read, with any
    `cat -n` numbering), searched as `Class.method` + those lines; None when no
    function is found.

    Qualifying methods by their class lets "Parser.validate" find that method and
    not a `validate` elsewhere that shares a word.
    """
    lines = text.splitlines()
    code = split_numbering(lines)[1]
    functions = find_functions(code)
    if not functions:
        return None
    classes = [
        (i, len(m.group(1)), m.group(2)) for i, line in enumerate(code) if (m := _OWNER.match(line))
    ]
    # Each function's own lines (nested bodies are not repeated), searched under its
    # class's name; open classes are a stack, so the scan stays linear in the file.
    parts = own_text(lines, functions)
    searched: list[str] = [""] * len(functions)
    open_classes: list[tuple[int, str]] = []  # (indent, name), innermost last
    next_class = 0
    for k in sorted(range(len(functions)), key=lambda k: functions[k].start):
        f = functions[k]
        while next_class < len(classes) and classes[next_class][0] < f.start:
            _, class_indent, name = classes[next_class]
            while open_classes and open_classes[-1][0] >= class_indent:
                open_classes.pop()
            open_classes.append((class_indent, name))
            next_class += 1
        indent = len(code[f.start]) - len(code[f.start].lstrip())
        while open_classes and open_classes[-1][0] >= indent:
            open_classes.pop()
        owner = open_classes[-1][1] if open_classes else ""
        searched[k] = f"{owner}.{f.name}\n{parts[k]}" if owner else parts[k]
    return Units.of(parts, searched)


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
    for start, end in ranges:
        ranked = []
        for i in range(start, end):
            rank = _fact_rank(code[i])
            if rank is not None:
                ranked.append((rank, i, template_of(code[i])))
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
        lead = code[ref][: _indent(code[ref])]
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
