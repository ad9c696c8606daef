"""The core retrieve loop over plain OpenAI / Anthropic / Responses payloads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from headroom import InMemoryStore
from headroom.core.ccr import content_hash, is_retrieve_name
from headroom.core.retrieval import RETRIEVE_ADAPTERS
from headroom.core.retrieve_adapter import RetrieveCall
from headroom.core.retrieve_loop import (
    arelay_with_retrieval,
    arun_with_retrieval,
    astream_with_retrieval,
    relay_with_retrieval,
    run_with_retrieval,
    stream_with_retrieval,
)

ORIGINAL = "line with the needle 4711\n" * 3
HASH = content_hash(ORIGINAL)
USAGE = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}


def _store() -> InMemoryStore:
    store = InMemoryStore()
    store.put(HASH, ORIGINAL)
    return store


class _OpenAIModel:
    """Calls `tool_name` while offered and `calls_left` > 0, then answers with text."""

    def __init__(self, calls_left: int = 1, tool_name: str = "headroom_retrieve") -> None:
        self.calls_left, self.tool_name = calls_left, tool_name
        self.requests: list[dict[str, Any]] = []

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        offered = any(is_retrieve_name(t["function"]["name"]) for t in body.get("tools") or [])
        n = len(self.requests)
        if offered and self.calls_left > 0:
            self.calls_left -= 1
            call = {
                "id": f"call_{n}",
                "type": "function",
                "function": {"name": self.tool_name, "arguments": json.dumps({"hash": HASH})},
            }
            return {"role": "assistant", "content": "Let me look. ", "tool_calls": [call]}
        tool_texts = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        return {"role": "assistant", "content": f"answer {n}: {''.join(tool_texts[-1:])}"}

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        message = self._message(body)
        return {"id": "x", "model": "m", "choices": [{"index": 0, "message": message,
                "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}],
                "usage": dict(USAGE)}  # fmt: skip

    def stream(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        message = self._message(body)
        head = {"id": "x", "model": "m", "object": "chat.completion.chunk"}
        text = message["content"]
        for i in range(0, len(text), 5):
            yield {**head, "choices": [{"index": 0, "delta": {"content": text[i : i + 5]}}]}
        for i, call in enumerate(message.get("tool_calls") or []):
            delta = {"index": i, **call}
            yield {**head, "choices": [{"index": 0, "delta": {"tool_calls": [delta]}}]}
        finish = "tool_calls" if "tool_calls" in message else "stop"
        yield {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        yield {**head, "choices": [], "usage": dict(USAGE)}


def _body(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "q"}], **extra}


def test_answers_a_retrieve_call_and_sums_usage() -> None:
    model = _OpenAIModel()
    response, summary = run_with_retrieval(_body(), model, store=_store())
    assert summary.rounds == 1 and len(model.requests) == 2
    assert ORIGINAL in response["choices"][0]["message"]["content"]
    assert response["usage"] == {k: 2 * v for k, v in USAGE.items()}
    answered = model.requests[1]["messages"][-1]
    assert answered == {"role": "tool", "tool_call_id": "call_1", "content": ORIGINAL}


def test_round_limit_ends_with_a_call_without_the_tool() -> None:
    model = _OpenAIModel(calls_left=10)
    response, summary = run_with_retrieval(_body(), model, store=_store(), max_rounds=2)
    assert summary.rounds == 2 and len(model.requests) == 3
    last = model.requests[-1]
    assert "tools" not in last and "tool_choice" not in last
    assert "tool_calls" not in response["choices"][0]["message"]
    assert response["usage"]["total_tokens"] == 36


def test_user_tools_stay_when_the_tool_is_withdrawn() -> None:
    own = {"type": "function", "function": {"name": "search", "parameters": {}}}
    model = _OpenAIModel(calls_left=10)
    run_with_retrieval(_body(tools=[own]), model, store=_store(), max_rounds=1)
    assert [t["function"]["name"] for t in model.requests[0]["tools"]] == [
        "search",
        "headroom_retrieve",
    ]
    assert model.requests[-1]["tools"] == [own]


class _FailingStore(InMemoryStore):
    def get(self, key: str) -> str | None:
        raise ConnectionError("store down")


def test_a_failing_store_answers_with_an_error_text() -> None:
    model = _OpenAIModel()
    response, summary = run_with_retrieval(_body(), model, store=_FailingStore())
    assert summary.rounds == 1
    answer = model.requests[1]["messages"][-1]["content"]
    assert answer.startswith("headroom_retrieve error") and "ConnectionError" in answer
    assert response["choices"][0]["finish_reason"] == "stop"


def test_an_own_answer_function_replaces_the_store_lookup_in_every_driver() -> None:
    seen: list[str] = []

    def answer(call: RetrieveCall) -> str:
        seen.append(call.id)
        return f"counted {call.arguments['hash']}"

    model = _OpenAIModel()
    run_with_retrieval(_body(), model, store=_FailingStore(), answer=answer)
    assert model.requests[1]["messages"][-1]["content"] == f"counted {HASH}"
    stream_model = _OpenAIModel()
    list(stream_with_retrieval(_body(), stream_model.stream, answer=answer))

    async def both() -> None:
        async_model, async_stream_model = _OpenAIModel(), _OpenAIModel()

        async def call(body: dict[str, Any]) -> dict[str, Any]:
            return async_model(body)

        await arun_with_retrieval(_body(), call, answer=answer)

        async def events(body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
            for event in async_stream_model.stream(body):
                yield event

        [e async for e in astream_with_retrieval(_body(), events, answer=answer)]

    asyncio.run(both())
    assert seen == ["call_1"] * 4


def test_a_users_own_headroom_retrieve_is_left_alone() -> None:
    own = {"type": "function", "function": {"name": "headroom_retrieve", "parameters": {}}}
    model = _OpenAIModel()
    response, summary = run_with_retrieval(_body(tools=[own]), model, store=_store())
    assert summary.rounds == 0 and len(model.requests) == 1
    assert model.requests[0]["tools"] == [own]
    assert response["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == (
        "headroom_retrieve"
    )


def test_not_offered_means_not_recognised() -> None:
    model = _OpenAIModel()
    _, summary = run_with_retrieval(_body(), model, store=_store(), offer=False)
    assert summary.rounds == 0 and len(model.requests) == 1 and "tools" not in model.requests[0]


def test_mcp_prefixed_name_is_one_rule() -> None:
    assert is_retrieve_name("fs__headroom_retrieve") and not is_retrieve_name("headroom_retriever")
    own = {"type": "function", "function": {"name": "mcp__headroom_retrieve", "parameters": {}}}
    assert not RETRIEVE_ADAPTERS["openai_chat"].can_offer(_body(tools=[own]))


def _merge_openai(events: list[dict[str, Any]]) -> dict[str, Any]:
    merged = RETRIEVE_ADAPTERS["openai_chat"].merge_stream(events)
    assert isinstance(merged, dict)
    return merged


@pytest.mark.parametrize("calls_left", [0, 1, 5])
def test_stream_merges_to_what_the_call_returns(calls_left: int) -> None:
    invoked, _ = run_with_retrieval(_body(), _OpenAIModel(calls_left), store=_store(), max_rounds=2)
    streamer = _OpenAIModel(calls_left)
    events = list(stream_with_retrieval(_body(), streamer.stream, store=_store(), max_rounds=2))
    merged = _merge_openai(events)
    assert merged["choices"] == invoked["choices"]
    assert merged["usage"] == invoked["usage"]
    assert all("tool_calls" not in (c.get("delta") or {}) for e in events for c in e["choices"])


def test_async_loop_and_stream() -> None:
    async def run() -> tuple[Any, list[Any]]:
        model = _OpenAIModel()

        async def call(body: dict[str, Any]) -> dict[str, Any]:
            return model(body)

        streamer = _OpenAIModel()

        async def stream(body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
            for event in streamer.stream(body):
                yield event

        response, _ = await arun_with_retrieval(_body(), call, store=_store())
        events = [e async for e in astream_with_retrieval(_body(), stream, store=_store())]
        return response, events

    response, events = asyncio.run(run())
    assert _merge_openai(events)["choices"] == response["choices"]
    assert _merge_openai(events)["usage"]["total_tokens"] == 24


def _anthropic_model(requests: list[dict[str, Any]]) -> Any:
    def call(body: dict[str, Any]) -> dict[str, Any]:
        requests.append(body)
        usage = {"input_tokens": 5, "output_tokens": 1}
        if body.get("tool_choice") != {"type": "none"} and body.get("tools"):
            block = {"type": "tool_use", "id": f"tu{len(requests)}", "name": "headroom_retrieve",
                     "input": {"hash": HASH}}  # fmt: skip
            return {"role": "assistant", "content": [block], "usage": usage}
        return {"role": "assistant", "content": [{"type": "text", "text": "done"}], "usage": usage}

    return call


def test_anthropic_limit_keeps_the_tool_defined_but_forbids_it() -> None:
    requests: list[dict[str, Any]] = []
    response, summary = run_with_retrieval(
        _body(), _anthropic_model(requests), adapter="anthropic_messages", store=_store(),
        max_rounds=1,
    )  # fmt: skip
    assert summary.rounds == 1 and response["content"][0]["text"] == "done"
    assert requests[-1]["tool_choice"] == {"type": "none"}
    assert requests[-1]["messages"][-1]["content"][0]["content"] == ORIGINAL
    assert response["usage"] == {"input_tokens": 10, "output_tokens": 2}


def test_anthropic_stream_merge_reads_tool_input() -> None:
    events = [
        {"type": "message_start", "message": {"role": "assistant", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "t", "name": "headroom_retrieve", "input": {}}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": '{"hash": "'}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": HASH + '"}'}},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
         "usage": {"output_tokens": 4}},
    ]  # fmt: skip
    adapter = RETRIEVE_ADAPTERS["anthropic_messages"]
    merged = adapter.merge_stream(events)
    assert [c.arguments for c in adapter.calls(merged)] == [{"hash": HASH}]
    assert merged["usage"] == {"input_tokens": 3, "output_tokens": 4}


class _Stubborn(_OpenAIModel):
    """Calls headroom_retrieve even when it is not offered (some models do)."""

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        call = {"id": f"s{len(self.requests)}", "type": "function",
                "function": {"name": "headroom_retrieve", "arguments": json.dumps({"hash": HASH})}}  # fmt: skip
        return {"role": "assistant", "content": "Still looking. ", "tool_calls": [call]}


def test_a_retrieve_call_after_the_limit_never_reaches_the_caller() -> None:
    response, summary = run_with_retrieval(_body(), _Stubborn(), store=_store(), max_rounds=1)
    message = response["choices"][0]
    assert summary.rounds == 1 and "tool_calls" not in message["message"]
    assert message["finish_reason"] == "stop"
    events = list(stream_with_retrieval(_body(), _Stubborn().stream, store=_store(), max_rounds=1))
    merged = _merge_openai(events)
    assert merged["choices"] == response["choices"] and merged["usage"] == response["usage"]


def test_anthropic_drops_a_stray_call_after_the_limit() -> None:
    adapter = RETRIEVE_ADAPTERS["anthropic_messages"]
    response = {"content": [{"type": "text", "text": "x"},
                            {"type": "tool_use", "id": "t", "name": "headroom_retrieve", "input": {}}],
                "stop_reason": "tool_use"}  # fmt: skip
    dropped = adapter.drop_calls(response, adapter.calls(response))
    assert dropped["content"] == [{"type": "text", "text": "x"}]
    assert dropped["stop_reason"] == "end_turn"


def test_anthropic_stream_drops_a_stray_call_and_renumbers_blocks() -> None:
    adapter = RETRIEVE_ADAPTERS["anthropic_messages"]
    events = [
        {"type": "message_start", "message": {"role": "assistant", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "tool_use", "id": "t", "name": "headroom_retrieve", "input": {}}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "input_json_delta", "partial_json": json.dumps({"hash": HASH})}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 4}},
    ]  # fmt: skip
    merged = adapter.merge_stream(events)
    kept = adapter.drop_stream_calls(events, adapter.calls(merged))
    again = adapter.merge_stream(kept)
    assert again["content"] == [{"type": "text", "text": "Hi"}]
    assert again["stop_reason"] == "end_turn"
    assert [e["index"] for e in kept if "index" in e] == [0, 0, 0]
    assert adapter.drop_calls(merged, adapter.calls(merged))["content"] == again["content"]


def test_responses_drops_a_stray_call() -> None:
    adapter = RETRIEVE_ADAPTERS["openai_responses"]
    response = {"output": [
        {"type": "function_call", "call_id": "c", "name": "headroom_retrieve", "arguments": "{}"},
        {"type": "message", "content": [{"type": "output_text", "text": "ok"}]},
    ]}  # fmt: skip
    assert adapter.drop_calls(response, adapter.calls(response))["output"] == response["output"][1:]


def _anthropic_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """A Messages API response as the stream events that add up to it."""
    usage = response["usage"]
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"role": "assistant", "content": [],
         "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 0}}},
    ]  # fmt: skip
    for i, block in enumerate(response["content"]):
        if block["type"] == "text":
            start, delta = (
                {"type": "text", "text": ""},
                {"type": "text_delta", "text": block["text"]},
            )
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            {"type": "content_block_start", "index": i, "content_block": start},
            {"type": "content_block_delta", "index": i, "delta": delta},
            {"type": "content_block_stop", "index": i},
        ]
    stop = "tool_use" if any(b["type"] == "tool_use" for b in response["content"]) else "end_turn"
    events.append({"type": "message_delta", "delta": {"stop_reason": stop},
                   "usage": {"output_tokens": usage["output_tokens"]}})  # fmt: skip
    return events


def test_anthropic_stream_merges_to_what_the_call_returns() -> None:
    requests: list[dict[str, Any]] = []
    invoked, _ = run_with_retrieval(
        _body(), _anthropic_model(requests), adapter="anthropic_messages", store=_store(),
        max_rounds=2,
    )  # fmt: skip
    model = _anthropic_model([])
    events = list(
        stream_with_retrieval(
            _body(), lambda b: _anthropic_events(model(b)), adapter="anthropic_messages",
            store=_store(), max_rounds=2,
        )
    )  # fmt: skip
    merged = RETRIEVE_ADAPTERS["anthropic_messages"].merge_stream(events)
    assert merged["content"] == invoked["content"] == [{"type": "text", "text": "done"}]
    assert merged["usage"] == invoked["usage"] == {"input_tokens": 15, "output_tokens": 3}


class _HoldingRelay:
    """Relays chat chunks live and holds back from the first retrieve-call fragment on."""

    def start_round(self, intercept: bool, hide: bool) -> None:
        self.intercept, self.held = intercept, False
        self.events: list[dict[str, Any]] = []

    def feed(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        self.events.append(item)
        calls = [c for ch in item.get("choices") or [] for c in ch["delta"].get("tool_calls", [])]
        if self.intercept and any(is_retrieve_name(c["function"]["name"]) for c in calls):
            self.held = True
        return [] if self.held else [item]

    def finish(self) -> Any:
        return RETRIEVE_ADAPTERS["openai_chat"].merge_stream(self.events) if self.held else None


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])


def test_a_live_relay_shows_the_text_before_the_call_and_splices_the_answer() -> None:
    model = _OpenAIModel()
    events = list(relay_with_retrieval(_body(), model.stream, _HoldingRelay(), store=_store()))
    assert _text(events) == f"Let me look. answer 2: {ORIGINAL}"
    assert not any("tool_calls" in c["delta"] for e in events for c in e["choices"])
    assert model.requests[1]["messages"][-1]["content"] == ORIGINAL


def test_a_live_relay_withdraws_the_tool_at_the_limit_async() -> None:
    model = _OpenAIModel(calls_left=10)

    async def stream(body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        for event in model.stream(body):
            yield event

    async def run() -> list[dict[str, Any]]:
        relay = _HoldingRelay()
        return [e async for e in arelay_with_retrieval(_body(), stream, relay, max_rounds=1)]

    events = asyncio.run(run())
    assert len(model.requests) == 2 and "tools" not in model.requests[-1]
    assert _text(events).startswith("Let me look. answer 2:")


def test_an_object_adapter_reads_sdk_objects_and_drops_strays_its_own_way() -> None:
    """Responses stay the SDK's objects; calls and follow-ups come from their JSON."""
    from dataclasses import dataclass

    from headroom.core.retrieval import ObjectAdapter, as_json

    @dataclass
    class Sdk:  # a pydantic-like object: only `model_dump` is used
        data: dict[str, Any]

        def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
            return self.data

    call = {"id": "c1", "type": "function", "function": {"name": "x__headroom_retrieve"}}
    call["function"]["arguments"] = '{"hash": "abcdefabcdefabcd"}'
    response = Sdk({"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]})
    dropped: list[Any] = []
    adapter = ObjectAdapter("openai_chat", drop=lambda r: dropped.append(r) or r)
    assert as_json({"a": [response]}) == {"a": [response.data]}
    (found,) = adapter.calls(response)
    assert found.arguments == {"hash": "abcdefabcdefabcd"}
    follow = adapter.follow_up({"messages": []}, response, [(found, "text")])
    assert follow["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "text"}
    assert adapter.drop_calls(response, []) is response and dropped == []
    assert adapter.drop_calls(response, [found]) is response and dropped == [response]
