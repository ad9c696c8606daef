"""`HeadroomMiddleware`: compression for LangChain v1 `create_agent`.

The middleware compresses each model request on its way to the model; the
graph state keeps the original messages, so checkpoints, tools and later
middleware see exactly what the agent produced. With `retrieve_tool=True`
(the default) it registers `headroom_retrieve`, so the agent's own tool node
answers the model when it asks for a stubbed original.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage

from headroom import CCRStore, CompressConfig, CompressionHooks
from headroom.core.counters import Counters
from headroom.integrations.langchain import ccr
from headroom.integrations.langchain.calls import is_large
from headroom.integrations.langchain.compression import (
    DEFAULT_CONFIG,
    Compressed,
    compress_messages,
    model_name_of,
)
from headroom.integrations.langchain.streaming import with_stats

try:
    from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
    from langchain.agents.middleware.types import ExtendedModelResponse
except ImportError as exc:
    raise ImportError(
        "HeadroomMiddleware needs LangChain v1 (langchain>=1.0): pip install 'headroom[langchain]'"
    ) from exc

__all__ = ["HeadroomMiddleware"]

_Result = ModelResponse | AIMessage | ExtendedModelResponse


class HeadroomMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """Compress every model call of a `create_agent` agent.

    Example:
        ```python
        from langchain.agents import create_agent
        from headroom.integrations.langchain import HeadroomMiddleware

        agent = create_agent("openai:gpt-4o", tools, middleware=[HeadroomMiddleware()])
        ```

    Args:
        model: Model name for token counting; the request's model name if None.
        config: Compression settings (the system prompt is kept byte for byte
            by default).
        hooks: `CompressionHooks` to steer or observe compression.
        store: CCR store for originals; the process default if None.
        model_limit: Context window to fit into; the model's known window if None.
        retrieve_tool: Register the `headroom_retrieve` tool with the agent. Off:
            markers only say what was left out, naming no call.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        config: CompressConfig | None = None,
        hooks: CompressionHooks | None = None,
        store: CCRStore | None = None,
        model_limit: int | None = None,
        retrieve_tool: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        # without the tool, markers must not tell the model to call it
        self.config = (
            config if retrieve_tool else (config or DEFAULT_CONFIG).replace(markers_name_tool=False)
        )
        self.hooks = hooks
        self.store = store
        self.model_limit = model_limit
        self.tools = [ccr.retrieve_tool(store)] if retrieve_tool else []
        self._totals = Counters("tokens_saved")

    @property
    def total_tokens_saved(self) -> int:
        """Input tokens saved by every model call so far."""
        return self._totals.snapshot()["tokens_saved"]

    def wrap_model_call(
        self,
        request: ModelRequest,  # type: ignore[type-arg]
        handler: Callable[[ModelRequest], ModelResponse],  # type: ignore[type-arg]
    ) -> _Result:
        compressed_request, compressed = self._compress(request)
        return _annotate(handler(compressed_request), compressed)

    async def awrap_model_call(
        self,
        request: ModelRequest,  # type: ignore[type-arg]
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],  # type: ignore[type-arg]
    ) -> _Result:
        if not is_large(request.messages):
            compressed_request, compressed = self._compress(request)
        else:  # a large request: compress off the event loop
            compressed_request, compressed = await asyncio.to_thread(self._compress, request)
        return _annotate(await handler(compressed_request), compressed)

    def _compress(self, request: ModelRequest) -> tuple[ModelRequest, Compressed]:  # type: ignore[type-arg]
        system: list[BaseMessage] = [request.system_message] if request.system_message else []
        compressed = compress_messages(
            [*system, *request.messages],
            model=self.model or model_name_of(request.model),
            config=self.config,
            hooks=self.hooks,
            store=self.store,
            model_limit=self.model_limit,
        )
        self._totals.add({"tokens_saved": compressed.tokens_saved})
        out = compressed.messages
        new_system = out[0] if system else None
        overrides: dict[str, Any] = {"messages": out[len(system) :]}
        if isinstance(new_system, SystemMessage) and new_system is not request.system_message:
            overrides["system_message"] = new_system
        return request.override(**overrides), compressed


def _annotate(result: _Result, compressed: Compressed) -> _Result:
    """Record the stats on the model's reply, as `HeadroomChatModel` does."""
    stats = compressed.stats()
    if isinstance(result, AIMessage):
        return with_stats(result, stats)
    if isinstance(result, ExtendedModelResponse):
        result.model_response.result = _with_all(result.model_response.result, stats)
        return result
    result.result = _with_all(result.result, stats)
    return result


def _with_all(messages: list[BaseMessage], stats: dict[str, Any]) -> list[BaseMessage]:
    return [with_stats(m, stats) if isinstance(m, AIMessage) else m for m in messages]
