"""CCR: the retrieve tool is offered when content was stubbed, and the model's calls are answered."""

from __future__ import annotations

import json
from typing import Any

import litellm
import pytest

from headroom import InMemoryStore, retrieve_tool_openai
from headroom.integrations.litellm import HeadroomCallback, _ccr, acompletion, completion
from tests.integrations.litellm.conftest import anthropic_case, logs_case
from tests.integrations.litellm.fakes import (
    FakeProvider,
    StubServer,
    retrieve_call_reply,
    retrieve_first_marker,
)
from tests.integrations.litellm.helpers import tool_output, was_compressed


def _register(**kwargs: Any) -> HeadroomCallback:
    cb = HeadroomCallback(store=InMemoryStore(), **kwargs)
    litellm.callbacks = [cb]
    return cb


def _answered_with_original(followup: list[Any], original: list[Any]) -> bool:
    """The follow-up request ends with our retrieve call and the original tool output as its answer."""
    call, answer = followup[-2], followup[-1]
    return (
        call["role"] == "assistant"
        and call["tool_calls"][0]["function"]["name"] == "headroom_retrieve"
        and answer["role"] == "tool"
        and answer["content"] == tool_output(original)
    )


async def test_acompletion_answers_a_retrieve_call(fake: FakeProvider) -> None:
    _register()
    messages = logs_case()
    fake.replies.append(retrieve_first_marker)
    response = await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert response.choices[0].message.content == "fake answer"
    first, second = fake.requests
    assert was_compressed(first["messages"], messages)
    assert [t["function"]["name"] for t in first["tools"]] == ["headroom_retrieve"]
    assert _answered_with_original(second["messages"], messages)
    # the follow-up re-sends the compressed prefix as is (no second compression)
    assert second["messages"][: len(first["messages"])] == first["messages"]


