"""Rows a question asks for by rank, range or position, whatever their words.

"The 3 cheapest", "between 400 and 420 ms", "opened after 2024-03-01", "row 17":
the selection adds these rows to what it keeps regardless of the question, and
recall and `headroom_retrieve` use the same reading to answer a later question.
A column is found from the question's words, else from the kind of value asked
about (dates, durations, a unit), else every orderable column is tried.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from headroom.core.heuristics import (
    CATEGORY_MAX_SHARE,
    GUARANTEE_ROWS_MAX,
    RANGE_ROWS_MAX,
    RANK_UNNAMED_ROWS_MAX,
)
from headroom.core.relevance import Relevance
from headroom.core.superlatives import RankRequest
from headroom.core.transforms.table_facts import Facts
from headroom.core.transforms.table_model import MISSING, Table, record_columns
from headroom.core.transforms.table_values import (
    CLOCK,
    is_empty,
    order_key,
    order_keys,
    parse_number,
    ranked,
)
from headroom.core.value_ranges import RangeRequest
from headroom.core.words import split_identifier, stem

__all__ = ["asked_records", "asked_rows", "named_sparse_columns", "range_rows", "rank_rows"]

#: Units of time as written after a number or at the end of a column's name (`wait_ms`).
_TIME_UNITS = frozenset(
    [
        "ns",
        "us",
        "µs",
        "ms",
        "s",
        "sec",
        "secs",
        "seconds",
        "min",
        "mins",
        "minutes",
        "h",
        "hr",
        "hrs",
        "hours",
        "d",
        "days",
    ]
)


def _is_duration(table: Table, c: int, kind: str) -> bool:
    """Whether a column holds quantities of time: clock readings, numbers written with a
    time unit ("512ms"), or a name ending in one (`build_secs`)."""
    if kind == "clock":
        return True
    if kind != "number":
        return False
    parts = split_identifier(table.columns[c])
    return (bool(parts) and parts[-1] in _TIME_UNITS) or _unit_of(table.column(c)) in _TIME_UNITS


def _rank_columns(table: Table, facts: Facts, request: RankRequest) -> list[int]:
    """Columns a superlative ranks: those its words name; else those of its value kind
    (dates for "newest", durations for "longest"); else every orderable column."""
    named = [
        c
        for c in facts.orderable
        if {stem(p) for p in split_identifier(table.columns[c]) if len(p) >= 2} & request.hints
    ]
    if named:
        return named
    kinds = {c: kind for c, (_, kind) in facts.orderable.items()}
    if request.dates:
        of_kind = [c for c, kind in kinds.items() if kind == "date"]
    elif request.durations:
        of_kind = [c for c, kind in kinds.items() if _is_duration(table, c, kind)]
    else:
        of_kind = []
    if of_kind:
        return of_kind
    if request.dates:
        return list(kinds)
    return [c for c, kind in kinds.items() if kind != "date"] or list(kinds)


def rank_rows(table: Table, facts: Facts, relevance: Relevance) -> tuple[set[int], list[str]]:
    """Rows a superlative in the request asks for ("the 3 cheapest", "newest").

    A superlative that names no column ranks every candidate column, at most
    `RANK_UNNAMED_ROWS_MAX` rows in all (the count per column shrinks to fit).
    """
    keep: set[int] = set()
    named: list[str] = []
    for request in relevance.ranks:
        columns = _rank_columns(table, facts, request)
        count = request.count
        if len(columns) > 1:
            count = max(1, min(count, RANK_UNNAMED_ROWS_MAX // len(columns)))
        for c in columns:
            keep.update(ranked(facts.orderable[c][0], count, request.descending))
            named.append(table.columns[c])
    return keep, named


def named_sparse_columns(table: Table, relevance: Relevance) -> set[int]:
    """Rows that fill a mostly empty column the request names ("which orders have a coupon")."""
    n = len(table.rows)
    keep: set[int] = set()
    for c, name in enumerate(table.columns):
        if not relevance.names(name):
            continue
        filled = [i for i, v in enumerate(table.column(c)) if not is_empty(v)]
        if 0 < len(filled) <= min(GUARANTEE_ROWS_MAX, n * CATEGORY_MAX_SHARE):
            keep.update(filled)
    return keep


def _clip_key(key: Any, bound: Any) -> Any:
    """A timestamp compared with a date compares its day: "up to 2024-06-30" includes that day."""
    return key[: len(bound)] if isinstance(key, str) and isinstance(bound, str) else key


def asked_rows(table: Table, relevance: Relevance) -> list[int]:
    """Rows the request asks for by rank, range or position (best first, may repeat)."""
    facts = Facts()
    for c in range(len(table.columns)):
        keys = order_keys(table.column(c))
        if keys is not None:
            facts.orderable[c] = keys
    ranks, _ = rank_rows(table, facts, relevance)
    in_range, _ = range_rows(table, facts, relevance)
    n = len(table.rows)
    positions = [p - 1 for p in relevance.positions if 0 < p <= n]
    return [*positions, *sorted(ranks), *sorted(in_range)]


def _unit_of(values: Sequence[Any]) -> str:
    """The unit or currency a column's numbers are written with ("ms", "$"), else ""."""
    for value in values:
        parsed = parse_number(value)
        if parsed is not None:
            return parsed[1]
    return ""


