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
`table_facts`, the rows a question asks for by rank or range in
`table_requests`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from headroom.core.detect import Kind
from headroom.core.heuristics import (
    GROUP_EXTREMES,
    GROUP_MIN_ROWS,
    SELECT_MAX_KEPT_SHARE,
    SELECT_MIN_CHARS,
    SELECT_MIN_ROWS,
)
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
    Table,
    parse_text_table,
    record_units,
    render_table,
    renders_table,
)
from headroom.core.transforms.table_requests import named_sparse_columns, range_rows, rank_rows
from headroom.core.transforms.table_values import in_row_order, ranked

# `Table` and `parse_text_table` are re-exported: tests read them from here.
__all__ = [
    "CsvTransform",
    "Table",
    "TableTransform",
    "compress_records",
    "compress_table_text",
    "parse_text_table",
    "select_rows",
]

_SHORT_VALUE = 160


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
        filled = named_sparse_columns(table, job.relevance)
        if filled - keep:
            keep |= filled
            reasons.append(f"{len(filled)} filling a column the request names")
        in_range, notes = range_rows(table, facts, job.relevance)
        if in_range - keep:
            keep |= in_range
            reasons.append(f"{len(in_range)} in the range asked for")
        reasons.extend(notes)
        positions = {p - 1 for p in job.relevance.positions if 0 < p <= n}
        if positions - keep:
            keep |= positions
            reasons.append("the positions asked for")
        ranks, named = rank_rows(table, facts, job.relevance)
        if ranks - keep:
            keep |= ranks
            reasons.append(f"the ranks asked for by {', '.join(dict.fromkeys(named))}")
    return sorted(keep), "; ".join(reasons), facts


def _shorten_long_values(table: Table, job: Job, rows: Sequence[int]) -> tuple[Table, int]:
    """Cut long text values (passages, bodies) in rows the request does not match."""
    if table.objects is not None:
        return table, 0  # rows written as objects keep their values whole
    # Every row (sorted, distinct indices as long as the table) is read in one pass.
    picked = iter(table.rows) if len(rows) == len(table.rows) else (table.rows[i] for i in rows)
    long_rows = [
        i
        for i, row in zip(rows, picked, strict=True)
        if any(isinstance(v, str) and len(v) > LONG_VALUE for v in row)
    ]
    if not long_rows:
        return table, 0  # nothing to cut: the request's matches need not be scored
    matched = (
        set(job.relevance.top(table.lines(), len(rows), max_share=0.3)) if job.relevance else set()
    )
    cut = 0
    new_rows = list(table.rows)
    for i in long_rows:
        if i in matched:
            continue
        row = table.rows[i]
        new_rows[i] = [_shorten(v) for v in row]
        cut += sum(1 for v in row if isinstance(v, str) and len(v) > LONG_VALUE)
    if not cut:
        return table, 0
    return Table(table.columns, new_rows, table.notes, table.preamble), cut


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > LONG_VALUE:
        return f"{value[:_SHORT_VALUE]}…[+{len(value) - _SHORT_VALUE} chars]"
    return value


def _at_least(lines: Iterable[str], size: int) -> bool:
    """Whether `lines` hold `size` characters: read only until they do (rows are
    rendered as they are read)."""
    total = 0
    for line in lines:
        total += len(line)
        if total >= size:
            return True
    return False


def compress_records(table: Table, job: Job, title: str = "") -> tuple[str, bool]:
    """Render `table`, selecting rows when it is large. Returns (text, lossy)."""
    n = len(table.rows)
    if not job.config.lossy:
        return render_table(table, title=title), False
    kept = list(range(n))
    reasons: list[str] = []
    if n >= SELECT_MIN_ROWS and _at_least(table.lines(), SELECT_MIN_CHARS):
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
