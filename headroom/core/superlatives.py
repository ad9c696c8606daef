"""Superlatives and ordinals in a question: "the 3 cheapest", "the 2nd newest".

A superlative asks for the rows at one end of a column, not for rows holding its
word, so it is read as a rank (a direction, a count, words that may name the
column, and the kind of value it implies) instead of as a search term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headroom.core.heuristics import RANK_MAX
from headroom.core.words import SENTENCE_WORD, STOPWORDS, stem

__all__ = ["RankRequest", "rank_requests"]


@dataclass(frozen=True)
class RankRequest:
    """ "The 3 cheapest", "the newest": a direction, how many, and words naming the column."""

    descending: bool
    count: int
    hints: frozenset[str]
    dates: bool = False
    durations: bool = False  # "the longest", "the slowest": a quantity of time


_PRICE = ("price", "cost", "amount", "fee", "fare", "rate", "charge", "total")
_SIZE = ("size", "bytes", "amount", "total", "count", "area")
_WHEN = ("date", "time", "created", "updated", "timestamp")
_EXTENT = ("length", "duration", "elapsed", "time", "size")
_PACE = ("latency", "duration", "elapsed", "time", "ms")
#: Superlatives: word -> (descending?, words a column it ranks is likely named by, what its
#: values are: "date", "duration" or ""). General English, and only a preference: a
#: question naming a column ("the most downloads") points at it first, and when no column
#: is named, tables rank the columns of the value kind, then every orderable column.
_SUPERLATIVES: dict[str, tuple[bool, tuple[str, ...], str]] = {
    "most": (True, (), ""),
    "highest": (True, (), ""),
    "largest": (True, _SIZE, ""),
    "biggest": (True, _SIZE, ""),
    "greatest": (True, (), ""),
    "maximum": (True, (), ""),
    "max": (True, (), ""),
    "top": (True, (), ""),
    "best": (True, ("score", "rating", "rank"), ""),
    "longest": (True, _EXTENT, "duration"),
    "heaviest": (True, ("weight", "mass"), ""),
    "tallest": (True, ("height",), ""),
    "slowest": (True, _PACE, "duration"),
    "priciest": (True, _PRICE, ""),
    "expensive": (True, _PRICE, ""),
    "newest": (True, _WHEN, "date"),
    "latest": (True, _WHEN, "date"),
    "recent": (True, _WHEN, "date"),
    "least": (False, (), ""),
    "lowest": (False, (), ""),
    "smallest": (False, _SIZE, ""),
    "fewest": (False, ("count", "total"), ""),
    "minimum": (False, (), ""),
    "min": (False, (), ""),
    "bottom": (False, (), ""),
    "worst": (False, ("score", "rating"), ""),
    "shortest": (False, _EXTENT, "duration"),
    "lightest": (False, ("weight", "mass"), ""),
    "fastest": (False, _PACE, "duration"),
    "cheapest": (False, _PRICE, ""),
    "oldest": (False, _WHEN, "date"),
    "earliest": (False, _WHEN, "date"),
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}
_NTH = re.compile(r"^(\d{1,3})(?:st|nd|rd|th)$")


def rank_requests(text: str) -> list[RankRequest]:
    """Rank requests in `text`: "which 4 repos have the most stars", "the 3rd newest"."""
    words = [w.lower() for w in SENTENCE_WORD.findall(text[:4000])]
    if not any(w in _SUPERLATIVES for w in words):
        return []
    content = {
        stem(w) for w in words if w not in STOPWORDS and w not in _SUPERLATIVES and len(w) >= 3
    }
    requests: list[RankRequest] = []
    for i, word in enumerate(words):
        spec = _SUPERLATIVES.get(word)
        if spec is None:
            continue
        if word == "top" and i + 1 < len(words) and words[i + 1] in ("of", "level", "line"):
            continue
        count = 1
        for near in words[max(0, i - 8) : i + 3]:
            nth = _NTH.match(near)
            if near.isdigit() and 0 < int(near) <= RANK_MAX:
                count = max(count, int(near))
            elif nth and 0 < int(nth.group(1)) <= RANK_MAX:
                count = max(count, int(nth.group(1)))
            elif near in _ORDINALS:
                count = max(count, _ORDINALS[near])
            elif near in _NUMBER_WORDS:
                count = max(count, _NUMBER_WORDS[near])
        descending, implied, values = spec
        hints = frozenset(content | {stem(h) for h in implied})
        requests.append(
            RankRequest(
                descending, count, hints, dates=values == "date", durations=values == "duration"
            )
        )
    return requests
