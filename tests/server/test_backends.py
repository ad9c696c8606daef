"""``--backend NAME``: the proxy reaches a provider through LiteLLM's SDK.

LiteLLM's OpenRouter and hosted-vLLM providers speak OpenAI's wire format to a
base URL taken from the environment, so a loopback fake stands in for them and
records what LiteLLM sent: the request went through LiteLLM's real provider code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("litellm")

from headroom.exceptions import ConfigurationError
from headroom.server import ServerSettings, create_app
from headroom.server.backends import LiteLLMBackend
from tests.conftest import case
from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    with serve(fake.app()) as url:
        monkeypatch.setenv("OPENROUTER_API_BASE", url + "/v1")
        monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
        monkeypatch.setenv("HOSTED_VLLM_API_BASE", url + "/v1")
        yield fake


@pytest.mark.parametrize("backend", ["openrouter", "hosted_vllm"])
def test_chat_is_compressed_and_retrieval_answered_through_litellm(
    provider: FakeUpstream, backend: str
) -> None:
    data = case("p-db-biggestfile")
    tool_output = next(m["content"] for m in data["messages"] if m["role"] == "tool")
    with serve(create_app(ServerSettings(backend=backend))) as base:
        r = httpx.post(
            base + "/v1/chat/completions",
            json={"model": "openai/gpt-4o", "messages": data["messages"]},
            timeout=60,
        )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "final answer"
    first, second = provider.calls
    sent = json.dumps(first.body["messages"])
    assert len(sent) < len(tool_output) / 3, "the provider must receive compressed content"
    assert first.body["model"] == "openai/gpt-4o"  # LiteLLM strips its own provider prefix
    if backend == "openrouter":  # the key comes from the provider's own variable
        assert first.headers["authorization"] == "Bearer sk-or-test"
    answer = second.body["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_hr_1"
    assert len(answer["content"]) > len(tool_output) / 2  # the original came back


def test_streaming_chat_through_litellm(provider: FakeUpstream) -> None:
    with (
        serve(create_app(ServerSettings(backend="openrouter"))) as base,
        httpx.stream(
            "POST",
            base + "/v1/chat/completions",
            json={
                "model": "openai/gpt-4o",
                "stream": True,
                "messages": [{"role": "user", "content": "hi"}],
            },
            timeout=60,
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    pieces = [
        json.loads(e)["choices"][0]["delta"].get("content") or ""
        for e in events[:-1]
        if json.loads(e)["choices"]
    ]
    assert "".join(pieces) == "part0part1part2"
    assert provider.calls[0].body["stream"] is True


def test_anthropic_messages_through_litellm(provider: FakeUpstream) -> None:
    with serve(create_app(ServerSettings(backend="openrouter"))) as base:
        r = httpx.post(
            base + "/v1/messages",
            json={
                "model": "anthropic/claude-sonnet-4-5",
                "max_tokens": 100,
                "messages": [{"role": "user", "content": "hi"}],
            },
            timeout=60,
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "message" and body["content"][0]["text"] == "final answer"
    assert provider.calls[0].path == "/v1/chat/completions"  # LiteLLM translated the API


def test_provider_errors_reach_the_client_in_its_shape(provider: FakeUpstream) -> None:
    with serve(create_app(ServerSettings(backend="openrouter"))) as base:
        r = httpx.post(
            base + "/v1/chat/completions",
            json={"model": "bad", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
    assert r.status_code == 400
    assert "no such model" in r.json()["error"]["message"]


def test_names_and_region() -> None:
    backend = LiteLLMBackend("bedrock", "us-east-1")
    assert backend.model("anthropic.claude-v2") == "bedrock/anthropic.claude-v2"
    assert backend.model("bedrock/anthropic.claude-v2") == "bedrock/anthropic.claude-v2"
    assert backend._options() == {"aws_region_name": "us-east-1"}
    assert LiteLLMBackend("vertex_ai", "europe-west4")._options() == {
        "vertex_location": "europe-west4"
    }
    assert ServerSettings(backend="openai").backend is None  # direct forwarding


def test_missing_litellm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "litellm" else real(n, *a)
    )
    with pytest.raises(ConfigurationError, match=r"headroom\[litellm\]"):
        ServerSettings(backend="bedrock")


def test_streamed_anthropic_messages_through_litellm(provider: FakeUpstream) -> None:
    anthropic = pytest.importorskip("anthropic")
    with serve(create_app(ServerSettings(backend="openrouter"))) as base:
        client = anthropic.Anthropic(base_url=base, api_key="unused", max_retries=0, timeout=60)
        with client.messages.stream(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
        ) as stream:
            text = "".join(stream.text_stream)
    assert text == "part0part1part2"
    assert provider.calls[0].body["stream"] is True
