"""`HeadroomClient` around the real SDKs, against a fake provider that records request bytes."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

import headroom.client.pipeline as pipeline_module
from headroom import (
    AnthropicProvider,
    ConfigurationError,
    HeadroomClient,
    OpenAIProvider,
    ProviderError,
)
from headroom.core.store import InMemoryStore
from tests.client.conftest import RecordingUpstream, anthropic_conversation, openai_conversation

ORIGINAL_TOOL_OUTPUT_MARK = "https://docs.example.org/"


def sdk_openai(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)


def sdk_anthropic(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0, timeout=30)


def tool_output(body: dict[str, Any]) -> str:
    return next(m["content"] for m in body["messages"] if m.get("role") == "tool")


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t.get("function", t).get("name") for t in body.get("tools", [])]


def test_optimize_sends_compressed_content_and_answers_the_retrieve_call(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    messages = openai_conversation(seed=3)
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    response = client.chat.completions.create(model="gpt-4o", messages=messages)

    assert isinstance(response, openai.types.chat.ChatCompletion)
    assert response.choices[0].message.content == "final answer"
    assert response.choices[0].message.tool_calls is None
    first, follow_up = (c.body for c in fake.calls)
    original = messages[3]["content"]
    assert len(tool_output(first)) < len(original) / 4
    assert "headroom_retrieve" in tool_output(first)
    assert tool_names(first) == ["headroom_retrieve"]
    # The fake model called headroom_retrieve; the client answered with the original.
    answer = follow_up["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_hr_1"
    assert json.loads(answer["content"]) == json.loads(original)
    assert messages == openai_conversation(seed=3)  # the caller's list is untouched
    stats = client.get_stats()["session"]
    assert stats["requests_total"] == 1 and stats["retrieve_calls_answered"] == 1
    assert stats["tokens_saved_total"] > 0


def test_audit_sends_the_original_bytes_and_still_records_savings(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    messages = openai_conversation(seed=4)
    sdk_openai(base_url).chat.completions.create(model="gpt-4o", messages=messages, temperature=0)
    client = HeadroomClient(
        original_client=sdk_openai(base_url),
        provider=OpenAIProvider(),
        default_mode="audit",
        store_url=store_url,
    )
    response = client.chat.completions.create(model="gpt-4o", messages=messages, temperature=0)

    assert response.choices[0].message.content == "final answer"
    plain, audited = fake.raw
    assert audited == plain
    [record] = client.get_metrics()
    assert record.mode == "audit"
    assert record.tokens_input_before > record.tokens_input_after > 0
    assert record.tokens_saved == record.tokens_input_before - record.tokens_input_after
    assert record.transforms
    assert client.get_stats()["session"]["tokens_saved_total"] == record.tokens_saved


def test_simulate_returns_a_plan_and_makes_no_request(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    plan = client.chat.completions.simulate(model="gpt-4o", messages=openai_conversation(seed=5))

    assert fake.raw == []
    assert plan.tokens_before > plan.tokens_after > 0
    assert plan.tokens_saved == plan.tokens_before - plan.tokens_after
    assert plan.transforms and plan.ccr_hashes
    # gpt-4o input price from LiteLLM's bundled cost map.
    assert plan.estimated_savings == pytest.approx(plan.tokens_saved * 2.5e-6)
    assert plan.estimated_savings_reason == ""
    assert client.get_metrics() == []  # a simulation is not a request


def test_simulate_without_a_known_price_says_why(base_url: str, store_url: str) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    plan = client.chat.completions.simulate(
        model="in-house-model-7", messages=openai_conversation(seed=5)
    )
    assert plan.tokens_saved > 0
    assert plan.estimated_savings is None
    assert "in-house-model-7" in plan.estimated_savings_reason


def test_overrides_reach_headroom_only(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    messages = openai_conversation(seed=6)
    sdk_openai(base_url).chat.completions.create(model="gpt-4o", messages=messages)
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    client.chat.completions.create(
        model="gpt-4o",
        messages=messages,
        headroom_mode="audit",
        headroom_keep_turns=3,
        headroom_output_buffer_tokens=8000,
    )
    plain, overridden = fake.raw
    assert overridden == plain
    assert b"headroom_" not in overridden

    fake.clear()
    client.chat.completions.create(
        model="gpt-4o",
        messages=messages,
        headroom_tool_profiles={"search": {"skip_compression": True}},
    )
    [call] = fake.calls
    assert tool_output(call.body) == messages[3]["content"]
    assert "headroom_retrieve" not in json.dumps(call.body)
    modes = [m.mode for m in client.get_metrics()]
    assert sorted(modes) == ["audit", "optimize"]


def test_buffer_and_keep_turns_overrides_change_the_window_fit(
    base_url: str, store_url: str
) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url),
        provider=OpenAIProvider(),
        model_context_limits={"gpt-4o": 20_000},
        store_url=store_url,
    )
    messages = openai_conversation(seed=7)
    roomy = client.chat.completions.simulate(model="gpt-4o", messages=messages)
    over_budget = client.chat.completions.simulate(
        model="gpt-4o", messages=messages, headroom_output_buffer_tokens=19_900
    )
    one_turn = client.chat.completions.simulate(
        model="gpt-4o",
        messages=messages,
        headroom_output_buffer_tokens=19_900,
        headroom_keep_turns=1,
    )
    assert not any(t.startswith("window:") for t in roomy.transforms)
    # Over budget with the tool output inside the two kept turns: it is cut to fit, not stubbed.
    assert "window:cut 1" in over_budget.transforms
    assert not any(t.startswith("window:stubbed") for t in over_budget.transforms)
    # With one kept turn the output is old enough to be stubbed instead.
    assert "window:stubbed 1" in one_turn.transforms
    assert one_turn.tokens_after < roomy.tokens_after
    assert over_budget.tokens_after < roomy.tokens_after


@pytest.mark.parametrize(
    "override",
    [
        {"headroom_keep_turns": 0},
        {"headroom_mode": "simulate"},
        {"headroom_mode": "fast"},
        {"headroom_tool_profiles": {"search": {"skip": True}}},
        {"headroom_tool_profile": {}},
    ],
)
def test_a_bad_override_raises_before_any_request(
    fake: RecordingUpstream, base_url: str, store_url: str, override: dict[str, Any]
) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    with pytest.raises(ConfigurationError) as info:
        client.chat.completions.create(
            model="gpt-4o", messages=openai_conversation(seed=8), **override
        )
    assert isinstance(info.value.details, dict)
    assert fake.raw == []


def test_anthropic_optimize_answers_retrieve_and_hides_it(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    messages = anthropic_conversation(seed=9)
    client = HeadroomClient(
        original_client=sdk_anthropic(base_url), provider=AnthropicProvider(), store_url=store_url
    )
    response = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=256, system="Be brief.", messages=messages
    )

    assert isinstance(response, anthropic.types.Message)
    assert [b.type for b in response.content] == ["text"]
    assert response.content[0].text == "final answer"
    assert response.stop_reason == "end_turn"
    first, follow_up = (c.body for c in fake.calls)
    assert first["system"] == "Be brief."
    sent = first["messages"][2]["content"][0]["content"]
    assert len(sent) < len(messages[2]["content"][0]["content"]) / 4
    assert tool_names(first) == ["headroom_retrieve"]
    result = follow_up["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_hr_1"
    assert json.loads(result["content"]) == json.loads(messages[2]["content"][0]["content"])
    [record] = client.get_metrics()
    assert record.provider == "anthropic" and record.retrieve_calls == 1
    assert record.savings_usd is not None and record.savings_usd > 0


def test_retrieval_can_be_switched_off(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url),
        provider=OpenAIProvider(),
        store_url=store_url,
        ccr_retrieve=False,
    )
    client.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed=10))
    [call] = fake.calls
    assert "tools" not in call.body
    assert len(tool_output(call.body)) < len(openai_conversation(seed=10)[3]["content"])


def test_the_callers_own_tools_are_kept_beside_retrieve(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    tool = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    client.chat.completions.create(
        model="gpt-4o", messages=openai_conversation(seed=11), tools=[tool]
    )
    assert tool_names(fake.calls[0].body) == ["search", "headroom_retrieve"]


def test_a_compression_failure_sends_the_original(
    fake: RecordingUpstream,
    base_url: str,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("transform exploded")

    messages = openai_conversation(seed=12)
    sdk_openai(base_url).chat.completions.create(model="gpt-4o", messages=messages)
    monkeypatch.setattr(pipeline_module, "compress", broken)
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    response = client.chat.completions.create(model="gpt-4o", messages=messages)

    assert response.choices[0].message.content == "final answer"
    plain, sent = fake.raw
    assert sent == plain
    assert "cannot compress" in caplog.text
    stats = client.get_stats()["session"]
    assert stats["compression_failures"] == 1 and stats["tokens_saved_total"] == 0


def test_sdk_message_objects_in_the_history_are_accepted(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    messages: list[Any] = openai_conversation(seed=13)
    previous = client.chat.completions.create(model="gpt-4o", messages=messages)
    messages += [previous.choices[0].message, {"role": "user", "content": "And the lowest?"}]
    fake.clear()
    client.chat.completions.create(model="gpt-4o", messages=messages, headroom_mode="optimize")
    sent = fake.calls[0].body["messages"]
    assert sent[-2] == {"role": "assistant", "content": "final answer"}
    assert len(tool_output(fake.calls[0].body)) < len(messages[3]["content"])


def test_every_other_attribute_is_the_wrapped_clients(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    original = sdk_openai(base_url)
    client = HeadroomClient(
        original_client=original, provider=OpenAIProvider(), store_url=store_url
    )
    assert client.api_key == "sk-test"
    assert client.original_client is original
    assert client.models is original.models
    assert client.chat.completions.with_raw_response is not None
    model = client.models.retrieve("gpt-4o")
    assert fake.calls[-1].path == "/v1/models/gpt-4o"
    assert model is not None


def test_a_wrong_provider_is_rejected(base_url: str) -> None:
    with pytest.raises(ProviderError):
        HeadroomClient(original_client=sdk_openai(base_url), provider=OpenAIProvider)  # type: ignore[arg-type]
    with pytest.raises(ProviderError):
        HeadroomClient(original_client=sdk_openai(base_url), provider="openai")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError) as info:
        HeadroomClient(original_client=sdk_openai(base_url), provider=AnthropicProvider())
    assert info.value.details["provider"] == "anthropic"
    with pytest.raises(ConfigurationError):
        HeadroomClient(
            original_client=sdk_openai(base_url),
            provider=OpenAIProvider(),
            default_mode="fast",  # type: ignore[arg-type]
        )
    with pytest.raises(ConfigurationError):
        HeadroomClient(
            original_client=sdk_openai(base_url),
            provider=OpenAIProvider(),
            model_context_limits={"gpt-4o": -1},
        )
    with pytest.raises(ConfigurationError):
        HeadroomClient(
            original_client=sdk_openai(base_url),
            provider=OpenAIProvider(),
            enable_semantic_cache=True,
        )


def test_stats_report_config_and_transforms(base_url: str, store_url: str) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url),
        provider=OpenAIProvider(),
        enable_cache_optimizer=False,
        model_context_limits={"gpt-4o": 64_000},
        store_url=store_url,
        ccr_store=InMemoryStore(),
    )
    stats = client.get_stats()
    assert stats["config"]["mode"] == "optimize"
    assert stats["config"]["provider"] == "openai"
    assert stats["config"]["enable_cache_optimizer"] is False
    assert stats["config"]["model_context_limits"] == {"gpt-4o": 64_000}
    assert stats["transforms"]["smart_crusher_enabled"] is True
    assert stats["transforms"]["cache_aligner_enabled"] is False
    assert stats["session"]["requests_total"] == 0


def test_originals_go_to_the_given_ccr_store(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    store = InMemoryStore()
    client = HeadroomClient(
        original_client=sdk_openai(base_url),
        provider=OpenAIProvider(),
        store_url=store_url,
        ccr_store=store,
    )
    plan = client.chat.completions.simulate(model="gpt-4o", messages=openai_conversation(seed=14))
    assert plan.ccr_hashes
    assert all(store.get(h) is not None for h in plan.ccr_hashes)


def test_with_options_stays_wrapped_and_shares_the_session(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    client = HeadroomClient(
        original_client=sdk_openai(base_url), provider=OpenAIProvider(), store_url=store_url
    )
    quick = client.with_options(timeout=5, max_retries=0)
    assert isinstance(quick, HeadroomClient)
    assert quick.original_client is not client.original_client
    assert quick.timeout == 5
    quick.chat.completions.create(model="gpt-4o", messages=openai_conversation(seed=15))
    assert len(tool_output(fake.calls[0].body)) < len(openai_conversation(seed=15)[3]["content"])
    assert client.get_stats()["session"]["requests_total"] == 1


def test_anthropic_simulate(fake: RecordingUpstream, base_url: str, store_url: str) -> None:
    client = HeadroomClient(
        original_client=sdk_anthropic(base_url), provider=AnthropicProvider(), store_url=store_url
    )
    plan = client.messages.simulate(
        model="claude-sonnet-4-6", max_tokens=100, messages=anthropic_conversation(seed=16)
    )
    assert fake.raw == []
    assert plan.tokens_saved > 0 and plan.estimated_savings is not None
    assert plan.messages[2]["content"][0]["type"] == "tool_result"


def test_anthropic_history_with_sdk_content_blocks(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    client = HeadroomClient(
        original_client=sdk_anthropic(base_url), provider=AnthropicProvider(), store_url=store_url
    )
    messages: list[Any] = anthropic_conversation(seed=17)
    previous = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=messages, headroom_mode="audit"
    )
    messages += [
        {"role": "assistant", "content": previous.content},
        {"role": "user", "content": "And the lowest?"},
    ]
    fake.clear()
    client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=64,
        messages=messages,
        headroom_tool_profiles={"search": {"skip_compression": True}},
    )
    sent = fake.calls[0].body["messages"]
    assert sent[3] == {"role": "assistant", "content": [{"type": "text", "text": "final answer"}]}
    # SDK blocks elsewhere in the history do not stop the profile from applying.
    assert sent[2]["content"][0]["content"] == messages[2]["content"][0]["content"]


def test_parse_is_compressed_without_the_retrieve_tool(store_url: str) -> None:
    import httpx
    from pydantic import BaseModel

    class Top(BaseModel):
        ids: list[int]

    bodies: list[dict[str, Any]] = []

    def structured(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        message = {"role": "assistant", "content": '{"ids": [17, 204, 88]}'}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-4o",
                "choices": [choice],
            },
        )

    sdk = openai.OpenAI(
        api_key="sk-test",
        base_url="https://api.example.invalid/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(structured)),
    )
    client = HeadroomClient(original_client=sdk, provider=OpenAIProvider(), store_url=store_url)
    original = openai_conversation(seed=18)
    parsed = client.chat.completions.parse(model="gpt-4o", messages=original, response_format=Top)

    assert parsed.choices[0].message.parsed == Top(ids=[17, 204, 88])
    [body] = bodies
    assert len(tool_output(body)) < len(original[3]["content"]) / 4
    assert "tools" not in body  # parse accepts only strict tools
    assert body["response_format"]["type"] == "json_schema"
    assert client.get_metrics()[0].tokens_saved > 0
