"""/v1/compress, /v1/retrieve and the operations routes against a real uvicorn server."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from headroom import CompressConfig, compress
from headroom.core.store import InMemoryStore
from headroom.server import ServerSettings, create_app
from tests.conftest import case
from tests.server.support import serve

HEX = re.compile(r"[0-9a-f]{12,24}")


def tool_text(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(create_app(ServerSettings(max_body_bytes=2_000_000))) as url:
        yield url


@pytest.fixture
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


@pytest.mark.parametrize("path", ["/v1/compress", "/v1/saas/compress"])
def test_compress_then_retrieve_round_trip(client: httpx.Client, path: str) -> None:
    data = case("p-logs-apache")
    sent = copy.deepcopy(data["messages"])
    r = client.post(path, json={"messages": sent, "model": "gpt-4o"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {
        "messages",
        "tokens_before",
        "tokens_after",
        "tokens_saved",
        "compression_ratio",
        "transforms_applied",
        "ccr_hashes",
    }
    assert len(body["messages"]) == len(sent)
    assert [m["role"] for m in body["messages"]] == [m["role"] for m in sent]
    assert body["tokens_saved"] == body["tokens_before"] - body["tokens_after"] > 0
    assert body["compression_ratio"] == pytest.approx(
        body["tokens_saved"] / body["tokens_before"], abs=1e-5
    )
    assert body["ccr_hashes"] and all(HEX.fullmatch(h) for h in body["ccr_hashes"])
    for h in body["ccr_hashes"]:
        assert f'hash="{h}"' in str(body["messages"])  # every stub names its hash
        got = client.get(f"/v1/retrieve/{h}")
        assert got.status_code == 200, got.text
        assert got.json()["hash"] == h
        assert got.json()["original_content"] == tool_text(sent[-1])
    by_post = client.post("/v1/retrieve", json={"hash": body["ccr_hashes"][0], "query": "error"})
    assert by_post.status_code == 200 and by_post.json()["original_content"]


def test_reply_is_what_the_library_returns(client: httpx.Client) -> None:
    data = case("p-json-cars-hp")
    expected = compress(data["messages"], model="gpt-4o", store=InMemoryStore()).to_dict()
    got = client.post("/v1/compress", json={"messages": data["messages"], "model": "gpt-4o"}).json()
    assert got == expected


def test_config_overrides_apply_per_request(client: httpx.Client) -> None:
    data = case("p-logs-apache")
    lossless = client.post(
        "/v1/compress", json={"messages": data["messages"], "config": {"lossy": False}}
    ).json()
    expected = compress(data["messages"], config=CompressConfig(lossy=False), store=InMemoryStore())
    assert lossless["ccr_hashes"] == expected.ccr_hashes
    assert lossless["tokens_after"] == expected.tokens_after


def test_one_message_back_per_message_sent_for_every_corpus_shape(client: httpx.Client) -> None:
    for case_id in ("p-anth-mt-3", "p-mt-code-2", "p-rag-linux-2", "p-nested-octokit-release"):
        messages = case(case_id)["messages"]
        r = client.post("/v1/compress", json={"messages": messages, "model": "claude-sonnet-4"})
        assert r.status_code == 200, r.text
        assert len(r.json()["messages"]) == len(messages), case_id


def test_small_conversation_comes_back_unchanged(client: httpx.Client) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    body = client.post("/v1/compress", json={"messages": messages}).json()
    assert body["messages"] == messages and body["ccr_hashes"] == [] and body["tokens_saved"] == 0


@pytest.mark.parametrize(
    ("content", "status", "error_type"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b"[1, 2]", 422, "invalid_request"),
        (b'{"messages": "hello"}', 422, "invalid_request"),
        (b'{"messages": [1]}', 422, "invalid_request"),
        (b'{"messages": [{"content": "no role"}]}', 422, "invalid_request"),
        (b'{"messages": [{"role": 7}]}', 422, "invalid_request"),
        (b'{"messages": [], "model": 5}', 422, "invalid_request"),
        (b'{"messages": [], "model_limit": "big"}', 422, "invalid_request"),
        (b'{"messages": [], "config": "fast"}', 422, "invalid_request"),
        (b'{"messages": [], "config": {"min_tokens": -1}}', 422, "invalid_config"),
        (b'{"messages": [], "config": {"ccr": "yes"}}', 422, "invalid_config"),
    ],
)
def test_bad_compress_requests_get_a_clear_4xx(
    client: httpx.Client, content: bytes, status: int, error_type: str
) -> None:
    r = client.post("/v1/compress", content=content, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["type"] == error_type and error["message"]


def test_unknown_config_fields_are_logged_not_refused(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """LiteLLM's guardrail (1.110) sends ``config: {"mode": "ccr"}``; newer clients may send more."""
    data = case("p-db-biggestfile")
    with caplog.at_level("WARNING", logger="headroom.server"):
        r = client.post(
            "/v1/compress",
            json={"messages": data["messages"], "config": {"mode": "ccr", "unknown_knob": 1}},
            headers={"x-headroom-affinity": "a" * 64},
        )
    assert r.status_code == 200, r.text
    assert r.json()["ccr_hashes"]
    assert "unknown_knob" in caplog.text and "mode" not in caplog.text.split("fields:")[-1]


