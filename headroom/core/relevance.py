"""Which units of an output match what a request is about.

Terms come from the user's question and the tool call's arguments (`words`),
with the ranks (`superlatives`), ranges and positions (`value_ranges`) it asks
for. A unit (a record, a log line, a function, a passage) is relevant when it
holds a term that is *rare* in the output: a term found in most units tells
nothing.

Matching folds case, plural and verb endings ("failed" finds "failures"), and
splits identifiers (`connectionError`, `max_retries`, `Class.method`) so a word
finds the identifier that contains it. Words are looked up in a per-unit token
set, so the cost is linear in the output whatever the question's length; only
terms with punctuation (ids, emails, dotted names, quoted phrases) are searched
as substrings, and those are capped.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from headroom.core.heuristics import RELEVANCE_MAX_SUBSTRING_TERMS, RELEVANCE_STEM_MIN
from headroom.core.superlatives import RankRequest, rank_requests
from headroom.core.value_ranges import RangeRequest, position_requests, range_requests
from headroom.core.words import PUNCT, question_terms, split_identifier, stem

__all__ = ["Relevance"]

_TOKEN = re.compile(r"[^\W_]+")
#: Units lowered and searched at a time: bounds the lowered copy, not the output.
_CHUNK = 4096


def _needles(term: str) -> list[str]:
    """What to search for a term: a word by its stem (and itself if the stem is not in it)."""
    if PUNCT.search(term) or term.isdigit():
        return [term]
    base = stem(term)
    return [base] if base in term else [base, term]


def _find(
    lowered: str,
    starts: list[int],
    needles: list[str],
    digits: bool,
    cap: int,
    where: set[int],
    offset: int,
) -> None:
    """Add to `where` the indices (from `offset`) of the units starting at `starts` in
    `lowered` that hold any needle; a needle stops being scanned once more than `cap`
    units are found."""
    for needle in needles:
        at = lowered.find(needle)
        while at != -1:
            end = at + len(needle)
            if not digits or (
                (at == 0 or not lowered[at - 1].isdigit())
                and (end >= len(lowered) or not lowered[end].isdigit())
            ):
                where.add(offset + bisect.bisect_right(starts, at) - 1)
                if len(where) > cap:
                    break  # too common to score: stop scanning
            at = lowered.find(needle, end)


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
            for term, strong in question_terms(text).items():
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
            self.terms, key=lambda t: (t not in self.strong, not PUNCT.search(t), -len(t), t)
        )
        direct = ordered[:RELEVANCE_MAX_SUBSTRING_TERMS]
        rest = [t for t in ordered[RELEVANCE_MAX_SUBSTRING_TERMS:] if not PUNCT.search(t)]
        found: dict[str, list[int]] = {}
        if not units:
            return found
        needles = {term: _needles(term) for term in direct}
        where: dict[str, set[int]] = {term: set() for term in direct}
        forms: dict[str, list[str]] = {}  # an inflected form -> the terms it stands for
        for term in rest:
            for form in _variants(term):
                forms.setdefault(form, []).append(term)
        wanted = forms.keys()
        by_form: dict[str, list[int]] = {}
        for first in range(0, len(units), _CHUNK):
            # A lowered copy of one chunk at a time, never of the whole output (nor a list
            # of lowered units: it costs ~2x the text in object headers). Lowering maps
            # each character to one or more, so an unchanged total length means every unit
            # kept its own. Units are joined by "\n", so no needle spans two of them.
            chunk = units[first : first + _CHUNK]
            lowered = "\n".join(chunk).lower()
            sized: Sequence[str] = chunk
            if len(lowered) != sum(map(len, chunk)) + len(chunk) - 1:
                sized = [unit.lower() for unit in chunk]  # lowering changed a length
                lowered = "\n".join(sized)
            starts: list[int] = []
            position = 0
            for unit in sized:
                starts.append(position)
                position += len(unit) + 1
            for term in direct:
                if len(where[term]) <= cap:
                    _find(lowered, starts, needles[term], term.isdigit(), cap, where[term], first)
            if rest:
                for i, start in enumerate(starts):
                    unit = lowered[start : start + len(sized[i])]
                    common = wanted & set(_TOKEN.findall(unit))
                    for term in {term for form in common for term in forms[form]}:
                        by_form.setdefault(term, []).append(first + i)
            del chunk, sized, lowered, starts
        for term in direct:
            if where[term]:
                found[term] = sorted(where[term])
        found.update(by_form)
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
