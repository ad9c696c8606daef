"""Several ``headroom proxy`` processes behind a load balancer share one Redis."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import case
from tests.server.support import free_port, spawn_proxy


def test_two_server_processes_share_ccr_through_redis(redis_url: str) -> None:
    data = case("p-json-openstack-warn")
    args = ("--store", redis_url, "--api-key", "tenant-1", "--api-key", "tenant-2")
    with spawn_proxy(*args) as first, spawn_proxy(*args) as second:
        auth = {"authorization": "Bearer tenant-1"}
        r = httpx.post(
            first + "/v1/compress", json={"messages": data["messages"]}, headers=auth, timeout=60
        )
        assert r.status_code == 200, r.text
        hashes = r.json()["ccr_hashes"]
        assert hashes
        for h in hashes:
            got = httpx.get(f"{second}/v1/retrieve/{h}", headers=auth, timeout=10)
            assert got.status_code == 200, got.text
            assert got.json()["original_content"] == data["messages"][-1]["content"]
            other = httpx.get(
                f"{second}/v1/retrieve/{h}", headers={"authorization": "Bearer tenant-2"}
            )
            assert other.status_code == 404
        health = httpx.get(second + "/health").json()
        assert health == {"status": "healthy", "version": health["version"], "store": "redis"}


def test_a_server_whose_redis_is_down_stays_lossless_and_says_so() -> None:
    pytest.importorskip("redis")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with spawn_proxy("--store", dead) as base:
        health = httpx.get(base + "/health", timeout=15)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        data = case("p-logs-apache")
        r = httpx.post(base + "/v1/compress", json={"messages": data["messages"]}, timeout=30)
        assert r.status_code == 200
        body = r.json()
        # No stub whose original could not be stored; lossless savings are kept.
        assert "headroom_retrieve" not in json.dumps(body["messages"])
        assert body["ccr_hashes"] == [] and body["tokens_saved"] > 0
