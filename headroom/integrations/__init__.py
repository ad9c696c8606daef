"""Framework adapters. Each is imported lazily, so `import headroom` pulls in no framework."""

from __future__ import annotations

from typing import Any

__all__ = ["HeadroomChatModel"]


def __getattr__(name: str) -> Any:
    if name == "HeadroomChatModel":
        from headroom.integrations.langchain import HeadroomChatModel

        return HeadroomChatModel
    raise AttributeError(f"module 'headroom.integrations' has no attribute {name!r}")
