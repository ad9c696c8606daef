"""LiteLLM's own `headroom` guardrail in the real `litellm --config` proxy, against our server.

The chain under test is the one the guardrail's docs describe: client ->
LiteLLM proxy (guardrail: headroom) -> Headroom server's /v1/compress ->
provider; a `headroom_retrieve` call from the model is answered by the
guardrail from our /v1/retrieve/{hash}. A recording wrapper around the server
shows what the guardrail sent (config, affinity header, retrieval calls).
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import pytest

from headroom import InMemoryStore
from tests.conftest import case
from tests.integrations.litellm.fakes import marker_hash, retrieve_call_reply
from tests.integrations.litellm.helpers import tool_output
from tests.integrations.litellm.litellm_proxy import Proxy, litellm_proxy

pytest.importorskip("litellm.proxy.guardrails.guardrail_hooks.headroom")
pytest.importorskip("uvicorn")
from tests.server.support import serve

KEY = "hk-guardrail"
_SENDS_CONFIG = '"mode": "ccr"' in inspect.getsource(
    importlib.import_module("litellm.proxy.guardrails.guardrail_hooks.headroom.headroom")
)

CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {stub}/v1
      api_key: sk-stub
  - model_name: claude-sonnet-4-5-20250929
    litellm_params:
      model: anthropic/claude-sonnet-4-5-20250929
      api_base: {stub}
      api_key: sk-ant-stub
guardrails:
  - guardrail_name: headroom-compression
    litellm_params:
      guardrail: headroom
      mode: pre_call
      api_base: HEADROOM_URL
      api_key: HEADROOM_KEY
      default_on: true
  - guardrail_name: headroom-wrong-key
    litellm_params:
      guardrail: headroom
      mode: pre_call
      api_base: HEADROOM_URL
      api_key: not-a-key
general_settings:
  master_key: {master_key}
"""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Recording:
    """An ASGI wrapper noting each request's method, path, headers and body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            "body": b"",
        }
        self.calls.append(call)

        async def recorded() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                call["body"] += message.get("body", b"")
            return message

        await self.app(scope, recorded, send)

    def compress_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(c["body"]) for c in self.calls if c["path"] == "/v1/compress"]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Recording]]:
    from headroom.server import ServerSettings, create_app

    recording = Recording(create_app(ServerSettings(api_keys=(KEY,)), store=InMemoryStore()))
    with serve(recording) as url:
        yield url, recording


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, server: tuple[str, Recording]
) -> Iterator[Proxy]:
    config = CONFIG.replace("HEADROOM_URL", server[0]).replace("HEADROOM_KEY", KEY)
    with litellm_proxy(tmp_path_factory.mktemp("litellm-guardrail"), config) as running:
        yield running


def _chars(messages: list[Any]) -> int:
    return len(tool_output(messages))


def test_chat_completions_compressed_by_the_server_and_retrieval_answered(
    proxy: Proxy, server: tuple[str, Recording]
) -> None:
    _, recording = server
    recording.calls.clear()
    messages = case("p-mt-ops-1")["messages"]
    proxy.stub.replies.append(lambda sent: retrieve_call_reply(marker_hash(sent)))
    response = proxy.post(
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": messages, "metadata": {"session_id": "s-1"}},
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "stub answer"

    (sent,) = recording.compress_bodies()
    (compress_call,) = [c for c in recording.calls if c["path"] == "/v1/compress"]
    assert compress_call["headers"]["authorization"] == f"Bearer {KEY}"
    if _SENDS_CONFIG:  # LiteLLM 1.110: a `config.mode` and a session affinity key
        assert sent["config"] == {"mode": "ccr"}
        assert len(compress_call["headers"]["x-headroom-affinity"]) == 64

    first, second = proxy.stub.bodies("/chat/completions")
    assert [m["role"] for m in first["messages"]] == [m["role"] for m in messages]
    assert _chars(first["messages"]) < _chars(messages) / 2
    assert "headroom_retrieve" in [t["function"]["name"] for t in first["tools"]]
    ccr_hash = marker_hash(first["messages"])
    retrievals = [c for c in recording.calls if c["path"] == f"/v1/retrieve/{ccr_hash}"]
    assert [c["method"] for c in retrievals] == ["GET"]
    answer = second["messages"][-1]
    assert answer["role"] == "tool"
    assert answer["content"] in [m["content"] for m in messages if m["role"] == "tool"]


def test_anthropic_messages_compressed_by_the_server(
    proxy: Proxy, server: tuple[str, Recording]
) -> None:
    _, recording = server
    recording.calls.clear()
    data = case("p-anth-mt-3")
    response = proxy.post(
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5-20250929",
            "messages": data["messages"],
            "system": data["system"],
            "max_tokens": 64,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "stub answer"
    assert recording.compress_bodies()
    (body,) = proxy.stub.bodies("/v1/messages")
    assert len(body["messages"]) == len(data["messages"])
    assert _chars(body["messages"]) < _chars(data["messages"]) * 0.75


def test_a_refusal_reaches_the_caller_in_the_guardrails_failure_shape(proxy: Proxy) -> None:
    """Our JSON 401 becomes LiteLLM's documented fail-closed error, naming the status."""
    response = proxy.post(
        "/v1/chat/completions",
        {
            "model": "gpt-4o",
            "messages": case("p-mt-ops-1")["messages"],
            "guardrails": ["headroom-wrong-key"],
        },
    )
    assert response.status_code == 502, response.text
    assert "401" in response.text
    assert proxy.stub.bodies("/chat/completions") == []
