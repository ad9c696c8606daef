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
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, ClassVar

from headroom.core.detect import Kind
from headroom.core.heuristics import (
    CATEGORY_MAX_DISTINCT,
    CATEGORY_MAX_SHARE,
    CATEGORY_VALUE_MAX_CHARS,
    ERROR_ROWS_MAX,
    ERROR_SHARE_MAX,
    GROUP_EXTREMES,
    GROUP_MAX_DISTINCT,
    GROUP_MIN_ROWS,
    GUARANTEE_ROWS_MAX,
    MARKER_DIMENSIONS_MAX,
    MARKER_VALUES_MAX,
    ORDERABLE_MIN_DISTINCT,
    ORDERABLE_MIN_SHARE,
    RANGE_ROWS_MAX,
    RARE_MAX_COUNT,
    RARE_SHARE,
    SELECT_MAX_KEPT_SHARE,
    SELECT_MIN_CHARS,
    SELECT_MIN_ROWS,
)
from headroom.core.relevance import Relevance, split_identifier, stem
from headroom.core.transforms.base import (
    Compressed,
    Job,
    Transform,
    Units,
    has_severity,
    marker,
    record_text,
)

__all__ = [
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
]

_LONG_VALUE = 400  # a text value longer than this is a passage, not a field
_SHORT_VALUE = 160
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
    _lines: list[str] | None = field(default=None, repr=False)

    def lines(self) -> list[str]:
        """Each row rendered once as its `|`-separated line."""
        if self._lines is None and self.objects is not None:
            self._lines = self.objects
        if self._lines is None:
            self._lines = ["|".join([cell_text(v) for v in row]) for row in self.rows]
        return self._lines

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


def record_units(rows: list[dict[str, Any]]) -> Units:
    """Records as units: each one compact JSON, seen as its rendered row."""
    parts = [record_text(row) for row in rows]
    shown = ["|".join(cell_text(v) for v in row.values()) for row in rows]
    return Units(parts, parts, shown, rows)


# --- what a column is ----------------------------------------------------------------------

_NUMBER = re.compile(
    r"^([-+]?)([$€£¥]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?([eE][-+]?\d+)?\s?([A-Za-z%]{0,3})$"
)
# A clock reading or duration ("00:12:54", "7:05", "1:02:03.5"): ordered by its seconds.
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?(\.\d+)?$")
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?$"
)


def _number(value: Any) -> tuple[float, str] | None:
    """(value, unit) of a number or a numeric string ("1,234.5", "$3", "12ms", "40%", "0:42")."""
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, (int, float)):
        return (float(value), "") if math.isfinite(value) else None
    if isinstance(value, str) and 0 < len(value) <= 40:
        if value[-1:].isdigit():
            try:
                x = float(value)  # the common case, at C speed
            except ValueError:
                clock = _CLOCK.match(value)
                if clock is not None:
                    return _seconds(clock), "clock"
            else:
                return (x, "") if math.isfinite(x) else None
        elif not value[:1].isdigit() and value[:1] not in "-+$€£¥":
            return None  # neither a number nor a currency amount
        m = _NUMBER.match(value.strip())
        if m is None:
            return None
        sign, currency, whole, frac, exp, unit = m.groups()
        try:
            x = float(f"{sign}{whole.replace(',', '')}{frac or ''}{exp or ''}")
        except ValueError:
            return None
        return (x, currency + unit.lower()) if math.isfinite(x) else None
    return None


def _seconds(clock: re.Match[str]) -> float:
    """Seconds of an H:MM:SS or M:SS reading (its last field is seconds)."""
    first, second, third, frac = clock.groups()
    fields = [int(first), int(second)] + ([int(third)] if third else [])
    total = 0
    for part in fields:
        total = total * 60 + part
    return total + (float(frac) if frac else 0.0)


def _date(value: Any) -> str | None:
    """A sortable key for an ISO date or timestamp string, else None."""
    if isinstance(value, str) and 10 <= len(value) <= 40 and _ISO.match(value):
        return value.replace("T", " ").removesuffix("Z").removesuffix("UTC").strip()
    return None


def order_key(value: Any) -> float | str | None:
    """The sort key of one value: a number, or a normalised ISO date string."""
    number = _number(value)
    return number[0] if number is not None else _date(value)


def _empty(value: Any) -> bool:
    return value is None or value is MISSING or value == ""


