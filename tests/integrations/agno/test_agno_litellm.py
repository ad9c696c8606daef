"""HeadroomAgnoModel around agno's LiteLLM model, answered by LiteLLM's own mocks (no network)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

from agno.agent import Agent  # noqa: E402
from agno.db.in_memory import InMemoryDb  # noqa: E402
from agno.models.litellm import LiteLLM  # noqa: E402
from agno.models.message import Message  # noqa: E402
from agno_kit import has_needle, make_tool, tool_output  # noqa: E402
from litellm.types.utils import (  # noqa: E402
    ChatCompletionDeltaToolCall,
    Delta,
    Function,
    ModelResponseStream,
    StreamingChoices,
)
from pydantic import BaseModel  # noqa: E402

from headroom.core import InMemoryStore  # noqa: E402
from headroom.integrations.agno import HeadroomAgnoModel  # noqa: E402

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "read_logs", "arguments": '{"target": "/var/log/auth.log"}'},
}


def _tool_call_chunks(call: dict[str, Any]) -> list[ModelResponseStream]:
    """A tool call as an OpenAI-style stream: id and name first, the arguments in two pieces."""
    args = call["function"]["arguments"]
    half = len(args) // 2
    first = ChatCompletionDeltaToolCall(
        index=0,
        id=call["id"],
        type="function",
        function=Function(name=call["function"]["name"], arguments=args[:half]),
    )
    second = ChatCompletionDeltaToolCall(index=0, function=Function(arguments=args[half:]))
    return [
        ModelResponseStream(choices=[StreamingChoices(delta=Delta(tool_calls=[piece]))])
        for piece in (first, second)
    ]


class RecordingClient:
    """Stands in for the `litellm` module as agno's LiteLLM client.

    Records every request agno sends and answers it with `litellm.completion`'s
    own `mock_response` / `mock_tool_calls` (or, for a streamed tool call, with
    LiteLLM stream chunks), so agno parses real LiteLLM objects.
    """

    def __init__(self, turns: list[dict[str, Any]]) -> None:
        self.turns = turns
        self.requests: list[dict[str, Any]] = []

    def _turn(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(kwargs)
        n = len(self.requests) - 1
        return self.turns[n] if n < len(self.turns) else {"content": "done"}

    def completion(self, **kwargs: Any) -> Any:
        turn = self._turn(kwargs)
        if kwargs.get("stream") and turn.get("tool_calls"):
            return iter(_tool_call_chunks(turn["tool_calls"][0]))
        return litellm.completion(
            **kwargs,
            mock_response=turn.get("content") or "",
            mock_tool_calls=turn.get("tool_calls"),
        )

    async def acompletion(self, **kwargs: Any) -> Any:
        turn = self._turn(kwargs)
        if kwargs.get("stream") and turn.get("tool_calls"):

            async def chunks() -> AsyncIterator[ModelResponseStream]:
                for chunk in _tool_call_chunks(turn["tool_calls"][0]):
                    yield chunk

            return chunks()
        return await litellm.acompletion(
            **kwargs,
            mock_response=turn.get("content") or "",
            mock_tool_calls=turn.get("tool_calls"),
        )


def _setup(
    case: dict[str, Any], store: InMemoryStore, **agent_kwargs: Any
) -> tuple[Agent, HeadroomAgnoModel, RecordingClient, Any]:
    client = RecordingClient(
        [{"tool_calls": [CALL]}, {"content": "Errors came from 103.99.0.122."}]
    )
    tool = make_tool("read_logs", tool_output(case))
    model = HeadroomAgnoModel(LiteLLM(id="gpt-4o", api_key="test-key", client=client), store=store)
    return Agent(model=model, tools=[tool], **agent_kwargs), model, client, tool


def _check_second_request(case: dict[str, Any], client: RecordingClient) -> None:
    assert len(client.requests) == 2
    sent = client.requests[1]["messages"]
    tool_msgs = [m for m in sent if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and tool_msgs[0]["tool_call_id"] == "call_1"
    content = tool_msgs[0]["content"]
    assert len(content) < len(tool_output(case)) / 2
    for needle in case["needles"]:
        assert has_needle(needle, content), needle
    # The stubbed output can be undone: the model is offered headroom_retrieve.
    names = [t["function"]["name"] for t in client.requests[1]["tools"]]
    assert "headroom_retrieve" in names and "read_logs" in names


def test_run(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    agent, model, client, tool = _setup(logs_case, store, db=InMemoryDb(), session_id="lite")
    result = agent.run(logs_case["question"])
    assert result.content == "Errors came from 103.99.0.122."
    assert tool.calls == ["/var/log/auth.log"]
    _check_second_request(logs_case, client)
    stored = [m for m in agent.get_session_messages(session_id="lite") if m.role == "tool"]
    assert stored[0].content == tool_output(logs_case)
    assert model.total_tokens_saved > 10_000


async def test_arun(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    agent, _, client, tool = _setup(logs_case, store)
    result = await agent.arun(logs_case["question"])
    assert result.content == "Errors came from 103.99.0.122."
    assert tool.calls == ["/var/log/auth.log"]
    _check_second_request(logs_case, client)


def test_run_stream_with_streamed_tool_call(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _, client, tool = _setup(logs_case, store)
    events: Iterator[Any] = agent.run(logs_case["question"], stream=True)
    text = "".join(
        e.content
        for e in events
        if getattr(e, "event", "") == "RunContent" and isinstance(e.content, str)
    )
    assert tool.calls == ["/var/log/auth.log"]
    assert text == "Errors came from 103.99.0.122."
    _check_second_request(logs_case, client)
    assert all(r["stream"] for r in client.requests)


async def test_arun_stream_with_streamed_tool_call(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    agent, _, client, tool = _setup(logs_case, store)
    events = [e async for e in agent.arun(logs_case["question"], stream=True)]
    text = "".join(
        e.content
        for e in events
        if getattr(e, "event", "") == "RunContent" and isinstance(e.content, str)
    )
    assert tool.calls == ["/var/log/auth.log"]
    assert text == "Errors came from 103.99.0.122."
    _check_second_request(logs_case, client)


class Finding(BaseModel):
    host: str


def test_structured_output(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    client = RecordingClient(
        [{"tool_calls": [CALL]}, {"content": json.dumps({"host": "103.99.0.122"})}]
    )
    wrapped = LiteLLM(
        id="gpt-4o", api_key="test-key", client=client, supports_native_structured_outputs=True
    )
    agent = Agent(
        model=HeadroomAgnoModel(wrapped, store=store),
        tools=[make_tool("read_logs", tool_output(logs_case))],
        output_schema=Finding,
    )
    result = agent.run(logs_case["question"])
    assert result.content == Finding(host="103.99.0.122")
    assert all(r["response_format"] is Finding for r in client.requests)
    _check_second_request(logs_case, client)


def test_token_counting_follows_the_wrapped_provider(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    messages = [
        Message(role="user", content=logs_case["question"]),
        Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
    ]
    gpt = HeadroomAgnoModel(LiteLLM(id="gpt-4o", api_key="k"), store=store)
    claude = HeadroomAgnoModel(
        LiteLLM(id="anthropic/claude-sonnet-4-20250514", api_key="k"), store=store
    )
    # Claude's tokenizer is not public: counted with o200k and a safety margin.
    assert claude.count_tokens(messages) > gpt.count_tokens(messages) > 0
