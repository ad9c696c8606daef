"""Invalid compressed requests are caught."""

from __future__ import annotations

import copy
from typing import Any

from bench.validate import problems

OPENAI: list[dict[str, Any]] = [
    {"role": "user", "content": "q"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
        ],
    },
    {"role": "tool", "tool_call_id": "a", "content": "1"},
    {"role": "tool", "tool_call_id": "b", "content": "2"},
]

ANTHROPIC: list[dict[str, Any]] = [
    {"role": "user", "content": "q"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "out"}]},
]


def test_identical_requests_are_valid() -> None:
    assert problems(OPENAI, copy.deepcopy(OPENAI), "openai") == []
    assert problems(ANTHROPIC, copy.deepcopy(ANTHROPIC), "anthropic") == []


def test_dropped_message_is_invalid() -> None:
    assert problems(OPENAI, copy.deepcopy(OPENAI[:3]), "openai")


def test_unanswered_or_doubly_answered_call_is_invalid() -> None:
    twice = copy.deepcopy(OPENAI)
    twice[3]["tool_call_id"] = "a"
    assert any("answered" in p for p in problems(OPENAI, twice, "openai"))


def test_broken_anthropic_pairing_is_invalid() -> None:
    broken = copy.deepcopy(ANTHROPIC)
    broken[2]["content"][0]["tool_use_id"] = "other"
    assert problems(ANTHROPIC, broken, "anthropic")


def test_unserializable_content_is_invalid() -> None:
    bad = copy.deepcopy(OPENAI)
    bad[2]["content"] = [{"type": "text", "text": object()}]
    assert "not JSON-serializable" in problems(OPENAI, bad, "openai")
    bad[2]["content"] = 42
    assert any("content of type int" in p for p in problems(OPENAI, bad, "openai"))


def test_changed_roles_are_invalid() -> None:
    bad = copy.deepcopy(ANTHROPIC)
    bad[0]["role"] = "system"
    assert problems(ANTHROPIC, bad, "anthropic")
