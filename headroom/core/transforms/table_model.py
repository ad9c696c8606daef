"""Records as a table: the model, how cells and rows are written, how text tables are read.

A `Table` is columns and rows of scalar-ish cells. `render_table` writes one
as a header and one `|`-separated line per row (what the model reads);
`parse_text_table` reads psql, Markdown and CSV output back into one;
`record_units` makes records the units recall and retrieval pick from.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from headroom.core.transforms.base import Units, record_text

__all__ = [
    "LONG_VALUE",
    "MISSING",
    "RowLines",
    "Table",
    "cell_text",
    "parse_text_table",
    "record_columns",
    "record_units",
    "render_rows",
    "render_table",
    "renders_table",
    "table_title",
]

#: A text value longer than this is a passage, not a field.
LONG_VALUE = 400
#: Marks a key absent from a record (distinct from a null value).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


@dataclass
class Table:
    """Columns and rows of scalar-ish cells (nested values are JSON text).

    `objects`, when given, is how each row is written instead: records whose key
    sets differ too much for one header stay one JSON object per line, while the
    columns (the union of their keys) still drive the analysis.
    """

    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    objects: list[str] | None = None

    def lines(self) -> Sequence[str]:
        """Each row as its `|`-separated line, written when read: the whole rendering,
        as large as the rows' text again, is never held."""
        if self.objects is not None:
            return self.objects
        return RowLines(self.rows)

    def column(self, c: int) -> list[Any]:
        return [row[c] if c < len(row) else MISSING for row in self.rows]


def cell_text(value: Any) -> str:
    """How a cell is written in a rendered row."""
    if isinstance(value, str):
        if "|" in value or "\n" in value or "\r" in value or value != value.strip():
            return json.dumps(value, ensure_ascii=False)
        return value
    if value is None or value is MISSING:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RowLines(Sequence[str]):
    """Rows as their rendered lines, each one written when it is read."""

    def __init__(self, rows: list[list[Any]]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [_row_line(row) for row in self._rows[index]]
        return _row_line(self._rows[index])

    def __iter__(self) -> Iterator[str]:
        return map(_row_line, self._rows)


def _row_line(row: list[Any]) -> str:
    return "|".join([cell_text(v) for v in row])


def render_rows(table: Table, indices: Sequence[int]) -> list[str]:
    lines = table.lines()
    return [lines[i] for i in indices]


_TITLE = "@table"
_OBJECTS_HEAD = " rows (one JSON object per line)"
_COLUMNS_HEAD = " rows; columns: "
#: The header `render_table` starts with, under any `table_title`: a rendered table
#: carries no marker when it lost nothing, so the header is how it is recognised.
_HEAD = re.compile(
    rf"^(?:{re.escape(_TITLE)}\d+ )?\d+(?:{re.escape(_COLUMNS_HEAD)}|{re.escape(_OBJECTS_HEAD)})"
)


def table_title(n: int) -> str:
    """The title of the n-th of several record tables cut out of one JSON value."""
    return f"{_TITLE}{n}"


def render_table(table: Table, indices: Sequence[int] | None = None, title: str = "") -> str:
    """Header line, column line, one line per row."""
    chosen = range(len(table.rows)) if indices is None else indices
    if table.objects is not None:
        head = f"{title}{len(table.rows)}{_OBJECTS_HEAD}"
    else:
        head = f"{title}{len(table.rows)}{_COLUMNS_HEAD}" + "|".join(table.columns)
    return "\n".join([*table.preamble, head, *render_rows(table, chosen), *table.notes])


def renders_table(text: str) -> bool:
    """Whether `text` starts as `render_table` writes a table (compressed already)."""
    return _HEAD.match(text) is not None


def record_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of `rows` in the order first seen: the columns of records whose keys vary."""
    return list(dict.fromkeys(key for row in rows for key in row))


def record_units(rows: list[dict[str, Any]]) -> Units:
    """Records as units: each one compact JSON, seen as its rendered row."""
    parts = [record_text(row) for row in rows]
    shown = ["|".join(cell_text(v) for v in row.values()) for row in rows]
    return Units(parts, parts, shown, rows)


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
        bordered = lines[top].strip().startswith("|")
        header = _split_pipe(lines[top], bordered)
        rows: list[list[Any]] = []
        notes: list[str] = []
        for line in lines[top + 2 :]:
            if "|" not in line:
                notes.append(line.strip())  # e.g. "(1234 rows)"
                continue
            cells = _split_pipe(line, bordered)
            if len(cells) != len(header):
                return None
            rows.append(list(cells))
        return Table(header, rows, notes, preamble=[line.strip() for line in lines[:top]])
    del lines  # a copy of the text's lines: not needed to read CSV, and as large as the rows
    import csv

    try:  # rows read one by one, blank ones dropped: one list of rows, never two
        parsed = [r for r in csv.reader(_lines_of(text)) if r]
    except csv.Error:
        return None
    for skip in range(3):  # a line or two of prose may precede the header, or follow the rows
        width = len(parsed[skip]) if skip < len(parsed) else 0
        end = next((k for k in range(skip, len(parsed)) if len(parsed[k]) != width), len(parsed))
        if width >= 2 and end - skip >= 3 and len(parsed) - end <= 3:
            preamble = [",".join(r) for r in parsed[:skip]]
            notes = [",".join(r) for r in parsed[end:]]
            header = list(parsed[skip])
            del parsed[end:]  # the parsed list becomes the table's rows, without a second list
            del parsed[: skip + 1]
            for k, row in enumerate(parsed):  # the reader's rows are over-allocated: exact copies,
                parsed[k] = list(row)  # each replacing its original at once
            return Table(header, parsed, notes, preamble)
    return None


def _lines_of(text: str) -> Iterator[str]:
    """`text`'s lines with their "\\n", as `io.StringIO(text)` yields them, one at a time:
    a StringIO holds the text again as four bytes per character."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def _split_pipe(line: str, bordered: bool = True) -> list[str]:
    """Cells of a `|` row. Only a bordered (Markdown) table has outer pipes to drop: in
    psql output a row ending in `| ` has an empty last cell."""
    stripped = line.strip()
    if bordered and stripped.startswith("|"):
        stripped = stripped[1:]
    if bordered and stripped.endswith("|"):
        stripped = stripped[:-1]
    return [cell.strip() for cell in stripped.split("|")]
