"""Attacks on a running proxy over loopback: path escapes, key leaks, rebinding, tenant spying."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.fake_upstream import FakeUpstream
from tests.server.support import raw_request, serve

KEY_A, KEY_B, ADMIN = "hr-key-alpha-1", "hr-key-bravo-2", "hr-admin-3"
PROVIDER_OPENAI, PROVIDER_ANTHROPIC = "sk-server-openai", "sk-ant-server"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(upstream: tuple[FakeUpstream, str]) -> FakeUpstream:
    upstream[0].calls.clear()
    return upstream[0]


@pytest.fixture(scope="module")
def keyed(upstream: tuple[FakeUpstream, str]) -> Iterator[str]:
    settings = ServerSettings(
        upstream_openai=upstream[1] + "/v1",
        upstream_anthropic=upstream[1],
        upstream_openai_key=PROVIDER_OPENAI,
        upstream_anthropic_key=PROVIDER_ANTHROPIC,
        api_keys=(KEY_A, KEY_B),
        admin_keys=(ADMIN,),
        tenant_max_entries=6,
    )
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def open_proxy(upstream: tuple[FakeUpstream, str]) -> Iterator[str]:
    settings = ServerSettings(
        upstream_openai=upstream[1] + "/v1",
        upstream_anthropic=upstream[1],
        upstream_openai_key=PROVIDER_OPENAI,
    )
    with serve(create_app(settings)) as url:
        yield url


@pytest.mark.parametrize(
    "target",
    [
        "/v1/%2e%2e/internal/admin",
        "/v1/%2E%2E/internal/admin",
        "/v1/messages/%2e%2e/%2e%2e/x",
        "/v1/models/..%2f..%2fx",
        "/v1/%252e%252e/internal/admin",  # decoded once more by the upstream
        "/v1/./models",
    ],
)
def test_passthrough_paths_cannot_leave_the_upstream_base(
    keyed: str, fake: FakeUpstream, target: str
) -> None:
    status, body = raw_request(keyed, "GET", target, {"authorization": f"Bearer {KEY_A}"})
    assert status == 400 and json.loads(body)["error"]["type"] == "invalid_path"
    assert fake.calls == []  # nothing, and no provider key, went anywhere


def test_ordinary_passthrough_paths_still_reach_the_upstream(
    keyed: str, fake: FakeUpstream
) -> None:
    status, _ = raw_request(keyed, "GET", "/v1/models?limit=2", {"x-api-key": KEY_A})
    assert status == 200
    (call,) = fake.calls
    assert call.path == "/v1/models"
    assert call.headers["authorization"] == f"Bearer {PROVIDER_OPENAI}"


def test_no_configured_headroom_key_is_ever_forwarded(keyed: str, fake: FakeUpstream) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(
        keyed + "/v1/chat/completions",
        json=body,
        headers={"x-headroom-api-key": KEY_B, "authorization": f"Bearer {KEY_A}"},
    )
    assert r.status_code == 200, r.text
    sent = json.dumps(fake.calls[-1].headers)
    assert KEY_A not in sent and KEY_B not in sent
    assert fake.calls[-1].headers["authorization"] == f"Bearer {PROVIDER_OPENAI}"


def test_the_anthropic_sdk_key_header_authenticates_and_is_replaced(
    keyed: str, fake: FakeUpstream
) -> None:
    body = {
        "model": "claude-sonnet-4",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    r = httpx.post(keyed + "/v1/messages", json=body, headers={"x-api-key": KEY_A})
    assert r.status_code == 200, r.text
    headers = fake.calls[-1].headers
    assert headers["x-api-key"] == PROVIDER_ANTHROPIC and KEY_A not in json.dumps(headers)
    # A provider key in x-api-key next to a Headroom bearer key goes through untouched.
    r = httpx.post(
        keyed + "/v1/messages",
        json=body,
        headers={"authorization": f"Bearer {KEY_B}", "x-api-key": "sk-ant-client"},
    )
    assert r.status_code == 200
    assert fake.calls[-1].headers["x-api-key"] == "sk-ant-client"
    assert "authorization" not in fake.calls[-1].headers
    # x-headroom-api-key decides alone when present.
    r = httpx.post(
        keyed + "/v1/messages",
        json=body,
        headers={"x-headroom-api-key": "nope", "x-api-key": KEY_A},
    )
    assert r.status_code == 401


def test_without_keys_foreign_hosts_and_non_json_bodies_are_refused(
    open_proxy: str, fake: FakeUpstream
) -> None:
    messages = [{"role": "user", "content": "hi"}]
    raw = json.dumps({"model": "gpt-4o", "messages": messages}).encode()
    for path in ("/v1/compress", "/v1/chat/completions"):
        status, body = raw_request(
            open_proxy,
            "POST",
            path,
            {"host": "attacker.example:8787", "content-type": "application/json"},
            raw,
        )
        assert status == 403 and json.loads(body)["error"]["type"] == "host_not_allowed"
        for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {} if content_type is None else {"content-type": content_type}
            status, body = raw_request(open_proxy, "POST", path, headers, raw)
            assert status == 415, (path, content_type)
    assert fake.calls == []
    status, _ = raw_request(open_proxy, "GET", "/health", {"host": "10.0.0.7:8787"})
    assert status == 200  # probes address replicas by IP
    for host in ("127.0.0.1", "localhost", "[::1]"):
        port = open_proxy.rsplit(":", 1)[1]
        status, _ = raw_request(
            open_proxy,
            "POST",
            "/v1/compress",
            {"host": f"{host}:{port}", "content-type": "application/json; charset=utf-8"},
            raw,
        )
        assert status == 200, host


def _fresh_log(nonce: str) -> list[dict[str, Any]]:
    messages = case("p-logs-linux")["messages"]
    return [
        {**m, "content": m["content"].replace("\n", f" {nonce}\n", 1)} if m["role"] == "tool" else m
        for m in messages
    ]


def _compress(base: str, key: str) -> dict[str, Any]:
    r = httpx.post(
        base + "/v1/compress",
        json={"messages": _fresh_log(uuid.uuid4().hex)},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["ccr_hashes"]
    return body


def test_one_tenant_cannot_evict_another_tenants_originals(keyed: str) -> None:
    kept = _compress(keyed, KEY_A)["ccr_hashes"]
    flood = [_compress(keyed, KEY_B)["ccr_hashes"] for _ in range(12)]  # past B's budget of 6
    for h in kept:
        r = httpx.get(f"{keyed}/v1/retrieve/{h}", headers={"authorization": f"Bearer {KEY_A}"})
        assert r.status_code == 200, h
    oldest = httpx.get(
        f"{keyed}/v1/retrieve/{flood[0][0]}", headers={"authorization": f"Bearer {KEY_B}"}
    )
    newest = httpx.get(
        f"{keyed}/v1/retrieve/{flood[-1][0]}", headers={"authorization": f"Bearer {KEY_B}"}
    )
    assert oldest.status_code == 404 and newest.status_code == 200  # B paid for its own flood
    stats = httpx.get(keyed + "/stats", headers={"authorization": f"Bearer {ADMIN}"}).json()
    assert stats["ccr"]["evicted_before_ttl"] >= 6


def test_stats_and_metrics_are_scoped_to_the_caller(
    keyed: str, caplog: pytest.LogCaptureFixture
) -> None:
    def stats(key: str) -> dict[str, Any]:
        r = httpx.get(keyed + "/stats", headers={"authorization": f"Bearer {key}"})
        assert r.status_code == 200
        body: dict[str, Any] = r.json()
        return body

    before_a, before_b, before_all = stats(KEY_A), stats(KEY_B), stats(ADMIN)
    with caplog.at_level(logging.INFO, logger="headroom.server"):
        _compress(keyed, KEY_A)
        _compress(keyed, KEY_A)
    after_a, after_b, after_all = stats(KEY_A), stats(KEY_B), stats(ADMIN)
    assert after_a["requests"]["compress"] - before_a["requests"]["compress"] == 2
    assert after_b["requests"]["compress"] == before_b["requests"]["compress"]
    assert after_all["requests"]["compress"] - before_all["requests"]["compress"] == 2
    assert after_a["scope"] == "tenant" and after_all["scope"] == "all"
    metrics_b = httpx.get(keyed + "/metrics", headers={"x-api-key": KEY_B}).text
    metrics_all = httpx.get(keyed + "/metrics", headers={"x-api-key": ADMIN}).text
    series = 'headroom_requests_total{route="/v1/compress",status="200"} '

    def compressed(text: str) -> float:
        return float(text.split(series, 1)[1].split("\n", 1)[0])

    assert compressed(metrics_b) == after_b["requests"]["compress"]
    assert compressed(metrics_all) == after_all["requests"]["compress"]
    assert compressed(metrics_all) > compressed(metrics_b)
    # Logs name tenants by a salted digest: not the key, not its plain sha256.
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    tenants = {e.get("tenant") for e in logged if e.get("event") == "request"}
    plain = hashlib.sha256(KEY_A.encode()).hexdigest()[:16]
    assert tenants and plain not in tenants and KEY_A not in json.dumps(logged)
