"""What a request is about, and which units of an output match it.

Terms come from the user's question and the tool call's arguments. A unit (a
record, a log line, a function, a passage) is relevant when it holds a term
that is *rare* in the output: a term found in most units tells nothing.

Matching folds case, plural and verb endings ("failed" finds "failures"), and
splits identifiers (`connectionError`, `max_retries`, `Class.method`) so a word
finds the identifier that contains it. Words are looked up in a per-unit token
set, so the cost is linear in the output whatever the question's length; only
terms with punctuation (ids, emails, dotted names, quoted phrases) are searched
as substrings, and those are capped.

The question also asks for *ranks* ("the 3 cheapest", "the newest", "2nd
highest score"): `rank_requests` reads them so record tables can keep those
rows; what tables keep whatever the question says does not depend on it.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from headroom.core.heuristics import (
    RANK_MAX,
    RELEVANCE_MAX_SUBSTRING_TERMS,
    RELEVANCE_MAX_TERMS,
    RELEVANCE_STEM_MIN,
)

__all__ = [
    "RangeRequest",
    "RankRequest",
    "Relevance",
    "extract_terms",
    "position_requests",
    "range_requests",
    "rank_requests",
    "split_identifier",
    "stem",
]

_WORD = re.compile(r"[A-Za-z_][\w.@+-]*[\w]|[A-Za-z_]|\d[\w.:-]*\w|\d")
_QUOTED = re.compile(r"`([^`]{2,80})`|'([^'\s][^']{1,78}[^'\s])'|\"([^\"\s][^\"]{1,78}[^\"\s])\"")
#: Identifier parts: camelCase humps, acronyms, digit runs.
_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

#: Closed-class English words (articles, pronouns, prepositions, conjunctions, auxiliaries,
#: question words) and the imperative verbs any request is phrased with: they carry no
#: subject. Nothing here comes from a particular question or data set.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be been before being
    below between both but by can could did do does doing done down during each either few for
    from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me mine my myself neither no nor not now of off on once only or other
    our ours out over own same she should so some such than that the their theirs them then
    there these they this those through to too under until up upon very was we were what
    whatever when where whether which while who whom whose why will with within without would
    yes yet you your yours yourself
    what's it's that's there's i'm don't doesn't didn't
    please show tell give find list get let make say
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
#: Superlative and ordinal words are read as rank requests, not as content to look for.
_RANK_WORD_TEXT = """
    most least highest lowest largest smallest biggest greatest fewest maximum minimum max min
    top bottom first second third fourth fifth sixth seventh eighth ninth tenth last
