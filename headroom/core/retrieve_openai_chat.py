"""The retrieve adapter for OpenAI chat completions (and the many APIs that copy it):
calls in ``choices[0].message.tool_calls``, answers as ``tool`` messages."""

from __future__ import annotations

from typing import Any

from headroom.core.ccr import is_retrieve_name, parse_retrieve_arguments, retrieve_tool_openai
from headroom.core.retrieve_adapter import (
    RetrieveAdapter,
    RetrieveCall,
    openai_tool_name,
    with_tool,
)

__all__ = ["OpenAIChat"]


class OpenAIChat(RetrieveAdapter):
    """OpenAI chat completions: requests, responses and their stream chunks."""

    def tool_name(self, tool: Any) -> object:
        return openai_tool_name(tool)

    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        return with_tool(body, retrieve_tool_openai(), openai_tool_name)

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

    def drop_calls(self, response: Any, calls: list[RetrieveCall]) -> Any:
        ids = {call.id for call in calls}
        choice = (response.get("choices") or [{}])[0]
        message = dict(self._message(response))
        kept = [c for c in message.get("tool_calls") or [] if c.get("id") not in ids]
        message.pop("tool_calls", None)
        if kept:
            message["tool_calls"] = kept
        finish = choice.get("finish_reason")
        if not kept and finish == "tool_calls":
            finish = "stop"
        return {**response, "choices": [{**choice, "message": message, "finish_reason": finish}]}

    def drop_stream_calls(self, events: list[Any], calls: list[RetrieveCall]) -> list[Any]:
        ids = {call.id for call in calls}
        dropped: set[int] = set()
        kept_any = False
        out = []
        for event in events:
            choices = []
            for choice in event.get("choices") or []:
                delta = dict(choice.get("delta") or {})
                parts = []
                for part in delta.get("tool_calls") or []:
                    if part.get("id") in ids:
                        dropped.add(part.get("index"))
                    if part.get("index") in dropped:
                        continue
                    kept_any = True
                    parts.append(part)
                if "tool_calls" in delta:
                    delta["tool_calls"] = parts
                    if not parts:
                        del delta["tool_calls"]
                choice = {**choice, "delta": delta}
                if choice.get("finish_reason") == "tool_calls" and not kept_any:
                    choice["finish_reason"] = "stop"
                choices.append(choice)
            out.append({**event, "choices": choices} if "choices" in event else event)
        return out

    def merge_stream(self, events: list[Any]) -> Any:
        head: dict[str, Any] = {}
        message: dict[str, Any] = {"role": "assistant", "content": None}
        calls: dict[int, dict[str, Any]] = {}
        finish, usage = None, None
        for event in events:
            if not isinstance(event, dict):
                continue
            for key in ("id", "model", "created", "system_fingerprint"):
                if key in event and key not in head:
                    head[key] = event[key]
            if isinstance(event.get("usage"), dict):
                usage = event["usage"]
            for choice in event.get("choices") or []:
                delta = choice.get("delta") or {}
                if isinstance(delta.get("content"), str):
                    message["content"] = (message["content"] or "") + delta["content"]
                for part in delta.get("tool_calls") or []:
                    call = calls.setdefault(
                        int(part.get("index", len(calls))),
                        {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                    )
                    call["id"] = part.get("id") or call["id"]
                    fn = part.get("function") or {}
                    call["function"]["name"] += fn.get("name") or ""
                    call["function"]["arguments"] += fn.get("arguments") or ""
                finish = choice.get("finish_reason") or finish
        if calls:
            message["tool_calls"] = [calls[i] for i in sorted(calls)]
        choice = {"index": 0, "message": message, "finish_reason": finish}
        merged = {**head, "object": "chat.completion", "choices": [choice]}
        return {**merged, "usage": usage} if usage is not None else merged
