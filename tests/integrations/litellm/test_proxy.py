"""The real LiteLLM proxy (`litellm --config`) on loopback, with the YAML line users copy.

Upstream is `StubServer`: what it records is what the provider received.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headroom import compress
from tests.conftest import case
from tests.integrations.litellm.conftest import anthropic_case, logs_case
from tests.integrations.litellm.fakes import retrieve_first_marker
from tests.integrations.litellm.helpers import tool_output, was_compressed
from tests.integrations.litellm.litellm_proxy import Proxy, litellm_proxy

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
  - model_name: small-window
    litellm_params:
      model: openai/gpt-4o-mini  # LiteLLM registers model_info per model: not gpt-4o's
      api_base: {stub}/v1
      api_key: sk-stub
    model_info:
      max_input_tokens: 8000
router_settings:
  enable_pre_call_checks: true
general_settings:
  master_key: {master_key}
litellm_settings:
  callbacks: ["headroom.integrations.litellm_callback.HeadroomCallback", "recorder.recorder"]
"""

# Another callback in the same proxy: what spend logs and loggers get to see.
RECORDER = """\
import json, os
from litellm.integrations.custom_logger import CustomLogger


class Recorder(CustomLogger):
    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        slo = kwargs.get("standard_logging_object") or {}
        record = {
            "user": kwargs.get("user"),
            "headroom": metadata.get("headroom"),
            "spend_logs_metadata": (slo.get("metadata") or {}).get("spend_logs_metadata"),
        }
        with open(os.path.join(os.path.dirname(__file__), "records.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\\n")


recorder = Recorder()
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    directory = tmp_path_factory.mktemp("litellm-proxy")
    (directory / "recorder.py").write_text(RECORDER, encoding="utf-8")
    with litellm_proxy(directory, CONFIG, {"HEADROOM_MIN_TOKENS": "500"}) as running:
        yield running


def _records(proxy: Proxy) -> Path:
    return proxy.directory / "records.jsonl"


def test_chat_completions_reach_the_provider_compressed(proxy: Proxy) -> None:
    messages = logs_case()
    response = proxy.post("/v1/chat/completions", {"model": "gpt-4o", "messages": messages})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "stub answer"
    (body,) = proxy.stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)
    assert [t["function"]["name"] for t in body["tools"]] == ["headroom_retrieve"]


def test_a_request_that_fits_only_compressed_passes_the_routers_pre_call_checks(
    proxy: Proxy,
) -> None:
    """The proxy's pre-call hook runs before the Router counts the request."""
    messages = logs_case()
    response = proxy.post("/v1/chat/completions", {"model": "small-window", "messages": messages})
    assert response.status_code == 200, response.text
    (body,) = proxy.stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)


def test_both_proxy_hooks_compress_once(proxy: Proxy) -> None:
    """pre_call_hook and the deployment hook both run: the provider gets one compression's bytes."""
    messages = case("p-mt-code-2")["messages"]
    once = compress(messages, "gpt-4o", model_limit=128_000)
    assert (
        proxy.post("/v1/chat/completions", {"model": "gpt-4o", "messages": messages}).status_code
        == 200
    )
    (body,) = proxy.stub.bodies("/chat/completions")
    assert tool_output(body["messages"]) == tool_output(once.messages)


def test_streaming_through_the_proxy(proxy: Proxy) -> None:
    messages = logs_case()
    response = proxy.post(
        "/v1/chat/completions", {"model": "gpt-4o", "messages": messages, "stream": True}
    )
    assert response.status_code == 200, response.text
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")
    ]
    assert (
        "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
        == "stub answer"
    )
    (body,) = proxy.stub.bodies("/chat/completions")
    assert was_compressed(body["messages"], messages)


def test_retrieve_calls_are_answered_inside_the_proxy(proxy: Proxy) -> None:
    messages = logs_case()
    proxy.stub.replies.append(retrieve_first_marker)
    response = proxy.post("/v1/chat/completions", {"model": "gpt-4o", "messages": messages})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "stub answer"
    first, second = proxy.stub.bodies("/chat/completions")
    assert was_compressed(first["messages"], messages)
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["content"] == tool_output(messages)


