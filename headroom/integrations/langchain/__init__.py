"""LangChain and LangGraph integration: `pip install 'headroom[langchain]'`.

`HeadroomChatModel` wraps any chat model; `HeadroomMiddleware` plugs into
`create_agent`; `compress_tool_messages` / `HeadroomToolCompressorNode` shrink
tool results in LangGraph state; `HeadroomDocumentCompressor` and
`compress_tool` shrink retrieved documents and tool output at the source.
Names are imported on first use, so only the parts you touch need their
framework (the middleware needs `langchain`, the graph helpers `langgraph`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

try:
    import langchain_core  # noqa: F401
except ImportError as exc:
    raise ImportError(
        "headroom's LangChain integration needs langchain-core: pip install 'headroom[langchain]'"
    ) from exc

if TYPE_CHECKING:
    from headroom.integrations.langchain.chat_model import HeadroomChatModel
    from headroom.integrations.langchain.converters import from_core, to_core
    from headroom.integrations.langchain.langgraph import (
        HeadroomToolCompressorNode,
        compress_tool_messages,
    )
    from headroom.integrations.langchain.middleware import HeadroomMiddleware
    from headroom.integrations.langchain.retrievers import HeadroomDocumentCompressor
    from headroom.integrations.langchain.tools import compress_tool

__all__ = [
    "HeadroomChatModel",
    "HeadroomDocumentCompressor",
    "HeadroomMiddleware",
    "HeadroomToolCompressorNode",
    "compress_tool",
    "compress_tool_messages",
    "from_core",
    "to_core",
]

_MODULES = {
    "HeadroomChatModel": "chat_model",
    "HeadroomDocumentCompressor": "retrievers",
    "HeadroomMiddleware": "middleware",
    "HeadroomToolCompressorNode": "langgraph",
    "compress_tool": "tools",
    "compress_tool_messages": "langgraph",
    "from_core": "converters",
    "to_core": "converters",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
