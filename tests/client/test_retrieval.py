"""The retrieve loop's bounds, through the real SDKs on an in-process transport."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import openai
import pytest

from headroom import HeadroomClient, OpenAIProvider, retrieve
from headroom.client.retrieval import MAX_RETRIEVE_ROUNDS
from headroom.core.store import InMemoryStore
from tests.client.conftest import RecordingUpstream, openai_conversation


class InsistentModel:
    """An OpenAI endpoint whose model asks for the same original every time."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.bodies.append(body)
        offered = any(
            t.get("function", {}).get("name") == "headroom_retrieve" for t in body.get("tools", [])
        )
        message: dict[str, Any] = {"role": "assistant", "content": "ok"}
        finish = "stop"
        if offered:
            call = {
                "id": f"call_{len(body['messages'])}",
                "type": "function",
                "function": {
                    "name": "headroom_retrieve",
                    "arguments": '{"hash": "ffffffffffffffff"}',
                },
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            },
        )


def client_for(model: InsistentModel, store_url: str, **kwargs: Any) -> HeadroomClient:
    sdk = openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.example.invalid/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(model)),
        max_retries=0,
    )
    return HeadroomClient(
        original_client=sdk, provider=OpenAIProvider(), store_url=store_url, **kwargs
    )


def test_a_model_that_keeps_asking_gets_bounded_rounds_and_a_clean_answer(store_url: str) -> None:
    model = InsistentModel()
    client = client_for(model, store_url)
    response = client.chat.completions.create(model="gpt-4o", messages=openai_conversation(41))
    assert len(model.bodies) == 1 + MAX_RETRIEVE_ROUNDS
    assert "tools" not in model.bodies[-1]  # the core loop withdraws the tool for the last call
    choice = response.choices[0]
    assert choice.message.tool_calls is None and choice.finish_reason == "stop"
    answers = [m for m in model.bodies[-1]["messages"] if m["role"] == "tool"][1:]
    assert answers and all("headroom_retrieve error" in a["content"] for a in answers)
    assert client.get_metrics()[0].retrieve_calls == MAX_RETRIEVE_ROUNDS


def test_concurrent_requests_keep_consistent_totals(store_url: str) -> None:
    model = InsistentModel()
    client = client_for(model, store_url, ccr_retrieve=False)
    errors: list[BaseException] = []

    def send(seed: int) -> None:
        try:
            client.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(50 + i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    session = client.get_stats()["session"]
    records = client.get_metrics()
    assert session["requests_total"] == len(records) == len(model.bodies) == 8
    assert session["tokens_saved_total"] == sum(r.tokens_saved for r in records)


@pytest.mark.parametrize("seed", range(6))
def test_a_planted_fact_is_sent_or_retrievable(seed: int, store_url: str) -> None:
    """Random tool outputs of three shapes with one planted fact at a random position."""
    import random

    rng = random.Random(seed)
    fact = f"ticket-{rng.randint(10_000, 99_999)}-{rng.choice(['alpha', 'delta', 'omega'])}"
    n = rng.randint(200, 600)
    at = rng.randrange(n)
    shape = ["records", "log", "grep"][seed % 3]
    if shape == "records":
        rows = [{"id": i, "status": "ok", "owner": f"user{rng.randint(1, 40)}"} for i in range(n)]
        rows[at]["note"] = fact
        text = json.dumps(rows)
    elif shape == "log":
        lines = [
            f"2026-11-30T01:{i // 60 % 60:02d}:{i % 60:02d} INFO worker={i % 7} done in {rng.randint(1, 90)}ms"
            for i in range(n)
        ]
        lines[at] = f"2026-11-30T01:00:00 WARN worker=3 noted {fact}"
        text = "\n".join(lines)
    else:
        lines = [
            f"src/pkg/mod{i % 30}.py:{rng.randint(1, 900)}:    value = compute({i})"
            for i in range(n)
        ]
        lines[at] = f"src/pkg/special.py:12:    # {fact}"
        text = "\n".join(lines)
    messages = openai_conversation(seed)
    messages[3] = {**messages[3], "content": text}
    store = InMemoryStore()
    model = InsistentModel()
    client = client_for(model, store_url, ccr_store=store, ccr_retrieve=False)
    client.chat.completions.create(model="gpt-4o", messages=messages)
    sent = next(m["content"] for m in model.bodies[0]["messages"] if m["role"] == "tool")
    if fact not in sent:
        hashes = client.chat.completions.simulate(model="gpt-4o", messages=messages).ccr_hashes
        assert any(fact in retrieve(h, store=store) for h in hashes), (shape, at)
        assert any(h in sent for h in hashes)  # the marker names where the original is


def _sdk_client(base_url: str, store_url: str) -> HeadroomClient:
    sdk = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)
    return HeadroomClient(original_client=sdk, provider=OpenAIProvider(), store_url=store_url)


def _calls_and_finish(response: Any, stream: bool) -> tuple[list[str], str | None]:
    """The tool names the caller sees, and the last finish reason."""
    if not stream:
        choice = response.choices[0]
        return [c.function.name for c in choice.message.tool_calls or []], choice.finish_reason
    chunks = [c for c in response if c.choices]
    names = [
        c.function.name for ch in chunks for c in ch.choices[0].delta.tool_calls or [] if c.function
    ]
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices[0].finish_reason]
    return [n for n in names if n], finishes[-1] if finishes else None


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_a_retrieve_call_past_the_limit_never_reaches_the_caller(
    fake: RecordingUpstream, base_url: str, store_url: str, stream: bool
) -> None:
    """A model that calls our tool even once it is withdrawn: the caller gets an answer."""
    client = _sdk_client(base_url, store_url)
    response = client.chat.completions.create(
        model="stubborn", messages=openai_conversation(43), stream=stream
    )
    assert _calls_and_finish(response, stream) == ([], "stop")
    assert len(fake.calls) == 1 + MAX_RETRIEVE_ROUNDS
    assert "tools" not in fake.calls[-1].body


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("markers", [False, True], ids=["small", "compressed"])
def test_a_callers_own_retrieve_tool_is_left_alone(
    fake: RecordingUpstream, base_url: str, store_url: str, stream: bool, markers: bool
) -> None:
    """Headroom never offers (or answers) a tool the caller already defines."""
    own = {"type": "function", "function": {"name": "headroom_retrieve", "parameters": {}}}
    messages = openai_conversation(44) if markers else [{"role": "user", "content": "look it up"}]
    client = _sdk_client(base_url, store_url)
    response = client.chat.completions.create(
        model="greedy", messages=messages, tools=[own], stream=stream
    )
    assert _calls_and_finish(response, stream) == (["headroom_retrieve"], "tool_calls")
    assert len(fake.calls) == 1 and fake.calls[0].body["tools"] == [own]
