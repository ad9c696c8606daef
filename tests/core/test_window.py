"""Fitting the context window: stubs in steps that keep the prefix, cuts that fit."""

from __future__ import annotations

import copy
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom import CompressConfig, compress, retrieve
from headroom.core.messages import find_slots, replace_slots
from headroom.core.store import InMemoryStore
from headroom.core.tokens import count_message_tokens, counter_for_model
from headroom.core.transforms.base import marker_hashes
from headroom.core.window_texts import LEFT_OUT

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


def test_a_kept_turn_s_large_output_is_cut_before_kept_turns_are_left_out() -> None:
    # The large output sits in a kept turn before the latest question: cutting it
    # keeps its head and tail; leaving the kept turn out would keep nothing.
    lines = [f"line {i}: {_prose(i, 12)}" for i in range(3_000)]
    huge = "\n".join(lines)
    messages = [
        {"role": "user", "content": "Read the dump."},
        _call(0),
        {"role": "tool", "tool_call_id": "c0", "content": huge},
        {"role": "assistant", "content": "Read it."},
        {"role": "user", "content": "What does its last line say?"},
    ]
    config = CompressConfig(output_reserve=0, keep_last_turns=2, cache_align=False)
    result = compress(messages, model_limit=3_000, config=config, store=InMemoryStore())
    assert result.tokens_after <= 3_000
    assert "window:cut 1" in result.transforms_applied
    assert not any(t.startswith("window:left_out") for t in result.transforms_applied)
    assert result.messages[2]["content"].endswith(lines[-1])
    assert result.messages[3:] == messages[3:]


# -- requests of many small messages: whole turns are left out -----------------------

_SMALL = ["ok", "checked", "the disk", "is fine", "retrying", "host", "db-2", "latency", "high"]


def _small_text(rnd: random.Random) -> str:
    return " ".join(rnd.choice(_SMALL) for _ in range(rnd.randrange(3, 25)))


def _small_conversation(rnd: random.Random, turns: int, anthropic: bool) -> list[dict[str, Any]]:
    """Chat turns of short texts, some with a tool exchange of short results."""
    messages: list[dict[str, Any]] = (
        [] if anthropic else [{"role": "system", "content": "Be brief."}]
    )
    for t in range(turns):
        messages.append({"role": "user", "content": _small_text(rnd)})
        for k in range(rnd.choice([0, 0, 1, 2])):
            call_id = f"t{t}k{k}"
            if anthropic:
                messages.append(
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": _small_text(rnd)},
                            {"type": "tool_use", "id": call_id, "name": "probe", "input": {"n": k}},
                        ],
                    }
                )
                result = {
                    "type": "tool_result",
                    "tool_use_id": call_id,
                    "content": _small_text(rnd),
                }
                messages.append({"role": "user", "content": [result]})
            else:
                call = {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "probe", "arguments": json.dumps({"n": k})},
                }
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
                messages.append(
                    {"role": "tool", "tool_call_id": call_id, "content": _small_text(rnd)}
                )
        messages.append({"role": "assistant", "content": _small_text(rnd)})
    messages.append({"role": "user", "content": "So what is wrong with " + _small_text(rnd) + "?"})
    return messages


def _skeleton(messages: list[dict[str, Any]]) -> list[Any]:
    """What pairs calls with results: roles, call ids, result ids, in order."""
    out: list[Any] = []
    for m in messages:
        content = m.get("content")
        blocks = content if isinstance(content, list) else []
        out.append(
            (
                m["role"],
                m.get("tool_call_id"),
                [c["id"] for c in m.get("tool_calls") or []],
                [b.get("id") or b.get("tool_use_id") for b in blocks if b.get("type") != "text"],
            )
        )
    return out


