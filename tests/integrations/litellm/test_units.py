"""The pure request helpers, and behaviour on LiteLLM builds without the agentic loop."""

from __future__ import annotations

import copy
from typing import Any

import litellm
import pytest
from hypothesis import given
from hypothesis import strategies as st

from headroom import retrieve_tool_anthropic, retrieve_tool_openai
from headroom.integrations.litellm import HeadroomCallback, _ccr
from headroom.integrations.litellm._request import (
    cache_breakpoint_index,
    has_retrieve_tool,
    metadata_key,
    retrieve_adapter,
    with_stats,
)
from headroom.integrations.litellm.remote import parse_compress_reply
from tests.integrations.litellm.conftest import logs_case
from tests.integrations.litellm.fakes import FakeProvider
from tests.integrations.litellm.helpers import was_compressed

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=10), _json, max_size=5),
    st.sampled_from(["metadata", "litellm_metadata"]),
)
def test_with_stats_never_mutates_and_keeps_existing_metadata(
    kwargs: dict[str, Any], key: str
) -> None:
    before = copy.deepcopy(kwargs)
    out = with_stats(kwargs, key, {"tokens_before": 10, "tokens_after": 4, "tokens_saved": 6})
    assert kwargs == before
    assert out[key]["headroom"]["tokens_saved"] == 6
    assert out[key]["spend_logs_metadata"]["headroom"] == {
        "tokens_before": 10,
        "tokens_after": 4,
        "tokens_saved": 6,
    }
    if isinstance(before.get(key), dict):
        for k, v in before[key].items():
            if k not in ("headroom", "spend_logs_metadata"):
                assert out[key][k] == v


@given(
    st.lists(
        st.sampled_from([retrieve_tool_openai(), {"type": "function", "function": {"name": "x"}}]),
        max_size=4,
    )
)
def test_adding_the_retrieve_tool_is_idempotent_and_copies(tools: list[dict[str, Any]]) -> None:
    adapter = retrieve_adapter("acompletion")
    before = copy.deepcopy(tools)
    once = adapter.add_tool({"tools": tools})["tools"]
    assert tools == before
    assert adapter.add_tool({"tools": once})["tools"] == once
    given_count = sum(t["function"]["name"] == "headroom_retrieve" for t in tools)
    assert sum(t["function"]["name"] == "headroom_retrieve" for t in once) == max(1, given_count)
    assert once[: len(tools)] == tools  # the caller's tools come first, as they were
    assert has_retrieve_tool(once) and not has_retrieve_tool(None)
    anthropic = retrieve_adapter("anthropic_messages").add_tool({})
    assert anthropic["tools"] == [retrieve_tool_anthropic()]


def test_cache_breakpoints_on_messages_blocks_and_tool_results() -> None:
    plain = {"role": "user", "content": "hi"}
    on_block = {
        "role": "user",
        "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}],
    }
    on_message = {"role": "system", "content": "s", "cache_control": {"type": "ephemeral"}}
    nested = {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [{"type": "text", "text": "o", "cache_control": {"type": "ephemeral"}}],
            }
        ],
    }
    assert cache_breakpoint_index([plain, plain]) == -1
    assert cache_breakpoint_index([on_message, plain, on_block, plain]) == 2
    assert cache_breakpoint_index([plain, nested, plain]) == 1


def test_metadata_keys_follow_litellm() -> None:
    assert metadata_key({"metadata": {}}, "acompletion") == "metadata"
    assert metadata_key({}, "acompletion") == "metadata"
    assert metadata_key({"litellm_metadata": {}}, "acompletion") == "litellm_metadata"
    assert metadata_key({"metadata": {"user_id": "u"}}, "anthropic_messages") == "litellm_metadata"


async def test_proxy_metadata_is_extended_not_replaced() -> None:
    cb = HeadroomCallback()
    data = {"model": "gpt-4o", "messages": logs_case(), "metadata": {"user_api_key_hash": "abc"}}
    out = await cb.async_pre_call_hook(None, None, data, "acompletion")
    assert out["metadata"]["user_api_key_hash"] == "abc"
    assert out["metadata"]["headroom"]["tokens_saved"] > 0
    assert data["metadata"] == {"user_api_key_hash": "abc"}


