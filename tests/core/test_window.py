"""Fitting the context window: stubs in steps that keep the prefix, cuts that fit."""

from __future__ import annotations

import json
import random
from typing import Any

from headroom import CompressConfig, compress, retrieve
from headroom.core.store import InMemoryStore

_WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "heath", "iris"]


def _prose(seed: int, words: int) -> str:
    """Text no transform shrinks much: random words, no structure."""
    rnd = random.Random(seed)
    return " ".join(rnd.choice(_WORDS) + str(rnd.randrange(1000)) for _ in range(words))


def _call(i: int) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "read", "arguments": "{}"}}
        ],
    }


def _session(rounds: int, words: int = 1500) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "Investigate the incident."},
    ]
    for i in range(rounds):
        messages.append(_call(i))
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": _prose(i, words)})
    return messages


def _common(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if json.dumps(x, sort_keys=True) != json.dumps(y, sort_keys=True):
            break
        n += 1
    return n


def test_a_long_agent_loop_keeps_its_prefix_for_many_turns() -> None:
    config = CompressConfig(output_reserve=0)
    limit = 30_000
    messages = _session(80, words=500)
    previous: list[dict[str, Any]] = []
    over = breaks = 0
    for end in range(3, len(messages), 2):
        result = compress(messages[: end + 1], model_limit=limit, config=config)
        assert result.tokens_after <= limit
        if result.tokens_before > limit:
            over += 1
        if previous and _common(previous, result.messages) < len(previous):
            breaks += 1
        assert result.messages[1] == messages[1]  # the task is never stubbed
        assert result.messages[end] == messages[end]  # nor the latest output
        previous = result.messages
    # Each round adds ~5% of the window and a step frees half of it: stubbing a
    # little more on every turn would break the prefix on every request over.
    assert over >= 40 and breaks <= over // 5, (over, breaks)


def test_stubs_name_the_original_and_a_failing_store_names_nothing() -> None:
    messages = _session(12)
    store = InMemoryStore()
    result = compress(messages, model_limit=20_000, store=store)
    stubbed = [m for m in result.messages if "to fit the context window" in str(m.get("content"))]
    assert stubbed and len(result.messages) == len(messages)
    originals = {m["content"] for m in messages if m["role"] == "tool"}
    assert {retrieve(h, store=store) for h in result.ccr_hashes} <= originals

    class DownStore(InMemoryStore):
        def put(self, key: str, original: str) -> None:
            raise ConnectionError("down")

    down = compress(messages, model_limit=20_000, store=DownStore())
    assert down.ccr_hashes == [] and "headroom_retrieve" not in json.dumps(down.messages)
    assert down.tokens_after <= 20_000


def test_an_output_larger_than_the_window_is_cut_to_fit() -> None:
    lines = [f"line {i}: {_prose(i, 12)}" for i in range(30_000)]
    huge = "\n".join(lines)
    messages = [
        {"role": "user", "content": "Read the dump and tell me what the last line says."},
        _call(0),
        {"role": "tool", "tool_call_id": "c0", "content": huge},
    ]
    store = InMemoryStore()
    result = compress(messages, model_limit=50_000, store=store)
    assert result.tokens_before > 300_000
    assert result.tokens_after <= 50_000 - CompressConfig().output_reserve
    text = result.messages[2]["content"]
    assert "cut to fit the context window" in text
    assert text.startswith("line 0:") and text.endswith(lines[-1])  # head and tail, whole lines
    assert retrieve(result.ccr_hashes[-1], store=store) == huge
    assert result.messages[0] == messages[0] and "window:cut 1" in result.transforms_applied
