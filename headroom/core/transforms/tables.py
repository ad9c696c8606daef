"""Records: one engine for JSON arrays of objects, SQL result tables and CSV.

Lossless first: a uniform set of records is written once as a header and one
`|`-separated line per row (no repeated keys, quotes or padding). Above a
size, rows are *selected*: first and last rows, every flagged row (error and
warning values, rare categories), the top-k and bottom-k of every numeric
column, and the rows matching the request; a marker says what was left out,
with counts and value ranges, and where the original is.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from headroom.core.transforms.base import Compressed, Job, has_severity, marker

__all__ = ["Table", "compress_table_text", "parse_text_table", "render_table", "select_rows"]

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_MIN_ROWS_FOR_SELECTION = 24
_MIN_CHARS_FOR_SELECTION = 2000
_LONG_VALUE = 400  # a text value longer than this is a passage, not a field
_SHORT_VALUE = 160


@dataclass
class Table:
    """Columns and rows of scalar-ish cells (nested values are JSON text)."""

    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    _lines: list[str] | None = field(default=None, repr=False)

    def lines(self) -> list[str]:
        """Each row rendered once as its `|`-separated line."""
        if self._lines is None:
            self._lines = ["|".join([_cell(v) for v in row]) for row in self.rows]
        return self._lines


def _cell(value: Any) -> str:
    if isinstance(value, str):
        if "|" in value or "\n" in value or "\r" in value or value != value.strip():
            return json.dumps(value, ensure_ascii=False)
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_rows(table: Table, indices: Sequence[int]) -> list[str]:
    lines = table.lines()
    return [lines[i] for i in indices]


def render_table(table: Table, indices: Sequence[int] | None = None, title: str = "") -> str:
    """Header line, column line, one line per row."""
    chosen = range(len(table.rows)) if indices is None else indices
    head = f"{title}{len(table.rows)} rows; columns: " + "|".join(table.columns)
    return "\n".join([*table.preamble, head, *render_rows(table, chosen), *table.notes])


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _numeric_columns(table: Table) -> dict[int, list[float | None]]:
    out: dict[int, list[float | None]] = {}
    for c in range(len(table.columns)):
        values = [_as_number(row[c]) if c < len(row) else None for row in table.rows]
        present = [v for v in values if v is not None]
        if len(present) < 0.9 * len(table.rows) or len(set(present)) <= 5:
            continue
        if present == sorted(present) or present == sorted(present, reverse=True):
            continue  # an id or a sort key: its extremes are the first and last rows
        out[c] = values
    return out


def _extremes(values: list[float | None], k: int) -> set[int]:
    indexed = [(v, i) for i, v in enumerate(values) if v is not None]
    keep: set[int] = set()
    for reverse in (True, False):
        ranked = sorted(indexed, key=lambda p: p[0], reverse=reverse)
        if len(ranked) <= k:
            keep.update(i for _, i in ranked)
            continue
        cutoff = ranked[k - 1][0]
        tied = [i for v, i in ranked if (v >= cutoff if reverse else v <= cutoff)]
        keep.update(tied if len(tied) <= 2 * k else [i for _, i in ranked[:k]])
    return keep


def _flagged(table: Table) -> tuple[set[int], set[int]]:
    """Rows with error/warning values, and rows holding a rare category value."""
    n = len(table.rows)
    severe: set[int] = set()
    rare: set[int] = set()
    for c in range(len(table.columns)):
        column = [str(row[c]) if c < len(row) and row[c] is not None else "" for row in table.rows]
        counts = Counter(column)
        short = all(len(v) <= 40 for v in counts)
        if short:
            hits = [i for i, v in enumerate(column) if v and has_severity(v)]
            if hits and len(hits) <= max(3, n * 0.3):
                severe.update(hits)
        categorical = len(counts) <= max(2, n // 10) and short
        if categorical and n >= 20:
            limit = max(1, int(n * 0.03))
            for i, v in enumerate(column):
                if counts[v] <= limit:
                    rare.add(i)
    return severe, rare


def select_rows(table: Table, job: Job) -> tuple[list[int], str]:
    """Row indices to keep (in order) and a summary of why, or all rows if small."""
    n = len(table.rows)
    head, tail = job.scaled(3), job.scaled(2)
    keep: set[int] = set(range(min(head, n))) | set(range(max(0, n - tail), n))
    reasons = [f"first {min(head, n)}", f"last {min(tail, n)}"]
    numeric = _numeric_columns(table)
    k = job.scaled(job.config.top_k)
    for values in numeric.values():
        keep |= _extremes(values, k)
    if numeric:
        names = ", ".join(table.columns[c] for c in numeric)
        reasons.append(f"top/bottom {k} by {names}")
    severe, rare = _flagged(table)
    if severe:
        keep |= severe
        reasons.append(f"{len(severe)} with error/warning values")
    if rare:
        keep |= rare
        reasons.append(f"{len(rare)} with rare values")
    if job.relevance:
        matches = job.relevance.top(
            table.lines(), job.scaled(job.config.target_rows), max_share=0.1
        )
        if matches:
            keep.update(matches)
            reasons.append(f"{len(matches)} matching the request")
    return sorted(keep), ", ".join(reasons)


def _omitted_summary(table: Table, kept: set[int]) -> str:
    omitted = [i for i in range(len(table.rows)) if i not in kept]
    parts: list[str] = []
    for c, name in enumerate(table.columns):
        values = [table.rows[i][c] for i in omitted if c < len(table.rows[i])]
        numbers = [x for x in (_as_number(v) for v in values) if x is not None]
        if numbers and len(numbers) == len(values):
            lo, hi = min(numbers), max(numbers)
            parts.append(f"{name} {_fmt(lo)}–{_fmt(hi)}")
            continue
        counts = Counter(str(v) for v in values)
        if 1 < len(counts) <= 6 and all(len(v) <= 24 for v in counts):
            parts.append(f"{name} " + ", ".join(f"{v}×{n}" for v, n in counts.most_common()))
        if len(parts) >= 6:
            break
    return "; ".join(parts)


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() else f"{x:g}"


def _shorten_long_values(table: Table, job: Job, rows: Sequence[int]) -> tuple[Table, int]:
    """Cut long text values (passages, bodies) in rows the request does not match."""
    matched = (
        set(job.relevance.top(table.lines(), len(rows), max_share=0.3)) if job.relevance else set()
    )
    cut = 0
    new_rows = list(table.rows)
    for i in rows:
        if i in matched:
            continue
        row = table.rows[i]
        if any(isinstance(v, str) and len(v) > _LONG_VALUE for v in row):
            new_rows[i] = [_shorten(v) for v in row]
            cut += sum(1 for v in row if isinstance(v, str) and len(v) > _LONG_VALUE)
    if not cut:
        return table, 0
    return Table(table.columns, new_rows, table.notes, table.preamble), cut


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _LONG_VALUE:
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
    if n >= _MIN_ROWS_FOR_SELECTION and full_size >= _MIN_CHARS_FOR_SELECTION:
        selected, why = select_rows(table, job)
        if len(selected) < n * 0.8:
            kept = selected
            reasons.append(f"kept {len(kept)} of {n} rows ({why})")
            omitted = _omitted_summary(table, set(kept))
            if omitted:
                reasons.append(f"omitted rows span {omitted}")
    shown, cut = _shorten_long_values(table, job, kept)
    if cut:
        reasons.append(f"{cut} long values not matching the request cut to {_SHORT_VALUE} chars")
    if not reasons:
        return render_table(table, title=title), False
    body = render_table(shown, kept, title=title)
    return f"{body}\n{marker('; '.join(reasons), job.ccr_hash or None)}", True


# --- text tables: psql, markdown, CSV -------------------------------------------------

_RULE = re.compile(r"^\|?[\s:=+|-]+\|?$")


def parse_text_table(text: str) -> Table | None:
    """Parse a psql/markdown table or CSV into a `Table`, or None."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        return None
    top = next(
        (
            h
            for h in range(min(6, len(lines) - 2))
            if "|" in lines[h] and "-" in lines[h + 1] and _RULE.match(lines[h + 1].strip())
        ),
        None,
    )
    if top is not None:
        header = _split_pipe(lines[top])
        rows: list[list[Any]] = []
        notes: list[str] = []
        for line in lines[top + 2 :]:
            if "|" not in line:
                notes.append(line.strip())  # e.g. "(1234 rows)"
                continue
            cells = _split_pipe(line)
            if len(cells) != len(header):
                return None
            rows.append(list(cells))
        return Table(header, rows, notes, preamble=[line.strip() for line in lines[:top]])
    import csv
    import io

    try:
        parsed = list(csv.reader(io.StringIO(text)))
    except csv.Error:
        return None
    parsed = [r for r in parsed if r]
    for skip in range(3):  # a line or two of prose may precede the header, or follow the rows
        body = parsed[skip:]
        width = len(body[0]) if body else 0
        end = next((k for k, r in enumerate(body) if len(r) != width), len(body))
        if width >= 2 and end >= 3 and len(body) - end <= 3:
            preamble = [",".join(r) for r in parsed[:skip]]
            notes = [",".join(r) for r in body[end:]]
            return Table(list(body[0]), [list(r) for r in body[1:end]], notes, preamble)
    return None


def _split_pipe(line: str) -> list[str]:
    stripped = line.strip()
    if stripped.startswith("|"):
        stripped = stripped[1:]
    if stripped.endswith("|"):
        stripped = stripped[:-1]
    return [cell.strip() for cell in stripped.split("|")]


def compress_table_text(job: Job) -> Compressed | None:
    table = parse_text_table(job.text)
    if table is None:
        return None
    text, lossy = compress_records(table, job)
    return Compressed(text, "table:rows" if lossy else "table:compact", lossy)
