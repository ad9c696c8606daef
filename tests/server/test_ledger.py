"""Cost in /stats, the spend cap and the request log, against a fake provider on loopback."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headroom.pricing import cost_usd, price_for
from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.billing_upstream import OUTPUT_TOKENS, BillingUpstream
from tests.server.support import serve


@pytest.fixture
def upstream() -> Iterator[tuple[BillingUpstream, str]]:
    fake = BillingUpstream()
    with serve(fake.app()) as url:
        yield fake, url


def _settings(url: str, **kw: Any) -> ServerSettings:
    return ServerSettings(upstream_openai=url + "/v1", upstream_anthropic=url, **kw)


def _chat(base: str, messages: list[dict[str, Any]], **kw: Any) -> httpx.Response:
    return httpx.post(
        base + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": messages, **kw},
        headers={"authorization": "Bearer sk-provider"},
        timeout=30,
    )


def test_stats_report_cost_savings_and_per_model_figures(
    upstream: tuple[BillingUpstream, str],
) -> None:
    assert price_for("gpt-4o") is not None, "LiteLLM's bundled cost map must price gpt-4o"
    messages = case("p-logs-openssh")["messages"]
    with serve(create_app(_settings(upstream[1]))) as base:
        first = _chat(base, messages)
        second = _chat(base, [{"role": "user", "content": "hello"}])
        assert first.status_code == second.status_code == 200
        stats = httpx.get(base + "/stats").json()
    model = stats["models"]["gpt-4o"]
    assert model["requests"] == 2
    assert stats["tokens"]["output"] == 2 * OUTPUT_TOKENS
    sent, saved = model["tokens_after"], model["tokens_saved"]
    assert saved > 1000
    expected_cost = cost_usd("gpt-4o", sent, 2 * OUTPUT_TOKENS)
    assert stats["cost"]["total_cost_usd"] == pytest.approx(expected_cost, rel=1e-6)
    assert stats["cost"]["total_savings_usd"] == pytest.approx(cost_usd("gpt-4o", saved), rel=1e-6)
    assert stats["cost"]["total_savings_usd"] > stats["cost"]["total_cost_usd"]
    assert [r["model"] for r in stats["recent"]] == ["gpt-4o", "gpt-4o"]
    assert sum(p["requests"] for p in stats["timeline"]) == 2


def test_unknown_model_costs_none_not_a_guess(upstream: tuple[BillingUpstream, str]) -> None:
    with serve(create_app(_settings(upstream[1]))) as base:
        r = httpx.post(
            base + "/v1/chat/completions",
            json={"model": "my-own-finetune", "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert r.status_code == 200
        stats = httpx.get(base + "/stats").json()
    assert stats["cost"]["total_cost_usd"] == 0.0
    assert stats["cost"]["unpriced_requests"] == 1


def test_budget_refuses_in_each_clients_own_shape(upstream: tuple[BillingUpstream, str]) -> None:
    fake, url = upstream
    messages = [{"role": "user", "content": "hello " * 50}]
    one_request = cost_usd("gpt-4o", 60, OUTPUT_TOKENS)
    assert one_request is not None
    with serve(create_app(_settings(url, budget_usd=one_request * 1.1))) as base:
        assert _chat(base, messages).status_code == 200
        refused = _chat(base, messages)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["type"] == "insufficient_quota" and "budget" in error["message"]
        anthropic = httpx.post(
            base + "/v1/messages",
            json={"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": messages},
            timeout=30,
        )
        assert anthropic.status_code == 429
        assert anthropic.json()["type"] == "error"
        assert anthropic.json()["error"]["type"] == "rate_limit_error"
        budget = httpx.get(base + "/stats").json()["cost"]["budget"]
    assert len(fake.bodies) == 1, "a refused request must never reach the provider"
    assert budget["spent_usd"] > 0 and budget["remaining_usd"] < one_request


def test_budget_is_per_tenant_key(upstream: tuple[BillingUpstream, str]) -> None:
    fake, url = upstream
    messages = [{"role": "user", "content": "hello " * 50}]
    one_request = cost_usd("gpt-4o", 60, OUTPUT_TOKENS)
    assert one_request is not None
    settings = _settings(url, budget_usd=one_request * 1.1, api_keys=("key-a", "key-b"))
    with serve(create_app(settings)) as base:

        def as_key(key: str) -> int:
            return httpx.post(
                base + "/v1/chat/completions",
                json={"model": "gpt-4o", "messages": messages},
                headers={"x-headroom-api-key": key},
                timeout=30,
            ).status_code

        assert [as_key("key-a"), as_key("key-a"), as_key("key-b")] == [200, 429, 200]
    assert len(fake.bodies) == 2


def test_log_file_has_one_line_per_request_and_no_content_unless_asked(
    upstream: tuple[BillingUpstream, str], tmp_path: Path
) -> None:
    quiet, loud = tmp_path / "quiet.jsonl", tmp_path / "loud.jsonl"
    secret = [{"role": "user", "content": "my secret question"}]
    for path, content in ((quiet, False), (loud, True)):
        settings = _settings(upstream[1], log_file=str(path), log_content=content)
        with serve(create_app(settings)) as base:
            assert _chat(base, secret).status_code == 200
            assert _chat(base, secret, stream=True).status_code == 200
    lines = [json.loads(line) for line in quiet.read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        for name in (
            "time",
            "tenant",
            "route",
            "model",
            "tokens_before",
            "tokens_after",
            "tokens_saved",
            "cost_usd",
            "savings_usd",
            "retrievals",
            "latency_ms",
            "status",
        ):
            assert name in line, name
        assert line["output_tokens"] == OUTPUT_TOKENS
    assert "secret" not in quiet.read_text()
    assert "my secret question" in loud.read_text()
    assert stat.S_IMODE(os.stat(quiet).st_mode) == 0o600
