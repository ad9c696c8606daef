"""The official SDKs, pointed at the proxy the way users point them, parse what it streams."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with serve(fake.app()) as upstream:
        settings = ServerSettings(upstream_openai=upstream + "/v1", upstream_anthropic=upstream)
        with serve(create_app(settings)) as proxy:
            yield fake, proxy


def test_anthropic_sdk_streams_through_a_mid_stream_retrieval(
    stack: tuple[FakeUpstream, str],
) -> None:
    anthropic = pytest.importorskip("anthropic")
    fake, proxy = stack
    fake.calls.clear()
    data = case("p-anth-json-comments")
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-ant-test", max_retries=0, timeout=30)
    with client.messages.stream(
        model="claude-sonnet-4", max_tokens=64, system=data["system"], messages=data["messages"]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Let me look.part0part1part2"
    assert [b.type for b in final.content] == ["text", "text"]
    assert final.stop_reason == "end_turn"
    assert len(fake.calls) == 2
    sent = fake.calls[0].headers  # this SDK sends the key as x-api-key or a bearer token
    assert "sk-ant-test" in (
        sent.get("x-api-key", ""),
        sent.get("authorization", "").removeprefix("Bearer "),
    )


def test_openai_sdk_streams_through_a_mid_stream_retrieval(stack: tuple[FakeUpstream, str]) -> None:
    openai = pytest.importorskip("openai")
    fake, proxy = stack
    fake.calls.clear()
    data = case("p-db-biggestfile")
    client = openai.OpenAI(base_url=proxy + "/v1", api_key="sk-test", max_retries=0, timeout=30)
    chunks = list(
        client.chat.completions.create(model="gpt-4o", messages=data["messages"], stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Let me look.part0part1part2"
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    assert [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ] == ["stop"]
    done = client.chat.completions.create(model="gpt-4o", messages=data["messages"])
    assert done.choices[0].message.content == "final answer"
    assert fake.calls[0].headers["authorization"] == "Bearer sk-test"
