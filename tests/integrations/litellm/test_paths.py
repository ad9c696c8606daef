"""Every LiteLLM path, measured from the provider's side (the table in docs/litellm.md)."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

import litellm
import pytest

from headroom.integrations.litellm import HeadroomCallback, acompletion, completion
from tests.integrations.litellm.conftest import anthropic_case, logs_case
from tests.integrations.litellm.fakes import FakeProvider, StubServer, retrieve_first_marker
from tests.integrations.litellm.helpers import (
    asaved_after,
    saved_after,
    tool_output,
    was_compressed,
)


def compressed_once(messages: list[Any]) -> int:
    """The tokens one request saves (a fresh callback, so nothing is memoized)."""
    new = HeadroomCallback().compress_request({"model": "openai/gpt-4o", "messages": messages})
    assert new is not None
    return int(new["metadata"]["headroom"]["tokens_saved"])


def _register(**kwargs: Any) -> HeadroomCallback:
    cb = HeadroomCallback(**kwargs)
    litellm.callbacks = [cb]
    return cb


# ---------------------------------------------------------------- SDK, sync


def _openai(stub: StubServer) -> dict[str, Any]:
    return {"api_base": f"{stub.url}/v1", "api_key": "sk-test"}


def test_sync_completion_compresses_through_the_callback(stub: StubServer) -> None:
    """`log_pre_api_call` rewrites the body LiteLLM is about to send; no tool on the sync path."""
    cb = _register()
    messages = logs_case()
    snapshot = copy.deepcopy(messages)
    response = litellm.completion(model="openai/gpt-4o", messages=messages, **_openai(stub))
    assert response.choices[0].message.content == "stub answer"
    (body,) = stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)
    assert "tools" not in body
    assert messages == snapshot
    assert saved_after(cb) > 10_000


def test_sync_completion_stream_and_positional_messages(stub: StubServer) -> None:
    _register()
    messages = logs_case()
    chunks = list(litellm.completion("openai/gpt-4o", messages, stream=True, **_openai(stub)))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "stub answer"
    (body,) = stub.bodies("/chat/completions")
    assert body["stream"] is True
    assert was_compressed(body["messages"], messages)


def test_sync_router_completion_with_a_fallback_counts_once(stub: StubServer) -> None:
    cb = _register()
    stub.failures = 1
    router = litellm.Router(
        model_list=[
            {"model_name": "a", "litellm_params": {"model": "openai/gpt-4o", **_openai(stub)}},
            {"model_name": "b", "litellm_params": {"model": "openai/gpt-4o", **_openai(stub)}},
        ],
        fallbacks=[{"a": ["b"]}],
        num_retries=0,
    )
    messages = logs_case()
    router.completion(model="a", messages=messages)
    first, second = stub.bodies("/chat/completions")
    assert was_compressed(first["messages"], messages)
    assert second["messages"] == first["messages"]
    one = compressed_once(messages)
    assert saved_after(cb, one) == one
    time.sleep(0.2)
    assert cb.total_tokens_saved == one


def test_sync_batch_completion_compresses_each_request(stub: StubServer) -> None:
    _register()
    messages = logs_case()
    litellm.batch_completion(model="openai/gpt-4o", messages=[messages, messages], **_openai(stub))
    bodies = stub.bodies("/chat/completions")
    assert len(bodies) == 2
    assert all(was_compressed(b["messages"], messages) for b in bodies)


def test_sync_anthropic_completion_compresses_the_anthropic_body(stub: StubServer) -> None:
    """`anthropic/` through `completion`: the body is already in Anthropic's shape."""
    _register()
    messages = logs_case()
    litellm.completion(
        model="anthropic/claude-sonnet-4-5-20250929",
        messages=messages,
        max_tokens=64,
        api_base=stub.url,
        api_key="sk-ant-test",
    )
    (body,) = stub.bodies("/v1/messages")
    assert was_compressed(body["messages"], messages)
    assert "headroom_retrieve" not in [t["name"] for t in body.get("tools") or []]


def test_sync_completion_on_a_custom_llm_is_not_reachable(fake: FakeProvider) -> None:
    """Measured: a `CustomLLM` provider builds no body, so only the wrapper reaches it."""
    _register()
    messages = logs_case()
    litellm.completion(model="fake/gpt-4o", messages=messages)
    assert tool_output(fake.last_messages) == tool_output(messages)
    completion(model="fake/gpt-4o", messages=messages)
    assert was_compressed(fake.last_messages, messages)


def test_failed_retries_save_nothing(stub: StubServer) -> None:
    cb = _register()
    stub.failures = 1_000
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(
            model="openai/gpt-4o", messages=logs_case(), num_retries=2, **_openai(stub)
        )
    assert len(stub.bodies("/chat/completions")) >= 3
    time.sleep(0.3)
    assert cb.total_tokens_saved == 0