def order_keys(values: Sequence[Any]) -> tuple[list[Any], str] | None:
    """Sort keys of an orderable column (None where a cell has none) and its kind.

    Numbers (with one shared unit or currency), numeric strings, clock readings
    and durations ("0:42:07", kind "clock", so a bound written as one finds them),
    ISO dates and timestamps are orderable; a few unparsable cells ("N/A") are tolerated.
    """
    present = [v for v in values if not _empty(v)]
    if len(present) < max(2, 0.5 * len(values)):
        return None
    sample = present[:64]  # most columns are plainly not orderable: tell from a sample
    numeric = sum(1 for v in sample if _number(v) is not None) >= 0.5 * len(sample)
    if not numeric:
        if sum(1 for v in sample if _date(v) is not None) < 0.5 * len(sample):
            return None
        return _date_keys(values, present)
    numbers = [_number(v) for v in values]
    parsed = [x for x in numbers if x is not None]
    if len(parsed) >= ORDERABLE_MIN_SHARE * len(present):
        units = {u for _, u in parsed}
        if len(units) == 1:
            keys: list[Any] = [x[0] if x is not None else None for x in numbers]
            if len({k for k in keys if k is not None}) >= ORDERABLE_MIN_DISTINCT:
                return keys, "clock" if units == {"clock"} else "number"
        return None
    return _date_keys(values, present)


def _date_keys(values: Sequence[Any], present: list[Any]) -> tuple[list[Any], str] | None:
    dates = [_date(v) for v in values]
    found = [d for d in dates if d is not None]
    if (
        len(found) >= ORDERABLE_MIN_SHARE * len(present)
        and len(set(found)) >= ORDERABLE_MIN_DISTINCT
    ):
        return dates, "date"
    return None


def _in_row_order(keys: Sequence[Any]) -> bool:
    """Whether a column's keys rise (or fall) with the rows, as a log's timestamps do."""
    present = [key for key in keys if key is not None]
    pairs = list(pairwise(present))
    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)


def ranked(keys: Sequence[Any], k: int, descending: bool) -> list[int]:
    """Rows of the k highest (or lowest) keys, best first; ties at the cut-off kept when few."""
    indexed = [(v, i) for i, v in enumerate(keys) if v is not None]
    if len(indexed) <= k:
        return [i for _, i in sorted(indexed, key=lambda p: p[0], reverse=descending)]
    pick = heapq.nlargest if descending else heapq.nsmallest
    order = pick(k, indexed, key=lambda p: p[0])  # O(n log k), not a full sort
    cutoff = order[-1][0]
    tied = [i for v, i in indexed if (v >= cutoff if descending else v <= cutoff)]
    if len(tied) <= 2 * k:
        return sorted(tied, key=lambda i: keys[i], reverse=descending)
    return [i for _, i in order]


