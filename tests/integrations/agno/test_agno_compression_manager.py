"""Agent(compression_manager=HeadroomCompressionManager()): agno's own route, no LLM call."""

from __future__ import annotations

import re
from typing import Any

from agno.agent import Agent
from agno.db.in_memory import InMemoryDb
from agno.models.message import Message
from agno_kit import ScriptedModel, has_needle, make_tool, order_records, tool_call, tool_output

from headroom.core import InMemoryStore
from headroom.integrations.agno import HeadroomCompressionManager

MARKER = re.compile(r'headroom_retrieve\(hash="([0-9a-f]{16})"\)')


def _setup(
    case: dict[str, Any],
    manager: HeadroomCompressionManager,
    script: list[Any] | None = None,
    **kwargs: Any,
) -> tuple[Agent, ScriptedModel]:
    fake = ScriptedModel(
        script=script or [{"tool_calls": [tool_call("read_logs", {"target": "auth.log"})]}]
    )
    tools = [make_tool("read_logs", tool_output(case)), manager.retrieve_tool]
    return Agent(model=fake, tools=tools, compression_manager=manager, **kwargs), fake


def test_writes_compressed_content_and_keeps_content(
    logs_case: dict[str, Any], store: InMemoryStore
) -> None:
    manager = HeadroomCompressionManager(store=store)
    agent, fake = _setup(logs_case, manager, db=InMemoryDb(), session_id="cm")
    original = tool_output(logs_case)

    agent.run(logs_case["question"])

    second = fake.calls[1]
    assert second["compress_tool_results"] is True
    tool_msg = next(m for m in second["messages"] if m.role == "tool")
    assert tool_msg.content == original
    assert tool_msg.compressed_content is not None
    assert len(tool_msg.compressed_content) < len(original) / 2
    for needle in logs_case["needles"]:
        assert has_needle(needle, tool_msg.compressed_content), needle
    # The model the manager was given is never asked to summarise: two turns, both the agent's.
    assert len(fake.calls) == 2
    assert manager.stats["tool_results_compressed"] == 1
    assert manager.total_tokens_saved > 10_000
    stored = next(m for m in agent.get_session_messages(session_id="cm") if m.role == "tool")
    assert stored.content == original


async def test_async_route(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    manager = HeadroomCompressionManager(store=store)
    agent, fake = _setup(logs_case, manager)
    result = await agent.arun(logs_case["question"])
    tool_msg = next(m for m in fake.calls[1]["messages"] if m.role == "tool")
    assert tool_msg.compressed_content is not None and len(tool_msg.compressed_content) < len(
        tool_output(logs_case)
    )
    extra = result.metrics.additional_metrics if result.metrics else None
    assert extra is not None
    assert extra["headroom_tool_results_tokens_saved"] == manager.total_tokens_saved > 0
    assert extra["headroom_tool_results_compressed"] == 1


def test_deterministic(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    texts = []
    for _ in range(2):
        manager = HeadroomCompressionManager(store=store)
        messages = [
            Message(role="user", content=logs_case["question"]),
            Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
        ]
        manager.compress(messages)
        texts.append(messages[1].compressed_content)
    assert texts[0] is not None and texts[0] == texts[1]


def test_small_outputs_are_left_alone(store: InMemoryStore) -> None:
    manager = HeadroomCompressionManager(store=store)
    messages = [
        Message(role="user", content="q"),
        Message(role="tool", tool_call_id="c1", content="42"),
    ]
    assert manager.should_compress(messages)
    manager.compress(messages)
    assert messages[1].compressed_content is None
    assert manager.total_tokens_saved == 0


def test_token_limit_is_counted_offline(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    messages = [
        Message(role="user", content="q"),
        Message(role="tool", tool_call_id="c1", content=tool_output(logs_case)),
    ]
    assert not HeadroomCompressionManager(store=store, compress_token_limit=10**9).should_compress(
        messages
    )
    assert HeadroomCompressionManager(store=store, compress_token_limit=1000).should_compress(
        messages
    )
    assert not HeadroomCompressionManager(store=store, compress_tool_results=False).should_compress(
        messages
    )


def test_ccr_round_trip_with_the_manager(logs_case: dict[str, Any], store: InMemoryStore) -> None:
    original = tool_output(logs_case)

    def retrieve(messages: list[Message]) -> dict[str, Any]:
        tool_msg = next(m for m in messages if m.role == "tool")
        found = MARKER.search(str(tool_msg.compressed_content))
        assert found
        return {"tool_calls": [tool_call("headroom_retrieve", {"hash": found.group(1)}, "call_r")]}

    manager = HeadroomCompressionManager(store=store)
    agent, _ = _setup(
        logs_case,
        manager,
        script=[{"tool_calls": [tool_call("read_logs", {"target": "a"})]}, retrieve],
    )
    result = agent.run(logs_case["question"])
    answer = next(m for m in result.messages or [] if m.tool_call_id == "call_r")
    assert answer.content == original


def test_fails_open(logs_case: dict[str, Any], store: InMemoryStore, monkeypatch: Any) -> None:
    from headroom.integrations.agno import compression_manager as module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("core exploded")

    monkeypatch.setattr(module, "compress", broken)
    manager = HeadroomCompressionManager(store=store)
    agent, fake = _setup(logs_case, manager)
    assert agent.run(logs_case["question"]).content == "done"
    tool_msg = next(m for m in fake.calls[1]["messages"] if m.role == "tool")
    assert tool_msg.compressed_content is None and tool_msg.content == tool_output(logs_case)


def test_list_returning_tools_get_compressed_content(store: InMemoryStore) -> None:
    """agno stores a list result as its Python repr; the manager compresses it as JSON."""
    rows = order_records(7, 300, 123)

    def list_orders(target: str) -> list[dict[str, object]]:
        """List the orders.

        Args:
            target: Which orders.
        """
        return rows

    manager = HeadroomCompressionManager(store=store)
    fake = ScriptedModel(script=[{"tool_calls": [tool_call("list_orders", {"target": "all"})]}])
    agent = Agent(model=fake, tools=[list_orders], compression_manager=manager)

    agent.run("Which order has its refund blocked, and why?")

    tool_msg = next(m for m in fake.calls[1]["messages"] if m.role == "tool")
    assert tool_msg.content == str(rows)
    assert tool_msg.compressed_content is not None
    assert len(tool_msg.compressed_content) < len(str(rows)) / 4
    assert "issuer rejected refund ref 0007-RX" in tool_msg.compressed_content
    assert manager.stats["original_size"] == len(str(rows))
