"""The path Claude Code and other base-URL-only tools take through the proxy.

They set ``ANTHROPIC_BASE_URL`` to the proxy and then stream ``/v1/messages``
with tools and ``anthropic-beta`` headers, and call ``/v1/messages/count_tokens``.
The real Anthropic SDK plays the tool here, against a recording fake upstream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve

BETA = "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
TOOLS = [
    {
        "name": "Bash",
        "description": "Run a shell command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
    }
]


@pytest.fixture
def stack() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with (
        serve(fake.app()) as upstream,
        serve(create_app(ServerSettings(upstream_anthropic=upstream))) as proxy,
    ):
        yield fake, proxy


def test_streamed_messages_with_tools_and_beta_headers(stack: tuple[FakeUpstream, str]) -> None:
    anthropic = pytest.importorskip("anthropic")
    fake, proxy = stack
    data = case("p-anth-json-comments")
    client = anthropic.Anthropic(base_url=proxy, api_key="sk-ant-user", max_retries=0, timeout=60)
    with client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=256,
        system=data["system"],
        messages=data["messages"],
        tools=TOOLS,
        extra_headers={"anthropic-beta": BETA},
    ) as stream:
        text = "".join(stream.text_stream)
    assert text.endswith("part0part1part2")
    first = fake.calls[0]
    assert first.headers["anthropic-beta"] == BETA
    # The user's own provider key reaches the provider (newer SDKs send it as a bearer token).
    sent = (first.headers.get("x-api-key"), first.headers.get("authorization"))
    assert "sk-ant-user" in sent or "Bearer sk-ant-user" in sent
    names = [t["name"] for t in first.body["tools"]]
    assert names[0] == "Bash"  # the client's own tools first, untouched
    assert first.body["tools"][0] == TOOLS[0]
    original = json.dumps(data["messages"])
    assert len(json.dumps(first.body["messages"])) < len(original) / 2


def test_count_tokens_passes_through_unchanged(stack: tuple[FakeUpstream, str]) -> None:
    fake, proxy = stack
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(
        proxy + "/v1/messages/count_tokens?beta=true",
        content=json.dumps(body),
        headers={
            "x-api-key": "sk-ant-user",
            "anthropic-beta": "token-counting-2024-11-01",
            "content-type": "application/json",
        },
        timeout=30,
    )
    assert r.status_code == 200
    (call,) = fake.calls
    assert call.path == "/v1/messages/count_tokens"
    assert call.body == body
    assert call.headers["anthropic-beta"] == "token-counting-2024-11-01"
    assert call.headers["x-api-key"] == "sk-ant-user"
    assert r.json()["query"] == "beta=true"
