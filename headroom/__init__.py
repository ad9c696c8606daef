"""Headroom: compress what LLM agents send, keep what the model needs.

    from headroom import compress
    result = compress(messages, model="gpt-4o")
    client.chat.completions.create(model="gpt-4o", messages=result.messages)

or wrap the SDK client: `HeadroomClient(original_client=OpenAI(), provider=OpenAIProvider())`.

Importing `headroom` imports no framework; integrations live in
`headroom.integrations.<framework>` and are installed as extras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from headroom.client import AnthropicProvider, HeadroomClient, OpenAIProvider

__version__ = "0.1.0"

# The SDK wrapper loads on first use: `import headroom` stays fast and SDK-free.
_LAZY = {
    "HeadroomClient": "headroom.client",
    "OpenAIProvider": "headroom.client",
    "AnthropicProvider": "headroom.client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'headroom' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "RETRIEVE_TOOL_NAME",
    "AnthropicProvider",
    "CCRStore",
    "CompressConfig",
    "CompressContext",
    "CompressEvent",
    "CompressionError",
    "CompressionHooks",
    "CompressionResult",
    "ConfigurationError",
    "HeadroomClient",
    "HeadroomError",
    "InMemoryStore",
    "OpenAIProvider",
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
