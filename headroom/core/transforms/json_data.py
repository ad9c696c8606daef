"""JSON: minify, write arrays of records as tables, select rows when large."""

from __future__ import annotations

import json
from typing import Any

from headroom.core.detect import parse_json, split_json
from headroom.core.transforms.base import Compressed, Job
from headroom.core.transforms.tables import Table, compress_records

__all__ = ["compress_json"]

_MIN_RECORDS = 3
_MAX_COLUMNS = 40


def _minify(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _flatten(record: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < 2:
            flat.update(_flatten(value, f"{name}.", depth + 1))
        else:
            flat[name] = value
    return flat


def _as_table(items: list[Any]) -> Table | None:
    """A table when `items` are objects sharing most of their keys."""
    if len(items) < _MIN_RECORDS or not all(isinstance(x, dict) for x in items):
        return None
    flat = [_flatten(x) for x in items]
    columns: dict[str, None] = {}
    for row in flat:
        for key in row:
            columns.setdefault(key, None)
    average = sum(len(row) for row in flat) / len(flat)
    if not columns or len(columns) > _MAX_COLUMNS or len(columns) > 1.3 * average:
        return None
    names = list(columns)
    missing = object()
    rows = []
    for row in flat:
        cells = [row.get(c, missing) for c in names]
        if any(cell is missing for cell in cells) and len(names) > 1.1 * len(row):
            return None
        rows.append([None if cell is missing else cell for cell in cells])
    return Table(names, rows)


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


def _records_block(items: list[Any], job: Job, title: str) -> tuple[str, bool]:
    table = _as_table(items)
    if table is None:
        # Mixed objects: one minified object per line, so rows can still be selected.
        return _lines_of_objects(Table(["json"], [[x] for x in items]), job, title)
    return compress_records(table, job, title=title)


def _lines_of_objects(table: Table, job: Job, title: str) -> tuple[str, bool]:
    text, lossy = compress_records(table, job, title=title)
    head, _, rest = text.partition("\n")
    head = head.replace("; columns: json", " (one JSON object per line)")
    return f"{head}\n{rest}".rstrip(), lossy


def compress_json(job: Job) -> Compressed | None:
    value = parse_json(job.text)
    if value is not None:
        return _compress_value(value, job)
    parts = split_json(job.text)
    if parts is None:
        return None
    before, value, after = parts
    inner = _compress_value(value, job)
    if inner is None:
        return None
    return Compressed(f"{before}{inner.text}{after}", inner.name, inner.lossy)


def _compress_value(value: Any, job: Job) -> Compressed | None:
    try:
        lists = _record_lists(value)
        if not lists:
            return Compressed(_minify(value), "json:minify")
        lossy = False
        blocks: list[str] = []
        skeleton = value
        for n, (path, items) in enumerate(lists, 1):
            name = f"@table{n}" if len(lists) > 1 or path != "$" else ""
            if path != "$":
                skeleton = _replace_at(skeleton, path, f"<{name}: {len(items)} records below>")
            text, was_lossy = _records_block(items, job, f"{name} " if name else "")
            lossy = lossy or was_lossy
            blocks.append(text)
        parts = [] if lists[0][0] == "$" else [_minify(skeleton)]
        parts.extend(blocks)
        return Compressed("\n".join(parts), "json:rows" if lossy else "json:table", lossy)
    except (RecursionError, ValueError, TypeError):
        return Compressed(_minify(value), "json:minify")