def test_huge_bodies_are_refused_and_nothing_is_lost(client: httpx.Client) -> None:
    data = case("p-db-biggestfile")
    kept = client.post("/v1/compress", json={"messages": data["messages"]}).json()["ccr_hashes"][0]
    huge = {"messages": [{"role": "tool", "tool_call_id": "x", "content": "a" * 3_000_000}]}
    r = client.post("/v1/compress", json=huge)
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as it streams
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"b" * 100_000
        yield b'"}]}'

    r = client.post("/v1/compress", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get(f"/v1/retrieve/{kept}").status_code == 200  # earlier originals survive
    assert client.post("/v1/compress", json={"messages": data["messages"]}).status_code == 200


def test_unknown_and_malformed_hashes(client: httpx.Client) -> None:
    r = client.get("/v1/retrieve/0123456789abcdef")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    assert "unknown or expired" in r.json()["error"]["message"]
    r = client.get("/v1/retrieve/not-a-hash!")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_hash"
    assert client.post("/v1/retrieve", json={"hash": 12}).status_code == 400
    assert (
        client.post("/v1/retrieve", json={"hash": "0123456789abcdef", "query": 3}).status_code
        == 422
    )


def test_unknown_route_and_wrong_method(client: httpx.Client) -> None:
    assert client.get("/v1/compress").status_code == 405
    assert client.get("/nope").status_code == 404


def test_health_stats_and_metrics() -> None:
    app = create_app(ServerSettings())
    other = create_app(ServerSettings())  # a second app in the process: its own registry
    with serve(app) as url, serve(other) as other_url, httpx.Client(base_url=url, timeout=30) as c:
        health = c.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "healthy"
        assert health.json()["store"] == "memory"
        data = case("p-logs-linux")
        body = c.post("/v1/compress", json={"messages": data["messages"]}).json()
        c.get(f"/v1/retrieve/{body['ccr_hashes'][0]}")
        c.get("/v1/retrieve/ffffffffffffffff")
        c.post("/v1/compress", content=b"nope")
        stats = c.get("/stats").json()
        assert stats["requests"]["compress"] == 1
        assert stats["requests"]["retrieve"] == 2
        assert stats["requests"]["rejected"] == 2
        assert stats["requests"]["failed"] == 0
        assert stats["tokens"]["before"] == body["tokens_before"]
        assert stats["tokens"]["after"] == body["tokens_after"]
        assert stats["tokens"]["saved"] == body["tokens_saved"]
        assert stats["ccr"] == {
            "store": "memory",
            "hits": 1,
            "misses": 1,
            "retrieve_calls_answered": 0,
            "store_write_failures": 0,
            "store_read_failures": 0,
            "evicted_before_ttl": 0,
        }
        metrics = c.get("/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith(
            "text/plain"
        )
        text = metrics.text
        assert f"headroom_tokens_saved_total {float(body['tokens_saved'])}" in text
        assert 'headroom_requests_total{route="/v1/compress",status="200"} 1.0' in text
        assert 'headroom_ccr_retrievals_total{result="miss"} 1.0' in text
        assert "headroom_compression_ratio_bucket" in text
        other_stats = httpx.get(other_url + "/stats").json()
        assert other_stats["requests"]["compress"] == 0


def test_store_failure_keeps_lossless_savings_and_health_reports_it() -> None:
    class BrokenStore(InMemoryStore):
        def put(self, key: str, original: str) -> None:
            raise OSError("disk on fire")

        def ping(self) -> bool:
            return False

    with serve(create_app(ServerSettings(), store=BrokenStore())) as url:
        data = case("p-logs-apache")
        r = httpx.post(url + "/v1/compress", json={"messages": data["messages"]}, timeout=30)
        assert r.status_code == 200
        body = r.json()
        # Nothing stubbed that could not be retrieved; the core fell back to lossless.
        assert "headroom_retrieve" not in json.dumps(body["messages"])
        assert body["ccr_hashes"] == [] and body["tokens_saved"] > 0
        assert httpx.get(url + "/health").status_code == 503


def test_each_request_is_one_json_log_line(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="headroom.server")
    data = case("p-logs-linux")
    body = client.post(
        "/v1/compress", json={"messages": data["messages"], "model": "gpt-4o"}
    ).json()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "headroom.server"]
    (entry,) = [line for line in lines if line.get("path") == "/v1/compress"]
    assert entry["event"] == "request" and entry["method"] == "POST" and entry["status"] == 200
    assert entry["tenant"] == "public" and entry["model"] == "gpt-4o"
    assert (
        entry["tokens_before"] == body["tokens_before"]
        and entry["tokens_after"] == body["tokens_after"]
    )
    assert entry["duration_ms"] > 0 and entry["messages"] == len(data["messages"])
