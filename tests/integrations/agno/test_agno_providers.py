"""Real agno providers (OpenAIChat, Claude) wrapped, their HTTP answered in-process by httpx.MockTransport.

These show the request the provider's SDK actually puts on the wire: OpenAI chat
messages for OpenAIChat, Anthropic `tool_result` blocks for Claude, both carrying
the compressed tool output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("openai")
pytest.importorskip("anthropic")
# The Anthropic SDK ships its own httpx fork; agno hands it only a client of that kind.
httpx2 = pytest.importorskip("httpx2")

from agno.agent import Agent  # noqa: E402
from agno.models.anthropic import Claude  # noqa: E402
from agno.models.openai import OpenAIChat  # noqa: E402
from agno_kit import has_needle, make_tool, tool_output  # noqa: E402

from headroom.core import InMemoryStore  # noqa: E402
from headroom.integrations.agno import HeadroomAgnoModel  # noqa: E402

ARGS = '{"target": "/var/log/auth.log"}'
ANSWER = "Errors came from 103.99.0.122."


class Wire:
    """Answers each POST with the next scripted body and records every request."""

    def __init__(self, answers: list[Callable[[dict[str, Any]], Any]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: Any) -> Any:
        body = json.loads(request.content or b"{}")
        self.requests.append((request.url.path, body))
        return self.answers[len(self.requests) - 1](body)

    def bodies(self, suffix: str) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.endswith(suffix)]


# -- OpenAI Chat Completions ---------------------------------------------------------------


def _openai_json(message: dict[str, Any], finish: str) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    )


def _sse(chunks: list[dict[str, Any]]) -> httpx.Response:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def openai_tool_call(body: dict[str, Any]) -> httpx.Response:
    if body.get("stream"):
        half = len(ARGS) // 2
        first = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "read_logs", "arguments": ARGS[:half]},
        }
        return _sse(
            [
                _chunk({"role": "assistant", "tool_calls": [first]}),
                _chunk({"tool_calls": [{"index": 0, "function": {"arguments": ARGS[half:]}}]}),
                _chunk({}, "tool_calls"),
            ]
        )
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_logs", "arguments": ARGS},
    }
    return _openai_json({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")


def openai_answer(body: dict[str, Any]) -> httpx.Response:
    if body.get("stream"):
        return _sse(
            [
                _chunk({"role": "assistant", "content": ANSWER[:10]}),
                _chunk({"content": ANSWER[10:]}),
                _chunk({}, "stop"),
            ]
        )
    return _openai_json({"role": "assistant", "content": ANSWER}, "stop")


def _openai_agent(
    case: dict[str, Any], store: InMemoryStore, is_async: bool
) -> tuple[Agent, Wire, Any]:
    wire = Wire([openai_tool_call, openai_answer])
    client_cls = httpx.AsyncClient if is_async else httpx.Client
    provider = OpenAIChat(
        id="gpt-4o", api_key="test", http_client=client_cls(transport=httpx.MockTransport(wire))
    )
    tool = make_tool("read_logs", tool_output(case))
    return Agent(model=HeadroomAgnoModel(provider, store=store), tools=[tool]), wire, tool


def _check_openai_wire(case: dict[str, Any], wire: Wire) -> None:
    bodies = wire.bodies("/chat/completions")
    assert len(bodies) == 2
    tool_msgs = [m for m in bodies[1]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and tool_msgs[0]["tool_call_id"] == "call_1"
    sent = tool_msgs[0]["content"]
    assert len(sent) < len(tool_output(case)) / 2
    for needle in case["needles"]:
        assert has_needle(needle, sent), needle
    assert "headroom_retrieve" in [t["function"]["name"] for t in bodies[1]["tools"]]


@pytest.mark.parametrize("stream", [False, True])
def test_openai_chat_run(stream: bool, logs_case: dict[str, Any], store: InMemoryStore) -> None:
    agent, wire, tool = _openai_agent(logs_case, store, is_async=False)
    if stream:
        text = "".join(
            e.content
            for e in agent.run(logs_case["question"], stream=True)
            if getattr(e, "event", "") == "RunContent" and isinstance(e.content, str)
        )
    else:
        text = str(agent.run(logs_case["question"]).content)
    assert text == ANSWER
    assert tool.calls == ["/var/log/auth.log"]
    _check_openai_wire(logs_case, wire)


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_chat_arun(
    stream: bool, logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, wire, tool = _openai_agent(logs_case, store, is_async=True)
    if stream:
        events = [e async for e in agent.arun(logs_case["question"], stream=True)]
        text = "".join(
            e.content
            for e in events
            if getattr(e, "event", "") == "RunContent" and isinstance(e.content, str)
        )
    else:
        text = str((await agent.arun(logs_case["question"])).content)
    assert text == ANSWER
    assert tool.calls == ["/var/log/auth.log"]
    _check_openai_wire(logs_case, wire)


# -- Anthropic Messages --------------------------------------------------------------------


def _claude_json(content: list[dict[str, Any]], stop: str) -> Any:
    return httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-20250514",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        },
    )


def claude_tool_use(body: dict[str, Any]) -> Any:
    return _claude_json(
        [{"type": "tool_use", "id": "toolu_1", "name": "read_logs", "input": json.loads(ARGS)}],
        "tool_use",
    )


def claude_answer(body: dict[str, Any]) -> Any:
    return _claude_json([{"type": "text", "text": ANSWER}], "end_turn")


def test_claude_receives_compressed_tool_result_blocks(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    wire = Wire([claude_tool_use, claude_answer])
    provider = Claude(
        id="claude-sonnet-4-20250514",
        api_key="test",
        http_client=httpx2.Client(transport=httpx2.MockTransport(wire)),
    )
    model = HeadroomAgnoModel(provider, store=store)
    tool = make_tool("read_logs", tool_output(logs_case))
    agent = Agent(model=model, tools=[tool])

    result = agent.run(logs_case["question"])

    assert result.content == ANSWER
    assert tool.calls == ["/var/log/auth.log"]
    bodies = wire.bodies("/v1/messages")
    assert len(bodies) == 2
    blocks = [
        b
        for m in bodies[1]["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    assert len(blocks) == 1 and blocks[0]["tool_use_id"] == "toolu_1"
    sent = json.dumps(blocks[0]["content"])
    assert len(sent) < len(tool_output(logs_case)) / 2
    for needle in logs_case["needles"]:
        assert has_needle(needle, sent), needle
    assert "headroom_retrieve" in [t["name"] for t in bodies[1]["tools"]]
    # Claude counts tokens over the network; the wrapper counts offline and never calls it.
    assert model.count_tokens(result.messages or []) > 0
    assert not [path for path, _ in wire.requests if "count_tokens" in path]
