"""Offline prices from LiteLLM's bundled cost map, and the honest None without it."""

from __future__ import annotations

import pytest

from headroom import pricing


@pytest.fixture
def no_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricing, "_cost_map_path", lambda: None)
    pricing._load.cache_clear()
    yield
    pricing._load.cache_clear()


def test_prices_come_from_the_bundled_cost_map_without_importing_litellm() -> None:
    quote = pricing.input_price("gpt-4o", "openai")
    assert quote.usd_per_token == pytest.approx(2.5e-6) and quote.key == "gpt-4o"
    assert pricing.input_price("openai/gpt-4o-mini").key == "gpt-4o-mini"
    assert quote.cost(1000) == pytest.approx(0.0025)
    available, source = pricing.price_table_source()
    assert available and source.endswith(pricing.COST_MAP_FILE)


def test_a_dated_release_is_found_but_not_a_different_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {
        "claude-x-4-20250101": {"input_cost_per_token": 1e-6},
        "claude-x-4-20250601": {"input_cost_per_token": 2e-6},
        "claude-x-4-5": {"input_cost_per_token": 9e-6},
        "gpt-y-2024-08-06": {"input_cost_per_token": 3e-6},
        "no-price": {"mode": "chat"},
    }
    monkeypatch.setattr(pricing, "_load", lambda: (table, "test table"))
    assert pricing.input_price("claude-x-4", "anthropic").key == "claude-x-4-20250601"
    assert pricing.input_price("gpt-y", "openai").key == "gpt-y-2024-08-06"
    assert pricing.input_price("claude-x", "anthropic").usd_per_token is None
    assert pricing.input_price("no-price").usd_per_token is None


def test_unknown_model_has_a_reason() -> None:
    quote = pricing.input_price("in-house-model-7", "openai")
    assert quote.usd_per_token is None and quote.cost(100) is None
    assert "in-house-model-7" in quote.reason


def test_without_litellm_every_estimate_is_none_with_the_extra_named(no_litellm: None) -> None:
    quote = pricing.input_price("gpt-4o", "openai")
    assert quote.usd_per_token is None
    assert "headroom[litellm]" in quote.reason
    assert pricing.price_table_source() == (False, quote.reason)


def test_the_ledger_price_follows_the_same_names_and_needs_both_prices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {
        "openai/gpt-z": {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6},
        "claude-w-20250601": {"input_cost_per_token": 3e-6, "output_cost_per_token": 15e-6},
        "input-only": {"input_cost_per_token": 1e-6},
    }
    monkeypatch.setattr(pricing, "_load", lambda: (table, "test table"))
    routed = pricing.price_for("openrouter/openai/gpt-z")
    assert routed is not None and routed.model == "openai/gpt-z"
    dated = pricing.price_for("anthropic/claude-w")
    assert dated is not None and dated.model == "claude-w-20250601"
    assert pricing.cost_usd("claude-w", 1000, 100) == pytest.approx(3e-3 + 1.5e-3)
    assert pricing.price_for("input-only") is None and pricing.cost_usd("input-only", 5) is None
    assert pricing.input_price("input-only").key == "input-only"


def test_without_litellm_the_ledger_has_no_price(no_litellm: None) -> None:
    assert pricing.price_for("gpt-4o") is None and pricing.cost_usd("gpt-4o", 10) is None
