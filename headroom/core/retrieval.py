"""Finding and answering ``headroom_retrieve`` calls in provider payloads.

When compression left markers, an integration offers the tool to the model; if
the model calls it, the integration looks the original up, appends the call and
its answer, and asks the model again. The caller only ever sees the final
answer. One small adapter per wire format (OpenAI chat, Anthropic messages,
OpenAI Responses), framework-free so every integration shares it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headroom.core.ccr import (
    RETRIEVE_TOOL_NAME,
    parse_retrieve_arguments,
    retrieve_tool_anthropic,
    retrieve_tool_openai,
)

__all__ = ["RETRIEVE_ADAPTERS", "RetrieveAdapter", "RetrieveCall", "is_retrieve_name"]


@dataclass(frozen=True)
class RetrieveCall:
    """One ``headroom_retrieve`` call found in a model response."""

    id: str
    arguments: dict[str, Any]


def is_retrieve_name(name: object) -> bool:
    """Whether a tool name is ``headroom_retrieve`` (also behind an MCP ``server__`` prefix)."""
    return isinstance(name, str) and (
        name == RETRIEVE_TOOL_NAME or name.endswith(f"__{RETRIEVE_TOOL_NAME}")
    )


def _with_tool(
    body: dict[str, Any], tool: dict[str, Any], name_of: Callable[[Any], object]
) -> dict[str, Any]:
    tools = body.get("tools")
    if tools is None:
        return {**body, "tools": [tool]}
    if not isinstance(tools, list) or any(is_retrieve_name(name_of(t)) for t in tools):
        return body
    return {**body, "tools": [*tools, tool]}


def _openai_tool_name(tool: Any) -> object:
    return tool.get("function", {}).get("name") if isinstance(tool, dict) else None


def _flat_tool_name(tool: Any) -> object:
    return tool.get("name") if isinstance(tool, dict) else None


class RetrieveAdapter(ABC):
    """Offer the tool, find its calls, and build the follow-up request, for one API."""

    @abstractmethod
    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with the ``headroom_retrieve`` tool added (once)."""

    @abstractmethod
    def calls(self, response: Any) -> list[RetrieveCall]:
        """The ``headroom_retrieve`` calls in a (JSON) model response."""

    @abstractmethod
    def follow_up(
        self, body: dict[str, Any], response: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        """`body` extended by the model's retrieve calls and their answers."""


class _OpenAIChat(RetrieveAdapter):
    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        return _with_tool(body, retrieve_tool_openai(), _openai_tool_name)

    def _message(self, response: Any) -> dict[str, Any]:
        choices = response.get("choices") if isinstance(response, dict) else None
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict):
                return message
        return {}

    def calls(self, response: Any) -> list[RetrieveCall]:
        found = []
        for call in self._message(response).get("tool_calls") or []:
            if isinstance(call, dict) and is_retrieve_name(call.get("function", {}).get("name")):
                found.append(
                    RetrieveCall(
                        str(call.get("id")),
                        parse_retrieve_arguments(call["function"].get("arguments")),
                    )
                )
        return found

    def follow_up(
        self, body: dict[str, Any], response: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        message = self._message(response)
        # Only the retrieve calls are echoed: each gets its answer below, and the
        # model re-plans any other call it made once it has read the original.
        ids = {call.id for call, _ in answers}
        assistant = {
            "role": "assistant",
            "content": message.get("content"),
            "tool_calls": [
                c
                for c in message.get("tool_calls") or []
                if isinstance(c, dict) and c.get("id") in ids
            ],
        }
        tools = [
            {"role": "tool", "tool_call_id": call.id, "content": text} for call, text in answers
        ]
        return {**body, "messages": [*body.get("messages", []), assistant, *tools]}


class _AnthropicMessages(RetrieveAdapter):
    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        return _with_tool(body, retrieve_tool_anthropic(), _flat_tool_name)

    def calls(self, response: Any) -> list[RetrieveCall]:
        content = response.get("content") if isinstance(response, dict) else None
        return [
            RetrieveCall(str(block.get("id")), parse_retrieve_arguments(block.get("input")))
            for block in content or []
            if isinstance(block, dict)
            and block.get("type") == "tool_use"
            and is_retrieve_name(block.get("name"))
        ]

    def follow_up(
        self, body: dict[str, Any], response: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        ids = {call.id for call, _ in answers}
        kept = [
            block
            for block in response.get("content", [])
            if not (
                isinstance(block, dict)
                and block.get("type") == "tool_use"
                and block.get("id") not in ids
            )
        ]
        results = [
            {"type": "tool_result", "tool_use_id": call.id, "content": text}
            for call, text in answers
        ]
        turns = [{"role": "assistant", "content": kept}, {"role": "user", "content": results}]
        return {**body, "messages": [*body.get("messages", []), *turns]}


class _OpenAIResponses(RetrieveAdapter):
    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        fn = retrieve_tool_openai()["function"]
        return _with_tool(body, {"type": "function", **fn}, _flat_tool_name)

    def calls(self, response: Any) -> list[RetrieveCall]:
        output = response.get("output") if isinstance(response, dict) else None
        return [
            RetrieveCall(str(item.get("call_id")), parse_retrieve_arguments(item.get("arguments")))
            for item in output or []
            if isinstance(item, dict)
            and item.get("type") == "function_call"
            and is_retrieve_name(item.get("name"))
        ]

    def follow_up(
        self, body: dict[str, Any], response: Any, answers: list[tuple[RetrieveCall, str]]
    ) -> dict[str, Any]:
        ids = {call.id for call, _ in answers}
        previous = body.get("input")
        items: list[Any] = (
            [{"role": "user", "content": previous}]
            if isinstance(previous, str)
            else list(previous or [])
        )
        for item in response.get("output", []):
            if (
                isinstance(item, dict)
                and item.get("type") == "function_call"
                and item.get("call_id") not in ids
            ):
                continue
            items.append(item)
        items.extend(
            {"type": "function_call_output", "call_id": call.id, "output": text}
            for call, text in answers
        )
        return {**body, "input": items}


RETRIEVE_ADAPTERS: dict[str, RetrieveAdapter] = {
    "openai_chat": _OpenAIChat(),
    "anthropic_messages": _AnthropicMessages(),
    "openai_responses": _OpenAIResponses(),
}
