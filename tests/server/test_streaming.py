"""Edge cases of answering retrieve calls inside an Anthropic stream."""

from __future__ import annotations

import json
from typing import Any

import httpx

from headroom.core.retrieve_adapter import RetrieveCall
from headroom.server.streaming import STREAM_DIALECTS, relay_stream
from tests.server.fake_upstream import _chunk, _ev


def start() -> str:
    return _ev({"type": "message_start", "message": {"id": "m", "content": []}})


def block(index: int, content_block: dict[str, Any], *deltas: dict[str, Any]) -> list[str]:
    return [
        _ev({"type": "content_block_start", "index": index, "content_block": content_block}),
        *(_ev({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas),
        _ev({"type": "content_block_stop", "index": index}),
    ]


def end(reason: str) -> list[str]:
    return [
        _ev({"type": "message_delta", "delta": {"stop_reason": reason}}),
        _ev({"type": "message_stop"}),
    ]


def retrieve_block(index: int, call_id: str = "t1") -> list[str]:
    tool = {"type": "tool_use", "id": call_id, "name": "headroom_retrieve", "input": {}}
    return block(
        index, tool, {"type": "input_json_delta", "partial_json": '{"hash":"abcdefabcdefabcd"}'}
    )


def response(events: list[str], status: int = 200) -> httpx.Response:
    return httpx.Response(status, content="".join(events).encode())


def parse(raw: bytes) -> list[dict[str, Any]]:
    out = []
    for chunk in raw.decode().split("\n\n"):
        data = [line[5:].strip() for line in chunk.splitlines() if line.startswith("data:")]
        if data and data != ["[DONE]"]:
            out.append(json.loads("".join(data)))
    return out


async def run(
    first: list[str],
    follow_ups: list[httpx.Response],
    rounds: int = 3,
    dialect: str = "anthropic_messages",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    async def open_stream(body: dict[str, Any]) -> httpx.Response:
        sent.append(body)
        return follow_ups.pop(0)

    def answer(call: RetrieveCall) -> str:
        return f"original for {call.arguments.get('hash')}"

    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "q"}]}
    chunks = [
        c
        async for c in relay_stream(
            STREAM_DIALECTS[dialect], response(first), body, open_stream, answer, rounds
        )
    ]
    return parse(b"".join(chunks)), sent


async def test_thinking_and_text_before_the_call_are_echoed_with_their_signature() -> None:
    thinking = block(
        0,
        {"type": "thinking", "thinking": ""},
        {"type": "thinking_delta", "thinking": "hmm"},
        {"type": "signature_delta", "signature": "sig=="},
    )
    first = [start(), *thinking, *retrieve_block(1), *end("tool_use")]
    second = response(
        [
            start(),
            *block(0, {"type": "text", "text": ""}, {"type": "text_delta", "text": "done"}),
            *end("end_turn"),
        ]
    )
    events, sent = await run(first, [second])
    assert [e["index"] for e in events if e["type"] == "content_block_start"] == [0, 1]
    assert [e["type"] for e in events].count("message_start") == 1
    (follow_up,) = sent
    assistant, user = follow_up["messages"][-2:]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": "sig=="}
    assert assistant["content"][1]["input"] == {"hash": "abcdefabcdefabcd"}
    assert user["content"][0]["content"] == "original for abcdefabcdefabcd"


async def test_a_tool_call_already_streamed_hides_our_call_and_keeps_the_clients() -> None:
    """The client's `bash` call has reached it, so ours cannot be answered: it never sees it."""
    other = block(
        0,
        {"type": "tool_use", "id": "x", "name": "bash", "input": {}},
        {"type": "input_json_delta", "partial_json": "{}"},
    )
    text = block(2, {"type": "text", "text": ""}, {"type": "text_delta", "text": "done"})
    first = [start(), *other, *retrieve_block(1), *text, *end("tool_use")]
    events, sent = await run(first, [])
    assert sent == []
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [(e["index"], e["content_block"].get("name")) for e in starts] == [
        (0, "bash"),
        (1, None),
    ]
    assert "headroom_retrieve" not in json.dumps(events)
    stop = next(e for e in events if e["type"] == "message_delta")["delta"]["stop_reason"]
    assert stop == "tool_use"  # bash still has to run


async def test_calls_after_the_rounds_run_out_are_hidden_and_the_message_ends() -> None:
    again = response([start(), *retrieve_block(0, "t2"), *end("tool_use")])
    events, sent = await run([start(), *retrieve_block(0), *end("tool_use")], [again], rounds=1)
    assert len(sent) == 1
    assert not [e for e in events if e["type"] == "content_block_start"]
    assert "headroom_retrieve" not in json.dumps(events)
    stop = next(e for e in events if e["type"] == "message_delta")["delta"]["stop_reason"]
    assert stop == "end_turn"


