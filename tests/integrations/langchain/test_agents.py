"""Real LangChain / LangGraph agents around a recording fake: what the model got, what state kept."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain.agents import create_agent
from langchain.agents.structured_output import ToolStrategy
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import create_react_agent
from pydantic import BaseModel

from headroom import InMemoryStore
from headroom.integrations.langchain import (
    HeadroomChatModel,
    HeadroomMiddleware,
    HeadroomToolCompressorNode,
    compress_tool_messages,
)
from tests.conftest import case
from tests.integrations.langchain.conftest import corpus_messages, needles_in
from tests.integrations.langchain.fakes import RecordingChatModel

CASE = "p-logs-openssh"
FINAL = "Two sshd entries are at error level."


def _log_tool() -> tuple[BaseTool, dict[str, Any]]:
    data = case(CASE)
    output = data["messages"][-1]["content"]
    call = data["messages"][-2]["tool_calls"][0]

    @tool
    def read_logs(source: str, offset: int = 0, limit: int = 500) -> str:
        """Read lines from a log file on the host."""
        return str(output)

    args = json.loads(call["function"]["arguments"])
    return read_logs, {"name": "read_logs", "args": args, "id": "call_logs_1"}


def _tool_then_answer(call: dict[str, Any]) -> list[Any]:
    return [AIMessage(content="", tool_calls=[call]), AIMessage(content=FINAL)]


def _biggest_tool_message(messages: list[BaseMessage]) -> ToolMessage:
    tools = [m for m in messages if isinstance(m, ToolMessage)]
    return max(tools, key=lambda m: len(str(m.content)))


def test_create_agent_with_wrapped_model() -> None:
    read_logs, call = _log_tool()
    data = case(CASE)
    fake = RecordingChatModel(responses=_tool_then_answer(call))
    agent = create_agent(
        HeadroomChatModel(fake), tools=[read_logs], system_prompt="You are an SRE."
    )
    state = agent.invoke({"messages": [HumanMessage(data["question"])]})
    assert state["messages"][-1].content == FINAL
    sent = fake.received[-1]
    sent_tool = _biggest_tool_message(sent)
    kept_tool = _biggest_tool_message(state["messages"])
    assert len(str(sent_tool.content)) < len(str(kept_tool.content)) / 2
    assert kept_tool.content == data["messages"][-1]["content"]  # the state keeps the original
    assert sent_tool.tool_call_id == kept_tool.tool_call_id == "call_logs_1"
    assert needles_in(sent, data["needles"]) == []
    # the tools the agent bound reached the model, formatted by the model itself
    names = [t["function"]["name"] for t in fake.received_kwargs[-1]["tools"]]
    assert names[0] == "read_logs" and "headroom_retrieve" in names


async def test_create_agent_async_and_streaming_messages() -> None:
    read_logs, call = _log_tool()
    fake = RecordingChatModel(responses=_tool_then_answer(call))
    agent = create_agent(HeadroomChatModel(fake), tools=[read_logs])
    tokens: list[str] = []
    async for chunk, _meta in agent.astream(
        {"messages": [HumanMessage("Which sshd lines are errors?")]}, stream_mode="messages"
    ):
        if isinstance(chunk, AIMessage) and isinstance(chunk.content, str):
            tokens.append(chunk.content)
    assert "".join(tokens) == FINAL  # every token once: a single model run per call
    assert fake.received_kwargs[-1].get("async") is True


class _Verdict(BaseModel):
    """The agent's structured conclusion."""

    severity: str
    count: int


def test_create_agent_structured_output_through_wrapper() -> None:
    read_logs, call = _log_tool()
    verdict = {"name": "_Verdict", "args": {"severity": "error", "count": 2}, "id": "v1"}
    fake = RecordingChatModel(
        responses=[
            AIMessage(content="", tool_calls=[call]),
            AIMessage(content="", tool_calls=[verdict]),
        ]
    )
    agent = create_agent(
        HeadroomChatModel(fake), tools=[read_logs], response_format=ToolStrategy(_Verdict)
    )
    state = agent.invoke({"messages": [HumanMessage("Classify the log.")]})
    assert state["structured_response"] == _Verdict(severity="error", count=2)
    assert len(str(_biggest_tool_message(fake.received[-1]).content)) < len(
        str(_biggest_tool_message(state["messages"]).content)
    )


def test_langgraph_react_agent() -> None:
    read_logs, call = _log_tool()
    data = case(CASE)
    fake = RecordingChatModel(responses=_tool_then_answer(call))
    llm = HeadroomChatModel(fake)
    agent = create_react_agent(llm, tools=[read_logs])
    state = agent.invoke({"messages": [HumanMessage(data["question"])]})
    assert state["messages"][-1].content == FINAL
    assert needles_in(fake.received[-1], data["needles"]) == []
    assert len(str(_biggest_tool_message(fake.received[-1]).content)) < len(
        str(_biggest_tool_message(state["messages"]).content)
    )
    assert llm.total_tokens_saved > 0


def test_middleware_compresses_requests_and_state_keeps_originals() -> None:
    read_logs, call = _log_tool()
    data = case(CASE)
    fake = RecordingChatModel(responses=_tool_then_answer(call))
    middleware = HeadroomMiddleware()
    agent = create_agent(
        fake, tools=[read_logs], system_prompt="You are an SRE.", middleware=[middleware]
    )
    state = agent.invoke({"messages": [HumanMessage(data["question"])]})
    sent = fake.received[-1]
    assert sent[0].content == "You are an SRE."
    assert (
        len(str(_biggest_tool_message(sent).content))
        < len(str(_biggest_tool_message(state["messages"]).content)) / 2
    )
    assert needles_in(sent, data["needles"]) == []
    assert _biggest_tool_message(state["messages"]).content == data["messages"][-1]["content"]
    assert middleware.total_tokens_saved > 0
    assert state["messages"][-1].response_metadata["headroom"]["tokens_saved"] > 0
    assert "headroom_retrieve" in [t["function"]["name"] for t in fake.received_kwargs[-1]["tools"]]


