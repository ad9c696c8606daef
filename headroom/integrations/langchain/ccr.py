"""Answering the model's `headroom_retrieve` calls inside LangChain.

When compression stubs content, the model can ask for the original with the
`headroom_retrieve` tool. The chat model wrapper answers those calls from the
CCR store itself and calls the model again, so the caller's agent never sees
a tool it did not define; the middleware instead registers a real tool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from headroom import RETRIEVE_TOOL_NAME, CCRStore, handle_retrieve_call, retrieve_tool_openai

__all__ = [
    "RETRIEVE_TOOL_NAME",
    "answer_retrieve_calls",
    "keep_only_retrieve_calls",
    "retrieve_calls",
    "retrieve_tool",
    "retrieve_tool_schema",
]


class _RetrieveArgs(BaseModel):
    hash: str = Field(description="The hash from the marker.")
    query: str | None = Field(
        default=None, description="Optional: words to look for; only matching parts are returned."
    )


def retrieve_tool_schema() -> dict[str, Any]:
    """The tool definition in OpenAI shape, for `bind_tools` of any chat model."""
    return retrieve_tool_openai()


def retrieve_tool(store: CCRStore | None = None) -> BaseTool:
    """`headroom_retrieve` as a LangChain tool that reads from `store` (default store if None)."""

    def _run(hash: str, query: str | None = None) -> str:
        args: dict[str, Any] = {"hash": hash}
        if query:
            args["query"] = query
        return handle_retrieve_call(args, store=store)

    definition = retrieve_tool_openai()["function"]
    return StructuredTool.from_function(
        func=_run,
        name=RETRIEVE_TOOL_NAME,
        description=definition["description"],
        args_schema=_RetrieveArgs,
    )


def retrieve_calls(message: BaseMessage) -> list[ToolCall]:
    """The `headroom_retrieve` calls in a model reply."""
    if not isinstance(message, AIMessage):
        return []
    return [call for call in message.tool_calls if call["name"] == RETRIEVE_TOOL_NAME]


def keep_only_retrieve_calls(message: AIMessage) -> AIMessage:
    """The reply with only its retrieve calls, as it goes back into the retrieval round.

    Other calls are dropped from this intermediate turn (they would have no
    results); the model makes them again in its next reply.
    """
    calls = retrieve_calls(message)
    ids = {call.get("id") for call in calls}
    content: Any = message.content
    if isinstance(content, list):
        content = [
            block
            for block in content
            if not (
                isinstance(block, dict)
                and block.get("type") in ("tool_use", "function_call", "tool_call")
                and block.get("id", block.get("call_id")) not in ids
            )
        ]
    raw = message.additional_kwargs.get("tool_calls")
    kwargs = dict(message.additional_kwargs)
    if isinstance(raw, list):
        kwargs["tool_calls"] = [c for c in raw if isinstance(c, dict) and c.get("id") in ids]
    return AIMessage(
        content=content,
        additional_kwargs=kwargs,
        response_metadata=dict(message.response_metadata),
        id=message.id,
        tool_calls=calls,
    )


def answer_retrieve_calls(
    calls: Sequence[ToolCall], store: CCRStore | None = None
) -> list[ToolMessage]:
    """One `ToolMessage` per call with the original (or an error text the model can read)."""
    return [
        ToolMessage(
            content=handle_retrieve_call(dict(call.get("args") or {}), store=store),
            tool_call_id=str(call.get("id")),
            name=RETRIEVE_TOOL_NAME,
        )
        for call in calls
    ]
