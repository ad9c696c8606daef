"""Relevance: word forms, identifiers, column names, ranks, and a cost bounded by the output."""

from __future__ import annotations

import random
import string

import pytest

from headroom.core.heuristics import RELEVANCE_MAX_TERMS
from headroom.core.relevance import (
    Relevance,
    position_requests,
    range_requests,
    rank_requests,
    split_identifier,
    stem,
)


def test_stem_folds_plural_and_verb_endings() -> None:
    assert stem("errors") == stem("error") == stem("Errored") == stem("erroring")
    assert stem("failed") == stem("failing") == stem("fails") == "fail"
    assert stem("queries") == stem("query")
    assert stem("created") == stem("creating") == stem("create")
    assert stem("status") == "status" and stem("class") == "class"


def test_identifiers_split_into_words() -> None:
    assert split_identifier("maxRetries") == ["max", "retries"]
    assert split_identifier("max_retries") == ["max", "retries"]
    assert split_identifier("HTTPServer.handle_request") == ["http", "server", "handle", "request"]


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


def test_rank_requests_read_superlatives_and_ordinals() -> None:
    (third,) = rank_requests("What is the 3rd highest price?")
    assert third.descending and third.count == 3 and stem("price") in third.hints
    (cheap,) = rank_requests("Show the 5 cheapest flights")
    assert not cheap.descending and cheap.count == 5 and stem("fare") in cheap.hints
    (newest,) = rank_requests("which deployment is the newest?")
    assert newest.descending and newest.dates
    (oldest,) = rank_requests("the oldest account")
    assert not oldest.descending and oldest.dates
    assert rank_requests("what does this function do?") == []


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


def test_range_and_position_requests() -> None:
    (between,) = range_requests("Which invoices were between $1,200 and $1,500?")
    assert (between.low, between.high) == ("$1,200", "$1,500")
    (after,) = range_requests("tickets opened after 2024-06-01, please")
    assert (after.low, after.high) == ("2024-06-01", None) and stem("opened") in after.hints
    assert range_requests("Before we start, list the hosts") == []  # no bound follows
    assert position_requests("what is the 250th record?") == [250]
    assert position_requests("show row 17 and item #4") == [17, 4]
    assert position_requests("the 3rd highest price") == []  # a rank, not a position


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("rows between 40 and 60", "40", "60", ""),
        ("between 40 ms and 60 ms", "40", "60", "ms"),
        ("from 2024-03-01 to 2024-03-15", "2024-03-01", "2024-03-15", ""),
        ("took 400 to 420 ms", "400", "420", "ms"),
        ("in the 400-420 range", "400", "420", ""),
        ("requests over 500 ms", "500", None, "ms"),
        ("at least 3 retries", "3", None, "retries"),
        ("no more than 20 items", None, "20", "items"),
        ("no less than 400 and no more than 420", "400", "420", ""),
        ("at most 420 and at least 400", "400", "420", ""),
        (">= 40 and <= 60", "40", "60", ""),
        ("latency > 250", "250", None, ""),
        ("10 or more attempts", "10", None, ""),
        ("5 or fewer", None, "5", ""),
        ("after 14:00 and before 14:30", "14:00", "14:30", ""),
        ("since 2024-06-01", "2024-06-01", None, ""),
        ("slower than 2s", "2s", None, ""),
    ],
)
def test_range_phrasings(text: str, low: str | None, high: str | None, unit: str) -> None:
    (request,) = range_requests(text)
    assert (request.low, request.high, request.unit) == (low, high, unit)


def test_not_every_dash_or_pair_of_bounds_is_a_range() -> None:
    assert range_requests("on 2024-03-05 the deploy failed") == []  # a date, not 2024 to 3
    assert range_requests("python 3.8-3.11 support") == []
    # a lower bound above the upper one is two conditions, not an empty interval
    assert len(range_requests("under 10 or over 90")) == 2
