"""The response cache: identical requests answered once, never across tenants, bounded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from headroom.server.response_cache import ResponseCache
from tests.server.billing_upstream import BillingUpstream
from tests.server.support import serve


@pytest.fixture
def upstream() -> Iterator[tuple[BillingUpstream, str]]:
    fake = BillingUpstream()
    with serve(fake.app()) as url:
        yield fake, url


def _post(base: str, key: str | None = None, **body: Any) -> httpx.Response:
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **body}
    headers = {"x-headroom-api-key": key} if key else {}
    return httpx.post(base + "/v1/chat/completions", json=payload, headers=headers, timeout=30)


def test_identical_request_is_answered_from_the_cache(
    upstream: tuple[BillingUpstream, str],
) -> None:
    fake, url = upstream
    settings = ServerSettings(upstream_openai=url + "/v1", response_cache=True)
    with serve(create_app(settings)) as base:
        first, again = _post(base), _post(base)
        other = _post(base, temperature=0.5)  # other parameters: another request
        stats = httpx.get(base + "/stats").json()
    assert first.json() == again.json()
    assert again.headers["x-headroom-cache"] == "hit"
    assert "x-headroom-cache" not in first.headers
    assert other.status_code == 200 and len(fake.bodies) == 2
    assert stats["requests"]["cached"] == 1
    assert stats["cache"] == {
        "enabled": True,
        "entries": 2,
        "bytes": stats["cache"]["bytes"],
        "total_hits": 1,
    }


def test_a_stream_is_replayed_as_the_same_stream(upstream: tuple[BillingUpstream, str]) -> None:
    fake, url = upstream
    settings = ServerSettings(upstream_openai=url + "/v1", response_cache=True)
    with serve(create_app(settings)) as base:
        first, again = _post(base, stream=True), _post(base, stream=True)
    assert again.headers["content-type"].startswith("text/event-stream")
    assert again.content == first.content and b"data: [DONE]" in again.content
    assert len(fake.bodies) == 1


def test_never_across_tenants_and_never_an_error(upstream: tuple[BillingUpstream, str]) -> None:
    fake, url = upstream
    settings = ServerSettings(
        upstream_openai=url + "/v1", response_cache=True, api_keys=("key-a", "key-b")
    )
    with serve(create_app(settings)) as base:
        assert _post(base, "key-a").status_code == 200
        b = _post(base, "key-b")
        assert "x-headroom-cache" not in b.headers
        fake.fail_next = True
        assert _post(base, "key-a", user="x").status_code == 500
        assert _post(base, "key-a", user="x").status_code == 200  # the error was not kept
    assert len(fake.bodies) == 4


def test_off_unless_asked(upstream: tuple[BillingUpstream, str]) -> None:
    fake, url = upstream
    with serve(create_app(ServerSettings(upstream_openai=url + "/v1"))) as base:
        _post(base)
        _post(base)
        assert httpx.get(base + "/stats").json()["cache"]["enabled"] is False
    assert len(fake.bodies) == 2


def test_bounded_by_bytes_per_tenant_and_in_all() -> None:
    cache = ResponseCache(max_bytes=300, max_bytes_per_tenant=200, max_entry_bytes=150)
    for i in range(3):
        cache.put(cache.key("a", "/r", str(i).encode()), "a", b"x" * 100, "application/json")
    assert cache.stats()["bytes"] == 200  # tenant a holds at most 200
    cache.put(cache.key("b", "/r", b"0"), "b", b"y" * 100, "application/json")
    cache.put(cache.key("b", "/r", b"1"), "b", b"y" * 100, "application/json")
    assert cache.stats()["bytes"] <= 300
    assert cache.get(cache.key("b", "/r", b"1")) is not None  # the newest survives
    cache.put(cache.key("c", "/r", b"big"), "c", b"z" * 151, "application/json")
    assert cache.get(cache.key("c", "/r", b"big")) is None  # too large to keep


def test_entries_expire() -> None:
    cache = ResponseCache(ttl_seconds=0.05)
    key = cache.key("a", "/r", b"{}")
    cache.put(key, "a", json.dumps({"ok": True}).encode(), "application/json")
    assert cache.get(key) is not None
    time.sleep(0.1)
    assert cache.get(key) is None
