"""Code reads: keep the outline, and the bodies the request is about.

Imports, module-level code, class lines, every signature and the first line of
each docstring stay; bodies of functions the request does not name are
elided with a marker giving their line count. `cat -n` numbering is kept on
the lines that stay, so the model can still cite line numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom.core.detect import CAT_N
from headroom.core.transforms.base import Compressed, Job, marker

__all__ = ["compress_code", "find_functions"]

_PY_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)|^(\s*)class\s+(\w+)")
_BRACE_DEF = re.compile(
    r"^(\s*)(?:[\w<>\[\],.*&:]+\s+)*?(?:function\s+|func\s+(?:\([^)]*\)\s*)?|fn\s+)?(\w+)\s*\([^;]*\)[^;]*\{\s*$"
)
_MIN_BODY = 4


@dataclass(frozen=True)
class Function:
    """A function or method: its name, header lines and body lines (indices)."""

    name: str
    start: int  # first header line
    body_start: int  # first body line
    end: int  # one past the last body line


def _split_numbering(lines: list[str]) -> tuple[list[str], list[str]]:
    prefixes: list[str] = []
    bodies: list[str] = []
    for line in lines:
        m = CAT_N.match(line)
        prefixes.append(m.group(0) if m else "")
        bodies.append(line[m.end() :] if m else line)
    return prefixes, bodies


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _python_functions(code: list[str]) -> list[Function]:
    functions: list[Function] = []
    for i, line in enumerate(code):
        m = _PY_DEF.match(line)
        if not m or m.group(2) is None:
            continue
        indent = len(m.group(1))
        j, depth = i, 0
        while j < len(code):  # the signature may span lines
            depth += (
                code[j].count("(") + code[j].count("[") - code[j].count(")") - code[j].count("]")
            )
            if depth <= 0 and code[j].rstrip().endswith(":"):
                break
            j += 1
        body_start = j + 1
        end = body_start
        while end < len(code) and (not code[end].strip() or _indent(code[end]) > indent):
            end += 1
        while end > body_start and not code[end - 1].strip():
            end -= 1
        functions.append(Function(m.group(2), i, body_start, end))
    return functions


def _brace_functions(code: list[str]) -> list[Function]:
    functions: list[Function] = []
    for i, line in enumerate(code):
        m = _BRACE_DEF.match(line)
        if not m or m.group(2) in ("if", "for", "while", "switch", "catch", "else"):
            continue
        depth, end = 0, i
        for end in range(i, len(code)):
            depth += code[end].count("{") - code[end].count("}")
            if depth <= 0:
                break
        functions.append(Function(m.group(2), i, i + 1, end))
    return functions


def find_functions(code: list[str]) -> list[Function]:
    """Functions in the code, Python by indentation, C-like languages by braces."""
    if any(_PY_DEF.match(line) and line.rstrip().endswith(":") for line in code):
        return _python_functions(code)
    return _brace_functions(code)


def _docstring_end(code: list[str], body_start: int, end: int) -> int:
    """Index after the first docstring line, if the body opens with a docstring."""
    if body_start < end and code[body_start].strip().startswith(('"""', "'''", 'r"""')):
        return body_start + 1
    return body_start


_DOC_OPEN = re.compile(r'^\s*[rRuU]?("""|\'\'\')')
_KEEP_DOC_LINES = 2


def _long_docstrings(code: list[str]) -> list[tuple[int, int]]:
    """Ranges to elide inside long module and class docstrings (their opening lines stay)."""
    openers = [0] + [i + 1 for i, line in enumerate(code) if re.match(r"\s*class\s+\w", line)]
    ranges: list[tuple[int, int]] = []
    for i in openers:
        while i < len(code) and not code[i].strip():
            i += 1
        m = _DOC_OPEN.match(code[i]) if i < len(code) else None
        if m is None or code[i].count(m.group(1)) >= 2:
            continue  # no docstring, or a one-liner
        end = next((j for j in range(i + 1, len(code)) if m.group(1) in code[j]), None)
        if end is not None and end - i > 3 * _KEEP_DOC_LINES:
            ranges.append((i + _KEEP_DOC_LINES, end))
    return ranges


def compress_code(job: Job) -> Compressed | None:
    lines = job.text.splitlines()
    if len(lines) < 20 or not job.config.lossy:
        return None
    prefixes, code = _split_numbering(lines)
    functions = find_functions(code)
    if not functions:
        return None
    named = {t.rsplit(".", 1)[-1] for t in job.relevance.terms}
    units = ["\n".join(code[f.start : f.end]) for f in functions]
    relevant = {functions[i].name for i in job.relevance.top(units, job.scaled(3), max_share=0.05)}
    relevant |= {f.name for f in functions if f.name.lower() in named}

    elide: dict[int, int] = {}  # first elided line -> one past the last
    for f in functions:
        if f.name in relevant:
            continue
        start = _docstring_end(code, f.body_start, f.end)
        if f.end - start >= _MIN_BODY and not any(s <= start < e for s, e in elide.items()):
            elide[start] = f.end
    for start, end in _long_docstrings(code):
        if not any(s <= start < e for s, e in elide.items()):
            elide[start] = end
    if not elide:
        return None
    out: list[str] = []
    elided = 0
    i = 0
    while i < len(lines):
        if i in elide:
            end = elide[i]
            indent = (
                " " * _indent(code[i])
                if code[i].strip()
                else " " * (_indent(code[i - 1]) if i else 0)
            )
            out.append(f"{indent}... ({end - i} lines elided)")
            elided += end - i
            i = end
            continue
        out.append(prefixes[i] + code[i] if prefixes[i] else lines[i])
        i += 1
    kept = sorted(relevant) if relevant else []
    summary = f"{elided} of {len(lines)} lines of function bodies elided; signatures kept"
    if kept:
        summary += "; full bodies kept for " + ", ".join(kept[:8])
    out.append(marker(summary, job.ccr_hash or None))
    return Compressed("\n".join(out), "code:outline", lossy=True)
