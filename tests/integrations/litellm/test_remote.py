"""Remote mode: a real Headroom server on loopback, and servers that are down, slow or wrong."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from headroom import InMemoryStore, compress
from headroom.integrations.litellm import HeadroomCallback, RemoteCompressor, completion
from tests.integrations.litellm.conftest import logs_case
from tests.integrations.litellm.fakes import FakeProvider, StubServer, retrieve_first_marker
from tests.integrations.litellm.helpers import asaved_after, tool_output, was_compressed

pytest.importorskip("uvicorn")
from tests.server.support import free_port, serve


@pytest.fixture
def headroom_server() -> Iterator[str]:
    """The real Headroom server (headroom.server.app.create_app) with one API key."""
    try:
        from headroom.server.app import create_app
        from headroom.server.settings import ServerSettings
    except ImportError as exc:
        pytest.skip(f"headroom.server is not importable: {exc}")
    app = create_app(ServerSettings(api_keys=("hk-test",)), store=InMemoryStore())
    with serve(app) as url:
        yield url


# ------------------------------------------------------------ real server


async def test_remote_mode_compresses_through_the_real_server(
    fake: FakeProvider, headroom_server: str
) -> None:
    cb = HeadroomCallback(api_url=headroom_server, api_key="hk-test")
    litellm.callbacks = [cb]
    messages = logs_case()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert was_compressed(fake.last_messages, messages)
    assert cb.mode == "remote" and await asaved_after(cb) > 10_000


async def test_remote_retrieve_loop_is_answered_by_the_server(
    fake: FakeProvider, headroom_server: str
) -> None:
    litellm.callbacks = [HeadroomCallback(api_url=headroom_server, api_key="hk-test")]
    messages = logs_case()
    fake.replies.append(retrieve_first_marker)
    response = await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert response.choices[0].message.content == "fake answer"
    assert fake.requests[1]["messages"][-1]["content"] == tool_output(messages)


def test_remote_sync_wrapper(fake: FakeProvider, headroom_server: str) -> None:
    cb = HeadroomCallback(api_url=headroom_server, api_key="hk-test")
    messages = logs_case()
    fake.replies.append(retrieve_first_marker)
    completion(model="fake/gpt-4o", messages=messages, callback=cb)
    assert was_compressed(fake.requests[0]["messages"], messages)
    assert fake.requests[1]["messages"][-1]["content"] == tool_output(messages)


async def test_wrong_key_fails_open(
    fake: FakeProvider, headroom_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    litellm.callbacks = [HeadroomCallback(api_url=headroom_server, api_key="wrong")]
    messages = logs_case()
    with caplog.at_level(logging.WARNING, logger="headroom.litellm"):
        await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert tool_output(fake.last_messages) == tool_output(messages)
    assert "401" in caplog.text


# ------------------------------------------------------------ fail open


async def test_unreachable_server_fails_open_fast(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    cb = HeadroomCallback(api_url=f"http://127.0.0.1:{free_port()}", timeout=2.0)
    litellm.callbacks = [cb]
    messages = logs_case()
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="headroom.litellm"):
        await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert time.monotonic() - start < 2.5
    assert tool_output(fake.last_messages) == tool_output(messages)
    assert "unreachable" in caplog.text
    assert cb.total_tokens_saved == 0


async def test_slow_server_fails_open_within_the_timeout(
    fake: FakeProvider, stub: StubServer
) -> None:
    stub.compress_delay = 3.0
    stub.compress_handler = lambda body: compress(body["messages"], body["model"]).to_dict()
    litellm.callbacks = [HeadroomCallback(api_url=stub.url, timeout=0.5)]
    messages = logs_case()
    start = time.monotonic()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert time.monotonic() - start < 2.0
    assert tool_output(fake.last_messages) == tool_output(messages)


def test_slow_server_fails_open_on_the_sync_path(fake: FakeProvider, stub: StubServer) -> None:
    stub.compress_delay = 3.0
    stub.compress_handler = lambda body: compress(body["messages"], body["model"]).to_dict()
    cb = HeadroomCallback(api_url=stub.url, timeout=0.5)
    messages = logs_case()
    start = time.monotonic()
    completion(model="fake/gpt-4o", messages=messages, callback=cb)
    assert time.monotonic() - start < 2.0
    assert tool_output(fake.last_messages) == tool_output(messages)


@pytest.mark.parametrize(
    "reply",
    [
        {"messages": []},
        {"messages": "nope", "tokens_before": 1, "tokens_after": 1},
        ["not", "an", "object"],
        {"tokens_before": 10},
    ],
)
async def test_malformed_replies_fail_open(
    fake: FakeProvider, stub: StubServer, reply: Any
) -> None:
    stub.compress_handler = lambda body: reply
    litellm.callbacks = [HeadroomCallback(api_url=stub.url)]
    messages = logs_case()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert tool_output(fake.last_messages) == tool_output(messages)


async def test_a_reply_that_reorders_roles_is_refused(fake: FakeProvider, stub: StubServer) -> None:
    def swap(body: dict[str, Any]) -> dict[str, Any]:
        out = compress(body["messages"], body["model"]).to_dict()
        out["messages"] = list(reversed(out["messages"]))
        return out

    stub.compress_handler = swap
    litellm.callbacks = [HeadroomCallback(api_url=stub.url)]
    messages = logs_case()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert tool_output(fake.last_messages) == tool_output(messages)


# ------------------------------------------------------------ configuration


async def test_env_vars_turn_on_remote_mode_and_send_the_key(
    fake: FakeProvider, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADROOM_API_URL", stub.url)
    monkeypatch.setenv("HEADROOM_API_KEY", "hk-env")
    seen: list[dict[str, Any]] = []

    def handler(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return compress(body["messages"], body["model"]).to_dict()

    stub.compress_handler = handler
    cb = HeadroomCallback()
    assert cb.mode == "remote" and cb.remote is not None and cb.remote.api_key == "hk-env"
    litellm.callbacks = [cb]
    messages = logs_case()
    await litellm.acompletion(model="fake/gpt-4o", messages=messages)
    assert was_compressed(fake.last_messages, messages)
    assert seen[0]["model"] == "fake/gpt-4o"
    assert len(seen[0]["messages"]) == len(messages)


def test_remote_compressor_sends_a_bearer_key() -> None:
    remote = RemoteCompressor("http://127.0.0.1:1/", "hk-1", timeout=1)
    assert remote.url == "http://127.0.0.1:1/v1/compress"
    assert remote._headers()["authorization"] == "Bearer hk-1"
    assert "HeadroomCallback" not in repr(remote)


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """Answers 200 at once, then its body one byte every 0.3 s (each read well inside a timeout)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Trickle(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                pass  # the client gave up, as it should

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_trickling_server_cannot_hold_a_sync_call_past_the_timeout(trickling_server: str) -> None:
    remote = RemoteCompressor(trickling_server, timeout=1.0)
    start = time.monotonic()
    assert remote.compress(logs_case(), "gpt-4o") is None
    assert time.monotonic() - start < 2.0
    start = time.monotonic()
    assert remote.retrieve("0123456789abcdef").startswith("headroom_retrieve error")
    assert time.monotonic() - start < 2.0


async def test_the_async_path_reuses_one_client(stub: StubServer) -> None:
    stub.compress_handler = lambda body: compress(body["messages"], body["model"]).to_dict()
    remote = RemoteCompressor(stub.url)
    first = await remote.acompress(logs_case(), "gpt-4o")
    client = remote._async_client()
    second = await remote.acompress(logs_case(), "gpt-4o")
    assert first is not None and second is not None
    assert remote._async_client() is client and not client.is_closed
    await remote.aclose()
    assert client.is_closed
