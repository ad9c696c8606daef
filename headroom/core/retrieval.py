"""Finding and answering ``headroom_retrieve`` calls in provider payloads.

When compression left markers, an integration offers the tool to the model; if
the model calls it, the integration looks the original up, appends the call and
its answer, and asks the model again. The caller only ever sees the final
answer. One small adapter per wire format (OpenAI chat, Anthropic messages,
OpenAI Responses), framework-free so every integration shares it; the loop
itself is `headroom.core.retrieve_loop`. A framework adapter (LangChain)
implements the same `RetrieveAdapter` over its own objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headroom.core.ccr import (
    is_retrieve_name,
    parse_retrieve_arguments,
    retrieve_tool_anthropic,
    retrieve_tool_openai,
)

__all__ = [
    "RETRIEVE_ADAPTERS",
    "ObjectAdapter",
    "RetrieveAdapter",
    "RetrieveCall",
    "RoundsSummary",
    "add_usage",
    "as_json",
    "is_retrieve_name",
]


@dataclass(frozen=True)
class RetrieveCall:
    """One ``headroom_retrieve`` call found in a model response."""

    id: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class RoundsSummary:
    """What the retrieval rounds before the final model call amounted to."""

    rounds: int = 0
    usage: dict[str, Any] | None = None  # summed usage of those rounds, wire-format keys


def add_usage(a: Any, b: Any) -> Any:
    """Two usage records summed field by field (nested dicts too); None counts as nothing."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: add_usage(a.get(k), b.get(k)) for k in {**a, **b}}
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return a + b
    return b


def _tool_list(body: dict[str, Any]) -> list[Any] | None:
    tools = body.get("tools")
    return tools if isinstance(tools, list) else None


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
    """Offer the tool, find its calls, and build the follow-up request, for one API.

    The three abstract methods are the wire format; the others have defaults for
    JSON payloads whose tools sit in ``body["tools"]`` and usage in
    ``response["usage"]``. A framework adapter overrides them for its objects.
    """

    @abstractmethod
    def add_tool(self, body: Any) -> Any:
        """`body` with the ``headroom_retrieve`` tool added (once)."""

    @abstractmethod
    def calls(self, response: Any) -> list[RetrieveCall]:
        """The ``headroom_retrieve`` calls in a (JSON) model response."""

    @abstractmethod
    def follow_up(self, body: Any, response: Any, answers: list[tuple[RetrieveCall, str]]) -> Any:
        """`body` extended by the model's retrieve calls and their answers."""

    def tool_name(self, tool: Any) -> object:
        """The name of one entry of ``body["tools"]``."""
        return _flat_tool_name(tool)

    def can_offer(self, body: Any) -> bool:
        """Whether Headroom may offer the tool: not when the caller defines one of that name.

        A caller's own ``headroom_retrieve`` is theirs to answer; so are tools
        Headroom cannot extend (not a list).
        """
        if not isinstance(body, dict) or "tools" not in body or body["tools"] is None:
            return True
        tools = _tool_list(body)
        return tools is not None and not any(is_retrieve_name(self.tool_name(t)) for t in tools)

    def withdraw_tool(self, body: Any) -> Any:
        """`body` for the last call of a loop: the retrieve tool no longer offered."""
        tools = _tool_list(body) if isinstance(body, dict) else None
        if tools is None:
            return body
        kept = [t for t in tools if not is_retrieve_name(self.tool_name(t))]
        if kept:
            return {**body, "tools": kept}
        return {k: v for k, v in body.items() if k not in _TOOL_KEYS}

    def drop_calls(self, response: Any, calls: list[RetrieveCall]) -> Any:
        """`response` without `calls` (made after the tool was withdrawn); as is by default."""
        return response

    def drop_stream_calls(self, events: list[Any], calls: list[RetrieveCall]) -> list[Any]:
        """`drop_calls` for a round's stream events; as they are by default."""
        return events

    def usage(self, response: Any) -> dict[str, Any] | None:
        """The usage record of one response, if it has one."""
        usage = response.get("usage") if isinstance(response, dict) else None
        return usage if isinstance(usage, dict) else None

    def finish(self, response: Any, summary: RoundsSummary) -> Any:
        """The final response with the earlier rounds' usage added in."""
        usage = self.usage(response)
        if summary.usage is None or not isinstance(response, dict):
            return response
        return {**response, "usage": add_usage(summary.usage, usage)}

    def merge_stream(self, events: list[Any]) -> Any:
        """The response a round's stream events add up to."""
        raise NotImplementedError(f"{type(self).__name__} does not merge streams")

    def stream_finisher(self, summary: RoundsSummary) -> Callable[[Any], Any]:
        """A function applied to each event of the final round, in order.

        The default adds the earlier rounds' usage to the first event that
        reports usage.
        """
        pending = [summary.usage]

        def finish(event: Any) -> Any:
            if pending[0] is None or not isinstance(event, dict):
                return event
            updated = self._stream_usage(event, pending[0])
            if updated is not event:
                pending[0] = None
            return updated

        return finish

    def _stream_usage(self, event: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
        if isinstance(event.get("usage"), dict):
            return {**event, "usage": add_usage(usage, event["usage"])}
        return event


#: Request keys that only make sense while tools are offered.
_TOOL_KEYS = frozenset({"tools", "tool_choice", "parallel_tool_calls"})


class _OpenAIChat(RetrieveAdapter):
    def tool_name(self, tool: Any) -> object:
        return _openai_tool_name(tool)

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
        tools = _tool_list(body) if isinstance(body, dict) else None
        if tools is not None and not any(not is_retrieve_name(_flat_tool_name(t)) for t in tools):
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


RETRIEVE_ADAPTERS: dict[str, RetrieveAdapter] = {
    "openai_chat": _OpenAIChat(),
    "anthropic_messages": _AnthropicMessages(),
    "openai_responses": _OpenAIResponses(),
}


def as_json(obj: Any) -> Any:
    """SDK objects (pydantic models, and dicts or lists of them) as plain JSON values."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return as_json(dump(exclude_none=True))
    if isinstance(obj, dict):
        return {str(k): as_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [as_json(v) for v in obj]
    return obj


class ObjectAdapter(RetrieveAdapter):
    """A wire format's adapter over an SDK's response objects (read as their JSON).

    Requests stay dicts. The caller gets the SDK's own final object; `drop`,
    when given, removes the retrieve calls a model made after the tool was
    withdrawn (an SDK-specific edit), and `finish` is left to subclasses.
    """

    def __init__(
        self, inner: RetrieveAdapter | str, drop: Callable[[Any], Any] | None = None
    ) -> None:
        self.inner = RETRIEVE_ADAPTERS[inner] if isinstance(inner, str) else inner
        self.drop = drop

    def tool_name(self, tool: Any) -> object:
        return self.inner.tool_name(tool)

    def add_tool(self, body: Any) -> Any:
        return self.inner.add_tool(body)

    def can_offer(self, body: Any) -> bool:
        return self.inner.can_offer(body)

    def withdraw_tool(self, body: Any) -> Any:
        return self.inner.withdraw_tool(body)

    def calls(self, response: Any) -> list[RetrieveCall]:
        return self.inner.calls(as_json(response))

    def follow_up(self, body: Any, response: Any, answers: list[tuple[RetrieveCall, str]]) -> Any:
        return self.inner.follow_up(body, as_json(response), answers)

    def usage(self, response: Any) -> dict[str, Any] | None:
        return self.inner.usage(as_json(response))

    def drop_calls(self, response: Any, calls: list[RetrieveCall]) -> Any:
        return self.drop(response) if self.drop is not None and calls else response
