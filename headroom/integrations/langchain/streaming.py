"""Streaming pieces of the chat model wrapper.

A wrapped model that cannot stream still yields one chunk; the fragments of a
`headroom_retrieve` call the wrapper answers itself are kept out of the stream
and out of token callbacks, so callers never see a tool they did not define.
"""

from __future__ import annotations

import json
from functools import reduce
from operator import add
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, message_chunk_to_message
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk

from headroom import RETRIEVE_TOOL_NAME

__all__ = [
    "AsyncHidingRunManager",
    "HidingRunManager",
    "RetrieveFilter",
    "as_chunk",
    "merged",
    "natively_streams",
    "rounds_chunk",
    "with_metadata",
]


def natively_streams(model: BaseChatModel, async_api: bool) -> bool:
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


class RetrieveFilter:
    """Hides streamed `headroom_retrieve` call fragments from the caller."""

    _BLOCK_TYPES = ("tool_use", "input_json_delta", "tool_call_chunk", "function_call")

    def __init__(self) -> None:
        self.indexes: set[Any] = set()

    def apply(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk | None:
        message = chunk.message
        if not isinstance(message, AIMessageChunk) or not message.tool_call_chunks:
            return chunk
        for call in message.tool_call_chunks:
            if call.get("name") == RETRIEVE_TOOL_NAME and call.get("index") is not None:
                self.indexes.add(call.get("index"))
        kept = [
            call
            for call in message.tool_call_chunks
            if call.get("name") != RETRIEVE_TOOL_NAME
            and (call.get("index") is None or call.get("index") not in self.indexes)
        ]
        if len(kept) == len(message.tool_call_chunks):
            return chunk
        content: Any = message.content
        if isinstance(content, list):
            content = [b for b in content if not self._is_retrieve_block(b)]
        extra = dict(message.additional_kwargs)
        if isinstance(extra.get("tool_calls"), list):
            extra["tool_calls"] = [
                c
                for c in extra["tool_calls"]
                if not (isinstance(c, dict) and c.get("index") in self.indexes)
            ]
        if not (
            content
            or kept
            or message.usage_metadata
            or message.response_metadata
            or message.chunk_position
        ):
            return None
        filtered = AIMessageChunk(
            content=content,
            additional_kwargs=extra,
            response_metadata=dict(message.response_metadata),
            id=message.id,
            usage_metadata=message.usage_metadata,
            tool_call_chunks=kept,
            chunk_position=message.chunk_position,
        )
        return ChatGenerationChunk(message=filtered, generation_info=chunk.generation_info)

    def _is_retrieve_block(self, block: Any) -> bool:
        return (
            isinstance(block, dict)
            and block.get("type") in self._BLOCK_TYPES
            and (block.get("name") == RETRIEVE_TOOL_NAME or block.get("index") in self.indexes)
        )


class HidingRunManager:
    """The run manager, minus streamed fragments of the retrieve calls the wrapper answers.

    Used while the wrapped model may stream under a streaming callback during
    `invoke` (LangGraph's `stream_mode="messages"`, `astream_events`).
    """

    def __init__(self, inner: CallbackManagerForLLMRun) -> None:
        self._inner = inner
        self._hide = RetrieveFilter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        shown = self._hide.apply(chunk) if isinstance(chunk, ChatGenerationChunk) else chunk
        if shown is None:
            return
        if shown is not chunk and isinstance(shown.message.content, str):
            token = shown.message.content
        self._inner.on_llm_new_token(token, chunk=shown, **kwargs)


class AsyncHidingRunManager:
    """`HidingRunManager` for the async path."""

    def __init__(self, inner: AsyncCallbackManagerForLLMRun) -> None:
        self._inner = inner
        self._hide = RetrieveFilter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        shown = self._hide.apply(chunk) if isinstance(chunk, ChatGenerationChunk) else chunk
        if shown is None:
            return
        if shown is not chunk and isinstance(shown.message.content, str):
            token = shown.message.content
        await self._inner.on_llm_new_token(token, chunk=shown, **kwargs)


def with_metadata(chunk: ChatGenerationChunk, headroom: dict[str, Any]) -> ChatGenerationChunk:
    message = chunk.message
    message.response_metadata = {**message.response_metadata, "headroom": headroom}
    return chunk


def merged(chunks: list[ChatGenerationChunk]) -> BaseMessage:
    if not chunks:
        return AIMessage(content="")
    return message_chunk_to_message(reduce(add, (c.message for c in chunks)))


def rounds_chunk(rounds: int) -> ChatGenerationChunk:
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content="", response_metadata={"headroom": {"retrieval_rounds": rounds}}
        )
    )
