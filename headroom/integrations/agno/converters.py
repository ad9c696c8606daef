"""Agno `Message` objects to the core's chat dicts and back.

Agno keeps every conversation in one OpenAI-like shape whatever the provider
(assistant `tool_calls`, role `tool` with `tool_call_id`); each provider
formats it for its API inside `invoke`. So the core sees that shape, and only
the text it rewrote comes back: a changed message is a shallow copy of the
original with its content replaced, so ids, media, metrics, reasoning,
provider data and `from_history` survive, and the caller's objects are never
touched. (A tool's list or dict result reaches the core as agno made it, its
Python repr, which the core reads as the data it stands for.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agno.models.message import Message

__all__ = ["content_field", "from_core", "to_core"]


def content_field(message: Message, use_compressed_content: bool) -> str:
    """The field whose text the provider will send: agno's `compressed_content` or `content`."""
    if use_compressed_content and message.compressed_content is not None:
        return "compressed_content"
    return "content"


def _to_dict(message: Any, use_compressed_content: bool) -> dict[str, Any]:
    if not isinstance(message, Message):
        raise TypeError(f"Got unknown type {message!r}")
    out: dict[str, Any] = {
        "role": message.role,
        "content": getattr(message, content_field(message, use_compressed_content)),
    }
    if message.tool_calls:
        out["tool_calls"] = message.tool_calls
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    elif message.role == "tool" and message.tool_name is not None:
        # The core protects some tools by name and reads their arguments.
        out["name"] = message.tool_name
    return out


def to_core(
    messages: Sequence[Message], *, use_compressed_content: bool = False
) -> list[dict[str, Any]]:
    """Agno messages as OpenAI chat dicts (content shared, not copied: the core never mutates).

    Args:
        messages: The messages a provider is about to format.
        use_compressed_content: Read `compressed_content` where agno would send it
            (when a `CompressionManager` is active).

    Raises:
        TypeError: an item is not an agno `Message`.
    """
    return [_to_dict(m, use_compressed_content) for m in messages]


def from_core(
    originals: Sequence[Message],
    sent: Sequence[Mapping[str, Any]],
    compressed: Sequence[Mapping[str, Any]],
    *,
    use_compressed_content: bool = False,
) -> list[Message]:
    """The messages to hand the provider: originals where nothing changed, copies where it did.

    Args:
        originals: The agno messages `sent` was made from.
        sent: `to_core(originals)`, as given to the core.
        compressed: The core's output for `sent` (same length and order).
        use_compressed_content: As passed to `to_core`.
    """
    if not (len(originals) == len(sent) == len(compressed)):
        raise ValueError("compressed messages do not line up with the originals")
    out: list[Message] = []
    for original, before, after in zip(originals, sent, compressed, strict=True):
        update: dict[str, Any] = {}
        if after.get("content") != before.get("content"):
            update[content_field(original, use_compressed_content)] = after.get("content")
        if after.get("tool_calls") != before.get("tool_calls") and after.get("tool_calls"):
            update["tool_calls"] = after.get("tool_calls")
        out.append(original.model_copy(update=update) if update else original)
    return out
