"""Every real-world case keeps every needle, saves tokens, and can be retrieved back."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from headroom import compress, retrieve
from headroom.core.messages import find_slots
from tests.conftest import load_cases, needle_present

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_keeps_every_needle(case: dict[str, Any]) -> None:
    messages = case["messages"]
    snapshot = copy.deepcopy(messages)
    result = compress(messages, model="gpt-4o")
    assert messages == snapshot, "the caller's messages were mutated"
    lost = [n for n in case["needles"] if not needle_present(n, result.messages)]
    assert not lost, f"{case['id']} lost needles: {lost}"
    assert result.tokens_after <= result.tokens_before
    assert len(result.messages) == len(messages)
    assert [m["role"] for m in result.messages] == [m["role"] for m in messages]
    json.dumps(result.messages)  # still serialisable as a request body
    originals = {slot.text for slot in find_slots(messages)}
    for h in result.ccr_hashes:
        assert retrieve(h) in originals


def test_corpus_saves_at_least_45_percent_overall() -> None:
    before = after = 0
    for case in CASES:
        result = compress(case["messages"], model="gpt-4o")
        before += result.tokens_before
        after += result.tokens_after
    assert before and 1 - after / before >= 0.45


def _as_pasted_context(case: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The same data pasted by the user in an earlier turn, with prose around it."""
    outputs = [m["content"] for m in case["messages"] if m.get("role") == "tool"]
    if len(outputs) != 1 or not isinstance(outputs[0], str):
        return None
    return [
        {"role": "system", "content": "Answer from the material the user gave you."},
        {
            "role": "user",
            "content": f"Here is what I collected:\n\n{outputs[0]}\n\nThat's all of it.",
        },
        {"role": "assistant", "content": "Thanks, I have read it."},
        {"role": "user", "content": case["question"]},
    ]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_context_in_user_message_keeps_needles(case: dict[str, Any]) -> None:
    messages = _as_pasted_context(case)
    if messages is None:
        pytest.skip("case has no single tool output to paste")
    result = compress(messages)
    lost = [n for n in case["needles"] if not needle_present(n, result.messages)]
    assert not lost
    assert result.messages[1]["content"].startswith("Here is what I collected:")
    assert result.messages[3]["content"].startswith(case["question"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_compress_is_idempotent(case: dict[str, Any]) -> None:
    once = compress(case["messages"]).messages
    assert json.dumps(compress(once).messages) == json.dumps(once)
