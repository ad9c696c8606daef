"""LangChain's side of the core retrieve loop: requests, replies and chunks.

`ChatRetrieveAdapter` is a `RetrieveAdapter` over LangChain objects: a request
is the messages plus the call's keyword arguments, a reply is a `ChatResult`
(or a merged stream), an event is a `ChatGenerationChunk`. The loop itself,
with its rules, is `headroom.core.retrieve_loop`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import reduce
from operator import add
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ToolMessage,
    message_chunk_to_message,
)
from langchain_core.messages.ai import add_usage as lc_add_usage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from headroom.core.ccr import is_retrieve_name, parse_retrieve_arguments
from headroom.core.retrieve_adapter import RetrieveAdapter, RetrieveCall, RoundsSummary

__all__ = [
    "ChatRequest",
    "ChatRetrieveAdapter",
    "as_chunk",
    "natively_streams",
    "tool_name",
    "with_stats",
]


_M = TypeVar("_M", bound=BaseMessage)


@dataclass(frozen=True)
class ChatRequest:
    """One model call: the messages and the keyword arguments it goes with."""

    messages: list[BaseMessage]
    kwargs: dict[str, Any]


def natively_streams(model: BaseChatModel, async_api: bool) -> bool:
    """Whether `model` implements streaming itself (else it answers in one piece)."""
    sync = type(model)._stream is not BaseChatModel._stream
    if not async_api:
        return sync
    return sync or type(model)._astream is not BaseChatModel._astream


def as_chunk(generation: ChatGeneration) -> ChatGenerationChunk:
    """A whole reply as one stream chunk (for a wrapped model that cannot stream)."""
    message = generation.message
    calls = message.tool_calls if isinstance(message, AIMessage) else []
    chunk = AIMessageChunk(
        content=message.content,
        additional_kwargs=dict(message.additional_kwargs),
        response_metadata=dict(message.response_metadata),
        id=message.id,
        name=message.name,
        usage_metadata=message.usage_metadata if isinstance(message, AIMessage) else None,
        tool_call_chunks=[
            tool_call_chunk(
                name=call["name"],
                args=json.dumps(call.get("args", {}), ensure_ascii=False),
                id=call.get("id"),
                index=i,
            )
            for i, call in enumerate(calls)
        ],
        chunk_position="last",
    )
    return ChatGenerationChunk(message=chunk, generation_info=generation.generation_info)


def with_stats(message: _M, stats: dict[str, Any], usage: Any = None) -> _M:
    """A copy of a reply with the stats and, added to its own, the earlier rounds' usage."""
    update: dict[str, Any] = {"response_metadata": {**message.response_metadata, "headroom": stats}}
    if usage is not None and isinstance(message, AIMessage):
        update["usage_metadata"] = lc_add_usage(usage, message.usage_metadata)
    return message.model_copy(update=update)


def tool_name(tool: Any) -> object:
    """The name of a tool as a model's `bind_tools` formats it (OpenAI or flat shape)."""
    if not isinstance(tool, dict):
        return getattr(tool, "name", None)
    function = tool.get("function")
    return function.get("name") if isinstance(function, dict) else tool.get("name")


def _reply(response: Any) -> BaseMessage:
    if isinstance(response, ChatResult):
        return response.generations[0].message
    return response if isinstance(response, BaseMessage) else AIMessage(content="")


_CALL_BLOCKS = ("tool_use", "function_call", "tool_call", "tool_call_chunk", "input_json_delta")
#: What a provider reports when a reply ends in tool calls, and what it reports otherwise.
_ENDED_BY_CALLS = {"tool_calls": "stop", "tool_use": "end_turn"}


def _block_id(block: Any) -> Any:
    return block.get("id", block.get("call_id")) if isinstance(block, dict) else None


def _parts(message: Any, drop: Callable[[Any], bool], calls_left: bool) -> dict[str, Any]:
    """The fields of a reply (or chunk) without the call parts `drop` picks.

    If no call is left, the finish reason says the model stopped, as a
    provider reports a reply without calls.
    """
    content: Any = message.content
    if isinstance(content, list):
        content = [
            b
            for b in content
            if not (isinstance(b, dict) and b.get("type") in _CALL_BLOCKS and drop(b))
        ]
    extra = dict(message.additional_kwargs)
    if isinstance(extra.get("tool_calls"), list):
        extra["tool_calls"] = [
            c for c in extra["tool_calls"] if isinstance(c, dict) and not drop(c)
        ]
    metadata = dict(message.response_metadata)
    for key in ("finish_reason", "stop_reason"):
        if not calls_left and metadata.get(key) in _ENDED_BY_CALLS:
            metadata[key] = _ENDED_BY_CALLS[metadata[key]]
    return {
        "content": content,
        "additional_kwargs": extra,
        "response_metadata": metadata,
        "id": message.id,
        "usage_metadata": message.usage_metadata,
    }


def _with_calls(message: AIMessage, ids: set[str], keep: bool) -> AIMessage:
    """The reply with only (`keep`) or without the calls in `ids`.

    Only its retrieve calls go back into the next round (other calls would have
    no results; the model makes them again); a stray retrieve call made after
    the tool was withdrawn is removed before the caller sees the reply.
    """

    def drop(call: Any) -> bool:
        return (_block_id(call) in ids) is not keep

    calls = [c for c in message.tool_calls if not drop(c)]
    return AIMessage(
        **_parts(message, drop, bool(calls)),
        name=message.name,
        tool_calls=calls,
        invalid_tool_calls=message.invalid_tool_calls,
    )


