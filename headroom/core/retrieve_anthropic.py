"""The retrieve adapter for Anthropic messages: calls are ``tool_use`` blocks,
answers ``tool_result`` blocks in a user turn; streams are typed block events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headroom.core.ccr import is_retrieve_name, parse_retrieve_arguments, retrieve_tool_anthropic
from headroom.core.retrieve_adapter import (
    RetrieveAdapter,
    RetrieveCall,
    RoundsSummary,
    add_usage,
    flat_tool_name,
    tool_list,
    with_tool,
)

__all__ = ["AnthropicMessages"]


class AnthropicMessages(RetrieveAdapter):
    """Anthropic messages: requests, responses and their stream events."""

    def add_tool(self, body: dict[str, Any]) -> dict[str, Any]:
        return with_tool(body, retrieve_tool_anthropic(), flat_tool_name)

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

    def drop_calls(self, response: Any, calls: list[RetrieveCall]) -> Any:
        ids = {call.id for call in calls}
        content = [b for b in response.get("content") or [] if b.get("id") not in ids]
        stop = response.get("stop_reason")
        if stop == "tool_use" and not any(b.get("type") == "tool_use" for b in content):
            stop = "end_turn"
        return {**response, "content": content, "stop_reason": stop}

    def drop_stream_calls(self, events: list[Any], calls: list[RetrieveCall]) -> list[Any]:
        ids = {call.id for call in calls}
        dropped = {
            e.get("index")
            for e in events
            if e.get("type") == "content_block_start"
            and (e.get("content_block") or {}).get("id") in ids
        }
        kept_tool_use = any(
            e.get("type") == "content_block_start"
            and (e.get("content_block") or {}).get("type") == "tool_use"
            and e.get("index") not in dropped
            for e in events
        )
        # clients collect blocks by position: renumber the ones that stay
        starts = sorted({e["index"] for e in events if e.get("type") == "content_block_start"})
        renumber = {old: new for new, old in enumerate(i for i in starts if i not in dropped)}
        out = []
        for event in events:
            if "index" in event and event.get("type", "").startswith("content_block"):
                if event["index"] in dropped:
                    continue
                event = {**event, "index": renumber.get(event["index"], event["index"])}
            delta = event.get("delta")
            if (
                event.get("type") == "message_delta"
                and isinstance(delta, dict)
                and delta.get("stop_reason") == "tool_use"
                and not kept_tool_use
            ):
                event = {**event, "delta": {**delta, "stop_reason": "end_turn"}}
            out.append(event)
        return out

    def withdraw_tool(self, body: Any) -> Any:
        # Anthropic rejects tool_use blocks in a request that defines no tools:
        # when ours was the only one, keep it and forbid tool use instead.
        tools = tool_list(body) if isinstance(body, dict) else None
        if tools is not None and not any(not is_retrieve_name(flat_tool_name(t)) for t in tools):
            return {**body, "tool_choice": {"type": "none"}}
        return super().withdraw_tool(body)

    def merge_stream(self, events: list[Any]) -> Any:
        message: dict[str, Any] = {}
        blocks: dict[int, dict[str, Any]] = {}
        partial: dict[int, str] = {}
        for event in events:
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "message_start":
                message = dict(event.get("message") or {})
            elif kind == "content_block_start":
                blocks[int(event.get("index", len(blocks)))] = dict(
                    event.get("content_block") or {}
                )
            elif kind == "content_block_delta":
                index, delta = int(event.get("index", 0)), event.get("delta") or {}
                block = blocks.setdefault(index, {"type": "text", "text": ""})
                if delta.get("type") == "text_delta":
                    block["text"] = block.get("text", "") + str(delta.get("text", ""))
                elif delta.get("type") == "input_json_delta":
                    partial[index] = partial.get(index, "") + str(delta.get("partial_json", ""))
            elif kind == "message_delta":
                message.update(event.get("delta") or {})
                if isinstance(event.get("usage"), dict):
                    message["usage"] = {**(message.get("usage") or {}), **event["usage"]}
        for index, raw in partial.items():
            blocks[index]["input"] = parse_retrieve_arguments(raw)
        return {**message, "content": [blocks[i] for i in sorted(blocks)]}

    def _stream_usage(self, event: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
        # Clients take message_start's usage and overwrite it with message_delta's
        # fields: add the earlier rounds to both.
        if event.get("type") == "message_start" and isinstance(event.get("message"), dict):
            inner = event["message"]
            return {**event, "message": {**inner, "usage": add_usage(usage, inner.get("usage"))}}
        if event.get("type") == "message_delta" and isinstance(event.get("usage"), dict):
            own = event["usage"]
            return {**event, "usage": {k: add_usage(usage.get(k), v) for k, v in own.items()}}
        return event

    def stream_finisher(self, summary: RoundsSummary) -> Callable[[Any], Any]:
        usage = summary.usage
        if usage is None:
            return lambda event: event
        return lambda event: self._stream_usage(event, usage) if isinstance(event, dict) else event
