"""A hanging or failing CCR store, slow clients, expensive requests: bounded, fail open, visible."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from headroom.core.store import CCRStore, InMemoryStore
from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve, spawn_proxy

JSON = {"content-type": "application/json"}


class HangingStore(CCRStore):
    """A store that stops answering, like a frozen Redis."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def put(self, key: str, original: str) -> None:
        self.release.wait(30)

    def get(self, key: str) -> str | None:
        self.release.wait(30)
        return None

    def ping(self) -> bool:
        self.release.wait(30)
        return True


class FailingStore(CCRStore):
    def put(self, key: str, original: str) -> None:
        raise ConnectionError("store refused the connection")

    def get(self, key: str) -> str | None:
        raise ConnectionError("store refused the connection")


def _timed_compress(base: str, messages: list[Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    r = httpx.post(base + "/v1/compress", json={"messages": messages}, timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return time.perf_counter() - start, body


def test_a_hanging_store_costs_one_short_deadline_then_compression_is_lossless() -> None:
    store = HangingStore()
    app = create_app(ServerSettings(store_timeout=0.3), store=store)
    messages = case("p-logs-linux")["messages"]
    try:
        with serve(app) as base:
            first, body = _timed_compress(base, messages)
            assert first < 6.0 and body["ccr_hashes"] == []  # nothing lossy without its original
            for _ in range(5):
                seconds, body = _timed_compress(base, messages)
                assert seconds < 3.0 and body["ccr_hashes"] == []
                assert body["tokens_after"] <= body["tokens_before"]
            start = time.perf_counter()
            health = httpx.get(base + "/health", timeout=10)
            assert health.status_code == 503 and time.perf_counter() - start < 2.0
            stats = httpx.get(base + "/stats").json()
            assert stats["ccr"]["store_write_failures"] >= 1
    finally:
        store.release.set()


def test_store_failures_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(ServerSettings(), store=FailingStore())
    messages = case("p-logs-linux")["messages"]
    with caplog.at_level(logging.WARNING), serve(app) as base:
        for _ in range(8):
            _timed_compress(base, messages)
            time.sleep(0.3)  # past the cool-down now and then, so the store is retried
        stats = httpx.get(base + "/stats").json()
        metrics = httpx.get(base + "/metrics").text
    assert stats["ccr"]["store_write_failures"] >= 2
    assert 'headroom_ccr_store_events_total{event="store_write_failures"}' in metrics
    # One outage: one warning of the server's own, and at most one from the
    # compression that met the failure first (no traceback per request).
    store_warnings = [r for r in caplog.records if "store" in r.getMessage().lower()]
    assert 1 <= len(store_warnings) <= 2, [r.getMessage() for r in store_warnings]
    assert sum(r.exc_info is not None for r in store_warnings) <= 1


def test_a_frozen_redis_fails_over_to_lossless_and_back(redis_url: str) -> None:
    pytest.importorskip("redis")
    import redis

    port = int(urlparse(redis_url).port or 6379)
    pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])
    messages = case("p-logs-linux")["messages"]
    with spawn_proxy("--store", redis_url, "--store-timeout", "0.3") as base:
        _timed_compress(base, messages)
        os.kill(pid, signal.SIGSTOP)
        try:
            worst = 0.0
            for _ in range(6):
                seconds, frozen = _timed_compress(base, messages)
                worst = max(worst, seconds)
                assert frozen["ccr_hashes"] == []
            assert worst < 3.0
            start = time.perf_counter()
            assert httpx.get(base + "/health", timeout=10).status_code == 503
            assert time.perf_counter() - start < 2.0
        finally:
            os.kill(pid, signal.SIGCONT)
        time.sleep(2.5)  # past the cool-down
        _, thawed = _timed_compress(base, messages)
        assert thawed["ccr_hashes"], port


def _open(base: str) -> socket.socket:
    url = urlparse(base)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing, or None if it kept the connection open."""
    sock.settimeout(seconds)
    data = b""
    try:
        while True:
            piece = sock.recv(4096)
            if not piece:
                return data
            data += piece
    except TimeoutError:
        return None


def test_slow_headers_and_bodies_are_cut_off() -> None:
    with spawn_proxy("--header-timeout", "1", "--body-timeout", "1") as base:
        idle = [_open(base) for _ in range(20)]
        partial = _open(base)
        partial.sendall(b"POST /v1/compress HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow_body = _open(base)
        slow_body.sendall(
            b"POST /v1/compress HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"messages": ['
        )
        try:
            assert _closed_within(partial, 5) == b""
            assert all(_closed_within(s, 5) == b"" for s in idle)
            answer = _closed_within(slow_body, 5)
            assert answer is not None and b" 408 " in answer.split(b"\r\n", 1)[0]
            # Served normally meanwhile.
            assert httpx.get(base + "/health").status_code == 200
        finally:
            for s in (*idle, partial, slow_body):
                s.close()


def _many_tool_messages(n: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Summarise the results."}]
    for i in range(n):
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"c{i}",
                        "type": "function",
                        "function": {"name": "t", "arguments": "{}"},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": f"row {i} ok"})
    return messages


def test_a_request_past_its_compression_budget_fails_open() -> None:
    # The budget is far below the work (40,000 messages take ~0.4 s to compress on
    # a fast machine), so the outcome does not depend on the machine's speed.
    app = create_app(ServerSettings(compress_timeout=0.01))
    messages = _many_tool_messages(20_000)
    with serve(app) as base:
        start = time.perf_counter()
        _, body = _timed_compress(base, messages)
        assert time.perf_counter() - start < 15
        assert any(t.startswith("fail_open") for t in body["transforms_applied"])
        assert body["messages"] == messages


def test_huge_outputs_skip_lossy_transforms_and_are_fast() -> None:
    line = "2026-11-30T03:00:00Z host app[123]: GET /api/items?id={} 200 12ms\n"
    log = "".join(line.format(i) for i in range(40_000))  # ~2.7 MB
    messages = [
        {"role": "user", "content": "Which requests failed?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "logs", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": log},
    ]
    capped = create_app(ServerSettings(max_output_bytes=1_000_000), store=InMemoryStore())
    with serve(capped) as base:
        seconds, body = _timed_compress(base, messages)
        sent = body["messages"][2]["content"]
        # No content transform ran on it; only the window step may cut it (it is larger
        # than gpt-4o's window) to its head and tail, with the whole original retrievable.
        assert not any(t.startswith("logs:") for t in body["transforms_applied"])
        if sent != log:
            assert log.startswith(sent.split("\n[headroom:")[0])
            (key,) = body["ccr_hashes"]
            original = httpx.get(f"{base}/v1/retrieve/{key}", timeout=30).json()
            assert original["original_content"] == log
    assert seconds < 30


def test_work_stops_when_the_client_leaves(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeUpstream()
    messages = _many_tool_messages(40_000)
    raw = json.dumps({"model": "gpt-4o", "messages": messages}).encode()
    with serve(fake.app()) as up, caplog.at_level(logging.INFO, logger="headroom.server"):
        app = create_app(
            ServerSettings(upstream_openai=up + "/v1", compress_timeout=120, max_body_bytes=10**8)
        )
        with serve(app) as base:
            sock = _open(base)
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(raw)}\r\n\r\n".encode()
                + raw
            )
            time.sleep(1.0)
            sock.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                '"status":499' in r.getMessage() for r in caplog.records
            ):
                time.sleep(0.1)
    assert any('"status":499' in r.getMessage() for r in caplog.records)
    assert fake.calls == []  # nothing was sent on for a client that had gone