def _floor(messages: list[dict[str, Any]], count: Callable[[str], int]) -> int:
    """Tokens of the request with everything that may be left out reduced to one token
    (the system prompt, the latest user message and what follows it kept), plus a marker."""
    last = max(
        i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], str)
    )
    total = 0
    for i, m in enumerate(messages):
        if m["role"] == "system" or i >= last:
            total += count_message_tokens(m, count)
        else:
            total += count_message_tokens(
                replace_slots([m], {(0, s.path): LEFT_OUT for s in find_slots([m])})[0], count
            )
    return total + 2 * 60  # two markers at most


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    turns=st.integers(20, 160),
    share=st.floats(-0.3, 1.2),
    anthropic=st.booleans(),
)
def test_small_messages_over_the_window_leave_out_whole_turns(
    seed: int, turns: int, share: float, anthropic: bool
) -> None:
    rnd = random.Random(seed)
    messages = _small_conversation(rnd, turns, anthropic)
    snapshot = copy.deepcopy(messages)
    model = "claude-sonnet-4-5" if anthropic else "gpt-4o"
    count = counter_for_model(model)
    total = sum(count_message_tokens(m, count) for m in messages)
    floor = _floor(messages, count)
    limit = int(floor + (total - floor) * share)
    store = InMemoryStore()
    config = CompressConfig(output_reserve=0, cache_align=False, recall=False)
    result = compress(messages, model=model, model_limit=limit, config=config, store=store)
    assert messages == snapshot  # the input is never mutated
    assert _skeleton(result.messages) == _skeleton(messages)  # every call keeps its result
    after = sum(count_message_tokens(m, count) for m in result.messages)
    assert after == result.tokens_after
    assert after <= limit or limit < floor, (after, limit, floor, total)
    left = [n for n in result.transforms_applied if n.startswith("window:left_out")]
    assert after <= limit or not left  # what cannot fit is not left out in vain
    kept = [m for m in messages if m["role"] == "system"] + [messages[-1]]
    assert all(m in result.messages for m in kept)
    if left:
        marked = [m for m in result.messages if "earlier messages left out" in json.dumps(m)]
        assert marked
        for m in marked:
            (key,) = marker_hashes(json.dumps(m))
            assert key in result.ccr_hashes
            shown = json.loads(retrieve(key, store=store))
            # Where the block sat: the run of messages shaped like it that it matches
            # best (several blocks can start with messages of the same shape).
            fits = [
                i
                for i in range(len(messages) - len(shown) + 1)
                if _skeleton(messages[i : i + len(shown)]) == _skeleton(shown)
            ]
            start = max(
                fits, key=lambda i: sum(a == b for a, b in zip(messages[i:], shown, strict=False))
            )
            for was, kept in zip(messages[start:], shown, strict=False):
                if was != kept:  # stubbed before: its own marker names the original
                    (inner,) = marker_hashes(json.dumps(kept))
                    assert retrieve(inner, store=store) == was["content"]


def test_what_cannot_fit_goes_out_as_it_was_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = _small_conversation(random.Random(5), 200, anthropic=False)
    config = CompressConfig(output_reserve=0)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = compress(messages, model_limit=300, config=config)
    assert result.messages == messages and not result.ccr_hashes
    assert "fit the window" in caplog.text


def test_leaving_out_turns_keeps_the_prefix_for_many_turns() -> None:
    messages = _small_conversation(random.Random(9), 400, anthropic=False)
    config = CompressConfig(output_reserve=0, recall=False)
    limit = 12_000  # above what 400 turns cost with every earlier message left out
    previous: list[dict[str, Any]] = []
    over = breaks = 0
    ends = [i for i, m in enumerate(messages) if m["role"] == "user"][40:]
    for end in ends:
        result = compress(messages[: end + 1], model_limit=limit, config=config)
        assert result.tokens_after <= limit
        if result.tokens_before > limit:
            over += 1
        if previous and _common(previous, result.messages) < len(previous):
            breaks += 1
        previous = result.messages
    assert over >= 200 and breaks <= over // 5, (over, breaks)


def test_turns_left_out_with_a_failing_store_name_no_hash() -> None:
    class DownStore(InMemoryStore):
        def put(self, key: str, original: str) -> None:
            raise ConnectionError("down")

    messages = _small_conversation(random.Random(2), 150, anthropic=False)
    config = CompressConfig(output_reserve=0)
    result = compress(messages, model_limit=6_000, config=config, store=DownStore())
    assert any(n.startswith("window:left_out") for n in result.transforms_applied)
    assert result.tokens_after <= 6_000 and not result.ccr_hashes
    text = json.dumps(result.messages)
    assert "earlier messages left out" in text and "headroom_retrieve" not in text


# -- a request still over its budget is logged once, by compress() -------------------


@pytest.mark.parametrize("limit", [2_000, 200_000])
def test_a_request_still_over_its_budget_is_logged_with_its_figures(
    limit: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Many short turns: nothing is large enough to stub or cut, and their framing
    # alone is over the smaller limit.
    messages = _small_conversation(random.Random(3), 400, anthropic=False)
    config = CompressConfig(output_reserve=500)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = compress(messages, model_limit=limit, config=config)
    over = result.tokens_after > limit - 500
    assert over is (limit == 2_000)
    assert ("over its budget" in caplog.text) is over
    if over:
        assert f"model_limit {limit}" in caplog.text and str(result.tokens_after) in caplog.text
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_the_models_window_is_the_default_limit(caplog: pytest.LogCaptureFixture) -> None:
    tiny = [{"role": "user", "content": "go"}] + [
        {"role": "assistant", "content": f"ok {i}"} for i in range(30_000)
    ]  # ~5 tokens of framing each: over gpt-4o's 128k window whatever is done
    with caplog.at_level(logging.WARNING, logger="headroom"):
        compress(tiny, model="gpt-4o")
    assert "over its budget" in caplog.text and "model_limit 128000" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="headroom"):
        compress(tiny, model="a-model-nobody-knows")
    assert "over its budget" not in caplog.text
