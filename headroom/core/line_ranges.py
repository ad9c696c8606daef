"""Lines of text holding a value in a range a question asks about.

Logs, grep matches and plain text have no columns: "took over 500 ms" is found
by the number written with the question's unit, "between 14:00 and 14:05" by
each line's first time of day, a date range by each line's first ISO date. A
number without a unit is too common in text to select anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from headroom.core.heuristics import RANGE_ROWS_MAX
from headroom.core.relevance import Relevance

__all__ = ["range_units"]

_BOUND_PARTS = re.compile(r"^[$€£¥]?([\d,]*\.?\d+)\s?([A-Za-z%µ]{0,12})$")
_LINE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
_LINE_CLOCK = re.compile(r"(?<![\d:])(\d{2}):(\d{2})(?::(\d{2}))?(?![\d])")


def _text_bound(text: str | None) -> tuple[float | str, str] | None:
    """(value, unit) of a bound as written: a number and the unit glued to it ("895ms"),
    a clock reading in seconds since midnight ("14:05", unit ":"), or an ISO date."""
    if not text:
        return None
    if _LINE_DATE.fullmatch(text.replace("Z", "")):
        return text.replace("T", " ").replace("Z", ""), "date"
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if clock:
        h, m, sec = (int(g or 0) for g in clock.groups())
        return float(h * 3600 + m * 60 + sec), ":"
    parts = _BOUND_PARTS.match(text)
    if parts is None:
        return None
    return float(parts.group(1).replace(",", "")), parts.group(2).lower()


def range_units(relevance: Relevance, searched: Sequence[str]) -> list[int]:
    """Lines (log lines, text, grep groups) holding a value in a range the question asks:
    a number written with the question's unit ("took over 500 ms" finds "... 812ms"), a
    time of day ("between 14:00 and 14:05" reads each line's first clock), or an ISO date.
    A number without a unit is too common in text to select anything."""
    picks: list[int] = []
    for request in relevance.ranges:
        low, high = _text_bound(request.low), _text_bound(request.high)
        said = low or high
        if said is None or (low and high and low[1] != high[1] and low[1] and high[1]):
            continue
        unit = said[1] or (high[1] if high else "") or request.unit
        lo = low[0] if low else None
        hi = high[0] if high else None
        if unit == "date":
            found = [
                i
                for i, u in enumerate(searched)
                if (m := _LINE_DATE.search(u))
                and (lo is None or m.group(0).replace("T", " ")[: len(str(lo))] >= str(lo))
                and (hi is None or m.group(0).replace("T", " ")[: len(str(hi))] <= str(hi))
            ]
        elif unit == ":":
            found = []
            for i, u in enumerate(searched):
                m = _LINE_CLOCK.search(u)
                if m is None:
                    continue
                t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
                if (lo is None or t >= float(lo)) and (hi is None or t <= float(hi)):
                    found.append(i)
        elif unit.isalpha():
            number = re.compile(rf"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?{re.escape(unit)}\b", re.I)
            found = [
                i
                for i, u in enumerate(searched)
                if any(
                    (lo is None or x >= float(lo)) and (hi is None or x <= float(hi))
                    for x in (float(m.group(1).replace(",", "")) for m in number.finditer(u))
                )
            ]
        else:
            continue
        if len(found) > RANGE_ROWS_MAX:  # too many: those that also hold the question's words
            worded = {
                i for where in relevance.hits([searched[i] for i in found]).values() for i in where
            }
            found = [found[k] for k in sorted(worded)]
        if len(found) <= RANGE_ROWS_MAX:
            picks.extend(found)
    return picks