def test_parse_compress_reply_checks_shape() -> None:
    sent = [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]
    good = {
        "messages": sent,
        "tokens_before": 5,
        "tokens_after": 3,
        "transforms_applied": ["x"],
        "ccr_hashes": [],
    }
    result = parse_compress_reply(good, sent)
    assert result is not None and result.tokens_saved == 2
    assert parse_compress_reply({**good, "messages": sent[:1]}, sent) is None
    assert parse_compress_reply({**good, "tokens_after": "3"}, sent) is None
    assert parse_compress_reply({**good, "ccr_hashes": "abc"}, sent) is None


async def test_without_the_agentic_loop_no_tool_is_offered(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older LiteLLM would never answer headroom_retrieve, so it is not offered; compression still happens."""
    monkeypatch.setattr(_ccr, "_AGENTIC_LOOP", False)
    litellm.callbacks = [HeadroomCallback()]
    messages = logs_case()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert was_compressed(fake.last_messages, messages)
    assert fake.requests[-1]["tools"] is None


async def test_without_stream_conversion_streams_stay_streams(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ccr, "_CONVERTED_STREAM_KEY", None)
    litellm.callbacks = [HeadroomCallback()]
    messages = logs_case()
    stream = await litellm.acompletion(model="fake/gpt-4o", messages=messages, stream=True)
    assert [c async for c in stream]
    assert fake.requests[-1]["method"] == "astreaming"
    assert was_compressed(fake.last_messages, messages)
    assert not fake.requests[-1]["tools"]


def test_subclasses_keep_the_proxy_pre_call_hook() -> None:
    """LiteLLM's proxy runs `async_pre_call_hook` only if the callback's own class defines it."""
    from headroom.integrations.litellm import HeadroomCallback
    from headroom.integrations.litellm.proxy_config import ProxyCallback

    class Mine(HeadroomCallback):
        pass

    for cls in (HeadroomCallback, ProxyCallback, Mine):
        assert "async_pre_call_hook" in vars(cls)
        assert cls.async_pre_call_hook is HeadroomCallback.async_pre_call_hook


def _details(**extra: Any) -> dict[str, Any]:
    """LiteLLM's call details as `Logging.pre_call` hands them to `log_pre_api_call`."""
    from tests.integrations.litellm.conftest import logs_case

    body = {"model": "gpt-4o", "messages": logs_case()}
    return {
        "call_type": "completion",
        "custom_llm_provider": "openai",
        "litellm_params": {"metadata": {"team": "sre"}},
        "additional_args": {"complete_input_dict": body, "headers": {}},
        **extra,
    }


@pytest.mark.parametrize(
    "change",
    [
        {"call_type": "acompletion"},
        {"call_type": "embedding"},
        {"custom_llm_provider": "bedrock"},
        {"headers": {"X-Amz-Date": "20261130T000000Z"}},
    ],
)
def test_the_body_hook_leaves_async_non_chat_and_signed_requests_alone(
    change: dict[str, Any],
) -> None:
    details = _details()
    if "headers" in change:
        details["additional_args"]["headers"] = change["headers"]
    else:
        details.update(change)
    before = details["additional_args"]["complete_input_dict"]["messages"]
    HeadroomCallback().log_pre_api_call("gpt-4o", before, details)
    assert details["additional_args"]["complete_input_dict"]["messages"] is before
    assert "headroom" not in details["litellm_params"]["metadata"]


def test_the_body_hook_rewrites_a_sync_body_and_records_its_savings() -> None:
    details = _details()
    metadata = details["litellm_params"]["metadata"]
    before = details["additional_args"]["complete_input_dict"]["messages"]
    HeadroomCallback().log_pre_api_call("gpt-4o", before, details)
    assert details["additional_args"]["complete_input_dict"]["messages"] is not before
    stats = details["litellm_params"]["metadata"]["headroom"]
    assert stats["tokens_saved"] > 10_000 and metadata == {"team": "sre"}  # a copy, not mutated
