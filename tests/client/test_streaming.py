"""Streaming through `HeadroomClient`: sync and async, both SDKs, with a retrieve round inside."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from headroom import AnthropicProvider, HeadroomClient, OpenAIProvider
from tests.client.conftest import RecordingUpstream, anthropic_conversation, openai_conversation


def openai_text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def anthropic_text(events: list[Any]) -> str:
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def check_openai_chunks(chunks: list[Any]) -> None:
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    assert openai_text(chunks) == "Let me look.part0part1part2"
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason]
    assert finishes == ["stop"]


def check_anthropic_events(events: list[Any]) -> None:
    assert anthropic_text(events) == "Let me look.part0part1part2"
    kinds = [e.type for e in events]
    assert kinds.count("message_start") == 1 and kinds[-1] == "message_stop"
    starts = [e for e in events if e.type == "content_block_start"]
    assert [e.index for e in starts] == [0, 1]  # the follow-up's block continues the numbering
    assert all(e.content_block.type == "text" for e in starts)
    assert [e.delta.stop_reason for e in events if e.type == "message_delta"] == ["end_turn"]


def test_openai_stream_answers_retrieve_mid_stream(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)
    client = HeadroomClient(original_client=sdk, provider=OpenAIProvider(), store_url=store_url)
    with client.chat.completions.create(
        model="gpt-4o", messages=openai_conversation(seed=21), stream=True
    ) as stream:
        chunks = list(stream)
    check_openai_chunks(chunks)
    assert len(fake.calls) == 2 and all(c.body["stream"] for c in fake.calls)
    [record] = client.get_metrics()
    assert record.stream and record.retrieve_calls == 1 and record.tokens_saved > 0


def test_anthropic_stream_answers_retrieve_mid_stream(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = anthropic.Anthropic(base_url=base_url, api_key="sk-ant", max_retries=0, timeout=30)
    client = HeadroomClient(original_client=sdk, provider=AnthropicProvider(), store_url=store_url)
    events = list(
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=128,
            messages=anthropic_conversation(seed=22),
            stream=True,
        )
    )
    check_anthropic_events(events)
    assert len(fake.calls) == 2


def test_audit_stream_is_the_sdks_own_stream(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)
    messages = openai_conversation(seed=23)
    list(sdk.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
    client = HeadroomClient(
        original_client=sdk, provider=OpenAIProvider(), default_mode="audit", store_url=store_url
    )
    stream = client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
    assert isinstance(stream, openai.Stream)
    assert openai_text(list(stream)) == "part0part1part2"
    plain, audited = fake.raw
    assert audited == plain
    assert client.get_metrics()[0].tokens_saved > 0


def test_closing_a_stream_early_records_it_and_stops_reading(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)
    client = HeadroomClient(original_client=sdk, provider=OpenAIProvider(), store_url=store_url)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=openai_conversation(seed=24), stream=True
    )
    first = next(iter(stream))
    assert first.choices[0].delta.content == "Let me look."
    stream.close()
    assert len(fake.calls) == 1
    assert client.get_stats()["session"]["requests_streamed"] == 1


async def test_async_openai_plain_and_streamed(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = openai.AsyncOpenAI(
        base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30
    )
    client = HeadroomClient(original_client=sdk, provider=OpenAIProvider(), store_url=store_url)
    response = await client.chat.completions.create(
        model="gpt-4o", messages=openai_conversation(seed=25)
    )
    assert response.choices[0].message.content == "final answer"
    assert response.choices[0].message.tool_calls is None
    assert len(fake.calls) == 2
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=openai_conversation(seed=25), stream=True
    )
    async with stream:
        chunks = [c async for c in stream]
    check_openai_chunks(chunks)
    assert len(fake.calls) == 4
    assert client.get_stats()["session"]["retrieve_calls_answered"] == 2
    await sdk.close()


async def test_async_anthropic_plain_and_streamed(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = anthropic.AsyncAnthropic(base_url=base_url, api_key="sk-ant", max_retries=0, timeout=30)
    client = HeadroomClient(original_client=sdk, provider=AnthropicProvider(), store_url=store_url)
    message = await client.messages.create(
        model="claude-sonnet-4-5", max_tokens=128, messages=anthropic_conversation(seed=26)
    )
    assert [b.type for b in message.content] == ["text"]
    stream = await client.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=128,
        messages=anthropic_conversation(seed=26),
        stream=True,
    )
    events = [e async for e in stream]
    check_anthropic_events(events)
    assert len(fake.calls) == 4
    await sdk.close()


@pytest.mark.parametrize("mode", ["optimize", "audit"])
async def test_async_audit_and_optimize_differ_only_in_what_is_sent(
    fake: RecordingUpstream, base_url: str, store_url: str, mode: str
) -> None:
    sdk = openai.AsyncOpenAI(
        base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30
    )
    messages = openai_conversation(seed=27)
    await sdk.chat.completions.create(model="gpt-4o", messages=messages)
    client = HeadroomClient(
        original_client=sdk,
        provider=OpenAIProvider(),
        default_mode=mode,  # type: ignore[arg-type]
        store_url=store_url,
    )
    await client.chat.completions.create(model="gpt-4o", messages=messages)
    assert (fake.raw[1] == fake.raw[0]) is (mode == "audit")
    [record] = client.get_metrics()
    assert record.mode == mode and record.tokens_saved > 0
    await sdk.close()


def test_anthropic_stream_helper_gets_the_whole_answer(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = anthropic.Anthropic(base_url=base_url, api_key="sk-ant", max_retries=0, timeout=30)
    client = HeadroomClient(original_client=sdk, provider=AnthropicProvider(), store_url=store_url)
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=128, messages=anthropic_conversation(seed=28)
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Let me look.part0part1part2"
    assert [b.type for b in final.content] == ["text", "text"]
    assert final.stop_reason == "end_turn"
    assert len(fake.calls) == 2
    sent = fake.calls[0].body["messages"][2]["content"][0]["content"]
    assert "headroom_retrieve" in sent


async def test_async_anthropic_stream_helper(
    fake: RecordingUpstream, base_url: str, store_url: str
) -> None:
    sdk = anthropic.AsyncAnthropic(base_url=base_url, api_key="sk-ant", max_retries=0, timeout=30)
    client = HeadroomClient(original_client=sdk, provider=AnthropicProvider(), store_url=store_url)
    async with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=128, messages=anthropic_conversation(seed=29)
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Let me look.part0part1part2"
    assert final.stop_reason == "end_turn"
    assert len(fake.calls) == 2
    await sdk.close()