async def test_a_callers_own_retrieve_tool_is_relayed_untouched() -> None:
    """No rounds (Headroom offered no tool): the call is the client's, shown as it came."""
    events, sent = await run([start(), *retrieve_block(0), *end("tool_use")], [], rounds=0)
    assert sent == []
    names = [e["content_block"].get("name") for e in events if e["type"] == "content_block_start"]
    assert names == ["headroom_retrieve"]
    stop = next(e for e in events if e["type"] == "message_delta")["delta"]["stop_reason"]
    assert stop == "tool_use"


async def test_a_failing_follow_up_ends_the_stream_with_an_error_event() -> None:
    failed = response([json.dumps({"error": "overloaded"})], status=529)
    events, _ = await run([start(), *retrieve_block(0), *end("tool_use")], [failed])
    assert events[-1]["type"] == "error" and "529" in events[-1]["error"]["message"]


async def test_text_after_the_call_is_dropped_and_the_model_replans() -> None:
    trailing = block(1, {"type": "text", "text": ""}, {"type": "text_delta", "text": "after"})
    second = response(
        [
            start(),
            *block(0, {"type": "text", "text": ""}, {"type": "text_delta", "text": "ok"}),
            *end("end_turn"),
        ]
    )
    events, sent = await run([start(), *retrieve_block(0), *trailing, *end("tool_use")], [second])
    assert "after" not in json.dumps(events) and "after" not in json.dumps(sent)
    assert [e["index"] for e in events if e["type"] == "content_block_start"] == [0]


def openai_retrieve(call_id: str = "r1", index: int = 0) -> list[str]:
    start = {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": "headroom_retrieve", "arguments": ""},
    }
    return [
        _chunk({"tool_calls": [start]}),
        _chunk(
            {
                "tool_calls": [
                    {"index": index, "function": {"arguments": '{"hash":"abcdefabcdefabcd"}'}}
                ]
            }
        ),
    ]


async def test_openai_text_before_the_call_is_echoed_and_usage_of_the_first_response_hidden() -> (
    None
):
    usage = 'data: {"id":"c","choices":[],"usage":{"total_tokens":5}}\n\n'
    first = [
        _chunk({"role": "assistant", "content": "Checking."}),
        *openai_retrieve(),
        _chunk({}, "tool_calls"),
        usage,
        "data: [DONE]\n\n",
    ]
    second = response([_chunk({"content": "Answer."}), _chunk({}, "stop"), "data: [DONE]\n\n"])
    events, sent = await run(first, [second], dialect="openai_chat")
    assert [e["choices"][0]["finish_reason"] for e in events if e.get("choices")] == [
        None,
        None,
        "stop",
    ]
    assert not any("usage" in e for e in events)
    (follow_up,) = sent
    assistant, tool = follow_up["messages"][-2:]
    assert assistant["content"] == "Checking."
    assert assistant["tool_calls"][0]["function"] == {
        "name": "headroom_retrieve",
        "arguments": '{"hash":"abcdefabcdefabcd"}',
    }
    assert tool == {
        "role": "tool",
        "tool_call_id": "r1",
        "content": "original for abcdefabcdefabcd",
    }


async def test_openai_other_tool_first_hides_our_call() -> None:
    other = {
        "index": 0,
        "id": "x",
        "type": "function",
        "function": {"name": "bash", "arguments": "{}"},
    }
    first = [
        _chunk({"tool_calls": [other]}),
        *openai_retrieve("r1", index=1),
        _chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
    ]
    events, sent = await run(first, [], dialect="openai_chat")
    assert sent == []
    calls = [
        (c["index"], c["function"].get("name"))
        for e in events
        if e.get("choices")
        for c in e["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls == [(0, "bash")]
    finish = [e["choices"][0]["finish_reason"] for e in events if e.get("choices")]
    assert finish[-1] == "tool_calls"  # bash still has to run


async def test_openai_calls_after_the_rounds_run_out_are_hidden() -> None:
    again = response([*openai_retrieve("r2"), _chunk({}, "tool_calls"), "data: [DONE]\n\n"])
    first = [*openai_retrieve(), _chunk({}, "tool_calls"), "data: [DONE]\n\n"]
    events, sent = await run(first, [again], rounds=1, dialect="openai_chat")
    assert len(sent) == 1
    assert not any(e["choices"][0]["delta"].get("tool_calls") for e in events if e.get("choices"))
    finish = [e["choices"][0]["finish_reason"] for e in events if e.get("choices")]
    assert finish[-1] == "stop"


async def test_openai_follow_up_failure_is_an_error_chunk() -> None:
    first = [*openai_retrieve(), _chunk({}, "tool_calls"), "data: [DONE]\n\n"]
    events, _ = await run(first, [response(["nope"], status=500)], dialect="openai_chat")
    assert events[-1]["error"]["type"] == "api_error" and "500" in events[-1]["error"]["message"]
