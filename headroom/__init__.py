"""Headroom: compress what LLM agents send, keep what the model needs.

    from headroom import compress
    result = compress(messages, model="gpt-4o")
    client.chat.completions.create(model="gpt-4o", messages=result.messages)

Importing `headroom` imports no framework; integrations live in
`headroom.integrations.<framework>` and are installed as extras.
"""

from __future__ import annotations

from headroom.core import (
    RETRIEVE_TOOL_NAME,
    CCRStore,
    CompressConfig,
    CompressContext,
    CompressEvent,
    CompressionHooks,
    CompressionResult,
    InMemoryStore,
    compress,
    get_default_store,
    handle_retrieve_call,
    retrieve,
    retrieve_tool_anthropic,
    retrieve_tool_openai,
    set_default_store,
)
from headroom.exceptions import (
    CompressionError,
    ConfigurationError,
    HeadroomError,
    ProviderError,
    RetrievalError,
    StorageError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "RETRIEVE_TOOL_NAME",
    "CCRStore",
    "CompressConfig",
    "CompressContext",
    "CompressEvent",
    "CompressionError",
    "CompressionHooks",
    "CompressionResult",
    "ConfigurationError",
    "HeadroomError",
    "InMemoryStore",
    "ProviderError",
    "RetrievalError",
    "StorageError",
    "ValidationError",
    "__version__",
    "compress",
    "get_default_store",
    "handle_retrieve_call",
    "retrieve",
    "retrieve_tool_anthropic",
    "retrieve_tool_openai",
    "set_default_store",
]
