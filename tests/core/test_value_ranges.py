"""Ranges and positions read from a question's structure, in the ways English says them."""

from __future__ import annotations

import pytest

from headroom.core.value_ranges import position_requests, range_requests
from headroom.core.words import stem


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
