"""Invariants every transform must keep, on generated conversations (hypothesis)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom import compress
from headroom.core import memo
from headroom.core.messages import user_text
from tests.conftest import load_cases

_OUTPUTS: list[str] = []
for _case in load_cases():
    for _m in _case["messages"]:
        if _m.get("role") == "tool" and isinstance(_m.get("content"), str):
            _OUTPUTS.append(_m["content"])

QUESTIONS = [
    "What failed?",
    "Which rows have the highest score?",
    "Where is `write_c14n` defined?",
    "Summarise this.",
    "Which host logged errors?",
]


@st.composite
def tool_output(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["corpus", "records", "text", "none", "lines"]))
    if kind == "corpus" and _OUTPUTS:
        body = draw(st.sampled_from(_OUTPUTS))
        lines = body.splitlines()
        cut = draw(st.integers(min_value=1, max_value=max(1, len(lines))))
        return "\n".join(lines[:cut])
    if kind == "records":
        n = draw(st.integers(min_value=0, max_value=120))
        seed = draw(st.integers(min_value=0, max_value=10**6))
        return json.dumps(
            [{"id": i, "v": (i * seed) % 101, "tag": f"t{(i + seed) % 4}"} for i in range(n)]
        )
    if kind == "lines":
        words = draw(
            st.lists(
                st.sampled_from(["INFO ok", "WARN slow", "ERROR boom 42", "retry 7"]), max_size=200
            )
        )
        return "\n".join(words)
    if kind == "none":
        return None
    return draw(st.text(max_size=300))


@st.composite
def conversation(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are an agent with tools."}]
    call = 0
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        messages.append({"role": "user", "content": draw(st.sampled_from(QUESTIONS))})
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            ids = [f"call_{call + j}" for j in range(draw(st.integers(min_value=1, max_value=2)))]
            call += len(ids)
            messages.append(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": i,
                            "type": "function",
                            "function": {"name": "tool", "arguments": '{"q": "x"}'},
                        }
                        for i in ids
                    ],
                }
            )
            for i in ids:
                messages.append({"role": "tool", "tool_call_id": i, "content": draw(tool_output())})
        messages.append({"role": "assistant", "content": "Done."})
    return messages


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(conversation())
def test_invariants(messages: list[dict[str, Any]]) -> None:
    snapshot = copy.deepcopy(messages)
    result = compress(messages)
    out = result.messages
    assert messages == snapshot, "input mutated"
    assert len(out) == len(messages)
    for before, after in zip(messages, out, strict=True):
        assert after["role"] == before["role"]
        assert after.get("tool_calls") == before.get("tool_calls")
        assert after.get("tool_call_id") == before.get("tool_call_id")
        if before["role"] in ("system", "assistant"):
            assert after == before
        if before["role"] == "user":
            assert user_text(after).startswith(user_text(before))
    assert result.tokens_after <= result.tokens_before
    memo.clear()  # a second call would otherwise be a lookup of the first
    assert json.dumps(compress(copy.deepcopy(messages)).messages) == json.dumps(out), (
        "not deterministic"
    )
    assert json.dumps(compress(out).messages) == json.dumps(out), "not idempotent"


@SETTINGS
@given(conversation(), st.data())
def test_prefix_stable(messages: list[dict[str, Any]], data: st.DataObject) -> None:
    full = compress(messages).messages
    k = data.draw(st.integers(min_value=1, max_value=len(messages)))
    assert json.dumps(compress(messages[:k]).messages) == json.dumps(full[:k])