async def test_streamed_acompletion_answers_a_retrieve_call_and_still_streams(
    fake: FakeProvider,
) -> None:
    _register()
    messages = logs_case()
    fake.replies.append(retrieve_first_marker)
    stream = await litellm.acompletion(model="fake/gpt-4o", messages=messages, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "fake answer"
    assert len(fake.requests) == 2
    assert _answered_with_original(fake.requests[1]["messages"], messages)


async def test_http_provider_round_trip(stub: StubServer) -> None:
    _register()
    messages = logs_case()
    stub.replies.append(retrieve_first_marker)
    response = await litellm.acompletion(
        model="openai/gpt-4o", messages=messages, api_base=f"{stub.url}/v1", api_key="k"
    )
    assert response.choices[0].message.content == "stub answer"
    first, second = stub.bodies("/chat/completions")
    assert was_compressed(first["messages"], messages)
    assert _answered_with_original(second["messages"], messages)


def test_sync_wrapper_answers_a_retrieve_call(fake: FakeProvider) -> None:
    cb = HeadroomCallback(store=InMemoryStore())
    messages = logs_case()
    fake.replies.append(retrieve_first_marker)
    response = completion(model="fake/gpt-4o", messages=messages, callback=cb)
    assert response.choices[0].message.content == "fake answer"
    assert _answered_with_original(fake.requests[1]["messages"], messages)


def test_sync_wrapper_ends_with_an_answer_at_the_round_limit(stub: StubServer) -> None:
    """The core loop: three answered rounds, then one call without the tool; usage summed."""
    cb = HeadroomCallback(store=InMemoryStore())
    messages = logs_case()
    stub.replies.extend([retrieve_first_marker] * 5)  # a model that never stops asking
    response = completion(
        model="openai/gpt-4o",
        messages=messages,
        callback=cb,
        api_base=f"{stub.url}/v1",
        api_key="k",
    )
    bodies = stub.bodies("/chat/completions")
    assert len(bodies) == 4
    assert all(
        [t["function"]["name"] for t in b["tools"]] == ["headroom_retrieve"] for b in bodies[:3]
    )
    assert "tools" not in bodies[3]
    assert _answered_with_original(bodies[1]["messages"], messages)
    choice = response.choices[0]
    assert not choice.message.tool_calls and choice.finish_reason == "stop"
    assert response.usage.prompt_tokens == 4 and response.usage.total_tokens == 8


def test_sync_wrapper_with_the_callback_registered_sends_the_original_back(
    stub: StubServer,
) -> None:
    """The body hook sees the follow-up too: it must not stub the answer again."""
    _register()
    messages = logs_case()
    stub.replies.append(retrieve_first_marker)
    completion(model="openai/gpt-4o", messages=messages, api_base=f"{stub.url}/v1", api_key="k")
    first, second = stub.bodies("/chat/completions")
    assert was_compressed(first["messages"], messages)
    assert _answered_with_original(second["messages"], messages)
    assert second["messages"][: len(first["messages"])] == first["messages"]


async def test_async_wrapper_answers_for_an_unregistered_callback(stub: StubServer) -> None:
    cb = HeadroomCallback(store=InMemoryStore())
    messages = logs_case()
    stub.replies.append(retrieve_first_marker)
    response = await acompletion(
        model="openai/gpt-4o",
        messages=messages,
        callback=cb,
        api_base=f"{stub.url}/v1",
        api_key="k",
    )
    assert response.choices[0].message.content == "stub answer"
    first, second = stub.bodies("/chat/completions")
    assert was_compressed(first["messages"], messages)
    assert _answered_with_original(second["messages"], messages)


async def test_async_wrapper_answers_when_litellm_runs_no_agentic_loop(
    stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered callback on a LiteLLM without the loop: the wrapper's core loop answers."""
    monkeypatch.setattr(_ccr, "_AGENTIC_LOOP", False)
    _register()
    messages = logs_case()
    stub.replies.append(retrieve_first_marker)
    response = await acompletion(
        model="openai/gpt-4o", messages=messages, api_base=f"{stub.url}/v1", api_key="k"
    )
    assert response.choices[0].message.content == "stub answer"
    first, second = stub.bodies("/chat/completions")
    assert [t["function"]["name"] for t in first["tools"]] == ["headroom_retrieve"]
    assert _answered_with_original(second["messages"], messages)


async def test_anthropic_messages_native_round_trip(stub: StubServer) -> None:
    _register()
    system, messages = anthropic_case()
    stub.replies.append(retrieve_first_marker)
    response = await litellm.anthropic.messages.acreate(
        model="anthropic/claude-sonnet-4-5-20250929",
        messages=messages,
        system=system,
        max_tokens=64,
        api_base=stub.url,
        api_key="sk-ant-test",
    )
    assert response["content"][0]["text"] == "stub answer"
    first, second = stub.bodies("/v1/messages")
    assert was_compressed(first["messages"], messages)
    call, answer = second["messages"][-2], second["messages"][-1]
    assert call["content"][-1]["name"] == "headroom_retrieve"
    result = answer["content"][0]
    assert result["type"] == "tool_result"
    answered = (
        result["content"] if isinstance(result["content"], str) else result["content"][0]["text"]
    )
    assert answered == tool_output(messages)


async def test_a_hash_not_issued_for_the_request_is_refused(fake: FakeProvider) -> None:
    cb = _register()
    assert cb.store is not None
    cb.store.put("0123456789abcdef", "someone else's secret")
    messages = logs_case()

    def ours_and_a_forged_one(sent: list[Any]) -> dict[str, Any]:
        reply = retrieve_first_marker(sent)
        forged = retrieve_call_reply("0123456789abcdef", call_id="call_forged")
        return {"tool_calls": reply["tool_calls"] + forged["tool_calls"]}

    fake.replies.append(ours_and_a_forged_one)
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    *_, ours, forged = fake.requests[1]["messages"]
    assert ours["content"] == tool_output(messages)
    assert forged["tool_call_id"] == "call_forged" and "not issued" in forged["content"]
    assert "secret" not in json.dumps(fake.requests[1]["messages"])


async def test_the_callers_own_retrieve_calls_are_left_to_the_caller(fake: FakeProvider) -> None:
    """An app that runs its own headroom_retrieve loop keeps it: nothing we issued, nothing we answer."""
    _register()
    messages = [{"role": "user", "content": "What did the marker 0123456789abcdef hide?"}]
    fake.replies.append(retrieve_call_reply("0123456789abcdef"))
    stream = await litellm.acompletion(
        model="fake/gpt-4o", messages=messages, tools=[retrieve_tool_openai()], stream=True
    )
    chunks = [c async for c in stream]
    assert chunks
    assert [r["method"] for r in fake.requests] == ["astreaming"]  # not converted, not looped
    fake.replies.append(retrieve_call_reply("0123456789abcdef"))
    response = await litellm.acompletion(
        model="fake/gpt-4o", messages=messages, tools=[retrieve_tool_openai()]
    )
    assert response.choices[0].message.tool_calls[0].function.name == "headroom_retrieve"
    assert len(fake.requests) == 2


async def test_retrieval_off_adds_no_tool(fake: FakeProvider) -> None:
    _register(retrieval=False)
    messages = logs_case()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert was_compressed(fake.last_messages, messages)
    assert fake.requests[-1]["tools"] is None


async def test_lossless_compression_adds_no_tool(fake: FakeProvider) -> None:
    """No stub, nothing to retrieve: the request's tools are left as they were."""
    _register(config=None)
    from tests.conftest import case

    messages = case("p-nested-octokit-release")["messages"]
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert len(tool_output(fake.last_messages)) < len(tool_output(messages))
    assert fake.requests[-1]["tools"] is None
