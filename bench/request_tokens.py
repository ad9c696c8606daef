"""Counting a whole request's tokens the same way for every engine.

Both engines' outputs are counted here, in the benchmark's own process, with
one counter (tiktoken ``o200k_base`` via ``headroom.core.tokens``): each message
costs a fixed framing overhead plus the tokens of the text a provider tokenizes
(content text, tool results, tool-call names and arguments). An Anthropic
case's top-level system prompt is one more element, identical for both engines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD",
    "Element",
    "RequestCounter",
    "canonical",
    "message_text",
]

#: Framing tokens per message (role, separators), as in OpenAI's cookbook.
MESSAGE_OVERHEAD = 4
#: A flat charge for an image part (none occur in the public corpus).
IMAGE_TOKENS = 85

_IMAGE_TYPES = frozenset({"image", "image_url", "input_image", "file", "document"})

#: One request element (the system prompt or a message): its canonical bytes and tokens.
Element = tuple[str, int]


def canonical(value: Any) -> str:
    """Stable serialization used to compare messages across requests."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def _pieces(content: Any, out: list[str]) -> int:
    """Append the text of ``content`` to ``out``; return flat image tokens."""
    if content is None:
        return 0
    if isinstance(content, str):
        out.append(content)
        return 0
    if not isinstance(content, list):
        out.append(canonical(content))
        return 0
    images = 0
    for block in content:
        if isinstance(block, str):
            out.append(block)
        elif not isinstance(block, dict):
            out.append(repr(block))
        elif block.get("type") == "text":
            out.append(str(block.get("text", "")))
        elif block.get("type") in _IMAGE_TYPES:
            images += IMAGE_TOKENS
        elif block.get("type") == "tool_use":
            out.append(str(block.get("name", "")))
            out.append(json.dumps(block.get("input"), ensure_ascii=False, default=repr))
        elif block.get("type") == "tool_result":
            images += _pieces(block.get("content"), out)
        else:
            out.append(canonical({k: v for k, v in block.items() if k != "cache_control"}))
    return images


def message_text(message: Any) -> tuple[str, int]:
    """The text a provider tokenizes for one message, and its flat image tokens."""
    out: list[str] = []
    if not isinstance(message, dict):
        return canonical(message), 0
    images = _pieces(message.get("content"), out)
    for call in message.get("tool_calls") or ():
        function = call.get("function", {}) if isinstance(call, dict) else {}
        out.append(str(function.get("name", "")))
        arguments = function.get("arguments", "")
        out.append(arguments if isinstance(arguments, str) else canonical(arguments))
    return "\n".join(out), images


class RequestCounter:
    """Counts request elements with one token counter, memoized by canonical bytes."""

    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count
        self._memo: dict[str, int] = {}

    def tokens(self, key: str, value: Any, *, system: bool = False) -> int:
        cached = self._memo.get(key)
        if cached is None:
            if system:
                text, images = message_text({"content": value})
            else:
                text, images = message_text(value)
            cached = MESSAGE_OVERHEAD + images + (self._count(text) if text else 0)
            self._memo[key] = cached
        return cached

    def elements(self, messages: Sequence[Any], system: Any = None) -> list[Element]:
        """The request as a list of elements: the system prompt (if separate), then messages."""
        out: list[Element] = []
        if system is not None:
            key = "system:" + canonical(system)
            out.append((key, self.tokens(key, system, system=True)))
        for message in messages:
            key = canonical(message)
            out.append((key, self.tokens(key, message)))
        return out

    def total(self, messages: Sequence[Any], system: Any = None) -> int:
        """Tokens of the whole request."""
        return sum(tokens for _, tokens in self.elements(messages, system))
