"""Value ranges and positions in a question: "between 400 and 420 ms", "row 17".

A range asks for the rows or lines whose value falls inside it, which no word of
the question matches; it is read from the sentence's structure (an interval, a
comparison before or after the number, a unit after it) and kept as written, so
each consumer parses the bounds the way it parses its own values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from headroom.core.heuristics import RANGE_REQUESTS_MAX
from headroom.core.superlatives import rank_requests
from headroom.core.words import SENTENCE_WORD, STOPWORDS, stem

__all__ = ["RangeRequest", "position_requests", "range_requests"]


@dataclass(frozen=True)
class RangeRequest:
    """ "between 100 and 250", "after 2024-06-01", "under $40", ">= 3": bounds as written,
    the unit written after them ("ms", "kb"; "" when none), and words that may name the
    column. Tables parse the bounds like their cells."""

    low: str | None
    high: str | None
    hints: frozenset[str]
    unit: str = ""


_BOUND = r"([-+$€£¥]?\d[\w.,:/+-]*)"
# A unit word after a number ("500 ms", "3 retries"): one short word, not a connective.
_UNIT = r"(?:\s?(?!(?:and|or|to|through|until|till|but|in|of|for|per)\b)([A-Za-z%]{1,12}))?"
_BETWEEN_SOURCE = (
    rf"\b(?:between|from)\s+{_BOUND}{_UNIT}\s*(?:and|to|until|till|through|thru|–|—)\s*{_BOUND}{_UNIT}",
    re.I,
)
# "400 to 420 ms", "10 through 12", "400–420": a bare interval of two numbers.
_SPAN_SOURCE = (rf"(?<![\w.:/-]){_BOUND}{_UNIT}\s+(?:to|through|thru)\s+{_BOUND}{_UNIT}", re.I)
_DASHED_SOURCE = (r"(?<![\w.:/-])(\d+(?:\.\d+)?)\s?[-–—]\s?(\d+(?:\.\d+)?)(?![\w.:/-]*\d)", 0)
# One-sided comparisons; longer phrases first, so "no more than 5" is an upper bound.
_LOWER_WORDS = (
    "no less than|not less than|no fewer than|not fewer than|on or after|in excess of|"
    "upwards of|a minimum of|greater than or equal to|more than|greater than|higher than|"
    "larger than|bigger than|longer than|later than|slower than|heavier than|costlier than|"
    "over|above|at least|after|since|exceeding"
)
_UPPER_WORDS = (
    "no more than|not more than|on or before|a maximum of|less than or equal to|not exceeding|"
    "less than|fewer than|lower than|smaller than|shorter than|earlier than|faster than|"
    "lighter than|cheaper than|under|below|"
    "at most|before|up to|until|till"
)
_COMPARISON_SOURCE = (
    rf"(?:\b(?P<upper>{_UPPER_WORDS})|\b(?P<lower>{_LOWER_WORDS})|(?P<op>>=|=>|≥|<=|=<|≤|>|<))"
    rf"\s*{_BOUND}{_UNIT}",
    re.I,
)
# "3 or more", "500 ms and above", "10 or fewer": the comparison after the number.
_POSTFIX_SOURCE = (
    rf"(?<![\w.:/-]){_BOUND}{_UNIT}\s+(?:(?P<lower>or more|or higher|or above|or greater|"
    rf"or later|and above|and up|and over|plus)|(?P<upper>or less|or fewer|or lower|or below|"
    rf"or earlier|and below|and under))\b",
    re.I,
)
#: "the 250th record", "row 17", "item #3": a position in the output, counted from 1.
_POSITION_SOURCE = (
    r"\b(\d{1,6})(?:st|nd|rd|th)\b|\b(?:row|record|item|entry|element|result|line)\s+#?(\d{1,6})\b",
    re.I,
)


@cache
def _compiled(source: tuple[str, int]) -> re.Pattern[str]:
    """Compile a pattern on first use: six long alternations cost ~5 ms of
    `import headroom` that a request without a question never needs."""
    return re.compile(source[0], source[1])


def _clean_bound(text: str) -> str:
    return text.rstrip(".,;:?!)")


def _bound_value(text: str) -> float | str | None:
    """A bound as a comparable value: a number, a clock reading in seconds, or an ISO date
    string as written."""
    number = text.lstrip("$€£¥").replace(",", "")
    try:
        return float(number)
    except ValueError:
        pass
    clock = re.match(r"(\d{1,3}):(\d{2})(?::(\d{2}))?$", text)
    if clock:
        return float(
            sum(int(g or 0) * 60**k for k, g in zip((2, 1, 0), clock.groups(), strict=True))
        )
    return text if re.match(r"\d{4}-\d{2}", text) else None


def range_requests(text: str) -> list[RangeRequest]:
    """Value ranges the text asks about, numbers or dates, in the phrasings English uses
    for an interval ("between", "from .. to", "400-420") or a comparison ("over",
    "no more than", ">=", "3 or more"). A lower and an upper bound said in one
    question ("at least 400 and at most 420") are one interval."""
    head = text[:4000]
    words = [w.lower() for w in SENTENCE_WORD.findall(head)]
    hints = {stem(w) for w in words if w not in STOPWORDS and len(w) >= 3}
    found: list[tuple[str | None, str | None, str]] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match[str]) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    for pattern in (_compiled(_BETWEEN_SOURCE), _compiled(_SPAN_SOURCE)):
        for m in pattern.finditer(head):
            if free(m):
                taken.append(m.span())
                found.append(
                    (
                        _clean_bound(m.group(1)),
                        _clean_bound(m.group(3)),
                        m.group(2) or m.group(4) or "",
                    )
                )
    for m in _compiled(_DASHED_SOURCE).finditer(head):
        if free(m) and float(m.group(1)) < float(m.group(2)):
            taken.append(m.span())
            found.append((m.group(1), m.group(2), ""))
    lowers: list[tuple[str, str]] = []
    uppers: list[tuple[str, str]] = []
    for m in _compiled(_COMPARISON_SOURCE).finditer(head):
        if not free(m):
            continue
        taken.append(m.span())
        bound, unit = _clean_bound(m.group(4)), m.group(5) or ""
        op = m.group("op") or ""
        is_lower = bool(m.group("lower")) or op.startswith((">", "=>", "≥"))
        (lowers if is_lower else uppers).append((bound, unit))
    for m in _compiled(_POSTFIX_SOURCE).finditer(head):
        if free(m):
            taken.append(m.span())
            bound, unit = _clean_bound(m.group(1)), m.group(2) or ""
            (lowers if m.group("lower") else uppers).append((bound, unit))
    if len(lowers) == 1 and len(uppers) == 1:
        (first, first_unit), (last, last_unit) = lowers[0], uppers[0]
        a, b = _bound_value(first), _bound_value(last)
        if a is not None and b is not None and type(a) is type(b) and a <= b:  # type: ignore[operator]
            found.append((first, last, first_unit or last_unit))
            lowers = uppers = []
    found.extend((bound, None, unit) for bound, unit in lowers)
    found.extend((None, bound, unit) for bound, unit in uppers)
    requests = []
    for low, high, unit in found:
        said = unit.lower()
        if said in STOPWORDS:
            said = ""
        words_hint = frozenset(hints | ({stem(said), said} if said else set()))
        requests.append(RangeRequest(low, high, words_hint, said))
    return requests[:RANGE_REQUESTS_MAX]


def position_requests(text: str) -> list[int]:
    """Positions (1-based) the text asks for by number and not by rank."""
    head = text[:4000]
    ranked = {r.count for r in rank_requests(head)}
    positions = []
    for m in _compiled(_POSITION_SOURCE).finditer(head):
        value = int(m.group(1) or m.group(2))
        if value > 0 and not (m.group(1) and value in ranked):
            positions.append(value)
    return positions
