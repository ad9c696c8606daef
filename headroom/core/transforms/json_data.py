"""JSON: minify, write arrays of records as tables, select rows when large.

Also reads NDJSON (one object per line) and Python-printed lists and dicts
(single quotes, True/None), as Python agent frameworks pass tool results.
"""

from __future__ import annotations

import json
from typing import Any

from headroom.core.detect import parse_structured
from headroom.core.heuristics import RECORD_ANALYSIS_MAX_COLUMNS
from headroom.core.transforms.base import Compressed, Job, Transform, Units
from headroom.core.transforms.table_model import (
    MISSING,
    Table,
    record_units,
    renders_table,
    table_title,
)
from headroom.core.transforms.tables import compress_records

__all__ = ["JsonTransform", "compress_json", "flatten", "records_of"]

_MIN_RECORDS = 3
_MAX_COLUMNS = 40


def _minify(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flatten(record: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Nested objects (two levels) as dotted keys: `{"a": {"b": 1}}` -> `{"a.b": 1}`."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        # a top-level key is used as is: the parser shares one string per key across records
        name = key if not prefix and isinstance(key, str) else f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < 2:
            flat.update(flatten(value, f"{name}.", depth + 1))
        else:
            flat[name] = value
    return flat


def _as_table(items: list[Any]) -> Table | None:
    """`items` as a table: written as `|` rows when they share most keys, else one object
    per line; either way analysed by the union of their (flattened) keys.
    """
    if len(items) < _MIN_RECORDS or not all(isinstance(x, dict) for x in items):
        return None
    flat = [flatten(x) for x in items]
    columns: dict[str, None] = {}
    for row in flat:
        for key in row:
            columns.setdefault(key, None)
    if not columns:
        return None
    average = sum(len(row) for row in flat) / len(flat)
    uniform = len(columns) <= _MAX_COLUMNS and len(columns) <= 1.3 * average
    width = len(columns)
    if uniform and any(width > 1.1 * len(row) for row in flat):
        uniform = False  # rows missing many keys read better as objects
    names = list(columns)[:RECORD_ANALYSIS_MAX_COLUMNS]
    rows = [[row.get(c, MISSING) for c in names] for row in flat]
    if uniform:
        return Table(names, rows)
    return Table(names, rows, objects=[_minify(x) for x in items])


def _record_lists(value: Any, path: str = "$", depth: int = 0) -> list[tuple[str, list[Any]]]:
    """Paths of arrays of objects (the bulk of most API payloads), outermost first."""
    if depth > 3:
        return []
    if isinstance(value, list):
        if len(value) >= _MIN_RECORDS and all(isinstance(x, dict) for x in value):
            return [(path, value)]
        return []
    if isinstance(value, dict):
        found: list[tuple[str, list[Any]]] = []
        for key, child in value.items():
            found.extend(_record_lists(child, f"{path}.{key}", depth + 1))
        return found
    return []


def _replace_at(value: Any, path: str, stand_in: str) -> Any:
    keys = path.split(".")[1:]
    if not keys:
        return stand_in
    copied = dict(value)
    node = copied
    for key in keys[:-1]:
        node[key] = dict(node[key])
        node = node[key]
    node[keys[-1]] = stand_in
    return copied


def _table_of(items: list[Any]) -> Table:
    table = _as_table(items)
    if table is None:
        table = Table(["json"], [[x] for x in items], objects=[_minify(x) for x in items])
    return table


def _records_block(items: list[Any], job: Job, title: str) -> tuple[str, bool]:
    return compress_records(_table_of(items), job, title=title)


def records_of(value: object, depth: int = 0) -> list[object]:
    """The largest array in a parsed value (the records of an API payload)."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict) and depth < 3:
        best: list[object] = []
        for child in value.values():
            found = records_of(child, depth + 1)
            if len(found) > len(best):
                best = found
        return best
    return []


def compress_json(job: Job) -> Compressed | None:
    # The parse is taken out of detection's cache: this call then holds the only
    # reference, and a document that is one array of records is dropped as soon as
    # it is a table (parsed, it is about four times the text).
    parts = parse_structured(job.text, keep=False)
    if parts is None:
        return None
    before, after = parts[0], parts[2]
    box = [parts[1]]
    del parts
    inner = _compress_value(box, job)
    if inner is None:
        return None
    return Compressed(f"{before}{inner.text}{after}", inner.name, inner.lossy)


def _compress_value(box: list[Any], job: Job) -> Compressed | None:
    """Compress the parsed value in `box`, taking it out (so it can be freed early)."""
    value: Any = box.pop()
    try:
        lists = _record_lists(value)
        if not lists:
            return Compressed(_minify(value), "json:minify")
        if lists[0][0] == "$":  # the whole document is one array of records
            table = _table_of(value)
            del lists
            value = None  # the parsed records: the table holds their values
            text, lossy = compress_records(table, job, title="")
            return Compressed(text, "json:rows" if lossy else "json:table", lossy)
        lossy = False
        blocks: list[str] = []
        skeleton = value
        for n, (path, items) in enumerate(lists, 1):  # arrays inside an object
            name = table_title(n)
            skeleton = _replace_at(skeleton, path, f"<{name}: {len(items)} records below>")
            text, was_lossy = _records_block(items, job, f"{name} ")
            lossy = lossy or was_lossy
            blocks.append(text)
        parts = [_minify(skeleton)]
        parts.extend(blocks)
        return Compressed("\n".join(parts), "json:rows" if lossy else "json:table", lossy)
    except (RecursionError, ValueError, TypeError):
        if value is None:  # already dropped: parse the text again
            reparsed = parse_structured(job.text, keep=False)
            value = reparsed[1] if reparsed is not None else None
        return Compressed(_minify(value), "json:minify")


class JsonTransform(Transform):
    """JSON (and NDJSON, Python reprs): record arrays as tables, the rest minified."""

    kind = "json"

    def compress(self, job: Job) -> Compressed | None:
        return compress_json(job)

    def units(self, text: str) -> Units:
        """Each record of the largest array, flattened, when every item is an object."""
        parts = parse_structured(text)
        records = records_of(parts[1]) if parts else []
        if records and all(isinstance(r, dict) for r in records):
            return record_units([flatten(r) for r in records if isinstance(r, dict)])
        return Units.lines(text)

    def recognises(self, text: str) -> bool:
        return renders_table(text)  # record arrays are written as tables
