"""Functions in a code read: where each starts, where its body runs, whose method it is.

Python by indentation, C-like languages by braces, each in one linear pass;
`cat -n` numbering is split off first. `units` makes each function's own
lines a unit for recall and retrieval, searched under `Class.method`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom.core.detect import CAT_N
from headroom.core.heuristics import CODE_MAX_DEF_LINE_CHARS, CODE_MAX_SIGNATURE_LINES
from headroom.core.transforms.base import Units

__all__ = ["Function", "find_functions", "indent_width", "own_text", "split_numbering", "units"]

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
    """(`cat -n` prefixes, code) per line; a line without numbering has prefix "".

    An unnumbered read (the common case) returns `lines` itself as the code: a
    second list of the same lines would cost a pointer per line for nothing.
    """
    if not any(CAT_N.match(line) for line in lines):
        return [""] * len(lines), lines
    prefixes: list[str] = []
    bodies: list[str] = []
    for line in lines:
        m = CAT_N.match(line)
        prefixes.append(m.group(0) if m else "")
        bodies.append(line[m.end() :] if m else line)
    return prefixes, bodies


def indent_width(line: str) -> int:
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
        while end < n and (not code[end].strip() or indent_width(code[end]) > indent):
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
