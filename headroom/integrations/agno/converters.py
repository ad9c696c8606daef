"""Agno `Message` objects to the core's chat dicts and back.

Agno keeps every conversation in one OpenAI-like shape whatever the provider
(assistant `tool_calls`, role `tool` with `tool_call_id`); each provider
formats it for its API inside `invoke`. So the core sees that shape, and only
the text it rewrote comes back: a changed message is a shallow copy of the
original with its content replaced, so ids, media, metrics, reasoning,
provider data and `from_history` survive, and the caller's objects are never
touched.

Agno turns a tool's return value into text with `str()`, so a tool returning a
list or dict sends its Python repr (single quotes, `True`, `None`), which no
JSON reader parses. `to_core` hands the core such a tool output as the JSON it
stands for, so it gets the same table and record compression as JSON; when the
core leaves it unchanged the original repr is what gets sent.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from agno.models.message import Message

__all__ = ["content_field", "from_core", "to_core", "tool_text"]


def content_field(message: Message, use_compressed_content: bool) -> str:
    """The field whose text the provider will send: agno's `compressed_content` or `content`."""
    if use_compressed_content and message.compressed_content is not None:
        return "compressed_content"
    return "content"


#: Parsing a repr costs about 1.5 s per MB: larger outputs go to the core as they are.
_MAX_REPR_CHARS = 2_000_000
#: Distinct tool outputs whose JSON form is remembered (agno resends each one every turn).
_REPR_CACHE = 64


@functools.lru_cache(maxsize=_REPR_CACHE)
def _repr_as_json(text: str) -> str | None:
    """The JSON for a Python list/dict repr; None for JSON, other text or unparsable reprs."""
    try:
        json.loads(text)
        return None
    except ValueError:
        pass
    try:
        value = ast.literal_eval(text)
        if not isinstance(value, (list, dict)):
            return None
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def tool_text(text: Any) -> Any:
    """A tool output as the core should read it: a list/dict repr becomes its JSON."""
    if (
        isinstance(text, str)
        and 2 <= len(text) <= _MAX_REPR_CHARS
        and text[0] in "[{"
        and text[-1] in "]}"
    ):
        return _repr_as_json(text) or text
    return text


def _to_dict(message: Any, use_compressed_content: bool) -> dict[str, Any]:
    if not isinstance(message, Message):
        raise TypeError(f"Got unknown type {message!r}")
    content = getattr(message, content_field(message, use_compressed_content))
    out: dict[str, Any] = {
        "role": message.role,
        "content": tool_text(content) if message.role == "tool" else content,
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
