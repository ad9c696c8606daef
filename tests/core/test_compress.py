"""compress(): result, safety, hooks, CCR, window, cache alignment, bad input."""

from __future__ import annotations

import base64
import copy
import json
import logging
import sys
from typing import Any

import pytest

import headroom
from headroom import (
    CompressConfig,
    CompressContext,
    CompressionHooks,
    RetrievalError,
    ValidationError,
    compress,
    handle_retrieve_call,
    retrieve,
    retrieve_tool_anthropic,
    retrieve_tool_openai,
)
from headroom.core.hooks import CompressEvent
from headroom.core.store import InMemoryStore, ScopedStore
from tests.conftest import case


def big_json(n: int = 300) -> str:
    return json.dumps(
        [
            {"id": i, "title": f"Result {i}", "score": (i * 31) % 97, "status": "ok"}
            for i in range(n)
        ],
        indent=2,
    )


def agent(tool_output: str, question: str = "Find the results") -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a helpful agent."},
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": tool_output},
    ]


def test_public_api_is_pinned() -> None:
    assert set(headroom.__all__) >= {
        "compress",
        "CompressionResult",
        "CompressConfig",
        "CompressionHooks",
        "CompressContext",
        "retrieve",
        "HeadroomError",
        "CompressionError",
        "ValidationError",
        "RetrievalError",
    }


def test_result_fields() -> None:
    result = compress(agent(big_json()), model="gpt-4o")
    assert result.tokens_before > result.tokens_after > 0
    assert result.tokens_saved == result.tokens_before - result.tokens_after
    assert 0 < result.compression_ratio < 1
    assert result.transforms_applied == ["json:rows"]
    assert len(result.ccr_hashes) == 1
    assert all(len(h) == 16 and h == h.lower() for h in result.ccr_hashes)
    assert set(result.to_dict()) == {
        "messages",
        "tokens_before",
        "tokens_after",
        "tokens_saved",
        "compression_ratio",
        "transforms_applied",
        "ccr_hashes",
    }


def test_system_user_assistant_untouched_and_input_not_mutated() -> None:
    messages = agent(big_json())
    snapshot = copy.deepcopy(messages)
    result = compress(messages)
    assert messages == snapshot
    assert result.messages[:3] == messages[:3]
    assert result.messages[3]["tool_call_id"] == "call_1"


def test_ccr_round_trip_and_query() -> None:
    output = big_json()
    result = compress(agent(output))
    (h,) = result.ccr_hashes
    assert f'headroom_retrieve(hash="{h}")' in result.messages[3]["content"]
    assert retrieve(h) == output
    assert "Result 123" in retrieve(h, query="Result 123")
    assert handle_retrieve_call(json.dumps({"hash": h})) == output
    assert "error" in handle_retrieve_call({"hash": "ffffffffffffffff"})
    assert "error" in handle_retrieve_call("not json")
    with pytest.raises(RetrievalError):
        retrieve("ffffffffffffffff")


def test_retrieve_tool_definitions() -> None:
    openai_tool = retrieve_tool_openai()
    assert openai_tool["function"]["name"] == "headroom_retrieve"
    assert openai_tool["function"]["parameters"]["required"] == ["hash"]
    anthropic_tool = retrieve_tool_anthropic()
    assert anthropic_tool["name"] == "headroom_retrieve" and "input_schema" in anthropic_tool


def test_custom_store_and_scoping() -> None:
    shared = InMemoryStore()
    tenant_a, tenant_b = ScopedStore(shared, "a"), ScopedStore(shared, "b")
    result = compress(agent(big_json(301)), store=tenant_a)
    (h,) = result.ccr_hashes
    assert retrieve(h, store=tenant_a)
    with pytest.raises(RetrievalError):
        retrieve(h, store=tenant_b)


def test_store_ttl_and_lru() -> None:
    store = InMemoryStore(max_entries=2, ttl_seconds=60)
    for key in "abc":
        store.put(key, key * 3)
    assert store.get("a") is None and store.get("c") == "ccc"
    expired = InMemoryStore(ttl_seconds=-1)
    expired.put("k", "v")
    assert expired.get("k") is None


