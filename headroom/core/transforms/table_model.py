"""Records as a table: the model, how cells and rows are written, how text tables are read.

A `Table` is columns and rows of scalar-ish cells. `render_table` writes one
as a header and one `|`-separated line per row (what the model reads);
`parse_text_table` reads psql, Markdown and CSV output back into one;
`record_units` makes records the units recall and retrieval pick from.
"""

from __future__ import annotations

import csv
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
    "CsvRows",
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
    rows: Sequence[list[Any]]
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

    def __init__(self, rows: Sequence[list[Any]]) -> None:
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
    if isinstance(indices, range) and indices == range(len(lines)):
        return list(lines)  # every row: read in one pass, not one by one
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
    source = _Lines(text)
    records: list[str] = []  # each record's own text, not its cells (see `CsvRows`)
    widths: list[int] = []
    start = 0
    try:  # read once, blank records dropped; the reader never reads past a record's last line
        for row in csv.reader(source):
            if row:
                records.append(text[start : source.end])
                widths.append(len(row))
            start = source.end
    except csv.Error:
        return None
    n = len(records)
    for skip in range(3):  # a line or two of prose may precede the header, or follow the rows
        width = widths[skip] if skip < n else 0
        end = next((k for k in range(skip, n) if widths[k] != width), n)
        if width >= 2 and end - skip >= 3 and n - end <= 3:
            read = CsvRows(records)
            preamble = [",".join(r) for r in read[:skip]]
            notes = [",".join(r) for r in read[end:]]
            header = read[skip]
            del records[end:]  # the records become the table's rows, without a second list
            del records[: skip + 1]
            return Table(header, CsvRows(records), notes, preamble)
    return None


class _Lines:
    """`text`'s lines with their "\\n", as `io.StringIO(text)` yields them, one at a time
    (a StringIO holds the text again as four bytes per character); `end` is where the
    last line read ends."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.end = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        start = self.end
        if start >= len(self.text):
            raise StopIteration
        self.end = self.text.find("\n", start) + 1 or len(self.text)
        return self.text[start : self.end]


class CsvRows(Sequence[list[str]]):
    """CSV rows kept as their records' text and read into cells when used.

    A list of cells per row costs ~7x the text (an object per cell); the record's
    text ~2x. A record read alone gives the cells it gave in the whole text: the
    reader starts every record afresh, and a quoted newline is a character either way.
    """

    def __init__(self, records: list[str]) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> list[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...

    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        if isinstance(index, slice):
            return list(csv.reader(self._records[index]))
        return next(csv.reader((self._records[index],)))

    def __iter__(self) -> Iterator[list[str]]:
        return csv.reader(self._records)


def _split_pipe(line: str, bordered: bool = True) -> list[str]:
    """Cells of a `|` row. Only a bordered (Markdown) table has outer pipes to drop: in
    psql output a row ending in `| ` has an empty last cell."""
    stripped = line.strip()
    if bordered and stripped.startswith("|"):
        stripped = stripped[1:]
    if bordered and stripped.endswith("|"):
        stripped = stripped[:-1]
    return [cell.strip() for cell in stripped.split("|")]
