"""What a table holds whatever the question: the facts its row selection guarantees.

`analyse` finds rows of rare shape (a missing or extra key, a null, a nested
object among scalars), error rows, rare values of categorical columns (and
rare templates of text columns), orderable and categorical columns and the
grouping columns; `omitted_summary` says per dimension what the rows left
out hold, for the marker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from headroom.core.heuristics import (
    CATEGORY_MAX_DISTINCT,
    CATEGORY_MAX_SHARE,
    CATEGORY_VALUE_MAX_CHARS,
    ERROR_ROWS_MAX,
    ERROR_SHARE_MAX,
    GROUP_MAX_DISTINCT,
    GROUP_MIN_ROWS,
    GUARANTEE_ROWS_MAX,
    MARKER_DIMENSIONS_MAX,
    MARKER_VALUES_MAX,
    RARE_MAX_COUNT,
    RARE_SHARE,
)
from headroom.core.transforms.base import has_severity
from headroom.core.transforms.table_model import LONG_VALUE, MISSING, Table, cell_text
from headroom.core.transforms.table_values import order_keys, parse_number
from headroom.core.words import split_identifier

__all__ = ["Facts", "analyse", "capped", "group_labels", "omitted_summary"]


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
class Facts:
    """What each guarantee found, for the selection and for the marker."""

    error_rows: set[int] = field(default_factory=set)
    error_total: int = 0
    shapes: dict[str, list[int]] = field(default_factory=dict)  # "price null" -> rows
    rare_values: dict[str, list[int]] = field(default_factory=dict)  # "region=x" -> rows
    orderable: dict[int, tuple[list[Any], str]] = field(default_factory=dict)
    categorical: dict[int, list[str]] = field(default_factory=dict)
    groups: list[int] = field(default_factory=list)


def analyse(table: Table) -> Facts:
    n = len(table.rows)
    facts = Facts()
    limit = _rare_limit(n)
    errors: set[int] = set()
    for c, name in enumerate(table.columns):
        # A function per column: its lists (the cells, their texts, classes, counts) are
        # freed before the next column is read, not held while it is.
        _analyse_column(facts, errors, table.column(c), c, name, n, limit)
    facts.error_total = len(errors)
    facts.error_rows = set(sorted(errors)[:ERROR_ROWS_MAX])
    return facts


def _analyse_column(
    facts: Facts, errors: set[int], column: list[Any], c: int, name: str, n: int, limit: int
) -> None:
    """Add what column `c` holds to `facts` and its error rows to `errors`."""
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
    severe = [  # short text values holding an error word (no list of the short ones)
        i
        for i, (v, t) in enumerate(zip(column, texts, strict=True))
        if isinstance(v, str) and 0 < len(t) <= CATEGORY_VALUE_MAX_CHARS and has_severity(t)
    ]
    status_like = bool(parts & _STATUS_NAME_PARTS)
    # In a status column a failure value is the signal however many there are (up to half
    # the rows); elsewhere an error word in many values is the column's ordinary content.
    common = ERROR_SHARE_MAX * n if status_like else min(ERROR_SHARE_MAX * n, max(3, n * 0.3))
    if severe and len(severe) <= common:
        errors.update(severe)
    del severe  # not held through the rest of this column's analysis
    if parts & _SUCCESS_NAME_PARTS:
        failed = [i for i, t in enumerate(texts) if t.lower() in _NEGATIVE]
        if failed and len(failed) <= ERROR_SHARE_MAX * n:
            errors.update(failed)
    if parts & {"status", "code"}:
        codes = [parse_number(v) for v in column]
        http = [i for i, x in enumerate(codes) if x is not None and 400 <= x[0] < 600]
        if http and sum(1 for x in codes if x is not None and 100 <= x[0] < 400) > n / 2:
            errors.update(http)
    # Orderable columns and categories.
    keys = order_keys(column)
    if keys is not None:
        facts.orderable[c] = keys
    counts = _counts(texts)
    if _is_categorical(counts, n):
        # One object per distinct value, not the column's own cells (read afresh per
        # column, each its own string): the labels are held until the marker is written.
        canonical = {v: v for v in counts}
        facts.categorical[c] = [canonical[t] for t in texts]
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
        _free_text_facts(facts, name, texts, limit)


#: Values counted at a time: a column with more distinct values than any category has
#: stops being counted (a count of every distinct value is as large as the column).
_COUNT_CHUNK = 4096


def _counts(texts: list[str]) -> Counter[str]:
    """Counts of a column's values; only partial once more than `CATEGORY_MAX_DISTINCT`
    are seen (then all that is asked is that there are more)."""
    counts: Counter[str] = Counter()
    for start in range(0, len(texts), _COUNT_CHUNK):
        counts.update(texts[start : start + _COUNT_CHUNK])
        if len(counts) > CATEGORY_MAX_DISTINCT:
            break
    return counts


def _free_text_facts(facts: Facts, name: str, texts: list[str], limit: int) -> None:
    """Rare templates of a free-text column (its own function: the masked copy of the
    column is freed on return, not held through the next column's analysis)."""
    # One object per template, not one per row: a template repeats, its rows are many.
    templates: dict[str, str] = {}
    masked = [
        templates.setdefault(m, m)
        for m in (_MASK.sub("#", t) if len(t) <= LONG_VALUE else "" for t in texts)
    ]
    del templates
    template_counts = Counter(masked)
    if _is_categorical(template_counts, len(texts)):
        rare = {v for v, k in template_counts.items() if k <= limit and v != ""}
        if rare and len(rare) < len(template_counts):
            for value, rows in _rows_of(masked, rare).items():
                facts.rare_values[f"{name}~{value}"] = rows


def _rows_of(values: list[str], wanted: set[str]) -> dict[str, list[int]]:
    """Rows holding each wanted value, in one pass, values in sorted order."""
    found: dict[str, list[int]] = {v: [] for v in sorted(wanted)}
    for i, v in enumerate(values):
        if v in wanted:
            found[v].append(i)
    return found


def capped(groups: dict[str, list[int]]) -> set[int]:
    """Every row of each rare group; one row per group once that adds too many rows."""
    keep: set[int] = set()
    for rows in groups.values():
        keep.update(rows)
    if len(keep) <= GUARANTEE_ROWS_MAX:
        return keep
    return {rows[0] for rows in list(groups.values())[:GUARANTEE_ROWS_MAX]}


def group_labels(groups: dict[str, list[int]]) -> str:
    labels = [
        f"{label}" if len(rows) == 1 else f"{label} ×{len(rows)}" for label, rows in groups.items()
    ]
    if len(labels) > MARKER_VALUES_MAX:
        labels = [*labels[:MARKER_VALUES_MAX], f"+{len(labels) - MARKER_VALUES_MAX} more"]
    return ", ".join(_clip(x) for x in labels)


def _clip(text: str, size: int = 48) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def omitted_summary(table: Table, kept: set[int], facts: Facts) -> tuple[str, list[str]]:
    """Per dimension, what the omitted rows hold; and example retrieve queries."""
    n = len(table.rows)

    def omitted() -> Iterator[int]:  # read afresh per column: a list of them is n int objects
        return (i for i in range(n) if i not in kept)

    parts: list[str] = []
    examples: list[str] = []
    for c, name in enumerate(table.columns):
        if len(parts) >= MARKER_DIMENSIONS_MAX:
            break
        if c in facts.categorical and c not in facts.orderable:
            counts = Counter(facts.categorical[c][i] for i in omitted())
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
            # The first row holding the least and the greatest key, as `min`/`max` pick them.
            low = min(
                (i for i in omitted() if keys[i] is not None), key=keys.__getitem__, default=None
            )
            if low is None:
                continue
            high = max((i for i in omitted() if keys[i] is not None), key=keys.__getitem__)
            parts.append(f"{name} {cell_text(table.rows[low][c])}…{cell_text(table.rows[high][c])}")
            if not any(e.startswith("top ") for e in examples):
                examples.append(f"top 20 by {name}")
    return "; ".join(parts), examples
