"""Invariants of the text-kind helpers on generated text (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.core.transforms import code, grep, logs, text

_LINE = st.text(alphabet=st.sampled_from(list("ab \t:-_()=0123456789.\"'")), max_size=30)
_LINES = st.lists(_LINE, max_size=40)


@settings(max_examples=100, deadline=None)
@given(_LINES)
def test_tidy_whitespace_matches_the_regex_rules(lines: list[str]) -> None:
    source = "\n".join(lines)
    expected = re.sub(r"\n\s*\n(?:\s*\n)+", "\n\n", re.sub(r"[ \t]+$", "", source, flags=re.M))
    tidy = text.tidy_whitespace(source)
    assert tidy == expected.strip("\n")
    assert text.tidy_whitespace(tidy) == tidy  # idempotent


@settings(max_examples=100, deadline=None)
@given(_LINES)
def test_log_records_partition_the_lines(lines: list[str]) -> None:
    units = logs.units("\n".join(lines))
    kept = [line for unit in units for line in unit.split("\n")]
    assert [line for line in kept if line.strip()] == [line for line in lines if line.strip()]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.py", "b/c.py"]), st.integers(1, 60), st.booleans())))
def test_grep_groups_cover_every_line_once(rows: list[tuple[str, int, bool]]) -> None:
    source = "\n".join(f"{p}{':' if m else '-'}{n}{':' if m else '-'}x" for p, n, m in rows)
    lines = [line for unit in grep.units(source) for line in unit.split("\n")]
    assert lines == (source.split("\n") if rows else [])


@settings(max_examples=100, deadline=None)
@given(_LINES, st.integers(0, 40), st.integers(0, 40))
def test_fact_lines_stay_inside_their_range(lines: list[str], a: int, b: int) -> None:
    start, end = sorted((min(a, len(lines)), min(b, len(lines))))
    for picked in code.fact_lines(lines, [(start, end)]):
        assert all(start <= i < end for i in picked)


def _brace_reference(lines: list[str]) -> list[tuple[str, int, int]]:
    """The definition of a brace function's end: scan forward until the depth returns."""
    found = []
    for f in code.find_functions(lines):
        depth, end = 0, f.start
        for end in range(f.start, len(lines)):
            depth += lines[end].count("{") - lines[end].count("}")
            if depth <= 0:
                break
        found.append((f.name, f.start, end))
    return found


_BRACE_LINES = st.sampled_from(
    ["int f(int a) {", "void g() {", "}", "x = 1;", "if (a) {", "} else {", "h(x) { y(); }", "{"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_BRACE_LINES, max_size=40))
def test_brace_function_ends_match_a_forward_scan(lines: list[str]) -> None:
    got = [(f.name, f.start, f.end) for f in code.find_functions(lines)]
    assert got == _brace_reference(lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(_BRACE_LINES, max_size=40))
def test_own_text_holds_each_function_line_once(lines: list[str]) -> None:
    functions = code.find_functions(lines)
    covered = {i for f in functions for i in range(f.start, f.end)}
    own = [line for part in code.own_text(lines, functions) for line in part.split("\n") if part]
    assert len(own) == len(covered)
