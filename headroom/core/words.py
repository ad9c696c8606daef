"""A question's words as search terms: stems, identifier parts, no filler words.

Both a question and the data write the same thing in several forms ("failed",
"failures"; `maxRetries`, `max_retries`), so terms are folded to a stem and
identifiers are split into their words. Closed-class English words and the
imperatives every request uses say nothing about the subject and are dropped.
"""

from __future__ import annotations

import re

from headroom.core.heuristics import RELEVANCE_MAX_TERMS, RELEVANCE_STEM_MIN

__all__ = [
    "PUNCT",
    "SENTENCE_WORD",
    "STOPWORDS",
    "extract_terms",
    "question_terms",
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
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
#: Superlative and ordinal words are read as rank requests, not as content to look for.
_RANK_WORD_TEXT = """
    most least highest lowest largest smallest biggest greatest fewest maximum minimum max min
    top bottom first second third fourth fifth sixth seventh eighth ninth tenth last
"""
_RANK_WORDS = frozenset(_RANK_WORD_TEXT.split())
_STRONG = re.compile(r"[\d_.@/:-]|[a-z][A-Z]")
PUNCT = re.compile(r"[^\w]|_")


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
    return set(question_terms(text))


def _is_proper_noun(text: str, start: int, word: str) -> bool:
    """A capitalised word inside a sentence ("tickets opened by Nakamura") names something."""
    if not word[:1].isupper():
        return False
    before = text[max(0, start - 4) : start].rstrip()
    return bool(before) and before[-1] not in ".?!:\n\"'`([{"


def question_terms(text: str) -> dict[str, bool]:
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
        if len(lower) < 3 or lower in STOPWORDS or lower in _RANK_WORDS:
            continue
        strong = bool(_STRONG.search(word)) or _is_proper_noun(text, match.start(), word)
        terms[lower] = terms.get(lower, False) or strong
        if PUNCT.search(lower) or strong:
            for part in split_identifier(word):
                if len(part) >= 3 and part not in STOPWORDS:
                    terms.setdefault(part, False)
        if len(terms) >= RELEVANCE_MAX_TERMS:
            break
    return terms


#: A word of a sentence, or a number with an ordinal ending ("3rd").
SENTENCE_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:st|nd|rd|th)?")
