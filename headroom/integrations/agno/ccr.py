"""The `headroom_retrieve` tool as an agno `Function`, answered from a CCR store.

Handed to agno's own tool loop, so the model's call runs, is logged and is
stored like any other tool call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agno.tools.function import Function

from headroom.core import RETRIEVE_TOOL_NAME, CCRStore, handle_retrieve_call, retrieve_tool_openai

__all__ = ["MARKER_CALL", "has_markers", "retrieve_function", "tool_name"]

# Every lossy marker names the call that undoes it: `headroom_retrieve(hash="...")`.
MARKER_CALL = f"{RETRIEVE_TOOL_NAME}(hash="


def retrieve_function(store: CCRStore | None = None) -> Function:
    """A `Function` that returns the original stored under a marker's hash.

    Args:
        store: Where the originals are; the process default store when None.
    """

    def headroom_retrieve(hash: str, query: str | None = None) -> str:
        return handle_retrieve_call({"hash": hash, "query": query or ""}, store=store)

    spec = retrieve_tool_openai()["function"]
    return Function(
        name=RETRIEVE_TOOL_NAME,
        description=spec["description"],
        parameters=spec["parameters"],
        entrypoint=headroom_retrieve,
        skip_entrypoint_processing=True,
    )


def tool_name(tool: Any) -> str:
    """The name of a tool as agno passes it: a `Function`, or a dict in either API shape."""
    if isinstance(tool, Function):
        return tool.name
    if isinstance(tool, Mapping):
        fn = tool.get("function")
        if isinstance(fn, Mapping):
            return str(fn.get("name", ""))
        return str(tool.get("name", ""))
    return str(getattr(tool, "name", ""))


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        out: list[str] = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Mapping):
                for key in ("text", "content"):
                    out.extend(_texts(part.get(key)))
        return out
    return []


def has_markers(messages: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any message carries a lossy marker the model could ask to undo."""
    return any(MARKER_CALL in text for m in messages for text in _texts(m.get("content")))
