"""Records: one engine for JSON arrays of objects, NDJSON, SQL result tables and CSV.

Lossless first: a uniform set of records is written once as a header and one
`|`-separated line per row (no repeated keys, quotes or padding). Above a size,
rows are *selected*. What is kept does not depend on the question:

- rows whose shape is rare: a cell whose type differs from the rest of its
  column (a missing or extra key, a null, a nested object among scalars);
- rows an error signal flags: an error key present, a status/level value of
  failure, an error word in a short value;
- rows holding a rare value of a categorical column (or a rare template of a
  text column, numbers and ids masked);
- the top-k and bottom-k of every orderable column (numbers, numeric strings,
  ISO dates and timestamps), and its min and max within each group of a
  grouping column; the first and last rows.

The question only adds: rows matching its terms, and the top-N by the column a
superlative names ("the 3 cheapest"). The marker says, per dimension, what was
left out (counts per category, ranges, error rows) and how to ask for it.

This module is the selection; the table model and text-table parsing are in
`table_model`, sort keys in `table_values`, the guarantees' facts in
`table_facts`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from headroom.core.detect import Kind
from headroom.core.heuristics import (
    CATEGORY_MAX_SHARE,
    GROUP_EXTREMES,
    GROUP_MIN_ROWS,
    GUARANTEE_ROWS_MAX,
    RANGE_ROWS_MAX,
    RANK_UNNAMED_ROWS_MAX,
    SELECT_MAX_KEPT_SHARE,
    SELECT_MIN_CHARS,
    SELECT_MIN_ROWS,
)
from headroom.core.relevance import RangeRequest, RankRequest, Relevance, split_identifier, stem
from headroom.core.transforms.base import Compressed, Job, Transform, Units, marker
from headroom.core.transforms.table_facts import (
    Facts,
    analyse,
    capped,
    group_labels,
    omitted_summary,
)
from headroom.core.transforms.table_model import (
    LONG_VALUE,
    MISSING,
    Table,
    cell_text,
    parse_text_table,
    record_units,
    render_table,
    renders_table,
    table_title,
)
from headroom.core.transforms.table_values import (
    CLOCK,
    in_row_order,
    is_empty,
    order_key,
    order_keys,
    parse_number,
    ranked,
)

# The model and sort-key names are re-exported: they were this module's before the split.
__all__ = [
    "MISSING",
    "CsvTransform",
    "Table",
    "TableTransform",
    "asked_rows",
    "cell_text",
    "compress_records",
    "compress_table_text",
    "order_key",
    "order_keys",
    "parse_text_table",
    "ranked",
    "record_units",
    "render_table",
    "renders_table",
    "select_rows",
    "table_title",
]

_SHORT_VALUE = 160


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


def _rank_rows(table: Table, facts: Facts, relevance: Relevance) -> tuple[set[int], list[str]]:
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


def _named_sparse_columns(table: Table, relevance: Relevance) -> set[int]:
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
    ranks, _ = _rank_rows(table, facts, relevance)
    in_range, _ = _range_rows(table, facts, relevance)
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


def _range_rows(table: Table, facts: Facts, relevance: Relevance) -> tuple[set[int], list[str]]:
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


def select_rows(table: Table, job: Job) -> tuple[list[int], str]:
    """Row indices to keep (in order) and a summary of why, or all rows if small."""
    kept, summary, _ = _select(table, job)
    return kept, summary


def _select(table: Table, job: Job) -> tuple[list[int], str, Facts]:
    n = len(table.rows)
    facts = analyse(table)
    head, tail = job.scaled(3), job.scaled(2)
    keep: set[int] = set(range(min(head, n))) | set(range(max(0, n - tail), n))
    reasons = [f"first {min(head, n)}, last {min(tail, n)}"]
    k = job.scaled(job.config.top_k)
    by: list[str] = []
    for c, (keys, _) in facts.orderable.items():
        if in_row_order(keys):
            continue  # its extremes are the first and last rows, kept above
        keep.update(ranked(keys, k, True))
        keep.update(ranked(keys, k, False))
        by.append(table.columns[c])
    if by:
        reasons.append(f"top/bottom {k} by {', '.join(by)}")
    grouped: list[str] = []
    for g in facts.groups:
        labels = facts.categorical[g]
        members: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            members.setdefault(label, []).append(i)
        for c, (keys, _) in facts.orderable.items():
            if c == g:
                continue
            for rows in members.values():
                if len(rows) < GROUP_MIN_ROWS:
                    continue  # a small group's rows are rare values, kept whole
                sub = [keys[i] for i in rows]
                for descending in (True, False):
                    keep.update(rows[j] for j in ranked(sub, GROUP_EXTREMES, descending))
        if facts.orderable:
            grouped.append(table.columns[g])
    if grouped:
        reasons.append(f"min/max per {', '.join(grouped)}")
    if facts.error_rows:
        keep |= facts.error_rows
        shown = len(facts.error_rows)
        total = facts.error_total
        reasons.append(
            f"{total} error rows" if shown == total else f"{shown} of {total} error rows"
        )
    shapes = capped(facts.shapes)
    if shapes:
        keep |= shapes
        reasons.append(f"{len(shapes)} of rare shape ({group_labels(facts.shapes)})")
    rare = capped(facts.rare_values)
    if rare:
        keep |= rare
        reasons.append(f"{len(rare)} with rare values ({group_labels(facts.rare_values)})")
    if job.relevance:
        matches = job.relevance.top(
            table.lines(), job.scaled(job.config.target_rows), max_share=0.1
        )
        if matches:
            keep.update(matches)
            reasons.append(f"{len(matches)} matching the request")
        filled = _named_sparse_columns(table, job.relevance)
        if filled - keep:
            keep |= filled
            reasons.append(f"{len(filled)} filling a column the request names")
        in_range, notes = _range_rows(table, facts, job.relevance)
        if in_range - keep:
            keep |= in_range
            reasons.append(f"{len(in_range)} in the range asked for")
        reasons.extend(notes)
        positions = {p - 1 for p in job.relevance.positions if 0 < p <= n}
        if positions - keep:
            keep |= positions
            reasons.append("the positions asked for")
        ranks, named = _rank_rows(table, facts, job.relevance)
        if ranks - keep:
            keep |= ranks
            reasons.append(f"the ranks asked for by {', '.join(dict.fromkeys(named))}")
    return sorted(keep), "; ".join(reasons), facts


def _shorten_long_values(table: Table, job: Job, rows: Sequence[int]) -> tuple[Table, int]:
    """Cut long text values (passages, bodies) in rows the request does not match."""
    if table.objects is not None:
        return table, 0  # rows written as objects keep their values whole
    matched = (
        set(job.relevance.top(table.lines(), len(rows), max_share=0.3)) if job.relevance else set()
    )
    cut = 0
    new_rows = list(table.rows)
    for i in rows:
        if i in matched:
            continue
        row = table.rows[i]
        if any(isinstance(v, str) and len(v) > LONG_VALUE for v in row):
            new_rows[i] = [_shorten(v) for v in row]
            cut += sum(1 for v in row if isinstance(v, str) and len(v) > LONG_VALUE)
    if not cut:
        return table, 0
    return Table(table.columns, new_rows, table.notes, table.preamble), cut


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > LONG_VALUE:
        return f"{value[:_SHORT_VALUE]}…[+{len(value) - _SHORT_VALUE} chars]"
    return value


def compress_records(table: Table, job: Job, title: str = "") -> tuple[str, bool]:
    """Render `table`, selecting rows when it is large. Returns (text, lossy)."""
    n = len(table.rows)
    if not job.config.lossy:
        return render_table(table, title=title), False
    kept = list(range(n))
    reasons: list[str] = []
    full_size = sum(len(line) for line in table.lines())
    if n >= SELECT_MIN_ROWS and full_size >= SELECT_MIN_CHARS:
        selected, why, facts = _select(table, job)
        if len(selected) < n * SELECT_MAX_KEPT_SHARE:
            kept = selected
            reasons.append(f"kept {len(kept)} of {n} rows ({why})")
            omitted, examples = omitted_summary(table, set(kept), facts)
            if omitted:
                reasons.append(f"omitted rows: {omitted}")
            if examples and job.ccr_hash:
                forms = " or ".join(f'query="{e}"' for e in examples)
                reasons.append(f"to get omitted rows retrieve with {forms}")
    shown, cut = _shorten_long_values(table, job, kept)
    if cut:
        reasons.append(f"{cut} long values not matching the request cut to {_SHORT_VALUE} chars")
    if not reasons:
        return render_table(table, title=title), False
    body = render_table(shown, kept, title=title)
    return f"{body}\n{marker('; '.join(reasons), job.ccr_hash or None)}", True


def compress_table_text(job: Job) -> Compressed | None:
    table = parse_text_table(job.text)
    if table is None:
        return None
    text, lossy = compress_records(table, job)
    return Compressed(text, "table:rows" if lossy else "table:compact", lossy)


class TableTransform(Transform):
    """psql and Markdown tables: rows selected, each row a unit."""

    kind: ClassVar[Kind] = "table"

    def compress(self, job: Job) -> Compressed | None:
        return compress_table_text(job)

    def units(self, text: str) -> Units:
        table = parse_text_table(text)
        if table is None:
            return Units.lines(text)
        return record_units([dict(zip(table.columns, row, strict=False)) for row in table.rows])

    def recognises(self, text: str) -> bool:
        return renders_table(text)


class CsvTransform(TableTransform):
    """CSV: parsed and selected as a table."""

    kind = "csv"
