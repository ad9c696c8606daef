"""Bad input and a misbehaving upstream, against a running proxy: clear errors, never a fake success."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import FakeUpstream
from tests.server.support import serve

NESTED = b'{"messages": [{"role": "user", "content": ' + b"[" * 10_000 + b"]" * 10_000 + b"}]}"
BIG_INT = b'{"messages": [{"role": "user", "content": "hi"}], "n": ' + b"9" * 4_301 + b"}"
SURROGATE = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "half \\ud800 pair"}]}'
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeUpstream, str]) -> FakeUpstream:
    upstream[0].calls.clear()
    return upstream[0]


def _settings(url: str, **kw: Any) -> ServerSettings:
    return ServerSettings(
        upstream_openai=url + "/v1", upstream_anthropic=url, upstream_timeout=1.0, **kw
    )


@pytest.fixture(scope="module")
def proxy(upstream: tuple[FakeUpstream, str]) -> Iterator[str]:
    with serve(create_app(_settings(upstream[1]))) as url:
        yield url


@pytest.fixture(scope="module")
def plain_proxy(upstream: tuple[FakeUpstream, str]) -> Iterator[str]:
    with serve(create_app(_settings(upstream[1], optimize=False))) as url:
        yield url


@pytest.mark.parametrize("raw", [NESTED, BIG_INT, SURROGATE], ids=["nested", "bigint", "surrogate"])
def test_hostile_json_on_compress_is_a_4xx_json_error(proxy: str, raw: bytes) -> None:
    r = httpx.post(proxy + "/v1/compress", content=raw, headers=JSON, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_json"


@pytest.mark.parametrize("raw", [NESTED, BIG_INT], ids=["nested", "bigint"])
def test_unparseable_json_on_the_proxy_is_refused_clearly(
    proxy: str, fake: FakeUpstream, raw: bytes
) -> None:
    r = httpx.post(proxy + "/v1/chat/completions", content=raw, headers=JSON, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_json"
    assert fake.calls == []


def test_a_lone_surrogate_on_the_proxy_is_forwarded_as_sent(proxy: str, fake: FakeUpstream) -> None:
    r = httpx.post(proxy + "/v1/chat/completions", content=SURROGATE, headers=JSON, timeout=30)
    assert r.status_code == 200
    assert fake.calls[0].raw == SURROGATE


# Bodies whose meaning a JSON round trip would change.
FRAGILE = (
    b'{"model": "gpt-4o", "temperature": 1e400, "seed": 12345678901234567890123,'
    b' "top_p": 0.10000000000000000001, "user": "a", "user": "b",'
    b' "messages": [{"role": "user", "content": "caf\\u00e9"}]}'
)


def test_bypass_and_no_optimize_forward_the_bytes_as_received(
    proxy: str, plain_proxy: str, fake: FakeUpstream
) -> None:
    r = httpx.post(
        proxy + "/v1/chat/completions",
        content=FRAGILE,
        headers={**JSON, "x-headroom-bypass": "true"},
    )
    assert r.status_code == 200 and fake.calls[-1].raw == FRAGILE
    r = httpx.post(plain_proxy + "/v1/chat/completions", content=FRAGILE, headers=JSON)
    assert r.status_code == 200 and fake.calls[-1].raw == FRAGILE
    # Nothing to compress: also sent as received.
    r = httpx.post(proxy + "/v1/chat/completions", content=FRAGILE, headers=JSON)
    assert r.status_code == 200 and fake.calls[-1].raw == FRAGILE


def _outcome(base: str, model: str, stream: bool, messages: list[Any]) -> str:
    """What the client observed: 'error <status>', 'broken', or 'clean <bytes>'."""
    body = {"model": model, "stream": stream, "messages": messages}
    try:
        with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=15) as r:
            if r.status_code >= 500:
                return f"error {r.status_code}"
            data = b"".join(r.iter_bytes())
    except httpx.HTTPError as exc:
        return f"broken {type(exc).__name__}"
    if stream and b'"error"' in data:
        return "error event"
    return f"clean {len(data)}"


SMALL = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("model", ["cut", "stall", "truncate"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_an_upstream_failing_mid_response_is_never_a_clean_success(
    proxy: str, fake: FakeUpstream, model: str, stream: bool
) -> None:
    outcome = _outcome(proxy, model, stream, SMALL)
    assert not outcome.startswith("clean"), outcome


@pytest.mark.parametrize("model", ["cut", "stall", "truncate"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_same_failures_with_markers_and_retrieval(
    proxy: str, fake: FakeUpstream, model: str, stream: bool
) -> None:
    messages = case("p-db-biggestfile")["messages"]
    outcome = _outcome(proxy, model, stream, messages)
    assert not outcome.startswith("clean"), outcome
    assert any("headroom_retrieve" in json.dumps(c.body.get("tools", [])) for c in fake.calls)
