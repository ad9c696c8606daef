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
    RANGE_REQUESTS_MAX,
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
_SENTENCE_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:st|nd|rd|th)?")


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
_BETWEEN = re.compile(
    rf"\b(?:between|from)\s+{_BOUND}{_UNIT}\s*(?:and|to|until|till|through|thru|–|—)\s*{_BOUND}{_UNIT}",
    re.I,
)
# "400 to 420 ms", "10 through 12", "400–420": a bare interval of two numbers.
_SPAN = re.compile(rf"(?<![\w.:/-]){_BOUND}{_UNIT}\s+(?:to|through|thru)\s+{_BOUND}{_UNIT}", re.I)
_DASHED = re.compile(r"(?<![\w.:/-])(\d+(?:\.\d+)?)\s?[-–—]\s?(\d+(?:\.\d+)?)(?![\w.:/-]*\d)")
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
_COMPARISON = re.compile(
    rf"(?:\b(?P<upper>{_UPPER_WORDS})|\b(?P<lower>{_LOWER_WORDS})|(?P<op>>=|=>|≥|<=|=<|≤|>|<))"
    rf"\s*{_BOUND}{_UNIT}",
    re.I,
)
# "3 or more", "500 ms and above", "10 or fewer": the comparison after the number.
_POSTFIX = re.compile(
    rf"(?<![\w.:/-]){_BOUND}{_UNIT}\s+(?:(?P<lower>or more|or higher|or above|or greater|"
    rf"or later|and above|and up|and over|plus)|(?P<upper>or less|or fewer|or lower|or below|"
    rf"or earlier|and below|and under))\b",
    re.I,
)
#: "the 250th record", "row 17", "item #3": a position in the output, counted from 1.
_POSITION = re.compile(
    r"\b(\d{1,6})(?:st|nd|rd|th)\b|\b(?:row|record|item|entry|element|result|line)\s+#?(\d{1,6})\b",
    re.I,
)


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
    words = [w.lower() for w in _SENTENCE_WORD.findall(head)]
    hints = {stem(w) for w in words if w not in _STOPWORDS and len(w) >= 3}
    found: list[tuple[str | None, str | None, str]] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match[str]) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    for pattern in (_BETWEEN, _SPAN):
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
    for m in _DASHED.finditer(head):
        if free(m) and float(m.group(1)) < float(m.group(2)):
            taken.append(m.span())
            found.append((m.group(1), m.group(2), ""))
    lowers: list[tuple[str, str]] = []
    uppers: list[tuple[str, str]] = []
    for m in _COMPARISON.finditer(head):
        if not free(m):
            continue
        taken.append(m.span())
        bound, unit = _clean_bound(m.group(4)), m.group(5) or ""
        op = m.group("op") or ""
        is_lower = bool(m.group("lower")) or op.startswith((">", "=>", "≥"))
        (lowers if is_lower else uppers).append((bound, unit))
    for m in _POSTFIX.finditer(head):
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
        if said in _STOPWORDS:
            said = ""
        words_hint = frozenset(hints | ({stem(said), said} if said else set()))
        requests.append(RangeRequest(low, high, words_hint, said))
    return requests[:RANGE_REQUESTS_MAX]


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
        descending, implied, values = spec
        hints = frozenset(content | {stem(h) for h in implied})
        requests.append(
            RankRequest(
                descending, count, hints, dates=values == "date", durations=values == "duration"
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