def test_anthropic_messages_route(proxy: Proxy) -> None:
    system, messages = anthropic_case()
    response = proxy.post(
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5-20250929",
            "messages": messages,
            "system": system,
            "max_tokens": 64,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "stub answer"
    (body,) = proxy.stub.bodies("/v1/messages")
    assert was_compressed(body["messages"], messages)
    assert body["system"] == system


def test_small_requests_pass_through(proxy: Proxy) -> None:
    messages = [{"role": "user", "content": "ping"}]
    assert (
        proxy.post("/v1/chat/completions", {"model": "gpt-4o", "messages": messages}).status_code
        == 200
    )
    (body,) = proxy.stub.bodies("/chat/completions")
    assert body["messages"] == messages
    assert "tools" not in body


def test_anthropic_messages_route_streaming(proxy: Proxy) -> None:
    system, messages = anthropic_case()
    response = proxy.post(
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5-20250929",
            "messages": messages,
            "system": system,
            "max_tokens": 64,
            "stream": True,
        },
    )
    assert response.status_code == 200, response.text
    assert "stub answer" in response.text
    (body,) = proxy.stub.bodies("/v1/messages")
    assert body["stream"] is True
    assert was_compressed(body["messages"], messages)
    assert not body.get("tools")


def test_embeddings_route_is_untouched(proxy: Proxy) -> None:
    text = "log line\n" * 3000
    response = proxy.post("/v1/embeddings", {"model": "gpt-4o", "input": [text]})
    assert response.status_code == 200, response.text
    (body,) = proxy.stub.bodies("/embeddings")
    assert body["input"] == [text]


def _record_for(path: Path, user: str, timeout: float = 30.0) -> dict[str, Any]:
    """The recorder's line for the request sent as `user`, once it is completely written.

    Other requests' success events land in the same file at their own pace, and
    a line can be seen half-written: wait for this request's own, whole line.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        for line in text.splitlines(keepends=True):
            if line.endswith("\n"):
                record = json.loads(line)
                if record.get("user") == user:
                    return record  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"no success event recorded for {user!r} within {timeout}s")


def test_savings_reach_other_callbacks_and_spend_logs_metadata(proxy: Proxy) -> None:
    user = f"savings-{secrets.token_hex(4)}"
    messages = logs_case()
    response = proxy.post(
        "/v1/chat/completions", {"model": "gpt-4o", "messages": messages, "user": user}
    )
    assert response.status_code == 200, response.text
    record = _record_for(_records(proxy), user)
    assert record["headroom"]["tokens_saved"] > 10_000
    assert (
        record["spend_logs_metadata"]["headroom"]["tokens_saved"]
        == record["headroom"]["tokens_saved"]
    )


def test_anthropic_messages_retrieve_calls_are_answered_inside_the_proxy(proxy: Proxy) -> None:
    system, messages = anthropic_case()
    proxy.stub.replies.append(retrieve_first_marker)
    response = proxy.post(
        "/v1/messages",
        {
            "model": "claude-sonnet-4-5-20250929",
            "messages": messages,
            "system": system,
            "max_tokens": 64,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "stub answer"
    first, second = proxy.stub.bodies("/v1/messages")
    assert was_compressed(first["messages"], messages)
    result = second["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    answered = (
        result["content"] if isinstance(result["content"], str) else result["content"][0]["text"]
    )
    assert answered == tool_output(messages)


def test_the_copied_yaml_entry_loads_and_the_bare_class_would_not() -> None:
    """LiteLLM's own config loader: the documented path loads (a working instance); the
    class from `headroom.integrations.litellm` would be refused, as LiteLLM refuses any class."""
    utils = pytest.importorskip("litellm.proxy.common_utils.callback_utils")
    load = getattr(utils, "_loaded_callback_or_raise", None)
    if load is None:
        pytest.skip("this LiteLLM has no _loaded_callback_or_raise")
    from litellm.proxy.types_utils.utils import get_instance_fn

    from headroom.integrations.litellm import HeadroomCallback

    for entry in (
        "headroom.integrations.litellm_callback.HeadroomCallback",
        "headroom.integrations.litellm.proxy_config.headroom_callback",
    ):
        assert isinstance(load(entry, get_instance_fn(entry)), HeadroomCallback)
    class_entry = "headroom.integrations.litellm.HeadroomCallback"
    with pytest.raises(ValueError, match="neither a CustomLogger instance"):
        load(class_entry, get_instance_fn(class_entry))
