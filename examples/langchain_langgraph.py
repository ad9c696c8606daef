"""Compress tool results inside LangGraph state, and per request in create_agent.

    python examples/langchain_langgraph.py      # offline, no model or key needed

Part 1 runs a two-node graph: a tool node returns a large log, then
HeadroomToolCompressorNode replaces that ToolMessage in the state by a
compressed copy with the same id (so the checkpoint shrinks too). Part 2 shows
the same log going through HeadroomMiddleware in a create_agent agent, where
the state keeps the original and only the request is compressed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph

from headroom.integrations.langchain import HeadroomMiddleware, HeadroomToolCompressorNode

DATA = Path(__file__).resolve().parents[1] / "headroom" / "demo_data" / "p-logs-openssh.json"
CASE = json.loads(DATA.read_text(encoding="utf-8"))
LOG = str(CASE["messages"][-1]["content"])
CALL = {"name": "read_logs", "args": {"source": "auth.log"}, "id": "call_1"}


class ScriptedModel(FakeMessagesListChatModel):
    """LangChain's list-replaying fake, able to accept tools as a real model does."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


def run_tool(state: MessagesState) -> dict[str, Any]:
    return {"messages": [ToolMessage(LOG, tool_call_id="call_1", name="read_logs")]}


def graph_demo() -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("tools", run_tool)
    builder.add_node("compress", HeadroomToolCompressorNode())
    builder.add_edge(START, "tools")
    builder.add_edge("tools", "compress")
    builder.add_edge("compress", END)
    state = builder.compile().invoke(
        {"messages": [HumanMessage(CASE["question"]), AIMessage("", tool_calls=[CALL])]}
    )
    tool_message = state["messages"][-1]
    print(f"graph: {len(state['messages'])} messages in state (no duplicate)")
    print(f"graph: tool result {len(LOG):,} -> {len(str(tool_message.content)):,} characters")
    print(
        f"graph: originals retrievable under {tool_message.response_metadata['headroom']['ccr_hashes']}"
    )


def middleware_demo() -> None:
    @tool
    def read_logs(source: str) -> str:
        """Read a log file."""
        return LOG

    model = ScriptedModel(
        responses=[AIMessage("", tool_calls=[CALL]), AIMessage("Two sshd lines are errors.")]
    )
    middleware = HeadroomMiddleware(retrieve_tool=False)
    agent = create_agent(model, tools=[read_logs], middleware=[middleware])
    state = agent.invoke({"messages": [HumanMessage(CASE["question"])]})
    kept = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    print(f"agent: answer {state['messages'][-1].content!r}")
    print(f"agent: state keeps the full tool result ({len(str(kept.content)):,} characters)")
    print(f"agent: {middleware.total_tokens_saved:,} input tokens saved by the middleware")


if __name__ == "__main__":
    graph_demo()
    middleware_demo()