def _small_window_router(stub: StubServer) -> Any:
    """A deployment whose window the raw request exceeds and the compressed one fits."""
    return litellm.Router(
        model_list=[
            {
                "model_name": "small",
                # not gpt-4o: LiteLLM registers model_info per model, process-wide
                "litellm_params": {"model": "openai/gpt-4o-mini", **_openai(stub)},
                "model_info": {"max_input_tokens": 8_000},
            }
        ],
        enable_pre_call_checks=True,
    )


def test_pre_call_checks_run_before_every_callback_hook(stub: StubServer) -> None:
    """Measured: the Router counts the caller's own list before any hook may change it."""
    _register()
    with pytest.raises(litellm.ContextWindowExceededError):
        _small_window_router(stub).completion(model="small", messages=logs_case())
    assert stub.bodies("/chat/completions") == []


async def test_async_router_rejection_is_explained_once_and_the_callers_list_is_kept(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The only hook before the async Router's window check gets the caller's own list: we warn, not rewrite."""
    _register()
    messages = logs_case()
    snapshot = copy.deepcopy(messages)
    router = _small_window_router(stub)
    with caplog.at_level(logging.WARNING, logger="headroom.litellm"):
        for _ in range(2):
            with pytest.raises(litellm.ContextWindowExceededError):
                await router.acompletion(model="small", messages=messages)
    warnings = [
        r.getMessage() for r in caplog.records if "enable_pre_call_checks" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert (
        "acompletion(..., router=router)" in warnings[0] and "'openai/gpt-4o-mini'" in warnings[0]
    )
    assert messages == snapshot
    assert stub.bodies("/chat/completions") == []


async def test_requests_within_the_routers_window_log_nothing(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    _register()
    router = _small_window_router(stub)
    with caplog.at_level(logging.WARNING, logger="headroom.litellm"):
        await router.acompletion(model="small", messages=[{"role": "user", "content": "hi"}])
    assert not [r for r in caplog.records if "enable_pre_call_checks" in r.getMessage()]


def test_sync_wrapper_compresses_before_the_routers_pre_call_checks(stub: StubServer) -> None:
    _register()
    messages = logs_case()
    completion(model="small", messages=messages, router=_small_window_router(stub))
    (body,) = stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)


async def test_async_wrapper_compresses_before_the_routers_pre_call_checks(
    stub: StubServer,
) -> None:
    _register()
    messages = logs_case()
    await acompletion(model="small", messages=messages, router=_small_window_router(stub))
    (body,) = stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)


def test_sync_wrapper_compresses(fake: FakeProvider) -> None:
    cb = _register()
    messages = logs_case()
    response = completion(model="fake/gpt-4o", messages=messages)
    assert response.choices[0].message.content == "fake answer"
    assert was_compressed(fake.last_messages, messages)
    assert saved_after(cb) > 10_000


def test_sync_wrapper_counts_for_an_unregistered_callback(fake: FakeProvider) -> None:
    cb = HeadroomCallback()
    messages = logs_case()
    completion(model="fake/gpt-4o", messages=messages, callback=cb)
    assert cb.total_tokens_saved == compressed_once(messages)


def test_sync_wrapper_stream_compresses_without_the_retrieve_tool(fake: FakeProvider) -> None:
    _register()
    messages = logs_case()
    chunks = list(completion(model="fake/gpt-4o", messages=messages, stream=True))
    assert chunks
    assert fake.requests[-1]["method"] == "streaming"
    assert was_compressed(fake.last_messages, messages)
    assert not fake.requests[-1]["tools"]


def test_sync_wrapper_takes_positional_messages(fake: FakeProvider) -> None:
    messages = logs_case()
    completion("fake/gpt-4o", messages, callback=HeadroomCallback())
    assert was_compressed(fake.last_messages, messages)


# --------------------------------------------------------------- SDK, async


async def test_acompletion_compresses(fake: FakeProvider) -> None:
    cb = _register()
    messages = logs_case()
    response = await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert response.choices[0].message.content == "fake answer"
    assert was_compressed(fake.last_messages, messages)
    assert await asaved_after(cb) > 10_000


async def test_acompletion_stream_compresses(fake: FakeProvider) -> None:
    _register(retrieval=False)
    messages = logs_case()
    stream = await litellm.acompletion(model="fake/gpt-4o", messages=messages, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "fake answer"
    assert fake.requests[-1]["method"] == "astreaming"
    assert was_compressed(fake.last_messages, messages)


async def test_acompletion_stream_with_retrieval_still_streams_to_the_caller(
    fake: FakeProvider,
) -> None:
    """The provider gets one whole request (so the agentic loop can see a retrieve call); the caller a stream."""
    _register()
    messages = logs_case()
    stream = await litellm.acompletion(model="fake/gpt-4o", messages=messages, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "fake answer"
    assert was_compressed(fake.last_messages, messages)
    names = [t["function"]["name"] for t in fake.requests[-1]["tools"]]
    assert names == ["headroom_retrieve"]


async def test_router_acompletion_with_a_fallback_counts_once(stub: StubServer) -> None:
    cb = _register()
    stub.failures = 1
    router = litellm.Router(
        model_list=[
            {"model_name": "a", "litellm_params": {"model": "openai/gpt-4o", **_openai(stub)}},
            {"model_name": "b", "litellm_params": {"model": "openai/gpt-4o", **_openai(stub)}},
        ],
        fallbacks=[{"a": ["b"]}],
        num_retries=0,
    )
    messages = logs_case()
    await router.acompletion(model="a", messages=messages)
    first, second = stub.bodies("/chat/completions")
    assert was_compressed(first["messages"], messages)
    assert was_compressed(second["messages"], messages)
    one = compressed_once(messages)
    assert await asaved_after(cb, one) == one
    await asyncio.sleep(0.2)
    assert cb.total_tokens_saved == one


async def test_router_acompletion_compresses(fake: FakeProvider) -> None:
    _register()
    router = litellm.Router(
        model_list=[{"model_name": "logs", "litellm_params": {"model": "fake/gpt-4o"}}]
    )
    messages = logs_case()
    await router.acompletion(model="logs", messages=messages)
    assert was_compressed(fake.last_messages, messages)


async def test_acompletion_over_http_compresses(stub: StubServer) -> None:
    _register()
    messages = logs_case()
    await litellm.acompletion(
        model="openai/gpt-4o", messages=messages, api_base=f"{stub.url}/v1", api_key="sk-test"
    )
    (body,) = stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)
    assert [t["function"]["name"] for t in body["tools"]] == ["headroom_retrieve"]
    assert "headroom" not in body.get(
        "metadata", {}
    )  # LiteLLM's metadata never reaches the provider


async def test_positional_messages_are_invisible_to_hooks_and_warned(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    _register()
    messages = logs_case()
    with caplog.at_level(logging.WARNING, logger="headroom.litellm"):
        await litellm.acompletion("fake/gpt-4o", messages)
    assert tool_output(fake.last_messages) == tool_output(messages)
    assert "positionally" in caplog.text
    await acompletion("fake/gpt-4o", messages)
    assert was_compressed(fake.last_messages, messages)


# ------------------------------------------------------- Anthropic Messages


async def test_anthropic_messages_via_adapter_compresses_and_answers_retrieval(
    fake: FakeProvider,
) -> None:
    """A non-Anthropic provider: LiteLLM converts to chat completions, so three hooks fire."""
    _register()
    system, messages = anthropic_case()
    fake.replies.append(retrieve_first_marker)
    response = await litellm.anthropic.messages.acreate(
        model="fake/claude-sonnet-4", messages=messages, system=system, max_tokens=64
    )
    assert response["content"][0]["text"] == "fake answer"
    first, second = fake.requests
    assert was_compressed(first["messages"], messages)
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_hr_1",
        "content": tool_output(messages),
    }


async def test_anthropic_messages_native_compresses(stub: StubServer) -> None:
    _register()
    system, messages = anthropic_case()
    response = await litellm.anthropic.messages.acreate(
        model="anthropic/claude-sonnet-4-5-20250929",
        messages=messages,
        system=system,
        max_tokens=64,
        api_base=stub.url,
        api_key="sk-ant-test",
    )
    assert response["content"][0]["text"] == "stub answer"
    (body,) = stub.bodies("/v1/messages")
    assert was_compressed(body["messages"], messages)
    assert body["system"] == system
    assert [t["name"] for t in body["tools"]] == ["headroom_retrieve"]
    assert "headroom" not in (body.get("metadata") or {})


async def test_anthropic_messages_native_stream_compresses_without_the_tool(
    stub: StubServer,
) -> None:
    """A stream cannot be paused to answer `headroom_retrieve` on this route, so the tool is not offered."""
    _register()
    system, messages = anthropic_case()
    stream = await litellm.anthropic.messages.acreate(
        model="anthropic/claude-sonnet-4-5-20250929",
        messages=messages,
        system=system,
        max_tokens=64,
        stream=True,
        api_base=stub.url,
        api_key="sk-ant-test",
    )
    raw = b"".join(
        [chunk if isinstance(chunk, bytes) else str(chunk).encode() async for chunk in stream]
    )
    assert b"stub answer" in raw
    (body,) = stub.bodies("/v1/messages")
    assert body["stream"] is True
    assert was_compressed(body["messages"], messages)
    assert not body.get("tools")


# ------------------------------------------------------------ not chat


async def test_embeddings_pass_through_untouched(stub: StubServer) -> None:
    cb = _register(min_tokens=0)
    text = "x " * 5000
    await litellm.aembedding(
        model="openai/text-embedding-3-small", input=[text], api_base=f"{stub.url}/v1", api_key="k"
    )
    (body,) = stub.bodies("/embeddings")
    assert body["input"] == [text]
    assert cb.total_tokens_saved == 0


@pytest.mark.parametrize(
    "call_type",
    [
        "aembedding",
        "embedding",
        "image_generation",
        "atranscription",
        "aspeech",
        "moderation",
        "aresponses",
        "arerank",
    ],
)
async def test_non_chat_call_types_are_left_alone(call_type: str) -> None:
    cb = HeadroomCallback(min_tokens=0)
    kwargs = {"model": "gpt-4o", "messages": logs_case(), "input": "x"}
    assert await cb.async_pre_call_deployment_hook(kwargs, call_type) is None
    assert await cb.async_pre_call_hook(None, None, kwargs, call_type) is kwargs


# ------------------------------------------------------------ request shape


async def test_caller_objects_are_not_mutated(fake: FakeProvider) -> None:
    _register()
    messages = logs_case()
    snapshot = copy.deepcopy(messages)
    tools = [
        {"type": "function", "function": {"name": "kubectl_logs", "parameters": {"type": "object"}}}
    ]
    metadata = {"team": "sre"}
    await litellm.acompletion(
        model="fake/gpt-4o", messages=messages, tools=tools, metadata=metadata
    )
    assert messages == snapshot
    assert len(tools) == 1
    assert metadata == {"team": "sre"}


async def test_tools_and_tool_choice_are_kept(stub: StubServer) -> None:
    _register()
    messages = logs_case()
    tools = [
        {"type": "function", "function": {"name": "kubectl_logs", "parameters": {"type": "object"}}}
    ]
    await litellm.acompletion(
        model="openai/gpt-4o",
        messages=messages,
        tools=tools,
        tool_choice="auto",
        api_base=f"{stub.url}/v1",
        api_key="k",
    )
    (body,) = stub.bodies("/chat/completions")
    assert [t["function"]["name"] for t in body["tools"]] == ["kubectl_logs", "headroom_retrieve"]
    assert body["tool_choice"] == "auto"


async def test_images_survive(fake: FakeProvider) -> None:
    _register()
    messages = logs_case()
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages[1] = {
        "role": "user",
        "content": [{"type": "text", "text": messages[1]["content"]}, image],
    }
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    sent = fake.last_messages
    assert image in sent[1]["content"]
    assert was_compressed(sent, messages)


async def test_min_tokens_is_honoured(fake: FakeProvider) -> None:
    messages = logs_case()
    cb = _register(min_tokens=1_000_000)
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert tool_output(fake.last_messages) == tool_output(messages)
    assert cb.total_tokens_saved == 0
    cb.min_tokens = 1_000
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert was_compressed(fake.last_messages, messages)


async def test_small_requests_are_sent_as_is(fake: FakeProvider) -> None:
    _register()
    messages = [{"role": "user", "content": "What is 2 + 2?"}]
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert fake.last_messages == messages
    assert fake.requests[-1]["tools"] is None


async def test_sdk_message_objects_in_the_history(fake: FakeProvider) -> None:
    """Agents append `response.choices[0].message` (a LiteLLM object) to their history."""
    _register()
    messages = logs_case()
    previous = litellm.completion(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        mock_tool_calls=messages[2]["tool_calls"],
    )
    mixed = [*messages[:2], previous.choices[0].message, messages[3]]
    await litellm.acompletion(model="fake/gpt-4o", messages=mixed)
    assert was_compressed(fake.last_messages, messages)
    assert mixed[2] is previous.choices[0].message


def test_sync_anthropic_messages_create_on_a_custom_llm_is_not_reachable(
    fake: FakeProvider,
) -> None:
    """Measured: the sync `/v1/messages` entry point runs no request-changing hook."""
    _register()
    system, messages = anthropic_case()
    litellm.anthropic.messages.create(
        model="fake/claude-sonnet-4", messages=messages, system=system, max_tokens=64
    )
    assert fake.requests[-1]["method"] == "completion"
    assert tool_output(fake.last_messages) == tool_output(messages)
