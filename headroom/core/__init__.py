"""The framework-free engine: `compress()`, CCR, token counting, hooks."""

from __future__ import annotations

from headroom.core.ccr import (
    RETRIEVE_TOOL_NAME,
    content_hash,
    handle_retrieve_call,
    retrieve,
    retrieve_tool_anthropic,
    retrieve_tool_openai,
)
from headroom.core.compress import compress
from headroom.core.config import CompressConfig
from headroom.core.hooks import CompressContext, CompressEvent, CompressionHooks
from headroom.core.result import CompressionResult
from headroom.core.store import (
    CCRStore,
    InMemoryStore,
    ScopedStore,
    get_default_store,
    set_default_store,
)
from headroom.core.tokens import TokenCounter, counter_for_model

__all__ = [
    "RETRIEVE_TOOL_NAME",
    "CCRStore",
    "CompressConfig",
    "CompressContext",
    "CompressEvent",
    "CompressionHooks",
    "CompressionResult",
    "InMemoryStore",
    "ScopedStore",
    "TokenCounter",
    "compress",
    "content_hash",
    "counter_for_model",
    "get_default_store",
    "handle_retrieve_call",
    "retrieve",
    "retrieve_tool_anthropic",
    "retrieve_tool_openai",
    "set_default_store",
]