async def test_middleware_async_and_retrieve_tool_round_trip() -> None:
    store = InMemoryStore()
    messages, data = corpus_messages("p-json-cars-hp")
    output = next(m for m in messages if isinstance(m, ToolMessage)).content

    @tool
    def query_dataset(q: str) -> str:
        """Query the cars dataset."""
        return str(output)

    def respond(sent: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        last = sent[-1]
        if isinstance(last, ToolMessage) and last.name == "headroom_retrieve":
            return AIMessage(content=f"got {len(str(last.content))}")
        if isinstance(last, ToolMessage):
            found = re.search(r'headroom_retrieve\(hash="([0-9a-f]{16})"\)', str(last.content))
            assert found, "the cars output is expected to be cut lossily"
            return AIMessage(
                content="",
                tool_calls=[
                    {"name": "headroom_retrieve", "args": {"hash": found.group(1)}, "id": "r"}
                ],
            )
        return AIMessage(
            content="", tool_calls=[{"name": "query_dataset", "args": {"q": "hp"}, "id": "q"}]
        )

    fake = RecordingChatModel(responses=[respond])
    agent = create_agent(fake, tools=[query_dataset], middleware=[HeadroomMiddleware(store=store)])
    state = await agent.ainvoke({"messages": [HumanMessage(data["question"])]})
    retrieved = [
        m for m in state["messages"] if isinstance(m, ToolMessage) and m.name == "headroom_retrieve"
    ]
    assert len(retrieved) == 1 and retrieved[0].content == output
    assert state["messages"][-1].content == f"got {len(str(output))}"


def test_langgraph_node_replaces_tool_messages_by_id() -> None:
    messages, data = corpus_messages(CASE)
    messages = [m.model_copy(update={"id": f"m{i}"}) for i, m in enumerate(messages)]

    builder = StateGraph(MessagesState)
    builder.add_node("compress", HeadroomToolCompressorNode())
    builder.add_edge(START, "compress")
    builder.add_edge("compress", END)
    graph = builder.compile()
    state = graph.invoke({"messages": messages})
    out = state["messages"]
    assert [m.id for m in out] == [m.id for m in messages]  # replaced, not appended
    assert len(str(out[-1].content)) < len(str(messages[-1].content)) / 2
    stats = out[-1].response_metadata["headroom"]
    assert stats["ccr_hashes"] and all(h in out[-1].content for h in stats["ccr_hashes"])
    assert stats["tokens_after"] < stats["tokens_before"] / 2
    assert out[:-1] == messages[:-1]
    assert needles_in(out, data["needles"]) == []
    again = graph.invoke({"messages": out})
    assert again["messages"] == out  # already compressed: left alone
    assert compress_tool_messages([messages[-1].model_copy(update={"id": None})]) == []


def test_langgraph_node_as_pre_model_hook_keeps_state() -> None:
    read_logs, call = _log_tool()
    fake = RecordingChatModel(responses=_tool_then_answer(call))
    hook = HeadroomToolCompressorNode(replace_in_state=False)
    agent = create_react_agent(fake, tools=[read_logs], pre_model_hook=hook)
    state = agent.invoke({"messages": [HumanMessage("errors?")]})
    assert len(str(_biggest_tool_message(fake.received[-1]).content)) < len(
        str(_biggest_tool_message(state["messages"]).content)
    )


async def test_streamed_agent_messages_never_show_the_retrieve_call() -> None:
    messages, _ = corpus_messages("p-json-cars-hp")
    output = next(m for m in messages if isinstance(m, ToolMessage)).content

    @tool
    def query_dataset(q: str) -> str:
        """Query the cars dataset."""
        return str(output)

    def respond(sent: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        last = sent[-1]
        if isinstance(last, ToolMessage) and last.name == "headroom_retrieve":
            return AIMessage(content="Found it.")
        if isinstance(last, ToolMessage):
            found = re.search(r'headroom_retrieve\(hash="([0-9a-f]{16})"\)', str(last.content))
            assert found
            return AIMessage(
                content="Checking. ",
                tool_calls=[
                    {"name": "headroom_retrieve", "args": {"hash": found.group(1)}, "id": "r"}
                ],
            )
        return AIMessage(
            content="", tool_calls=[{"name": "query_dataset", "args": {"q": "hp"}, "id": "q"}]
        )

    fake = RecordingChatModel(responses=[respond])
    agent = create_agent(HeadroomChatModel(fake), tools=[query_dataset])
    texts: list[str] = []
    for mode in ("sync", "async"):
        chunks: list[Any] = []
        if mode == "sync":
            for chunk, _meta in agent.stream(
                {"messages": [HumanMessage("Most powerful car?")]}, stream_mode="messages"
            ):
                chunks.append(chunk)
        else:
            async for chunk, _meta in agent.astream(
                {"messages": [HumanMessage("Most powerful car?")]}, stream_mode="messages"
            ):
                chunks.append(chunk)
        names = [c.get("name") for m in chunks for c in getattr(m, "tool_call_chunks", [])]
        assert "headroom_retrieve" not in names and "query_dataset" in names
        texts.append("".join(m.content for m in chunks if isinstance(m, AIMessage)))
    assert texts == ["Found it.", "Found it."]  # round 1 ("Checking. ") is never streamed
