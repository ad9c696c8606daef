"""Superlatives and ordinals read as ranks: a direction, a count, the column's likely words."""

from __future__ import annotations

from headroom.core.superlatives import rank_requests
from headroom.core.words import stem


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
