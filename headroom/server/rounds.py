"""What the proxy's retrieve rounds share: the last round, summed usage, safe answers.

When the proxy answers ``headroom_retrieve`` itself, the client sees one
response for several upstream calls. So the usage it is told about is the sum
of every round's, the last allowed round is asked with tool calls switched off
(the model answers with what it has instead of handing a retrieve call to a
client that cannot run it), and a store failure becomes an error text for the
model rather than a failed request.
"""

from __future__ import annotations

from typing import Any

from headroom.core.ccr import handle_retrieve_call
from headroom.core.store import CCRStore

__all__ = ["add_usage", "answer_call", "max_usage", "without_tool_calls"]

# How each API says "answer now, call no tool".
_NO_TOOLS: dict[str, Any] = {
    "openai_chat": "none",
    "openai_responses": "none",
    "anthropic_messages": {"type": "none"},
}


def without_tool_calls(api: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` asking for a plain answer (the tools stay defined: history refers to them)."""
    return {**body, "tool_choice": _NO_TOOLS[api]}


def add_usage(total: dict[str, Any], usage: Any) -> dict[str, Any]:
    """`total` plus `usage`, field by field (nested detail objects too); numbers only."""
    if not isinstance(usage, dict):
        return total
    out = dict(total)
    for key, value in usage.items():
        if isinstance(value, bool):
            out.setdefault(key, value)
        elif isinstance(value, int | float):
            before = out.get(key, 0)
            out[key] = (before if isinstance(before, int | float) else 0) + value
        elif isinstance(value, dict):
            before = out.get(key)
            out[key] = add_usage(before if isinstance(before, dict) else {}, value)
        else:
            out.setdefault(key, value)
    return out


def max_usage(a: dict[str, Any], b: Any) -> dict[str, Any]:
    """Field-wise maximum: one message's usage reported twice (start and end of a stream)."""
    if not isinstance(b, dict):
        return a
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            before = out.get(key, 0)
            out[key] = max(before if isinstance(before, int | float) else 0, value)
        elif isinstance(value, dict):
            before = out.get(key)
            out[key] = max_usage(before if isinstance(before, dict) else {}, value)
        else:
            out.setdefault(key, value)
    return out


def answer_call(arguments: Any, store: CCRStore) -> tuple[str, bool]:
    """The text answering one retrieve call, and whether the original was found.

    A store that fails (down, timed out) answers the model with an error text.
    """
    try:
        text = handle_retrieve_call(arguments, store=store)
    except Exception as exc:
        return (
            "headroom_retrieve error: the original could not be read right now "
            f"({type(exc).__name__}); answer from the compressed content",
            False,
        )
    return text, not text.startswith("headroom_retrieve error")
