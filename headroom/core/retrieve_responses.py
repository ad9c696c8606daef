"""The retrieve adapter for OpenAI Responses: calls are ``function_call`` output
items, answers ``function_call_output`` input items; a stream ends with the whole
response."""

from __future__ import annotations

from typing import Any

from headroom.core.ccr import is_retrieve_name, parse_retrieve_arguments, retrieve_tool_openai
from headroom.core.retrieve_adapter import (
    RetrieveAdapter,
    RetrieveCall,
    add_usage,
    flat_tool_name,
    with_tool,
)

__all__ = ["OpenAIResponses"]


class OpenAIResponses(RetrieveAdapter):
    """OpenAI Responses: requests, responses and their stream events."""

    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        fn = retrieve_tool_openai()["function"]
        return with_tool(body, {"type": "function", **fn}, flat_tool_name)

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

    def drop_calls(self, response: Any, calls: list[RetrieveCall]) -> Any:
        ids = {call.id for call in calls}
        output = [
            item
            for item in response.get("output") or []
            if not (item.get("type") == "function_call" and item.get("call_id") in ids)
        ]
        return {**response, "output": output}

    def merge_stream(self, events: list[Any]) -> Any:
        for event in reversed(events):
            if isinstance(event, dict) and event.get("type") in _RESPONSES_DONE:
                return event.get("response") or {}
        return {}

    def _stream_usage(self, event: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
        inner = event.get("response")
        if event.get("type") in _RESPONSES_DONE and isinstance(inner, dict):
            return {**event, "response": {**inner, "usage": add_usage(usage, inner.get("usage"))}}
        return event


#: The Responses stream events that carry the whole response.
_RESPONSES_DONE = frozenset({"response.completed", "response.incomplete"})
