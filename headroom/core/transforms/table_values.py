"""What a column is: numbers, numeric strings, clock readings and ISO dates as sort keys.

Shared by the row selection (extremes of every orderable column), rank and
range requests, and `headroom_retrieve`'s `top N by column` and `field>value`.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from itertools import islice, pairwise
from typing import Any

from headroom.core.heuristics import ORDERABLE_MIN_DISTINCT, ORDERABLE_MIN_SHARE
from headroom.core.transforms.table_model import MISSING

__all__ = [
    "CLOCK",
    "in_row_order",
    "is_empty",
    "order_key",
    "order_keys",
    "parse_number",
    "ranked",
]

_NUMBER = re.compile(
    r"^([-+]?)([$€£¥]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?([eE][-+]?\d+)?\s?([A-Za-z%]{0,3})$"
)
# A clock reading or duration ("00:12:54", "7:05", "1:02:03.5"): ordered by its seconds.
CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?(\.\d+)?$")
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?$"
)


def parse_number(value: Any) -> tuple[float, str] | None:
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
                clock = CLOCK.match(value)
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
    number = parse_number(value)
    return number[0] if number is not None else _date(value)


def is_empty(value: Any) -> bool:
    return value is None or value is MISSING or value == ""


def order_keys(values: Sequence[Any]) -> tuple[list[Any], str] | None:
    """Sort keys of an orderable column (None where a cell has none) and its kind.

    Numbers (with one shared unit or currency), numeric strings, clock readings
    and durations ("0:42:07", kind "clock", so a bound written as one finds them),
    ISO dates and timestamps are orderable; a few unparsable cells ("N/A") are tolerated.
    """
    present = sum(1 for v in values if not is_empty(v))  # a count: no second list of the cells
    if present < max(2, 0.5 * len(values)):
        return None
    # Most columns are plainly not orderable: tell from a sample.
    sample = list(islice((v for v in values if not is_empty(v)), 64))
    numeric = sum(1 for v in sample if parse_number(v) is not None) >= 0.5 * len(sample)
    if not numeric:
        if sum(1 for v in sample if _date(v) is not None) < 0.5 * len(sample):
            return None
        return _date_keys(values, present)
    keys: list[Any] = []  # built in one pass: a list of (number, unit) per cell is 3x larger
    units: set[str] = set()
    for v in values:
        x = parse_number(v)
        if x is None:
            keys.append(None)
        else:
            keys.append(x[0])
            units.add(x[1])
    if len(keys) - keys.count(None) >= ORDERABLE_MIN_SHARE * present:
        if len(units) == 1 and _distinct_at_least(keys, ORDERABLE_MIN_DISTINCT):
            return keys, "clock" if units == {"clock"} else "number"
        return None
    return _date_keys(values, present)


def _date_keys(values: Sequence[Any], present: int) -> tuple[list[Any], str] | None:
    dates = [_date(v) for v in values]
    found = len(dates) - dates.count(None)
    if found >= ORDERABLE_MIN_SHARE * present and _distinct_at_least(dates, ORDERABLE_MIN_DISTINCT):
        return dates, "date"
    return None


def _distinct_at_least(keys: Sequence[Any], count: int) -> bool:
    """Whether `keys` hold `count` distinct values other than None: read only until they
    do (a set of every key is as large as the keys)."""
    seen: set[Any] = set()
    for key in keys:
        if key is not None:
            seen.add(key)
            if len(seen) >= count:
                return True
    return False


def in_row_order(keys: Sequence[Any]) -> bool:
    """Whether a column's keys rise (or fall) with the rows, as a log's timestamps do."""
    present = [key for key in keys if key is not None]
    # Read twice as pairs, never held as them (a tuple per row).
    return all(a <= b for a, b in pairwise(present)) or all(a >= b for a, b in pairwise(present))


def ranked(keys: Sequence[Any], k: int, descending: bool) -> list[int]:
    """Rows of the k highest (or lowest) keys, best first; ties at the cut-off kept when few.

    Rows are picked by index with their key looked up, not from a list of (key, row)
    pairs: that list is ~100 bytes a row. Ties keep row order, as a stable sort does."""
    present = (i for i, v in enumerate(keys) if v is not None)
    key = keys.__getitem__
    if sum(1 for v in keys if v is not None) <= k:
        return sorted(present, key=key, reverse=descending)
    pick = heapq.nlargest if descending else heapq.nsmallest
    order = pick(k, present, key=key)  # O(n log k), not a full sort
    cutoff = keys[order[-1]]
    tied = [
        i
        for i, v in enumerate(keys)
        if v is not None and (v >= cutoff if descending else v <= cutoff)
    ]
    if len(tied) <= 2 * k:
        return sorted(tied, key=key, reverse=descending)
    return order