def _range_columns(
    table: Table, facts: Facts, request: RangeRequest, kind: str
) -> tuple[list[int], bool]:
    """Orderable columns of `kind` a range may be about, and whether the question singled
    them out: those its words or its unit name ("over 500 ms" and a `latency` column of
    "512ms" cells), else the only column of that kind, else every column of that kind."""
    of_kind = [c for c, (_, k) in facts.orderable.items() if k == kind]
    bound = next(
        (parse_number(b) for b in (request.low, request.high) if b and parse_number(b) is not None),
        None,
    )
    unit = request.unit or (bound[1] if bound else "")
    named = []
    for c in of_kind:
        parts = {stem(p) for p in split_identifier(table.columns[c])}
        if parts & request.hints or (unit and unit == _unit_of(table.column(c))):
            named.append(c)
    if named or len(of_kind) == 1:
        return named or of_kind, True
    return of_kind, False


def range_rows(table: Table, facts: Facts, relevance: Relevance) -> tuple[set[int], list[str]]:
    """Rows inside a range the request asks about; a note with the query when too many.

    When the question names no column, every orderable column of the bound's kind is
    tried, and the columns where the range is selective (fewest rows first) add their
    rows up to `RANGE_ROWS_MAX` in all: "which ones are between 40 and 60" finds the
    rows whichever column holds those values.
    """
    keep: set[int] = set()
    notes: list[str] = []
    for request in relevance.ranges:
        low = order_key(request.low) if request.low else None
        high = order_key(request.high) if request.high else None
        bound = low if low is not None else high
        if bound is None:
            continue
        said = (request.low or request.high or "").strip()
        kind = "date" if isinstance(bound, str) else "clock" if CLOCK.match(said) else "number"
        if (low is not None and high is not None) and type(low) is not type(high):
            continue
        columns, singled_out = _range_columns(table, facts, request, kind)
        if kind == "clock" and not columns:
            inside = _times_of_day(facts, request)  # "between 09:00 and 09:30", timestamps
            keep.update(i for _, rows in inside for i in rows)
            continue
        noted = len(notes)
        inside = _inside(table, facts, request, columns, singled_out, notes)
        if singled_out and len(notes) == noted and not any(rows for _, rows in inside):
            # The column the words point at holds nothing in range: the question meant
            # another one ("elapsed" counted in ms when a `latency_ms` column exists).
            singled_out = False
            others = [c for c, (_, k) in facts.orderable.items() if k == kind]
            inside = _inside(table, facts, request, others, False, notes)
        if singled_out:
            for _, rows in inside:
                keep.update(rows)
            continue
        added: set[int] = set()
        for _, rows in sorted(inside, key=lambda cr: len(cr[1])):
            if len(added | set(rows)) > RANGE_ROWS_MAX:
                break
            added.update(rows)
        keep |= added
    return keep, notes


_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _day_seconds(text: str) -> int | None:
    """Seconds since midnight of an `HH:MM[:SS]` reading, else None."""
    m = _TIME_OF_DAY.match(text)
    if m is None or int(m.group(1)) > 23:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)


def _times_of_day(facts: Facts, request: RangeRequest) -> list[tuple[int, list[int]]]:
    """Rows whose timestamps fall between two times of day, in the timestamp columns (a
    clock bound against a table without durations reads as a time of day)."""
    low = _day_seconds(request.low) if request.low else None
    high = _day_seconds(request.high) if request.high else None
    if low is None and high is None:
        return []
    inside: list[tuple[int, list[int]]] = []
    for c, (keys, kind) in facts.orderable.items():
        if kind != "date":
            continue
        seconds = [
            _day_seconds(k[11:]) if isinstance(k, str) and len(k) >= 16 else None for k in keys
        ]
        rows = [
            i
            for i, t in enumerate(seconds)
            if t is not None and (low is None or t >= low) and (high is None or t <= high)
        ]
        if rows and len(rows) <= RANGE_ROWS_MAX:
            inside.append((c, rows))
    return inside


def _inside(
    table: Table,
    facts: Facts,
    request: RangeRequest,
    columns: Sequence[int],
    singled_out: bool,
    notes: list[str],
) -> list[tuple[int, list[int]]]:
    """(column, rows in range) for each column with at most `RANGE_ROWS_MAX` such rows;
    a column the question singled out with more gets a note naming the query instead."""
    low = order_key(request.low) if request.low else None
    high = order_key(request.high) if request.high else None
    inside: list[tuple[int, list[int]]] = []
    for c in columns:
        keys = facts.orderable[c][0]
        rows = [
            i
            for i, key in enumerate(keys)
            if key is not None
            and (low is None or _clip_key(key, low) >= low)
            and (high is None or _clip_key(key, high) <= high)
        ]
        if len(rows) <= RANGE_ROWS_MAX:
            inside.append((c, rows))
        elif singled_out:
            name = table.columns[c]
            query = ", ".join(
                [f"{name}>={request.low}"] * (low is not None)
                + [f"{name}<={request.high}"] * (high is not None)
            )
            notes.append(f'{len(rows)} rows in the range asked for: query="{query}"')
    return inside


def asked_records(relevance: Relevance, rows: list[dict[str, Any]]) -> list[int]:
    """Rows the question asks for by rank ("the 4 slowest"), range or position."""
    if not rows or not (relevance.ranks or relevance.ranges or relevance.positions):
        return []
    columns = record_columns(rows)
    table = Table(columns, [[row.get(c, MISSING) for c in columns] for row in rows])
    return asked_rows(table, relevance)
