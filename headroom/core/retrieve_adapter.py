"""The interface every wire format implements to take part in the retrieve loop.

`RetrieveAdapter` offers the ``headroom_retrieve`` tool, finds its calls and
builds the follow-up request; its defaults cover JSON payloads with tools in
``body["tools"]`` and usage in ``response["usage"]``, so a format only writes
what differs. The small helpers here are shared by every format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headroom.core.ccr import is_retrieve_name

__all__ = [
    "RetrieveAdapter",
    "RetrieveCall",
    "RoundsSummary",
    "add_usage",
    "flat_tool_name",
    "openai_tool_name",
    "tool_list",
    "with_tool",
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


def tool_list(body: dict[str, Any]) -> list[Any] | None:
    """``body["tools"]`` when it is a list Headroom can extend, else None."""
    tools = body.get("tools")
    return tools if isinstance(tools, list) else None


def with_tool(
    body: dict[str, Any], tool: dict[str, Any], name_of: Callable[[Any], object]
) -> dict[str, Any]:
    """`body` with the retrieve `tool` appended, unless one is there or tools is no list."""
    tools = body.get("tools")
    if tools is None:
        return {**body, "tools": [tool]}
    if not isinstance(tools, list) or any(is_retrieve_name(name_of(t)) for t in tools):
        return body
    return {**body, "tools": [*tools, tool]}


def openai_tool_name(tool: Any) -> object:
    """The name of a chat-completions tool entry (nested under ``function``)."""
    return tool.get("function", {}).get("name") if isinstance(tool, dict) else None


def flat_tool_name(tool: Any) -> object:
    """The name of an Anthropic or Responses tool entry (at the top level)."""
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
        return flat_tool_name(tool)

    def can_offer(self, body: Any) -> bool:
        """Whether Headroom may offer the tool: not when the caller defines one of that name.

        A caller's own ``headroom_retrieve`` is theirs to answer; so are tools
        Headroom cannot extend (not a list).
        """
        if not isinstance(body, dict) or "tools" not in body or body["tools"] is None:
            return True
        tools = tool_list(body)
        return tools is not None and not any(is_retrieve_name(self.tool_name(t)) for t in tools)

    def withdraw_tool(self, body: Any) -> Any:
        """`body` for the last call of a loop: the retrieve tool no longer offered."""
        tools = tool_list(body) if isinstance(body, dict) else None
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
