"""Bearer keys and tenant isolation of CCR originals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.support import serve

KEY_A, KEY_B = "key-alpha-123", "key-bravo-456"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(create_app(ServerSettings(api_keys=(KEY_A, KEY_B)))) as url:
        yield url


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_requests_without_a_valid_key_are_refused(base: str) -> None:
    messages = case("p-logs-linux")["messages"]
    for headers in (
        {},
        bearer("wrong"),
        {"authorization": "Basic abc"},
        {"authorization": "Bearer"},
    ):
        r = httpx.post(base + "/v1/compress", json={"messages": messages}, headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["error"]["type"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(base + "/v1/retrieve/0123456789abcdef").status_code == 401
    assert httpx.get(base + "/stats").status_code == 401
    assert httpx.get(base + "/metrics").status_code == 401
    assert httpx.post(base + "/v1/chat/completions", json={"messages": []}).status_code == 401
    assert httpx.get(base + "/health").status_code == 200  # probes need no key


def test_a_tenant_never_reads_another_tenants_originals(base: str) -> None:
    messages = case("p-logs-linux")["messages"]
    r = httpx.post(
        base + "/v1/compress", json={"messages": messages}, headers=bearer(KEY_A), timeout=30
    )
    assert r.status_code == 200
    h = r.json()["ccr_hashes"][0]
    assert httpx.get(f"{base}/v1/retrieve/{h}", headers=bearer(KEY_A)).status_code == 200
    assert (
        httpx.get(f"{base}/v1/retrieve/{h}", headers={"x-headroom-api-key": KEY_A}).status_code
        == 200
    )
    stolen = httpx.get(f"{base}/v1/retrieve/{h}", headers=bearer(KEY_B))
    assert stolen.status_code == 404 and "original_content" not in stolen.text
    # Once B compresses the same content it gets its own copy, under the same hash.
    httpx.post(
        base + "/v1/compress", json={"messages": messages}, headers=bearer(KEY_B), timeout=30
    )
    assert httpx.get(f"{base}/v1/retrieve/{h}", headers=bearer(KEY_B)).status_code == 200


def test_keys_are_never_logged(base: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="headroom.server")
    httpx.get(base + "/stats", headers=bearer(KEY_A))
    httpx.get(base + "/stats", headers=bearer("guess-1"))
    assert caplog.records, "requests are logged"
    assert all(
        KEY_A not in r.getMessage() and "guess-1" not in r.getMessage() for r in caplog.records
    )