def _class(value: Any) -> str:
    """A cell's shape: what kind of value it is, or that it is absent."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "empty" if value == "" else "text"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


_MASK = re.compile(r"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*|\d+(?:[.:,]\d+)*")
_ERROR_NAME_PARTS = frozenset(
    ["error", "errors", "err", "exception", "exceptions", "failure", "failures", "fault", "faults"]
)
_STATUS_NAME_PARTS = frozenset(
    ["status", "state", "level", "severity", "result", "outcome", "code"]
)
_FALSY = frozenset(["", "0", "false", "null", "none", "no", "[]", "{}", "ok", "nil"])
#: Columns whose *false* value is the failure (`success: false`, `ok: false`, `healthy: no`).
_SUCCESS_NAME_PARTS = frozenset(["success", "successful", "ok", "passed", "healthy", "succeeded"])
_NEGATIVE = frozenset(["false", "no", "0", "n", "f"])


def _rare_limit(n: int) -> int:
    return max(1, min(RARE_MAX_COUNT, int(n * RARE_SHARE)))


def _is_categorical(counts: Counter[str], n: int) -> bool:
    distinct = len(counts)
    cap = min(CATEGORY_MAX_DISTINCT, max(2, int(n * CATEGORY_MAX_SHARE)))
    return 2 <= distinct <= cap and all(len(v) <= CATEGORY_VALUE_MAX_CHARS for v in counts)


@dataclass
class _Facts:
    """What each guarantee found, for the selection and for the marker."""

    error_rows: set[int] = field(default_factory=set)
    error_total: int = 0
    shapes: dict[str, list[int]] = field(default_factory=dict)  # "price null" -> rows
    rare_values: dict[str, list[int]] = field(default_factory=dict)  # "region=x" -> rows
    orderable: dict[int, tuple[list[Any], str]] = field(default_factory=dict)
    categorical: dict[int, list[str]] = field(default_factory=dict)
    groups: list[int] = field(default_factory=list)


def _analyse(table: Table) -> _Facts:
    n = len(table.rows)
    facts = _Facts()
    limit = _rare_limit(n)
    errors: set[int] = set()
    for c, name in enumerate(table.columns):
        column = table.column(c)
        # Shapes: a type or an absence that is rare in this column.
        classes = [_class(v) for v in column]
        class_counts = Counter(classes)
        if len(class_counts) > 1:
            usual = class_counts.most_common(1)[0][0]
            rare_classes = [cls for cls, count in class_counts.items() if count <= limit]
            for cls in rare_classes:
                if cls == "missing":
                    label = f"no {name}"
                elif usual == "missing":
                    label = f"with {name}"
                else:
                    label = f"{name} {cls}"
                facts.shapes[label] = [i for i, x in enumerate(classes) if x == cls]
        # Error signals by key name, by status value, by error words in short values.
        parts = set(split_identifier(name))
        texts = [cell_text(v) for v in column]
        if parts & _ERROR_NAME_PARTS:
            flagged = [i for i, t in enumerate(texts) if t.lower() not in _FALSY]
            if flagged and len(flagged) <= ERROR_SHARE_MAX * n:
                errors.update(flagged)
        short = [
            i
            for i, (v, t) in enumerate(zip(column, texts, strict=True))
            if isinstance(v, str) and 0 < len(t) <= CATEGORY_VALUE_MAX_CHARS
        ]
        severe = [i for i in short if has_severity(texts[i])]
        status_like = bool(parts & _STATUS_NAME_PARTS)
        # In a status column a failure value is the signal however many there are (up to half
        # the rows); elsewhere an error word in many values is the column's ordinary content.
        common = ERROR_SHARE_MAX * n if status_like else min(ERROR_SHARE_MAX * n, max(3, n * 0.3))
        if severe and len(severe) <= common:
            errors.update(severe)
        if parts & _SUCCESS_NAME_PARTS:
            failed = [i for i, t in enumerate(texts) if t.lower() in _NEGATIVE]
            if failed and len(failed) <= ERROR_SHARE_MAX * n:
                errors.update(failed)
        if parts & {"status", "code"}:
            codes = [_number(v) for v in column]
            http = [i for i, x in enumerate(codes) if x is not None and 400 <= x[0] < 600]
            if http and sum(1 for x in codes if x is not None and 100 <= x[0] < 400) > n / 2:
                errors.update(http)
        # Orderable columns and categories.
        keys = order_keys(column)
        if keys is not None:
            facts.orderable[c] = keys
        counts = Counter(texts)
        if _is_categorical(counts, n):
            facts.categorical[c] = texts
            rare = {v for v, k in counts.items() if k <= limit and v != ""}
            if rare and len(rare) < len(counts):
                for value, rows in _rows_of(texts, rare).items():
                    facts.rare_values[f"{name}={value}"] = rows
            sizable = sum(1 for k in counts.values() if k >= GROUP_MIN_ROWS)
            if len(counts) <= GROUP_MAX_DISTINCT and sizable >= 2 and keys is None:
                # A label, not a quantity: years or sizes with few values are ranked, not grouped.
                facts.groups.append(c)
        elif keys is None and len(counts) > CATEGORY_MAX_DISTINCT:
            # Free text (messages, paths): its templates, numbers and ids masked, may be
            # categorical; a rare template is an unusual event.
            masked = [_MASK.sub("#", t) if len(t) <= _LONG_VALUE else "" for t in texts]
            template_counts = Counter(masked)
            if _is_categorical(template_counts, n):
                rare = {v for v, k in template_counts.items() if k <= limit and v != ""}
                if rare and len(rare) < len(template_counts):
                    for value, rows in _rows_of(masked, rare).items():
                        facts.rare_values[f"{name}~{value}"] = rows
    facts.error_total = len(errors)
    facts.error_rows = set(sorted(errors)[:ERROR_ROWS_MAX])
    return facts


def _rows_of(values: list[str], wanted: set[str]) -> dict[str, list[int]]:
    """Rows holding each wanted value, in one pass, values in sorted order."""
    found: dict[str, list[int]] = {v: [] for v in sorted(wanted)}
    for i, v in enumerate(values):
        if v in wanted:
            found[v].append(i)
    return found


def _capped(groups: dict[str, list[int]]) -> set[int]:
    """Every row of each rare group; one row per group once that adds too many rows."""
    keep: set[int] = set()
    for rows in groups.values():
        keep.update(rows)
    if len(keep) <= GUARANTEE_ROWS_MAX:
        return keep
    return {rows[0] for rows in list(groups.values())[:GUARANTEE_ROWS_MAX]}


def _rank_rows(table: Table, facts: _Facts, relevance: Relevance) -> tuple[set[int], list[str]]:
    """Rows a superlative in the request asks for ("the 3 cheapest", "newest")."""
    keep: set[int] = set()
    named: list[str] = []
    for request in relevance.ranks:
        columns = [
            c
            for c in facts.orderable
            if {stem(p) for p in split_identifier(table.columns[c]) if len(p) >= 2} & request.hints
        ]
        if not columns and request.dates:
            columns = [c for c, (_, kind) in facts.orderable.items() if kind == "date"]
        for c in columns:
            keep.update(ranked(facts.orderable[c][0], request.count, request.descending))
            named.append(table.columns[c])
    return keep, named


def _named_sparse_columns(table: Table, relevance: Relevance) -> set[int]:
    """Rows that fill a mostly empty column the request names ("which orders have a coupon")."""
    n = len(table.rows)
    keep: set[int] = set()
    for c, name in enumerate(table.columns):
        if not relevance.names(name):
            continue
        filled = [i for i, v in enumerate(table.column(c)) if not _empty(v)]
        if 0 < len(filled) <= min(GUARANTEE_ROWS_MAX, n * CATEGORY_MAX_SHARE):
            keep.update(filled)
    return keep


def _clip_key(key: Any, bound: Any) -> Any:
    """A timestamp compared with a date compares its day: "up to 2024-06-30" includes that day."""
    return key[: len(bound)] if isinstance(key, str) and isinstance(bound, str) else key


def asked_rows(table: Table, relevance: Relevance) -> list[int]:
    """Rows the request asks for by rank, range or position (best first, may repeat)."""
    facts = _Facts()
    for c in range(len(table.columns)):
        keys = order_keys(table.column(c))
        if keys is not None:
            facts.orderable[c] = keys
    ranks, _ = _rank_rows(table, facts, relevance)
    in_range, _ = _range_rows(table, facts, relevance)
    n = len(table.rows)
    positions = [p - 1 for p in relevance.positions if 0 < p <= n]
    return [*positions, *sorted(ranks), *sorted(in_range)]


def _range_columns(table: Table, facts: _Facts, hints: frozenset[str], kind: str) -> list[int]:
    """Orderable columns of `kind` the words name, else the only column of that kind."""
    of_kind = [c for c, (_, k) in facts.orderable.items() if k == kind]
    named = [c for c in of_kind if {stem(p) for p in split_identifier(table.columns[c])} & hints]
    return named or (of_kind if len(of_kind) == 1 else [])


def _range_rows(table: Table, facts: _Facts, relevance: Relevance) -> tuple[set[int], list[str]]:
    """Rows inside a range the request asks about; a note with the query when too many."""
    keep: set[int] = set()
    notes: list[str] = []
    for request in relevance.ranges:
        low = order_key(request.low) if request.low else None
        high = order_key(request.high) if request.high else None
        bound = low if low is not None else high
        if bound is None:
            continue
        said = (request.low or request.high or "").strip()
        kind = "date" if isinstance(bound, str) else "clock" if _CLOCK.match(said) else "number"
        if (low is not None and high is not None) and type(low) is not type(high):
            continue
        for c in _range_columns(table, facts, request.hints, kind):
            keys = facts.orderable[c][0]
            rows = [
                i
                for i, key in enumerate(keys)
                if key is not None
                and (low is None or _clip_key(key, low) >= low)
                and (high is None or _clip_key(key, high) <= high)
            ]
            if len(rows) <= RANGE_ROWS_MAX:
                keep.update(rows)
                continue
            name = table.columns[c]
            query = ", ".join(
                [f"{name}>={request.low}"] * (low is not None)
                + [f"{name}<={request.high}"] * (high is not None)
            )
            notes.append(f'{len(rows)} rows in the range asked for: query="{query}"')
    return keep, notes


def select_rows(table: Table, job: Job) -> tuple[list[int], str]:
    """Row indices to keep (in order) and a summary of why, or all rows if small."""
    kept, summary, _ = _select(table, job)
    return kept, summary


def _select(table: Table, job: Job) -> tuple[list[int], str, _Facts]:
    n = len(table.rows)
    facts = _analyse(table)
    head, tail = job.scaled(3), job.scaled(2)
    keep: set[int] = set(range(min(head, n))) | set(range(max(0, n - tail), n))
    reasons = [f"first {min(head, n)}, last {min(tail, n)}"]
    k = job.scaled(job.config.top_k)
    by: list[str] = []
    for c, (keys, _) in facts.orderable.items():
        if _in_row_order(keys):
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
    shapes = _capped(facts.shapes)
    if shapes:
        keep |= shapes
        reasons.append(f"{len(shapes)} of rare shape ({_names(facts.shapes)})")
    rare = _capped(facts.rare_values)
    if rare:
        keep |= rare
        reasons.append(f"{len(rare)} with rare values ({_names(facts.rare_values)})")
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


def _names(groups: dict[str, list[int]]) -> str:
    labels = [
        f"{label}" if len(rows) == 1 else f"{label} ×{len(rows)}" for label, rows in groups.items()
    ]
    if len(labels) > MARKER_VALUES_MAX:
        labels = [*labels[:MARKER_VALUES_MAX], f"+{len(labels) - MARKER_VALUES_MAX} more"]
    return ", ".join(_clip(x) for x in labels)


def _clip(text: str, size: int = 48) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _omitted_summary(table: Table, kept: set[int], facts: _Facts) -> tuple[str, list[str]]:
    """Per dimension, what the omitted rows hold; and example retrieve queries."""
    omitted = [i for i in range(len(table.rows)) if i not in kept]
    parts: list[str] = []
    examples: list[str] = []
    for c, name in enumerate(table.columns):
        if len(parts) >= MARKER_DIMENSIONS_MAX:
            break
        if c in facts.categorical and c not in facts.orderable:
            counts = Counter(facts.categorical[c][i] for i in omitted)
            if not counts or (len(counts) == 1 and "" in counts):
                continue  # nothing to say: every omitted row leaves it empty
            listed = [
                f"{_clip(v or '(empty)', 24)}×{k}" for v, k in counts.most_common(MARKER_VALUES_MAX)
            ]
            if len(counts) > MARKER_VALUES_MAX:
                listed.append(f"{len(counts) - MARKER_VALUES_MAX} more values")
            parts.append(f"{name} " + ", ".join(listed))
            if not any("=" in e for e in examples):
                value = counts.most_common(1)[0][0]
                if value:
                    examples.append(f"{name}={value}")
        elif c in facts.orderable:
            keys = facts.orderable[c][0]
            values = [(keys[i], i) for i in omitted if keys[i] is not None]
            if not values:
                continue
            low = min(values, key=lambda p: p[0])[1]
            high = max(values, key=lambda p: p[0])[1]
            parts.append(f"{name} {cell_text(table.rows[low][c])}…{cell_text(table.rows[high][c])}")
            if not any(e.startswith("top ") for e in examples):
                examples.append(f"top 20 by {name}")
    return "; ".join(parts), examples


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
    if n >= SELECT_MIN_ROWS and full_size >= SELECT_MIN_CHARS:
        selected, why, facts = _select(table, job)
        if len(selected) < n * SELECT_MAX_KEPT_SHARE:
            kept = selected
            reasons.append(f"kept {len(kept)} of {n} rows ({why})")
            omitted, examples = _omitted_summary(table, set(kept), facts)
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


def _split_pipe(line: str, bordered: bool = True) -> list[str]:
    """Cells of a `|` row. Only a bordered (Markdown) table has outer pipes to drop: in
    psql output a row ending in `| ` has an empty last cell."""
    stripped = line.strip()
    if bordered and stripped.startswith("|"):
        stripped = stripped[1:]
    if bordered and stripped.endswith("|"):
        stripped = stripped[:-1]
    return [cell.strip() for cell in stripped.split("|")]


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
