"""LangChain messages <-> the core's OpenAI-shaped dicts.

The core rewrites only message *content* and keeps the message count and
order, so the conversion back patches the new content onto a copy of the
caller's own message: ids, names, `additional_kwargs`, `response_metadata`,
tool calls, artifacts and chunk types survive untouched by construction.
`to_core` builds the dicts itself rather than through
`langchain_core.messages.convert_to_openai_messages`, because that converter
rewrites content blocks (standard image blocks become `image_url`, unknown
blocks are dropped) and so would shift the positions the core writes back to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    ToolMessage,
    convert_to_messages,
)

__all__ = ["from_core", "role_of", "to_core"]

# LangChain message `type` -> the role the core (and OpenAI) uses.
_ROLES: dict[str, str] = {
    "human": "user",
    "HumanMessageChunk": "user",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "system": "system",
    "SystemMessageChunk": "system",
    "tool": "tool",
    "ToolMessageChunk": "tool",
    "function": "function",
    "FunctionMessageChunk": "function",
}


def role_of(message: BaseMessage) -> str:
    """The core role of a LangChain message; `TypeError` for a class it cannot place."""
    if isinstance(message, ChatMessage):  # custom roles pass through as they are
        return message.role
    role = _ROLES.get(message.type)
    if role is None:
        raise TypeError(f"Got unknown type {message!r}")
    if role == "system" and message.additional_kwargs.get("__openai_role__") == "developer":
        return "developer"
    return role


def _tool_calls(message: AIMessage) -> list[dict[str, Any]]:
    return [
        {
            "id": call.get("id"),
            "type": "function",
            "function": {
                "name": call["name"],
                "arguments": json.dumps(call.get("args", {}), ensure_ascii=False, default=str),
            },
        }
        for call in message.tool_calls
    ]


def to_core(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Core dicts for `messages`: role, content (same object), name, tool calls and ids.

    Content lists keep their positions, so a part the core rewrites maps back to
    the same part of the original message.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, BaseMessage):
            raise TypeError(f"Got unknown type {message!r}")
        item: dict[str, Any] = {"role": role_of(message), "content": message.content}
        if message.name:
            item["name"] = message.name
        if isinstance(message, AIMessage) and message.tool_calls:
            item["tool_calls"] = _tool_calls(message)
        if isinstance(message, ToolMessage):
            item["tool_call_id"] = message.tool_call_id
        if isinstance(message, FunctionMessage):
            item["name"] = message.name
        out.append(item)
    return out


def from_core(
    messages: Sequence[dict[str, Any]], originals: Sequence[BaseMessage] | None = None
) -> list[BaseMessage]:
    """LangChain messages for core dicts.

    With `originals` (the list given to `to_core`), each result is the original
    message itself when the core left its content alone, else a copy of it with
    only `content` replaced. Without, messages are built from the dicts by
    `langchain_core.messages.convert_to_messages`.

    Raises:
        ValueError: `originals` and `messages` differ in length (the core never
            adds or drops messages, so this means they do not belong together).
    """
    if originals is None:
        return list(convert_to_messages([dict(m) for m in messages]))
    if len(originals) != len(messages):
        raise ValueError(f"{len(messages)} compressed messages for {len(originals)} originals")
    out: list[BaseMessage] = []
    for original, item in zip(originals, messages, strict=True):
        content = item.get("content")
        if content is original.content or content == original.content:
            out.append(original)
        else:
            out.append(original.model_copy(update={"content": content}))
    return out
