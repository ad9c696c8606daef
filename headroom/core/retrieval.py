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

from collections.abc import Callable
from typing import Any

from headroom.core.retrieve_adapter import RetrieveAdapter, RetrieveCall
from headroom.core.retrieve_anthropic import AnthropicMessages
from headroom.core.retrieve_openai_chat import OpenAIChat
from headroom.core.retrieve_responses import OpenAIResponses

__all__ = ["RETRIEVE_ADAPTERS", "ObjectAdapter", "as_json"]


RETRIEVE_ADAPTERS: dict[str, RetrieveAdapter] = {
    "openai_chat": OpenAIChat(),
    "anthropic_messages": AnthropicMessages(),
    "openai_responses": OpenAIResponses(),
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
