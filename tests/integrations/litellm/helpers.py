"""Assertions on what a provider received."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

__all__ = ["MARKER", "asaved_after", "saved_after", "tool_output", "was_compressed"]

MARKER = "[headroom:"


def tool_output(messages: list[Any]) -> str:
    """The text of every tool output in a request (OpenAI `tool` messages or Anthropic tool_result blocks)."""
    parts: list[str] = []
    for m in messages:
        if m.get("role") == "tool":
            content = m.get("content")
            parts.append(content if isinstance(content, str) else json.dumps(content))
        elif isinstance(m.get("content"), list):
            for block in m["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    content = block.get("content")
                    parts.append(content if isinstance(content, str) else json.dumps(content))
    return "\n".join(parts)


def was_compressed(sent: list[Any], original: list[Any]) -> bool:
    """True when the provider got a smaller tool output carrying a Headroom marker."""
    got, before = tool_output(sent), tool_output(original)
    return len(got) < len(before) // 2 and MARKER in got


def saved_after(cb: Any, at_least: int = 1, timeout: float = 10.0) -> int:
    """`cb.total_tokens_saved` once LiteLLM's success event (on its logging thread) counted it."""
    deadline = time.monotonic() + timeout
    while cb.total_tokens_saved < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(cb.total_tokens_saved)


async def asaved_after(cb: Any, at_least: int = 1, timeout: float = 10.0) -> int:
    """`saved_after` for async tests: LiteLLM reports success from a task on this loop."""
    deadline = time.monotonic() + timeout
    while cb.total_tokens_saved < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return int(cb.total_tokens_saved)