def test_anthropic_shape_is_kept() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "List the results"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": big_json()},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"},
                },
            ],
        },
    ]
    result = compress(messages, model="claude-sonnet-4-5")
    block = result.messages[2]["content"][0]
    assert block["type"] == "tool_result" and block["tool_use_id"] == "toolu_1"
    assert "headroom_retrieve" in block["content"]
    assert result.messages[2]["content"][1] == messages[2]["content"][1]
    assert result.tokens_saved > 0


def test_openai_content_parts_tool_output() -> None:
    messages = agent(big_json())
    messages[3] = {**messages[3], "content": [{"type": "text", "text": big_json()}]}
    result = compress(messages)
    assert result.messages[3]["content"][0]["type"] == "text"
    assert "rows" in result.messages[3]["content"][0]["text"]


def test_never_inflates_small_outputs() -> None:
    messages = agent('{"ok": true}')
    result = compress(messages)
    assert result.messages == messages and result.tokens_saved == 0


@pytest.mark.parametrize(
    "content",
    [
        None,
        "{not json" * 400,
        base64.b64encode(bytes(range(256)) * 200).decode(),
        "\ud800 broken surrogate " * 300,
        "[" * 3000 + "]" * 3000,
        json.dumps({"k": "v" * 500_000}),
        12345,
    ],
    ids=[
        "none",
        "malformed-json",
        "base64",
        "bad-unicode",
        "deep-nesting",
        "huge-value",
        "non-string",
    ],
)
def test_bad_input_never_crashes(content: Any) -> None:
    messages = agent("x")
    messages[3] = {**messages[3], "content": content}
    snapshot = copy.deepcopy(messages)
    result = compress(messages)
    assert messages == snapshot
    assert len(result.messages) == 4
    assert result.messages[3]["tool_call_id"] == "call_1"


def test_invalid_structure_is_a_clear_error() -> None:
    with pytest.raises(ValidationError):
        compress("hello")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        compress([{"content": "no role"}])


def test_fail_open(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pipeline = sys.modules["headroom.core.compress"]  # the attribute is the function

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("transform exploded")

    monkeypatch.setattr(pipeline, "compress_text", boom)
    messages = agent(big_json(333))
    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = compress(messages)
    assert result.messages == messages
    assert result.transforms_applied == ["fail_open:RuntimeError"]
    assert "compression failed" in caplog.text
    with pytest.raises(headroom.CompressionError):
        compress(messages, config=CompressConfig(fail_open=False))


def test_deterministic_and_memoized() -> None:
    messages = agent(big_json(350))
    first = compress(messages)
    second = compress(copy.deepcopy(messages))
    assert json.dumps(first.messages) == json.dumps(second.messages)


def test_protect_tools() -> None:
    result = compress(agent(big_json()), config=CompressConfig(protect_tools=("search",)))
    assert result.tokens_saved == 0


class RecordingHooks(CompressionHooks):
    def __init__(self) -> None:
        self.events: list[CompressEvent] = []
        self.contexts: list[CompressContext] = []

    def pre_compress(
        self, messages: list[dict[str, Any]], ctx: CompressContext
    ) -> list[dict[str, Any]]:
        self.contexts.append(ctx)
        return messages

    def protect_messages(self, messages: list[dict[str, Any]], ctx: CompressContext) -> set[int]:
        return {5}

    def compute_biases(
        self, messages: list[dict[str, Any]], ctx: CompressContext
    ) -> dict[int, float]:
        return {3: 3.0}

    def post_compress(self, event: CompressEvent) -> None:
        self.events.append(event)


def test_hooks_steer_and_observe() -> None:
    messages = agent(big_json(), question="Which result is best?")
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "search", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_2", "content": big_json(400)},
    ]
    hooks = RecordingHooks()
    biased = compress(messages, hooks=hooks)
    plain = compress(messages)
    assert biased.messages[5] == messages[5]  # protected
    assert len(biased.messages[3]["content"]) > len(plain.messages[3]["content"])  # bias keeps more
    (ctx,) = hooks.contexts
    assert (
        ctx.model == "gpt-4o" and ctx.provider == "openai" and ctx.query == "Which result is best?"
    )
    assert ctx.turn == 1 and {c["id"] for c in ctx.tool_calls} == {"call_1", "call_2"}
    (event,) = hooks.events
    assert (
        event.ccr_hashes == tuple(biased.ccr_hashes) and event.tokens_saved == biased.tokens_saved
    )


