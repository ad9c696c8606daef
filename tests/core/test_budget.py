"""A request still over its window after compression is logged, once per request."""

from __future__ import annotations

import logging

import pytest

from headroom.core import CompressConfig, CompressionResult
from headroom.core.budget import warn_if_over_budget


@pytest.mark.parametrize(
    ("tokens", "limit", "reserve", "over"),
    [(5_000, 6_000, 1_000, False), (5_001, 6_000, 1_000, True), (90, 100, 0, False)],
)
def test_over_budget_is_logged_with_its_figures(
    tokens: int, limit: int, reserve: int, over: bool, caplog: pytest.LogCaptureFixture
) -> None:
    result = CompressionResult(messages=[], tokens_before=tokens, tokens_after=tokens)
    config = CompressConfig(output_reserve=reserve)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        assert warn_if_over_budget(result, "gpt-4o", limit, config) is over
    assert ("over its budget" in caplog.text) is over
    if over:
        assert f"model_limit {limit}" in caplog.text and str(tokens) in caplog.text


def test_the_models_window_is_the_default_limit() -> None:
    huge = CompressionResult(messages=[], tokens_before=10**7, tokens_after=10**7)
    assert warn_if_over_budget(huge, "gpt-4o", None, CompressConfig())
    assert not warn_if_over_budget(huge, "a-model-nobody-knows", None, CompressConfig())
