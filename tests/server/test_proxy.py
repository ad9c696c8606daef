"""The proxy against a fake upstream on 127.0.0.1: compression, retrieval, streaming, bypass."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import STREAM_GAP, FakeUpstream
from tests.server.support import free_port, serve


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with serve(fake.app()) as url:
        yield fake, url


def settings_for(upstream_url: str, **kw: Any) -> ServerSettings:
    return ServerSettings(
        upstream_openai=upstream_url + "/v1", upstream_anthropic=upstream_url, **kw
    )


@pytest.fixture(scope="module")
def proxy(upstream: tuple[FakeUpstream, str]) -> Iterator[str]:
    with serve(create_app(settings_for(upstream[1]))) as url:
        yield url


@pytest.fixture
def fake(upstream: tuple[FakeUpstream, str]) -> FakeUpstream:
    upstream[0].calls.clear()
    return upstream[0]


def test_openai_chat_is_compressed_and_retrieve_calls_are_answered_by_the_proxy(
    proxy: str, fake: FakeUpstream
) -> None:
    data = case("p-db-biggestfile")
    original_tool = next(m["content"] for m in data["messages"] if m["role"] == "tool")
    r = httpx.post(
        proxy + "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": data["messages"]},
        headers={"authorization": "Bearer sk-upstream-key"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"] == {"role": "assistant", "content": "final answer"}
    assert r.headers["x-headroom-compressed"] == "true"
    assert int(r.headers["x-headroom-tokens-saved"]) > 1000
    first, second = fake.calls  # the client saw one round trip; the upstream two
    assert first.path == "/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer sk-upstream-key"
    assert len(json.dumps(first.body["messages"])) < len(json.dumps(data["messages"])) / 2
    assert len(first.body["messages"]) == len(data["messages"])
    assert any(t["function"]["name"] == "headroom_retrieve" for t in first.body["tools"])
    answer = second.body["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_hr_1"
    assert answer["content"] == original_tool
    assert second.body["messages"][-2]["tool_calls"][0]["function"]["name"] == "headroom_retrieve"
    stats = httpx.get(proxy + "/stats").json()
    assert stats["ccr"]["retrieve_calls_answered"] >= 1


def test_anthropic_messages_round_trip(proxy: str, fake: FakeUpstream) -> None:
    data = case("p-anth-json-comments")
    original = data["messages"][2]["content"][0]["content"]
    body = {
        "model": "claude-sonnet-4",
        "max_tokens": 512,
        "system": data["system"],
        "messages": data["messages"],
    }
    r = httpx.post(
        proxy + "/v1/messages",
        json=body,
        headers={"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["content"] == [{"type": "text", "text": "final answer"}]
    first, second = fake.calls
    assert first.path == "/v1/messages"
    assert (
        first.headers["x-api-key"] == "sk-ant-test"
        and first.headers["anthropic-version"] == "2023-06-01"
    )
    assert first.body["system"] == data["system"]
    assert any(t["name"] == "headroom_retrieve" for t in first.body["tools"])
    assistant, user = second.body["messages"][-2:]
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use"]
    assert user["content"][0]["tool_use_id"] == "toolu_hr_1"
    assert user["content"][0]["content"] == original


def test_responses_api_input_is_compressed_and_retrieved(proxy: str, fake: FakeUpstream) -> None:
    data = case("p-logs-linux")
    log = next(m["content"] for m in data["messages"] if m["role"] == "tool")
    items = [
        {"role": "developer", "content": "You read logs."},
        {"role": "user", "content": [{"type": "input_text", "text": data["question"]}]},
        {"type": "function_call", "call_id": "c1", "name": "read_logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log},
    ]
    r = httpx.post(proxy + "/v1/responses", json={"model": "gpt-4o", "input": items}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["output"][0]["type"] == "message"
    first, second = fake.calls
    sent = first.body["input"]
    assert sent[:3] == items[:3]
    assert len(sent[3]["output"]) < len(log) / 2 and "headroom_retrieve" in sent[3]["output"]
    assert {"type": "function", "name": "headroom_retrieve"}.items() <= first.body["tools"][
        0
    ].items()
    outputs = [
        i
        for i in second.body["input"]
        if i.get("type") == "function_call_output" and i["call_id"] == "fc_hr_1"
    ]
    assert outputs and outputs[0]["output"] == log


def test_openai_stream_answers_retrieve_calls_mid_stream(proxy: str, fake: FakeUpstream) -> None:
    data = case("p-db-biggestfile")
    original = next(m["content"] for m in data["messages"] if m["role"] == "tool")
    body = {"model": "gpt-4o", "stream": True, "messages": data["messages"]}
    arrivals: list[tuple[float, bytes]] = []
    with httpx.stream("POST", proxy + "/v1/chat/completions", json=body, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-headroom-compressed"] == "true"
        for chunk in r.iter_raw():
            arrivals.append((time.monotonic(), chunk))
    received = b"".join(c for _, c in arrivals)
    assert received.endswith(b"data: [DONE]\n\n") and received.count(b"[DONE]") == 1
    events = sse_events(received.replace(b"data: [DONE]", b""))
    assert "headroom_retrieve" not in json.dumps(events)
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert text == "Let me look.part0part1part2"
    assert [
        e["choices"][0]["finish_reason"] for e in events if e["choices"][0]["finish_reason"]
    ] == ["stop"]
    # Chunks reach the client as the upstream produces them, not all at the end.
    assert arrivals[-1][0] - arrivals[0][0] >= 1.5 * STREAM_GAP
    first, second = fake.calls
    assert first.body["stream"] is True
    assert any(t["function"]["name"] == "headroom_retrieve" for t in first.body["tools"])
    assistant, tool = second.body["messages"][-2:]
    assert assistant["content"] == "Let me look."
    assert assistant["tool_calls"][0]["function"]["name"] == "headroom_retrieve"
    assert tool == {"role": "tool", "tool_call_id": "call_hr_1", "content": original}


def test_responses_streams_are_compressed_losslessly(proxy: str, fake: FakeUpstream) -> None:
    log = next(m["content"] for m in case("p-json-cars-hp")["messages"] if m["role"] == "tool")
    items = [
        {"role": "user", "content": "Which car has the most horsepower?"},
        {"type": "function_call", "call_id": "c1", "name": "search", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log},
    ]
    with httpx.stream(
        "POST", proxy + "/v1/responses", json={"model": "gpt-4o", "stream": True, "input": items}
    ) as r:
        received = r.read()
    assert received.count(b"part") == 3
    (call,) = fake.calls
    assert "tools" not in call.body and "headroom_retrieve" not in json.dumps(call.body["input"])
    assert len(call.body["input"][2]["output"]) < len(log)


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for block in raw.decode().split("\n\n"):
        data = [line[5:].strip() for line in block.splitlines() if line.startswith("data:")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def test_anthropic_stream_answers_retrieve_calls_mid_stream(proxy: str, fake: FakeUpstream) -> None:
    data = case("p-anth-json-comments")
    original = data["messages"][2]["content"][0]["content"]
    body = {
        "model": "claude-sonnet-4",
        "max_tokens": 64,
        "stream": True,
        "system": data["system"],
        "messages": data["messages"],
    }
    arrivals: list[tuple[float, bytes]] = []
    with httpx.stream(
        "POST", proxy + "/v1/messages", json=body, headers={"x-api-key": "k"}, timeout=30
    ) as r:
        assert r.status_code == 200 and r.headers["x-headroom-compressed"] == "true"
        for chunk in r.iter_raw():
            arrivals.append((time.monotonic(), chunk))
    events = sse_events(b"".join(c for _, c in arrivals))
    kinds = [e["type"] for e in events]
    # One message for the client: the retrieve call and the second message_start are hidden.
    assert kinds.count("message_start") == 1 and kinds.count("message_stop") == 1
    assert "headroom_retrieve" not in json.dumps(events)
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [e["index"] for e in starts] == [0, 1]
    deltas = [e for e in events if e["type"] == "content_block_delta"]
    text = {i: "".join(e["delta"]["text"] for e in deltas if e["index"] == i) for i in (0, 1)}
    assert text == {0: "Let me look.", 1: "part0part1part2"}
    assert (
        next(e for e in events if e["type"] == "message_delta")["delta"]["stop_reason"]
        == "end_turn"
    )
    assert arrivals[-1][0] - arrivals[0][0] >= 1.5 * STREAM_GAP  # still relayed as it arrives
    first, second = fake.calls
    assert any(t["name"] == "headroom_retrieve" for t in first.body["tools"])
    assert "headroom_retrieve(hash=" in json.dumps(
        first.body["messages"]
    )  # lossy: this stream can retrieve
    assistant, user = second.body["messages"][-2:]
    hash_value = assistant["content"][1]["input"]["hash"]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look."},
            {
                "type": "tool_use",
                "id": "toolu_hr_1",
                "name": "headroom_retrieve",
                "input": {"hash": hash_value},
            },
        ],
    }
    assert user == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_hr_1", "content": original}],
    }
    assert second.body["stream"] is True and second.headers["x-api-key"] == "k"


def test_bypass_header_forwards_the_request_untouched(proxy: str, fake: FakeUpstream) -> None:
    data = case("p-db-biggestfile")
    body = {"model": "gpt-4o", "messages": data["messages"]}
    r = httpx.post(
        proxy + "/v1/chat/completions", json=body, headers={"x-headroom-bypass": "true"}, timeout=30
    )
    assert r.status_code == 200
    assert (
        r.headers["x-headroom-compressed"] == "false"
        and r.headers["x-headroom-tokens-saved"] == "0"
    )
    (call,) = fake.calls
    assert call.body == body
    assert not any(k.startswith("x-headroom") for k in call.headers)


@pytest.mark.parametrize("stream", [False, True])
def test_upstreams_that_refuse_tools_get_the_request_without_one(
    proxy: str, fake: FakeUpstream, stream: bool
) -> None:
    data = case("p-db-biggestfile")
    body = {"model": "notools", "stream": stream, "messages": data["messages"]}
    r = httpx.post(proxy + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200, r.text
    refused, accepted = fake.calls
    assert "tools" in refused.body and "tools" not in accepted.body
    assert accepted.body["messages"] == refused.body["messages"]  # still compressed


def test_upstream_errors_pass_through(proxy: str, fake: FakeUpstream) -> None:
    r = httpx.post(
        proxy + "/v1/chat/completions",
        json={"model": "bad", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 400 and r.json() == {"error": {"message": "no such model"}}


def test_other_v1_paths_are_passed_through(proxy: str, fake: FakeUpstream) -> None:
    r = httpx.get(proxy + "/v1/models?limit=2", headers={"authorization": "Bearer sk-x"})
    assert r.json() == {"path": "/v1/models", "query": "limit=2", "method": "GET"}
    r = httpx.post(proxy + "/v1/messages/count_tokens", json={"messages": []})
    assert r.json()["path"] == "/v1/messages/count_tokens"
    assert fake.calls[0].headers["authorization"] == "Bearer sk-x"


def test_invalid_json_to_the_proxy_is_a_400(proxy: str, fake: FakeUpstream) -> None:
    r = httpx.post(
        proxy + "/v1/chat/completions",
        content=b"{oops",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_json"
    assert fake.calls == []


def test_headroom_key_is_not_forwarded_but_provider_keys_are(
    upstream: tuple[FakeUpstream, str],
) -> None:
    fake, url = upstream
    fake.calls.clear()
    with serve(create_app(settings_for(url, api_keys=("hr-key",)))) as proxy:
        body = {
            "model": "claude-sonnet-4",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "hi"}],
        }
        headers = {"authorization": "Bearer hr-key", "x-api-key": "sk-ant-real"}
        assert httpx.post(proxy + "/v1/messages", json=body, headers=headers).status_code == 200
        headers = {"x-headroom-api-key": "hr-key", "authorization": "Bearer sk-openai-real"}
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        assert (
            httpx.post(proxy + "/v1/chat/completions", json=body, headers=headers).status_code
            == 200
        )
        assert httpx.post(proxy + "/v1/chat/completions", json=body).status_code == 401
    anthropic_call, openai_call = fake.calls
    assert (
        "authorization" not in anthropic_call.headers
        and anthropic_call.headers["x-api-key"] == "sk-ant-real"
    )
    assert openai_call.headers["authorization"] == "Bearer sk-openai-real"
    assert "x-headroom-api-key" not in openai_call.headers


def test_server_side_provider_keys_fill_in_for_clients_that_only_hold_a_headroom_key(
    upstream: tuple[FakeUpstream, str],
) -> None:
    fake, url = upstream
    fake.calls.clear()
    settings = settings_for(
        url,
        api_keys=("hr",),
        upstream_openai_key="sk-server",
        upstream_anthropic_key="sk-ant-server",
    )
    assert "sk-server" not in repr(settings) and "'hr'" not in repr(settings)
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    msgs = {
        "model": "claude-sonnet-4",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with serve(create_app(settings)) as proxy:
        httpx.post(
            proxy + "/v1/chat/completions", json=chat, headers={"authorization": "Bearer hr"}
        )
        httpx.post(proxy + "/v1/messages", json=msgs, headers={"authorization": "Bearer hr"})
        own = {"x-headroom-api-key": "hr", "authorization": "Bearer sk-client"}
        httpx.post(proxy + "/v1/chat/completions", json=chat, headers=own)
    openai_call, anthropic_call, own_call = fake.calls
    assert openai_call.headers["authorization"] == "Bearer sk-server"
    assert (
        anthropic_call.headers["x-api-key"] == "sk-ant-server"
        and "authorization" not in anthropic_call.headers
    )
    assert own_call.headers["authorization"] == "Bearer sk-client"


def test_unreachable_and_slow_upstreams_get_bounded_clear_errors(
    upstream: tuple[FakeUpstream, str],
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    with serve(create_app(settings_for(dead))) as proxy:
        r = httpx.post(proxy + "/v1/chat/completions", json=body, timeout=30)
        assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_unreachable"
    with serve(create_app(settings_for(upstream[1], upstream_timeout=0.5))) as proxy:
        r = httpx.post(proxy + "/v1/chat/completions", json={**body, "model": "slow"}, timeout=30)
        assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"


def test_no_optimize_is_a_plain_passthrough(upstream: tuple[FakeUpstream, str]) -> None:
    fake, url = upstream
    fake.calls.clear()
    data = case("p-db-biggestfile")
    body = {"model": "gpt-4o", "messages": data["messages"]}
    with serve(create_app(settings_for(url, optimize=False))) as proxy:
        r = httpx.post(proxy + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200 and r.headers["x-headroom-compressed"] == "false"
    assert fake.calls[0].body == body