def _chunk_without(chunk: ChatGenerationChunk, dropped: set[Any], calls_left: bool) -> Any:
    """A stream chunk without the call fragments whose index is in `dropped`."""
    message = chunk.message
    if not isinstance(message, AIMessageChunk):
        return chunk

    def drop(part: Any) -> bool:
        return part.get("index") in dropped

    filtered = AIMessageChunk(
        **_parts(message, drop, calls_left),
        tool_call_chunks=[c for c in message.tool_call_chunks if not drop(c)],
        chunk_position=message.chunk_position,
    )
    return ChatGenerationChunk(message=filtered, generation_info=chunk.generation_info)


class ChatRetrieveAdapter(RetrieveAdapter):
    """The retrieve loop's wire format for one LangChain call.

    Args:
        tools: ``headroom_retrieve`` as the wrapped model's `bind_tools` formats it.
        stats: The per-call record for ``response_metadata["headroom"]``.
    """

    def __init__(self, tools: list[Any], stats: dict[str, Any]) -> None:
        self.tools = tools
        self.stats = stats

    def can_offer(self, body: Any) -> bool:
        return True  # decided before compression, from the caller's own tools

    def add_tool(self, body: Any) -> Any:
        existing = list(body.kwargs.get("tools") or [])
        if any(self._is_ours(t) for t in existing):
            return body
        return replace(body, kwargs={**body.kwargs, "tools": [*existing, *self.tools]})

    def withdraw_tool(self, body: Any) -> Any:
        kept = [t for t in body.kwargs.get("tools") or [] if not self._is_ours(t)]
        gone = ("tools",) if kept else ("tools", "tool_choice")  # no choice without tools
        kwargs = {k: v for k, v in body.kwargs.items() if k not in gone}
        return replace(body, kwargs={**kwargs, "tools": kept} if kept else kwargs)

    def _is_ours(self, tool: Any) -> bool:
        return tool in self.tools  # exactly what `add_tool` added: a caller's tool stays

    def calls(self, response: Any) -> list[RetrieveCall]:
        reply = _reply(response)
        if not isinstance(reply, AIMessage):
            return []
        return [
            RetrieveCall(str(call.get("id")), parse_retrieve_arguments(call.get("args")))
            for call in reply.tool_calls
            if is_retrieve_name(call["name"])
        ]

    def follow_up(self, body: Any, response: Any, answers: list[tuple[RetrieveCall, str]]) -> Any:
        reply = _reply(response)
        assert isinstance(reply, AIMessage)  # calls() found retrieve calls in it
        ids = {call.id for call, _ in answers}
        names = {c["id"]: c["name"] for c in reply.tool_calls if c.get("id") in ids}
        results = [
            ToolMessage(content=text, tool_call_id=call.id, name=names.get(call.id))
            for call, text in answers
        ]
        return replace(body, messages=[*body.messages, _with_calls(reply, ids, True), *results])

    def drop_calls(self, response: Any, calls: list[RetrieveCall]) -> Any:
        ids = {call.id for call in calls}
        for generation in response.generations:
            if isinstance(generation.message, AIMessage):
                generation.message = _with_calls(generation.message, ids, False)
        return response

    def drop_stream_calls(self, events: list[Any], calls: list[RetrieveCall]) -> list[Any]:
        ids = {call.id for call in calls}
        dropped = {
            c.get("index")
            for e in events
            if isinstance(e.message, AIMessageChunk)
            for c in e.message.tool_call_chunks
            if c.get("id") in ids
        }
        merged = self.merge_stream(events)
        calls_left = any(c.get("id") not in ids for c in getattr(merged, "tool_calls", []))
        return [_chunk_without(e, dropped, calls_left) for e in events]

    def usage(self, response: Any) -> dict[str, Any] | None:
        reply = _reply(response)
        usage = reply.usage_metadata if isinstance(reply, AIMessage) else None
        return dict(usage) if usage else None

    def _stats(self, summary: RoundsSummary) -> dict[str, Any]:
        return {**self.stats, "retrieval_rounds": summary.rounds}

    def finish(self, response: Any, summary: RoundsSummary) -> Any:
        stats = self._stats(summary)
        for generation in response.generations:
            # a copy: the wrapped model's cache may hold this very message
            generation.message = with_stats(generation.message, stats, summary.usage)
        response.llm_output = {**(response.llm_output or {}), "headroom": stats}
        return response

    def merge_stream(self, events: list[Any]) -> Any:
        if not events:
            return AIMessage(content="")
        return message_chunk_to_message(reduce(add, (e.message for e in events)))

    def stream_finisher(self, summary: RoundsSummary) -> Callable[[Any], Any]:
        """The stats (and the earlier rounds' usage) ride on the first chunk shown."""
        pending = [True]

        def finish(chunk: Any) -> Any:
            if not pending[0]:
                return chunk
            pending[0] = False
            chunk.message = with_stats(chunk.message, self._stats(summary), summary.usage)
            return chunk

        return finish
