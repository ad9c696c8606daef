"""Is a compressed request still one a provider would accept?

A compressed request is invalid when its message count or roles differ from the
original's, when tool calls lose their pairing (OpenAI: the ``tool`` messages
right after an assistant's ``tool_calls`` answer each call id exactly once;
Anthropic: the user message right after an assistant's ``tool_use`` blocks holds
exactly one ``tool_result`` per id), when tool-call ids changed, or when the
content is not of a serializable type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["problems"]

_OPENAI_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_ANTHROPIC_ROLES = frozenset({"user", "assistant"})


def _serializable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _content_problem(content: Any, fmt: str) -> str | None:
    if content is None or isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"content of type {type(content).__name__}"
    for block in content:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return "content block without a string 'type'"
        if block.get("type") == "tool_result" and fmt == "anthropic":
            inner = _content_problem(block.get("content"), fmt)
            if inner:
                return f"tool_result {inner}"
    return None


def _openai_call_ids(message: dict[str, Any]) -> list[Any]:
    return [c.get("id") if isinstance(c, dict) else None for c in message.get("tool_calls") or ()]


def _anthropic_blocks(message: dict[str, Any], kind: str, key: str) -> list[Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [b.get(key) for b in content if isinstance(b, dict) and b.get("type") == kind]


def _openai_pairing(messages: Sequence[dict[str, Any]]) -> list[str]:
    issues: list[str] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        if message.get("role") == "tool":
            issues.append(f"message {i}: tool message without a preceding tool call")
            i += 1
            continue
        calls = _openai_call_ids(message) if message.get("role") == "assistant" else []
        i += 1
        if not calls:
            continue
        answers: list[Any] = []
        while i < len(messages) and messages[i].get("role") == "tool":
            answers.append(messages[i].get("tool_call_id"))
            i += 1
        if sorted(map(str, answers)) != sorted(map(str, calls)) or len(set(calls)) != len(calls):
            issues.append(f"tool calls {calls} answered by {answers}")
    return issues


def _anthropic_pairing(messages: Sequence[dict[str, Any]]) -> list[str]:
    issues: list[str] = []
    for i, message in enumerate(messages):
        results = _anthropic_blocks(message, "tool_result", "tool_use_id")
        if message.get("role") == "user" and results:
            previous = messages[i - 1] if i else {}
            uses = _anthropic_blocks(previous, "tool_use", "id")
            if sorted(map(str, results)) != sorted(map(str, uses)):
                issues.append(f"message {i}: tool_results {results} for tool_uses {uses}")
        if message.get("role") == "assistant":
            uses = _anthropic_blocks(message, "tool_use", "id")
            following = messages[i + 1] if i + 1 < len(messages) else None
            if uses and following is not None:
                answered = _anthropic_blocks(following, "tool_result", "tool_use_id")
                if sorted(map(str, answered)) != sorted(map(str, uses)):
                    issues.append(f"message {i}: tool_uses {uses} answered by {answered}")
    return issues


def _call_ids(messages: Sequence[dict[str, Any]], fmt: str) -> list[Any]:
    if fmt == "anthropic":
        return [
            (b, i)
            for i, m in enumerate(messages)
            for b in _anthropic_blocks(m, "tool_use", "id")
            + _anthropic_blocks(m, "tool_result", "tool_use_id")
        ]
    return [
        (c, i)
        for i, m in enumerate(messages)
        for c in _openai_call_ids(m) + ([m.get("tool_call_id")] if m.get("role") == "tool" else [])
    ]


def problems(original: Sequence[Any], compressed: Any, fmt: str) -> list[str]:
    """Why ``compressed`` is not a valid replacement for ``original`` (empty if it is)."""
    if not isinstance(compressed, list) or not all(isinstance(m, dict) for m in compressed):
        return ["messages are not a list of dicts"]
    issues: list[str] = []
    if not _serializable(compressed):
        issues.append("not JSON-serializable")
    if len(compressed) != len(original):
        issues.append(f"message count {len(original)} -> {len(compressed)}")
    roles = [m.get("role") for m in compressed]
    allowed = _ANTHROPIC_ROLES if fmt == "anthropic" else _OPENAI_ROLES
    for i, role in enumerate(roles):
        if role not in allowed:
            issues.append(f"message {i}: role {role!r}")
    if roles != [m.get("role") for m in original]:
        issues.append("roles differ from the original")
    for i, message in enumerate(compressed):
        problem = _content_problem(message.get("content"), fmt)
        if problem:
            issues.append(f"message {i}: {problem}")
    issues.extend(
        _anthropic_pairing(compressed) if fmt == "anthropic" else _openai_pairing(compressed)
    )
    if _call_ids(compressed, fmt) != _call_ids(list(original), fmt):
        issues.append("tool-call ids differ from the original")
    return issues
