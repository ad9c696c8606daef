"""compress(): result, safety, hooks, CCR, window, cache alignment, bad input."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import random
import subprocess
import sys
from pathlib import Path
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
from headroom.core import memo
from headroom.core.hooks import CompressEvent
from headroom.core.messages import message_pieces
from headroom.core.store import InMemoryStore, ScopedStore
from tests.conftest import case

ROOT = Path(__file__).resolve().parents[2]


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
    pipeline = sys.modules["headroom.core.slots"]  # where each slot is compressed

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


def test_deterministic_without_the_memo() -> None:
    messages = agent(big_json(350))
    first = compress(messages)
    memo.clear()  # otherwise the second call is a lookup of the first
    second = compress(copy.deepcopy(messages))
    assert json.dumps(first.messages) == json.dumps(second.messages)
    assert len(memo.slot_memo) > 0  # and it was memoized


def test_deterministic_across_processes() -> None:
    messages = agent(big_json(351), question="Which result has the highest score?")
    code = (
        "import json, sys\n"
        "from headroom import compress\n"
        "print(json.dumps(compress(json.load(sys.stdin)).messages))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(messages),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] == json.dumps(compress(messages).messages) + "\n"


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


def test_cache_align_keeps_volatile_values_in_the_system_prompt() -> None:
    on = CompressConfig(cache_align=True)
    messages = agent(big_json())
    policy = "You are helpful. Refunds above 500 EUR need approval."
    sent = []
    for day, request in (("2026-11-22", "0b9f6a5e"), ("2026-11-23", "9e9f6a5e")):
        messages[0] = {
            "role": "system",
            "content": f"Today is {day}, request {request}-1c1d-4c55-8b1b-111122223333. {policy}",
        }
        result = compress(messages, config=on)
        system = result.messages[0]["content"]
        assert result.messages[0]["role"] == "system" and day in system  # never leaves the role
        assert result.messages[1:3] == messages[1:3]  # no other message changes
        assert len(result.messages) == len(messages)
        sent.append(system)
    stable = [s.split("\n\n[dynamic values")[0] for s in sent]
    assert stable[0] == stable[1] and policy in stable[0]  # the prefix before the values holds
    assert json.dumps(compress(compress(messages, config=on).messages, config=on).messages) == (
        json.dumps(compress(messages, config=on).messages)
    )  # idempotent
    assert compress(messages).messages[0] == messages[0]  # off by default


def test_cache_align_reports_growth_honestly() -> None:
    messages = [
        {"role": "system", "content": "Date: 2026-11-22 10:31 UTC, session 1732270260."},
        {"role": "user", "content": "hi"},
    ]
    result = compress(messages, config=CompressConfig(cache_align=True))
    assert result.tokens_after > result.tokens_before
    assert result.tokens_saved == result.tokens_before - result.tokens_after < 0


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


class PanicException(BaseException):
    """What a Rust extension (pyo3) raises when it panics: not an `Exception`."""


def test_fails_open_on_a_base_exception_but_never_on_an_interrupt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = sys.modules["headroom.core.slots"]
    messages = agent(big_json(334))

    def panic(*args: Any, **kwargs: Any) -> Any:
        raise PanicException("called `Result::unwrap()` on an `Err` value")

    monkeypatch.setattr(pipeline, "compress_text", panic)
    result = compress(messages)
    assert result.messages == messages
    assert result.transforms_applied == ["fail_open:PanicException"]
    with pytest.raises(headroom.CompressionError):
        compress(messages, config=CompressConfig(fail_open=False))

    def interrupt(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "compress_text", interrupt)
    with pytest.raises(KeyboardInterrupt):
        compress(messages)

    def cancelled(*args: Any, **kwargs: Any) -> Any:
        raise asyncio.CancelledError

    monkeypatch.setattr(pipeline, "compress_text", cancelled)
    with pytest.raises(asyncio.CancelledError):  # a cancelled task stays cancelled
        compress(messages)


def test_a_million_spaces_do_not_crash_the_pipeline() -> None:
    messages = agent("x", question="Why is this blank?" + " " * 1_000_000 + "?")
    result = compress(messages)
    assert result.messages == messages and result.tokens_before > 7000
    assert not any(t.startswith("fail_open") for t in result.transforms_applied)


def _lossy_everywhere(job: Any) -> Any:
    """A transform that ignores the configuration: always lossy, always naming a hash."""
    from headroom.core.transforms.base import Compressed, marker

    return Compressed(job.text[:100] + marker("cut", job.ccr_hash or None), "fake:cut", True)


def test_lossy_results_are_discarded_when_loss_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["headroom.core.slots"], "compress_text", _lossy_everywhere)
    messages = agent(big_json(336))
    result = compress(messages, config=CompressConfig(lossy=False))
    assert result.messages == messages and result.ccr_hashes == []
    assert compress(messages).transforms_applied == ["fake:cut"]  # allowed by default


def test_lossy_results_are_discarded_when_the_store_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class DownStore(InMemoryStore):
        def put(self, key: str, original: str) -> None:
            raise ConnectionError("store is down")

    monkeypatch.setattr(sys.modules["headroom.core.slots"], "compress_text", _lossy_everywhere)
    messages = agent(big_json(337))
    result = compress(messages, store=DownStore())
    assert result.messages == messages and result.ccr_hashes == []
    assert "headroom_retrieve" not in json.dumps(result.messages)


HTML_PAGE = (
    "<html><head><style>body{color:red}</style><script>var x = 1;</script></head><body>"
    + "".join(
        f'<div class="row"><p>Paragraph {i} about <a href="https://example.invalid/{i}">'
        f"item {i}</a> and its details.</p></div>"
        for i in range(200)
    )
    + "</body></html>"
)


def test_html_respects_lossless_mode_and_a_failing_store() -> None:
    class DownStore(InMemoryStore):
        def put(self, key: str, original: str) -> None:
            raise ConnectionError("store is down")

    messages = agent(HTML_PAGE, question="Which items are linked?")
    assert "html:text" in compress(messages).transforms_applied  # lossy by default
    for result in (
        compress(messages, config=CompressConfig(lossy=False)),
        compress(messages, store=DownStore()),
    ):
        assert "headroom_retrieve" not in json.dumps(result.messages)
        assert result.ccr_hashes == []
        assert "html:text" not in result.transforms_applied


def test_tokens_saved_is_negative_when_a_request_grows() -> None:
    grown = headroom.CompressionResult(messages=[], tokens_before=61, tokens_after=110)
    assert grown.tokens_saved == -49 and grown.compression_ratio < 0
    assert grown.to_dict()["tokens_saved"] == -49


# -- class 7: every output after a question gets that question ----------------------

_NAMES = ["Aldous", "Brenna", "Caspian", "Delphine", "Ezra", "Fenwick", "Galadria", "Hollis"]
_CITIES = ["Lisbon", "Osaka", "Quito", "Tallinn", "Accra", "Perth", "Bergen", "Cusco"]


def _orders(seed: int, planted: str | None) -> str:
    rnd = random.Random(seed)
    rows = [
        {
            "order_id": f"ORD-{seed:02d}{i:04d}",
            "customer": f"{rnd.choice(_NAMES)} {rnd.choice(_NAMES)}son",
            "city": rnd.choice(_CITIES),
            "amount_eur": rnd.randrange(20, 900),
            "status": "shipped",
        }
        for i in range(rnd.randrange(250, 400))
    ]
    if planted is not None:
        row = rows[rnd.randrange(len(rows))]
        row["customer"] = planted
        row["amount_eur"] = 4242
    return json.dumps(rows, indent=2)


def _several_outputs(layout: str, outputs: list[str], question: str) -> list[dict[str, Any]]:
    n = len(outputs)
    if layout == "anthropic":
        return [
            {"role": "user", "content": [{"type": "text", "text": question}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": f"t{i}", "name": "orders", "input": {"page": i}}
                    for i in range(n)
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": f"t{i}", "content": out}
                    for i, out in enumerate(outputs)
                ],
            },
        ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": question},
    ]
    calls = [
        {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": "orders", "arguments": json.dumps({"page": i})},
        }
        for i in range(n)
    ]
    if layout == "parallel":
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages += [
            {"role": "tool", "tool_call_id": f"c{i}", "content": out}
            for i, out in enumerate(outputs)
        ]
    else:  # one call per round, the model thinking aloud in between
        for i, out in enumerate(outputs):
            messages.append(
                {"role": "assistant", "content": f"Checking page {i}.", "tool_calls": [calls[i]]}
            )
            messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": out})
    return messages


@pytest.mark.parametrize("layout", ["parallel", "sequential", "anthropic"])
@pytest.mark.parametrize("count", [2, 3, 4])
def test_the_answer_in_a_later_output_after_one_question_survives(layout: str, count: int) -> None:
    rnd = random.Random(hash((layout, count)) & 0xFFFF)
    planted = f"{rnd.choice(['Quillon', 'Marrowby', 'Thistlewood'])} Ventures"
    phrasings = [
        f"How much did {planted} pay for its order?",
        f"Find the order placed by {planted.lower()} and tell me the amount.",
        f"what's the amount_eur on {planted}'s order",
    ]
    for position in range(1, count):  # the 2nd, 3rd... output
        outputs = [
            _orders(10 * count + i, planted if i == position else None) for i in range(count)
        ]
        for question in phrasings:
            messages = _several_outputs(layout, outputs, question)
            result = compress(
                messages, model="claude-sonnet-4-5" if layout == "anthropic" else "gpt-4o"
            )
            assert result.ccr_hashes, "the outputs were not compressed with loss: no test"
            blob = json.dumps(result.messages)
            assert planted in blob and "4242" in blob, (layout, count, position, question)


def test_each_slot_is_planned_with_the_latest_question_before_it() -> None:
    from headroom.core.slots import plan

    outputs = [big_json(300 + i) for i in range(3)]
    messages = _several_outputs("sequential", outputs, "first question")
    messages.append({"role": "user", "content": "second question"})
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c9", "type": "function", "function": {"name": "x", "arguments": "{}"}}
            ],
        }
    )
    messages.append({"role": "tool", "tool_call_id": "c9", "content": big_json(310)})
    tasks, last_question = plan(messages, CompressConfig(), set(), {})
    assert last_question == len(messages) - 3
    assert [t.context[0] for t in tasks] == ["first question"] * 3 + ["second question"]
    assert [t.context[1] for t in tasks] == [json.dumps({"page": i}) for i in range(3)] + ["{}"]

    # Anthropic: text beside tool results is a new question for what follows, not
    # for the results it accompanies.
    anthropic = _several_outputs("anthropic", outputs, "what failed?")
    anthropic[2]["content"].append({"type": "text", "text": "and which one is slowest?"})
    tasks, _ = plan(anthropic, CompressConfig(), set(), {})
    assert {t.context[0] for t in tasks} == {"what failed?"}


def test_a_long_question_is_read_by_its_head_and_tail() -> None:
    from headroom.core.slots import plan

    question = "Which order is from Quillon? " + "filler words " * 5000 + " Answer briefly."
    tasks, _ = plan(agent(big_json(300), question=question), CompressConfig(), set(), {})
    (task,) = tasks
    assert len(task.context[0]) <= 4001
    assert task.context[0].startswith("Which order is from Quillon?")
    assert task.context[0].endswith("Answer briefly.")


def test_custom_counters_never_share_memoized_counts() -> None:
    messages = agent(big_json(352))
    for factor in (1, 2, 3):  # each lambda may reuse a collected one's id()
        result = compress(messages, token_counter=lambda text, f=factor: f * len(text))
        pieces = [message_pieces(m)[0] for m in messages]
        assert result.tokens_before == sum(4 + sum(factor * len(p) for p in ps) for ps in pieces)
