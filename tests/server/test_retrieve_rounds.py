"""The proxy's retrieve rounds: the round limit ends in an answer, usage sums, store failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headroom.core.store import InMemoryStore
from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import ANTHROPIC_USAGE, USAGE, FakeUpstream
from tests.server.support import serve

ROUNDS = 2


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeUpstream, str]) -> FakeUpstream:
    upstream[0].calls.clear()
    return upstream[0]


def _settings(url: str) -> ServerSettings:
    return ServerSettings(
        upstream_openai=url + "/v1", upstream_anthropic=url, retrieve_rounds=ROUNDS
    )


@pytest.fixture(scope="module")
def proxy(upstream: tuple[FakeUpstream, str]) -> Iterator[str]:
    with serve(create_app(_settings(upstream[1]))) as url:
        yield url


def _times(usage: dict[str, int], n: int) -> dict[str, int]:
    return {k: v * n for k, v in usage.items()}


def test_past_the_round_limit_the_model_is_asked_for_an_answer(
    proxy: str, fake: FakeUpstream
) -> None:
    body = {"model": "greedy", "messages": case("p-db-biggestfile")["messages"]}
    r = httpx.post(proxy + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200, r.text
    message = r.json()["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "final answer"}
    assert len(fake.calls) == ROUNDS + 1
    assert [c.body.get("tool_choice") for c in fake.calls] == [None] * ROUNDS + ["none"]
    assert r.json()["usage"] == _times(USAGE, ROUNDS + 1)


def test_past_the_round_limit_a_stream_ends_with_an_answer(proxy: str, fake: FakeUpstream) -> None:
    body = {
        "model": "greedy",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": case("p-db-biggestfile")["messages"],
    }
    with httpx.stream("POST", proxy + "/v1/chat/completions", json=body, timeout=30) as r:
        raw = r.read()
    events = [
        json.loads(line[5:])
        for line in raw.decode().splitlines()
        if line.startswith("data:") and "[DONE]" not in line
    ]
    assert "headroom_retrieve" not in raw.decode()
    assert not any(c.get("delta", {}).get("tool_calls") for e in events for c in e["choices"])
    text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    assert text.endswith("part0part1part2")
    usages = [e["usage"] for e in events if e.get("usage")]
    assert usages == [_times(USAGE, ROUNDS + 1)]
    assert len(fake.calls) == ROUNDS + 1 and fake.calls[-1].body["tool_choice"] == "none"


def test_usage_sums_every_round_for_anthropic(proxy: str, fake: FakeUpstream) -> None:
    data = case("p-anth-json-comments")
    body = {
        "model": "claude-sonnet-4",
        "max_tokens": 64,
        "system": data["system"],
        "messages": data["messages"],
    }
    r = httpx.post(proxy + "/v1/messages", json=body, headers={"x-api-key": "k"}, timeout=30)
    assert r.status_code == 200 and len(fake.calls) == 2
    assert r.json()["usage"] == _times(ANTHROPIC_USAGE, 2)
    body["stream"] = True
    fake.calls.clear()
    with httpx.stream(
        "POST", proxy + "/v1/messages", json=body, headers={"x-api-key": "k"}, timeout=30
    ) as s:
        raw = s.read().decode()
    deltas = [
        json.loads(line[5:])
        for line in raw.splitlines()
        if line.startswith("data:") and '"message_delta"' in line
    ]
    assert len(fake.calls) == 2 and len(deltas) == 1
    # Input counted once per round (message_start), output once per round (message_delta).
    assert deltas[0]["usage"]["input_tokens"] == 20 and deltas[0]["usage"]["output_tokens"] == 8


class UnreadableStore(InMemoryStore):
    """Stores originals, but every read fails (a store that broke after the write)."""

    def get(self, key: str) -> str | None:
        raise ConnectionError("read failed")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_store_that_fails_on_read_answers_the_model_and_goes_on(
    upstream: tuple[FakeUpstream, str], stream: bool
) -> None:
    fake, url = upstream
    fake.calls.clear()
    app = create_app(_settings(url), store=UnreadableStore())
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "stream": stream,
        "messages": case("p-db-biggestfile")["messages"],
    }
    with serve(app) as base:
        r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200, r.text
    assert ("part2" if stream else "final answer") in r.text
    answer = fake.calls[-1].body["messages"][-1]
    assert answer["role"] == "tool" and answer["content"].startswith("headroom_retrieve error")


def _chat(proxy: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The raw answer and, for a stream, its parsed chunks."""
    with httpx.stream("POST", proxy + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200
        raw = r.read().decode()
    if not body.get("stream"):
        return raw, []
    chunks = [
        json.loads(line[5:])
        for line in raw.splitlines()
        if line.startswith("data:") and "[DONE]" not in line
    ]
    return raw, chunks


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_retrieve_call_past_the_limit_never_reaches_the_client(
    proxy: str, fake: FakeUpstream, stream: bool
) -> None:
    """A model that calls our tool even after it was withdrawn: the client gets an answer."""
    body = {"model": "stubborn", "stream": stream, "messages": case("p-db-biggestfile")["messages"]}
    raw, chunks = _chat(proxy, body)
    assert len(fake.calls) == ROUNDS + 1 and fake.calls[-1].body["tool_choice"] == "none"
    assert "headroom_retrieve" not in raw
    if stream:
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    else:
        choice = json.loads(raw)["choices"][0]
        assert "tool_calls" not in choice["message"] and choice["finish_reason"] == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("markers", [False, True], ids=["small", "compressed"])
def test_a_callers_own_retrieve_tool_is_left_alone(
    proxy: str, fake: FakeUpstream, stream: bool, markers: bool
) -> None:
    """Headroom never offers (or answers) a tool the caller already defines."""
    own = {"type": "function", "function": {"name": "headroom_retrieve", "parameters": {}}}
    small = [{"role": "user", "content": "look up 0123456789abcdef"}]
    body = {
        "model": "greedy",
        "stream": stream,
        "tools": [own],
        "messages": case("p-db-biggestfile")["messages"] if markers else small,
    }
    raw, chunks = _chat(proxy, body)
    assert len(fake.calls) == 1 and fake.calls[0].body["tools"] == [own]
    if stream:
        names = [
            c["function"]["name"]
            for chunk in chunks
            if chunk["choices"]
            for c in chunk["choices"][0]["delta"].get("tool_calls") or []
        ]
        assert names == ["headroom_retrieve"]
    else:
        call = json.loads(raw)["choices"][0]["message"]["tool_calls"][0]
        assert call["function"]["name"] == "headroom_retrieve"
