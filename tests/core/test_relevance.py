"""Relevance: word forms and identifiers match, column names, a cost bounded by the output."""

from __future__ import annotations

import random
import string

from headroom.core.heuristics import RELEVANCE_MAX_TERMS
from headroom.core.relevance import Relevance


def test_word_forms_match_across_inflections_and_identifiers() -> None:
    units = [
        "job 17 finished",
        "job 18 raised ConnectionFailure after 3 retries",
        "job 19 finished",
        "job 20 finished",
    ]
    hits = Relevance.from_texts(["which jobs failed to connect?"]).hits(units)
    assert hits["failed"] == [1]
    assert Relevance.from_texts(["any connection failures?"]).top(units, 3) == [1]


def test_camel_case_question_finds_snake_case_code() -> None:
    units = [f"option_{i} = {i}" for i in range(20)]
    units[4], units[11] = "retry_limit = 3", "max_retries = 5"
    assert Relevance.from_texts(["what is maxRetries set to?"]).top(units, 2) == [11]


def test_question_words_name_columns() -> None:
    relevance = Relevance.from_texts(["When was the ticket created, and who owns it?"])
    assert relevance.names("created_at") or relevance.names("createdAt")
    assert relevance.names("owner") is False  # "owns" is not "owner"
    assert relevance.names("ticket_id")  # "id" is too short to count either way
    assert relevance.names("updated_at") is False


def test_numbers_match_whole_numbers_only() -> None:
    units = ["order 4821 shipped", "order 14821 shipped", "order 48210 held"]
    assert Relevance.from_texts(["where is order 4821?"]).top(units, 3) == [0]


def test_template_words_are_not_stopwords() -> None:
    """Words like "earlier" or "pulled" are content when the data holds them."""
    units = [f"row {i}: nothing to see" for i in range(20)]
    units[7] = "row 7: value pulled earlier from cache"
    assert Relevance.from_texts(["which value was pulled earlier?"]).top(units, 2) == [7]


def test_a_huge_question_is_capped_and_scored_in_one_pass() -> None:
    rng = random.Random(3)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
        for _ in range(20_000)
    ]
    question = " ".join(rng.choice(words) for _ in range(20_000))
    relevance = Relevance.from_texts([question])
    assert len(relevance.terms) <= RELEVANCE_MAX_TERMS
    units = [f"line {i} {rng.choice(words)}" for i in range(2_000)]
    units[1234] = "line 1234 " + " ".join(sorted(relevance.terms)[:3])
    assert 1234 in relevance.top(units, 5)