def test_failing_hook_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(CompressionHooks):
        def pre_compress(
            self, messages: list[dict[str, Any]], ctx: CompressContext
        ) -> list[dict[str, Any]]:
            raise ValueError("nope")

    result = compress(agent(big_json()), hooks=Broken())
    assert result.tokens_saved > 0 and "hook" in caplog.text


def test_window_stubs_oldest_tool_exchange_first() -> None:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "sys"}]
    for t in range(4):
        messages += agent(f"turn {t} " + "lorem ipsum dolor " * 800, question=f"question {t}")[1:]
        messages[-2]["tool_calls"][0]["id"] = f"call_{t}"
        messages[-1]["tool_call_id"] = f"call_{t}"
    messages.append({"role": "user", "content": "final question"})
    config = CompressConfig(output_reserve=100, keep_last_turns=1)
    result = compress(messages, model_limit=9000, config=config)
    assert result.tokens_after <= 9000 - 100
    assert "context window" in result.messages[3]["content"]  # oldest tool result stubbed
    assert result.messages[0] == messages[0] and result.messages[-1] == messages[-1]
    assert len(result.messages) == len(messages)
    stub_hash = result.ccr_hashes[0]
    assert retrieve(stub_hash).startswith("turn 0")


def test_cache_align_moves_volatile_values_to_the_end() -> None:
    messages = agent(big_json())
    messages[0] = {
        "role": "system",
        "content": "You are helpful. Today is 2026-11-22, request 0b9f6a5e-1c1d-4c55-8b1b-111122223333.",
    }
    a = compress(messages)
    messages[0] = {
        "role": "system",
        "content": "You are helpful. Today is 2026-11-23, request 9e9f6a5e-1c1d-4c55-8b1b-111122224444.",
    }
    b = compress(messages)
    assert a.messages[0] == b.messages[0]
    assert "2026-11-22" in a.messages[1]["content"] and "2026-11-23" in b.messages[1]["content"]
    off = compress(messages, config=CompressConfig(cache_align=False))
    assert off.messages[0] == messages[0]


def test_recall_surfaces_what_a_later_question_needs() -> None:
    data = case("p-grep-defs")
    result = compress(data["messages"])
    question = data["messages"][-1]["content"]
    final = result.messages[-1]["content"]
    assert final.startswith(question) and "[headroom recall" in final
    assert "def write_c14n(self, file):" in final
    off = compress(data["messages"], config=CompressConfig(recall=False))
    assert off.messages[-1]["content"] == question


def test_custom_token_counter() -> None:
    result = compress(agent(big_json()), token_counter=lambda text: len(text))
    assert result.tokens_before > 10_000


def test_prefix_stability_across_agent_turns() -> None:
    data = case("p-mt-ops-1")
    messages = data["messages"]
    full = compress(messages).messages
    for k in range(2, len(messages)):
        prefix = compress(messages[:k]).messages
        assert json.dumps(prefix) == json.dumps(full[:k]), f"prefix of {k} messages changed"


def test_an_empty_custom_store_is_still_used() -> None:
    store = InMemoryStore()
    assert len(store) == 0
    result = compress(agent(big_json(302)), store=store)
    assert len(store) == 1
    assert retrieve(result.ccr_hashes[0], store=store)


def test_a_failing_store_falls_back_to_lossless(caplog: pytest.LogCaptureFixture) -> None:
    class DownStore(InMemoryStore):
        def put(self, key: str, original: str) -> None:
            raise ConnectionError("store is down")

    output = big_json(303)
    result = compress(agent(output), store=DownStore())
    assert result.ccr_hashes == []
    assert result.transforms_applied == ["json:table"]
    assert "headroom_retrieve" not in result.messages[3]["content"]
    assert result.tokens_saved > 0  # lossless savings are kept
    assert "store failed" in caplog.text
