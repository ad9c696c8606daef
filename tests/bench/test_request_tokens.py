"""Whole-request token counts treat both engines' messages alike."""

from __future__ import annotations

from bench.request_tokens import MESSAGE_OVERHEAD, RequestCounter


def _words(text: str) -> int:
    return len(text.split())


def test_counts_text_tool_calls_and_system() -> None:
    counter = RequestCounter(_words)
    messages = [
        {"role": "user", "content": "one two"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c", "function": {"name": "lookup", "arguments": "{} x"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "a b c"}]},
    ]
    assert counter.total(messages) == 3 * MESSAGE_OVERHEAD + 2 + 3 + 3
    assert (
        counter.total(messages, system="be brief") == counter.total(messages) + MESSAGE_OVERHEAD + 2
    )


def test_anthropic_blocks_are_counted() -> None:
    counter = RequestCounter(_words)
    messages = [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {"q": 1}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x y"}],
        },
    ]
    # tool_use: name + '{"q": 1}' (2 words); tool_result: 2 words
    assert counter.total(messages) == 2 * MESSAGE_OVERHEAD + 3 + 2


def test_identical_messages_are_identical_elements() -> None:
    counter = RequestCounter(_words)
    a = counter.elements([{"role": "user", "content": "hi", "name": "n"}])
    b = counter.elements([{"name": "n", "content": "hi", "role": "user"}])
    assert a == b
