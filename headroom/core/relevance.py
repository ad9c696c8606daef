"""What a request is about, and which units of an output match it.

Terms come from the user's question and the tool call's arguments. A unit (a
record, a log line, a function, a passage) is relevant when it holds a term
that is *rare* in the output: a term found in most units tells nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Relevance", "extract_terms"]

_WORD = re.compile(r"[A-Za-z_][\w.@+-]*[\w]|[A-Za-z_]|\d[\w.:-]*\w|\d")
_QUOTED = re.compile(r"`([^`]{2,80})`|'([^'\s][^']{1,78}[^'\s])'|\"([^\"\s][^\"]{1,78}[^\"\s])\"")

_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "give",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "please",
        "quote",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "exactly",
        "show",
        "tell",
        "find",
        "list",
        "return",
        "returns",
        "using",
        "use",
        "used",
        "go",
        "back",
        "earlier",
        "pulled",
        "wrap",
        "before",
        "line",
        "lines",
        "entries",
        "entry",
        "result",
        "results",
        "file",
        "files",
        "output",
        "tool",
        "data",
        "above",
        "below",
        "many",
        "much",
        "largest",
        "smallest",
        "highest",
        "lowest",
        "biggest",
        "greatest",
        "least",
        "top",
        "bottom",
        "first",
        "last",
        "name",
        "names",
        "number",
        "give",
        "kind",
        "type",
        "what's",
        "does",
        "did",
        "appear",
        "appears",
        "contain",
        "contains",
    ]
)
_STRONG = re.compile(r"[\d_.@/:-]|[a-z][A-Z]")


def extract_terms(text: str) -> set[str]:
    """Lower-cased search terms: identifiers, emails, numbers and their dotted parts."""
    return set(_terms(text))


def _is_proper_noun(text: str, start: int, word: str) -> bool:
    """A capitalised word inside a sentence ("albums by Aerosmith") names something."""
    if not word[:1].isupper():
        return False
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in ".?!:\n\"'`([{"


def _terms(text: str) -> dict[str, bool]:
    """Term -> whether it is *strong* (an identifier, a quoted phrase, an id or number)."""
    terms: dict[str, bool] = {}
    if not text:
        return terms
    for match in _QUOTED.finditer(text):
        phrase = next(g for g in match.groups() if g)
        terms[phrase.lower()] = True
    for match in _WORD.finditer(text):
        word = match.group(0).strip(".-")
        lower = word.lower()
        if len(lower) < 3 or lower in _STOPWORDS:
            continue
        strong = bool(_STRONG.search(word)) or _is_proper_noun(text, match.start(), word)
        terms[lower] = terms.get(lower, False) or strong
        if "." in lower or "/" in lower:
            for part in re.split(r"[./]", lower):
                if len(part) >= 3 and part not in _STOPWORDS:
                    terms.setdefault(part, False)
    return terms


@dataclass(frozen=True)
class Relevance:
    """Scores units of one output against a set of query terms."""

    terms: frozenset[str]
    strong: frozenset[str] = frozenset()

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Relevance:
        terms: dict[str, bool] = {}
        for text in texts:
            for term, strong in _terms(text).items():
                terms[term] = terms.get(term, False) or strong
        return cls(frozenset(terms), frozenset(t for t, strong in terms.items() if strong))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def scores(self, units: Sequence[str], max_share: float = 0.2) -> list[float]:
        """Per-unit score: the summed rarity of the query terms the unit contains.

        A term contained in more than `max_share` of the units scores nothing.
        """
        if not self.terms or not units:
            return [0.0] * len(units)
        lowered = [u.lower() for u in units]
        n = len(units)
        limit = max(1, int(n * max_share))
        scores = [0.0] * n
        weak_hits = [0] * n
        strong_hit = [False] * n
        for term in self.terms:
            hits = [i for i, u in enumerate(lowered) if term in u]
            if not hits or len(hits) > limit:
                continue
            strong = term in self.strong
            weight = math.log(1 + n / len(hits)) * (2.0 if strong else 1.0)
            for i in hits:
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
