"""Idempotence, cache breakpoints, metadata and counters."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger

from headroom import InMemoryStore
from headroom.integrations.litellm import HeadroomCallback
from tests.conftest import case
from tests.integrations.litellm.conftest import logs_case
from tests.integrations.litellm.fakes import FakeProvider
from tests.integrations.litellm.helpers import asaved_after, tool_output, was_compressed


def _norm(message: dict[str, Any]) -> dict[str, Any]:
    """LiteLLM drops ``content: None`` on assistant tool-call turns; nothing else differs."""
    return {k: v for k, v in message.items() if v is not None}


class _Recorder(CustomLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.kwargs: list[dict[str, Any]] = []

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self.kwargs.append(kwargs)


async def test_two_hooks_on_one_call_compress_once() -> None:
    """The proxy runs the pre-call hook and then the deployment hook on the same request."""
    cb = HeadroomCallback(store=InMemoryStore())
    data = {"model": "gpt-4o", "messages": logs_case()}
    first = await cb.async_pre_call_hook(None, None, data, "acompletion")
    assert first is not data
    second = await cb.async_pre_call_deployment_hook(dict(first), "acompletion")
    assert second is None
    assert await cb.async_pre_request_hook("gpt-4o", first["messages"], {}) is None
    assert cb.total_tokens_saved == 0  # nothing counts before the request succeeded
    cb.confirm(first)
    cb.confirm(first)
    assert cb.total_tokens_saved == first["metadata"]["headroom"]["tokens_saved"] > 0


async def test_anthropic_messages_hooks_do_not_double_compress(fake: FakeProvider) -> None:
    """`anthropic.messages` through a non-Anthropic provider fires three hooks on converted messages."""
    from headroom import compress
    from tests.integrations.litellm.conftest import anthropic_case

    system, messages = anthropic_case()
    cb = HeadroomCallback(store=InMemoryStore())
    litellm.callbacks = [cb]
    await litellm.anthropic.messages.acreate(
        model="fake/claude-sonnet-4", messages=messages, system=system, max_tokens=64
    )
    once = compress(messages, "claude-sonnet-4").messages
    assert tool_output(fake.last_messages) == tool_output(once)


async def test_agentic_follow_up_keeps_the_compressed_prefix() -> None:
    cb = HeadroomCallback(store=InMemoryStore())
    messages = case("p-mt-ops-1")["messages"]
    first = cb.compress_request({"model": "gpt-4o", "messages": messages})
    assert first is not None
    sent = first["messages"]
    follow = [
        *sent,
        {"role": "assistant", "content": "Checking."},
        {"role": "user", "content": "And the disk usage?"},
    ]
    second = cb.compress_request({"model": "gpt-4o", "messages": follow})
    resent = second["messages"] if second is not None else follow
    assert resent[: len(sent)] == sent


async def test_nothing_before_the_last_cache_breakpoint_is_rewritten(fake: FakeProvider) -> None:
    litellm.callbacks = [HeadroomCallback(store=InMemoryStore())]
    messages = copy.deepcopy(case("p-mt-ops-1")["messages"])
    bp = len(messages) // 2
    while messages[bp]["role"] != "tool":
        bp += 1
    messages[bp]["content"] = [
        {"type": "text", "text": messages[bp]["content"], "cache_control": {"type": "ephemeral"}}
    ]
    messages[0]["content"] += " Current time: 2026-11-22T10:00:00Z."
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    sent = [_norm(m) for m in fake.last_messages]
    assert sent[: bp + 1] == [_norm(m) for m in messages[: bp + 1]]
    assert tool_output(sent[bp + 1 :]) != tool_output(messages[bp + 1 :])


async def test_breakpoint_on_the_last_message_means_no_change(fake: FakeProvider) -> None:
    litellm.callbacks = [HeadroomCallback(store=InMemoryStore())]
    messages = logs_case()
    messages[-1] = {
        **messages[-1],
        "content": [
            {
                "type": "text",
                "text": messages[-1]["content"],
                "cache_control": {"type": "ephemeral"},
            }
        ],
    }
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert tool_output(fake.last_messages) == tool_output(messages)


async def test_savings_reach_other_callbacks_and_spend_logs(fake: FakeProvider) -> None:
    recorder = _Recorder()
    cb = HeadroomCallback(store=InMemoryStore())
    litellm.callbacks = [cb, recorder]
    await litellm.acompletion(model="fake/gpt-4o", messages=logs_case(), metadata={"team": "sre"})

    def ours() -> list[dict[str, Any]]:
        return [
            k
            for k in recorder.kwargs
            if (k.get("litellm_params") or {}).get("metadata", {}).get("team") == "sre"
        ]

    deadline = time.monotonic() + 5
    while not ours() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    kwargs = ours()[0]
    metadata = kwargs["litellm_params"]["metadata"]
    assert metadata["team"] == "sre"
    assert metadata["headroom"]["tokens_saved"] == cb.total_tokens_saved > 0
    assert metadata["headroom"]["mode"] == "local"
    spend = kwargs["standard_logging_object"]["metadata"]["spend_logs_metadata"]
    assert spend["headroom"]["tokens_saved"] == cb.total_tokens_saved


async def test_total_tokens_saved_under_concurrency(fake: FakeProvider) -> None:
    cb = HeadroomCallback(store=InMemoryStore())
    one = cb.compress_request({"model": "fake/gpt-4o", "messages": logs_case()})
    assert one is not None
    per_call = one["metadata"]["headroom"]["tokens_saved"]
    litellm.callbacks = [cb]
    await asyncio.gather(
        *(litellm.acompletion(model="fake/gpt-4o", messages=logs_case()) for _ in range(8))
    )
    assert await asaved_after(cb, 8 * per_call) == 8 * per_call  # `one` was never sent
    assert all(was_compressed(r["messages"], logs_case()) for r in fake.requests)


def test_unknown_models_fall_back_to_the_core_window() -> None:
    from headroom.integrations.litellm._compressor import context_window as _context_window

    assert _context_window("gpt-4o") == 128_000
    assert _context_window("openai/gpt-4o") == 128_000
    assert _context_window("fake/m") is None


async def test_model_limit_forces_fitting(fake: FakeProvider) -> None:
    """A small explicit window makes the core stub old outputs to fit."""
    messages = case("p-mt-ops-1")["messages"]
    roomy = HeadroomCallback(store=InMemoryStore()).compress_request(
        {"model": "gpt-4o", "messages": messages}
    )
    tight = HeadroomCallback(store=InMemoryStore(), model_limit=8_000).compress_request(
        {"model": "gpt-4o", "messages": messages}
    )
    assert roomy is not None and tight is not None
    assert (
        tight["metadata"]["headroom"]["tokens_after"]
        < roomy["metadata"]["headroom"]["tokens_after"]
    )
    assert any(t.startswith("window") for t in tight["metadata"]["headroom"]["transforms_applied"])