"""
_RANK_WORDS = frozenset(_RANK_WORD_TEXT.split())
_STRONG = re.compile(r"[\d_.@/:-]|[a-z][A-Z]")
_PUNCT = re.compile(r"[^\w]|_")


def stem(word: str) -> str:
    """`word` lower-cased without a plural or verb ending: errors/errored/erroring -> error."""
    w = word.lower()
    for suffix, repl in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) + len(repl) >= RELEVANCE_STEM_MIN:
            if suffix == "es" and not w[:-2].endswith(("s", "x", "z", "ch", "sh")):
                continue  # "names" is name+s, handled below
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                break
            w = w[: len(w) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # stopped -> stop
            break
    if len(w) > RELEVANCE_STEM_MIN and w.endswith("e"):
        w = w[:-1]  # create/created/creating all -> creat
    return w


def split_identifier(name: str) -> list[str]:
    """Lower-cased parts of an identifier: `maxRetries`, `max_retries`, `a.b` -> words."""
    return [p.lower() for p in _PARTS.findall(name)]


def extract_terms(text: str) -> set[str]:
    """Lower-cased search terms: identifiers, emails, numbers and their dotted parts."""
    return set(_terms(text))


def _is_proper_noun(text: str, start: int, word: str) -> bool:
    """A capitalised word inside a sentence ("tickets opened by Nakamura") names something."""
    if not word[:1].isupper():
        return False
    before = text[max(0, start - 4) : start].rstrip()
    return bool(before) and before[-1] not in ".?!:\n\"'`([{"


def _terms(text: str) -> dict[str, bool]:
    """Term -> whether it is *strong* (an identifier, a quoted phrase, an id or number)."""
    terms: dict[str, bool] = {}
    if not text:
        return terms
    for match in _QUOTED.finditer(text):
        phrase = next(g for g in match.groups() if g)
        terms[phrase.lower()] = True
        if len(terms) >= RELEVANCE_MAX_TERMS:
            return terms
    for match in _WORD.finditer(text):
        word = match.group(0).strip(".-")
        lower = word.lower()
        if len(lower) < 3 or lower in _STOPWORDS or lower in _RANK_WORDS:
            continue
        strong = bool(_STRONG.search(word)) or _is_proper_noun(text, match.start(), word)
        terms[lower] = terms.get(lower, False) or strong
        if _PUNCT.search(lower) or strong:
            for part in split_identifier(word):
                if len(part) >= 3 and part not in _STOPWORDS:
                    terms.setdefault(part, False)
        if len(terms) >= RELEVANCE_MAX_TERMS:
            break
    return terms


_TOKEN = re.compile(r"[^\W_]+")


def _needles(term: str) -> list[str]:
    """What to search for a term: a word by its stem (and itself if the stem is not in it)."""
    if _PUNCT.search(term) or term.isdigit():
        return [term]
    base = stem(term)
    return [base] if base in term else [base, term]


def _find(lowered: str, starts: list[int], needles: list[str], digits: bool, cap: int) -> list[int]:
    """Indices of the units (starting at `starts` in `lowered`) holding any needle."""
    where: set[int] = set()
    for needle in needles:
        at = lowered.find(needle)
        while at != -1:
            end = at + len(needle)
            if not digits or (
                (at == 0 or not lowered[at - 1].isdigit())
                and (end >= len(lowered) or not lowered[end].isdigit())
            ):
                where.add(bisect.bisect_right(starts, at) - 1)
                if len(where) > cap:
                    break  # too common to score: stop scanning
            at = lowered.find(needle, end)
    return sorted(where)


def _variants(term: str) -> set[str]:
    """The forms a word takes with plural and verb endings, all sharing its stem."""
    base = stem(term)
    forms = {term, base, base + "s", base + "es", base + "ed", base + "ing", base + "e"}
    forms |= {base + "er", base + "ers", base + "ion", base + "ions", base + "ure", base + "ures"}
    if base.endswith("e"):
        forms |= {base + "d", base + "r"}
    else:
        forms |= {base + "ed", base + "es", base + "ed"}
    if base.endswith("y"):
        forms |= {base[:-1] + "ies", base[:-1] + "ied"}
    if base[-1:].isalpha() and base[-1] not in "aeiouy":
        forms |= {base + base[-1] + "ed", base + base[-1] + "ing"}
    return {f for f in forms if len(f) >= RELEVANCE_STEM_MIN}


@dataclass(frozen=True)
class RankRequest:
    """ "The 3 cheapest", "the newest": a direction, how many, and words naming the column."""

    descending: bool
    count: int
    hints: frozenset[str]
    dates: bool = False


_PRICE = ("price", "cost", "amount", "fee", "fare", "rate", "charge", "total")
#: Superlatives: word -> (descending?, words a column it ranks is likely named by, dates?).
#: General English; the question's own words are hints too ("the most downloads").
_SUPERLATIVES: dict[str, tuple[bool, tuple[str, ...], bool]] = {
    "most": (True, (), False),
    "highest": (True, (), False),
    "largest": (True, ("size", "bytes", "amount", "total", "count", "area"), False),
    "biggest": (True, ("size", "bytes", "amount", "total", "count", "area"), False),
    "greatest": (True, (), False),
    "maximum": (True, (), False),
    "max": (True, (), False),
    "top": (True, (), False),
    "best": (True, ("score", "rating", "rank"), False),
    "longest": (True, ("length", "duration", "elapsed", "time", "size"), False),
    "heaviest": (True, ("weight", "mass"), False),
    "tallest": (True, ("height",), False),
    "slowest": (True, ("latency", "duration", "elapsed", "time", "ms"), False),
    "priciest": (True, _PRICE, False),
    "expensive": (True, _PRICE, False),
    "newest": (True, ("date", "time", "created", "updated", "timestamp"), True),
    "latest": (True, ("date", "time", "created", "updated", "timestamp"), True),
    "recent": (True, ("date", "time", "created", "updated", "timestamp"), True),
    "least": (False, (), False),
    "lowest": (False, (), False),
    "smallest": (False, ("size", "bytes", "amount", "total", "count", "area"), False),
    "fewest": (False, ("count", "total"), False),
    "minimum": (False, (), False),
    "min": (False, (), False),
    "bottom": (False, (), False),
    "worst": (False, ("score", "rating"), False),
    "shortest": (False, ("length", "duration", "elapsed", "time", "size"), False),
    "lightest": (False, ("weight", "mass"), False),
    "fastest": (False, ("latency", "duration", "elapsed", "time", "ms"), False),
    "cheapest": (False, _PRICE, False),
    "oldest": (False, ("date", "time", "created", "updated", "timestamp"), True),
    "earliest": (False, ("date", "time", "created", "updated", "timestamp"), True),
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
_SENTENCE_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:st|nd|rd|th)?")


@dataclass(frozen=True)
class RangeRequest:
    """ "between 100 and 250", "after 2024-06-01", "under $40": bounds as written, and
    words that may name the column. Tables parse the bounds like their cells."""

    low: str | None
    high: str | None
    hints: frozenset[str]


_BOUND = r"([-+$€£¥]?\d[\w.,:/+-]*)"
_BETWEEN = re.compile(rf"\bbetween\s+{_BOUND}\s+(?:and|to)\s+{_BOUND}", re.I)
_FROM_TO = re.compile(rf"\bfrom\s+{_BOUND}\s+(?:to|until|through)\s+{_BOUND}", re.I)
_ABOVE = re.compile(
    rf"\b(?:over|above|more than|greater than|higher than|larger than|at least|after|since|"
    rf"exceeding)\s+{_BOUND}",
    re.I,
)
_BELOW = re.compile(
    rf"\b(?:under|below|less than|fewer than|lower than|at most|before|up to)\s+{_BOUND}", re.I
)
#: "the 250th record", "row 17", "item #3": a position in the output, counted from 1.
_POSITION = re.compile(
    r"\b(\d{1,6})(?:st|nd|rd|th)\b|\b(?:row|record|item|entry|element|result|line)\s+#?(\d{1,6})\b",
    re.I,
)


def _clean_bound(text: str) -> str:
    return text.rstrip(".,;:?!)")


def range_requests(text: str) -> list[RangeRequest]:
    """Value ranges the text asks about, numbers or dates."""
    head = text[:4000]
    found: list[tuple[str | None, str | None]] = []
    for pattern in (_BETWEEN, _FROM_TO):
        found.extend(
            (_clean_bound(m.group(1)), _clean_bound(m.group(2))) for m in pattern.finditer(head)
        )
    if not found:
        found.extend((_clean_bound(m.group(1)), None) for m in _ABOVE.finditer(head))
        found.extend((None, _clean_bound(m.group(1))) for m in _BELOW.finditer(head))
    if not found:
        return []
    words = [w.lower() for w in _SENTENCE_WORD.findall(head)]
    hints = frozenset(stem(w) for w in words if w not in _STOPWORDS and len(w) >= 3)
    return [RangeRequest(low, high, hints) for low, high in found]


def position_requests(text: str) -> list[int]:
    """Positions (1-based) the text asks for by number and not by rank."""
    head = text[:4000]
    ranked = {r.count for r in rank_requests(head)}
    positions = []
    for m in _POSITION.finditer(head):
        value = int(m.group(1) or m.group(2))
        if value > 0 and not (m.group(1) and value in ranked):
            positions.append(value)
    return positions


def rank_requests(text: str) -> list[RankRequest]:
    """Rank requests in `text`: "which 4 repos have the most stars", "the 3rd newest"."""
    words = [w.lower() for w in _SENTENCE_WORD.findall(text[:4000])]
    if not any(w in _SUPERLATIVES for w in words):
        return []
    content = {
        stem(w) for w in words if w not in _STOPWORDS and w not in _SUPERLATIVES and len(w) >= 3
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
        descending, implied, dates = spec
        requests.append(
            RankRequest(
                descending, count, frozenset(content | {stem(h) for h in implied}), dates=dates
            )
        )
    return requests


@dataclass(frozen=True)
class Relevance:
    """Scores units of one output against a set of query terms."""

    terms: frozenset[str]
    strong: frozenset[str] = frozenset()
    ranks: tuple[RankRequest, ...] = ()
    ranges: tuple[RangeRequest, ...] = ()
    positions: tuple[int, ...] = ()

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Relevance:
        terms: dict[str, bool] = {}
        ranks: list[RankRequest] = []
        ranges: list[RangeRequest] = []
        positions: list[int] = []
        for text in texts:
            for term, strong in _terms(text).items():
                terms[term] = terms.get(term, False) or strong
            ranks.extend(rank_requests(text))
            ranges.extend(range_requests(text))
            positions.extend(position_requests(text))
        return cls(
            frozenset(terms),
            frozenset(t for t, strong in terms.items() if strong),
            tuple(dict.fromkeys(ranks)),
            tuple(dict.fromkeys(ranges)),
            tuple(dict.fromkeys(positions)),
        )

    def __bool__(self) -> bool:
        return bool(self.terms or self.ranks or self.ranges or self.positions)

    def names(self, name: str) -> bool:
        """Whether the request names `name` (a column or key): all its parts are terms."""
        parts = [stem(p) for p in split_identifier(name) if len(p) >= 3]
        return bool(parts) and all(p in self._stems for p in parts)

    @cached_property
    def _stems(self) -> frozenset[str]:
        return frozenset(stem(t) for t in self.terms)

    def hits(self, units: Sequence[str], limit: int | None = None) -> dict[str, list[int]]:
        """Term -> indices of the units holding it.

        The strongest terms (at most `RELEVANCE_MAX_SUBSTRING_TERMS`) are searched as
        substrings of the output, a word by its stem ("fail" finds failed, failures,
        `onFailure`), a number only between non-digits; one C-speed pass each. Any
        further words (a very long question) are matched by their inflected forms
        against each unit's word set, one pass in all. A term found in more than
        `limit` units stops being searched (it scores nothing).
        """
        cap = len(units) if limit is None else limit
        ordered = sorted(
            self.terms, key=lambda t: (t not in self.strong, not _PUNCT.search(t), -len(t), t)
        )
        direct = ordered[:RELEVANCE_MAX_SUBSTRING_TERMS]
        rest = [t for t in ordered[RELEVANCE_MAX_SUBSTRING_TERMS:] if not _PUNCT.search(t)]
        found: dict[str, list[int]] = {}
        if not units:
            return found
        # One lowered copy of the output, not a list of lowered units beside it (the
        # list costs ~2x the text in object headers). Lowering maps each character
        # to one or more, so an unchanged total length means every unit kept its own.
        lowered = "\n".join(units).lower()
        sized: Sequence[str] = units
        if len(lowered) != sum(map(len, units)) + len(units) - 1:
            sized = [unit.lower() for unit in units]  # lowering changed a length
            lowered = "\n".join(sized)
        starts: list[int] = []
        position = 0
        for unit in sized:
            starts.append(position)
            position += len(unit) + 1
        if direct:
            for term in direct:
                where = _find(lowered, starts, _needles(term), term.isdigit(), cap)
                if where:
                    found[term] = where
        if rest:
            forms: dict[str, list[str]] = {}  # an inflected form -> the terms it stands for
            for term in rest:
                for form in _variants(term):
                    forms.setdefault(form, []).append(term)
            wanted = forms.keys()
            for i, start in enumerate(starts):
                unit = lowered[start : start + len(sized[i])]
                common = wanted & set(_TOKEN.findall(unit))
                for term in {term for form in common for term in forms[form]}:
                    found.setdefault(term, []).append(i)
        return found

    def scores(self, units: Sequence[str], max_share: float = 0.2) -> list[float]:
        """Per-unit score: the summed rarity of the query terms the unit contains.

        A term contained in more than `max_share` of the units scores nothing.
        """
        if not self.terms or not units:
            return [0.0] * len(units)
        n = len(units)
        limit = max(1, int(n * max_share))
        scores = [0.0] * n
        weak_hits = [0] * n
        strong_hit = [False] * n
        for term, where in self.hits(units, limit).items():
            if len(where) > limit:
                continue
            strong = term in self.strong
            weight = math.log(1 + n / len(where)) * (2.0 if strong else 1.0)
            for i in where:
                scores[i] += weight
                if strong:
                    strong_hit[i] = True
                else:
                    weak_hits[i] += 1
        # One ordinary word in common is chance; an identifier, or two words, is a match.
        return [s if strong_hit[i] or weak_hits[i] >= 2 else 0.0 for i, s in enumerate(scores)]

    def top(self, units: Sequence[str], limit: int, max_share: float = 0.2) -> list[int]:
        """Indices of the best-matching units (score > 0), best first, at most `limit`."""
        scores = self.scores(units, max_share)
        ranked = sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: (-scores[i], i))
        if not ranked:
            return []
        best = scores[ranked[0]]
        # Keep strong matches only: a unit that shares one weak term is noise.
        return [i for i in ranked[:limit] if scores[i] >= best * 0.5]
