"""LiteLLM's own `HeadroomGuardrail` against the real server, CCR retrieval loop included."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("litellm")

from fastapi import HTTPException
from litellm.proxy.guardrails.guardrail_hooks.headroom.headroom import HeadroomGuardrail
from litellm.types.utils import ModelResponse

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.support import serve

MARKER = re.compile(r'headroom_retrieve\(hash="([0-9a-f]{12,24})"\)')
KEY = "guardrail-key"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app(ServerSettings(api_keys=(KEY, "someone-else")))) as url:
        yield url


@pytest.fixture(autouse=True)
async def close_litellm_clients() -> AsyncIterator[None]:
    """LiteLLM caches HTTP clients per process; close them on the loop that opened them."""
    yield
    from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

    await close_litellm_async_clients()


def guardrail(url: str, key: str | None = KEY, **kw: Any) -> HeadroomGuardrail:
    return HeadroomGuardrail(
        api_base=url,
        api_key=key,
        guardrail_name="headroom-compression",
        event_hook="pre_call",
        default_on=True,
        **kw,
    )


def retrieve_response(call_id: str, hash_value: str) -> ModelResponse:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": "headroom_retrieve", "arguments": json.dumps({"hash": hash_value})},
    }
    return ModelResponse(
        choices=[
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
            }
        ]
    )


async def test_guardrail_compresses_through_the_server_and_retrieves_originals(server: str) -> None:
    guard = guardrail(server)
    messages = case("p-mt-ops-1")["messages"]
    originals = {m["tool_call_id"]: m["content"] for m in messages if m["role"] == "tool"}
    request_data: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": messages,
        "litellm_call_id": "call-1",
    }
    out = await guard.apply_guardrail(
        inputs={"structured_messages": messages}, request_data=request_data, input_type="request"
    )
    compressed = out["structured_messages"]
    assert len(compressed) == len(messages)
    assert [m["role"] for m in compressed] == [m["role"] for m in messages]
    assert len(json.dumps(compressed)) < len(json.dumps(messages)) / 2
    assert compressed[-1] == messages[-1]  # the live question is never sent for compression
    assert any(t["function"]["name"] == "headroom_retrieve" for t in out["tools"])
    assert "headroom-compression" in json.dumps(request_data, default=str)  # recorded as applied
    stats = httpx.get(server + "/stats", headers={"authorization": f"Bearer {KEY}"}).json()
    assert stats["requests"]["compress"] >= 1 and stats["tokens"]["saved"] > 0

    stubbed = [
        (m["tool_call_id"], h)
        for m in compressed
        if m["role"] == "tool"
        for h in MARKER.findall(m["content"])
    ]
    assert stubbed
    tool_call_id, hash_value = stubbed[0]
    response = retrieve_response("call_r1", hash_value)
    run, found = await guard.async_should_run_agentic_loop(
        response=response,
        model="gpt-4o",
        messages=compressed,
        tools=out["tools"],
        stream=False,
        custom_llm_provider="openai",
        kwargs={},
    )
    assert run and found["tool_calls"][0]["arguments"] == {"hash": hash_value}
    plan = await guard.async_build_agentic_loop_plan(
        tools=found,
        model="gpt-4o",
        messages=compressed,
        response=response,
        anthropic_messages_provider_config=None,
        anthropic_messages_optional_request_params={},
        logging_obj=None,
        stream=False,
        kwargs=request_data,  # LiteLLM >= 1.110 keeps the issued hashes in the request data
    )
    assert plan.run_agentic_loop and plan.request_patch is not None
    follow_up = plan.request_patch.messages
    assert follow_up is not None
    answer = follow_up[-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_r1"
    assert (
        answer["content"] == originals[tool_call_id]
    )  # the exact original, fetched from the server


async def test_anthropic_shaped_request_keeps_its_row_count(server: str) -> None:
    guard = guardrail(server)
    data = case("p-anth-mt-3")
    # LiteLLM hands the guardrail OpenAI-translated rows; the Anthropic case's tool results
    # arrive as user rows with list content, which the guardrail flattens and restores.
    messages = data["messages"]
    out = await guard.apply_guardrail(
        inputs={"structured_messages": messages},
        request_data={
            "model": "claude-sonnet-4",
            "messages": messages,
            "litellm_call_id": "call-2",
        },
        input_type="request",
    )
    assert len(out["structured_messages"]) == len(messages)
    assert len(json.dumps(out["structured_messages"])) < len(json.dumps(messages))


async def test_wrong_key_fails_closed_or_open_as_configured(server: str) -> None:
    messages = case("p-db-biggestfile")["messages"]
    inputs: Any = {"structured_messages": messages}
    with pytest.raises(HTTPException) as info:
        await guardrail(server, key="wrong").apply_guardrail(
            inputs=inputs,
            request_data={"model": "gpt-4o", "messages": messages},
            input_type="request",
        )
    assert info.value.status_code == 502
    assert info.value.detail["status_code"] == 401
    out = await guardrail(server, key="wrong", unreachable_fallback="fail_open").apply_guardrail(
        inputs=inputs, request_data={"model": "gpt-4o", "messages": messages}, input_type="request"
    )
    assert out is inputs


async def test_another_tenants_hash_is_not_found(server: str) -> None:
    owner, other = guardrail(server), guardrail(server, key="someone-else")
    messages = case("p-db-biggestfile")["messages"]
    out = await owner.apply_guardrail(
        inputs={"structured_messages": messages},
        request_data={"model": "gpt-4o", "messages": messages, "litellm_call_id": "call-3"},
        input_type="request",
    )
    (hash_value,) = MARKER.findall(json.dumps(out["structured_messages"]).replace('\\"', '"'))
    # LiteLLM >= 1.110 also passes the session affinity key
    extra = (
        {"affinity": None}
        if "affinity" in inspect.signature(owner._call_retrieve).parameters
        else {}
    )
    assert (
        await owner._call_retrieve(hash_value, **extra)
        != f"[Headroom: hash={hash_value} not found or expired]"
    )
    assert (
        await other._call_retrieve(hash_value, **extra)
        == f"[Headroom: hash={hash_value} not found or expired]"
    )
