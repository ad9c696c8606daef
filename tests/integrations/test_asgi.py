"""`CompressionMiddleware` inside real FastAPI and Starlette apps served by uvicorn."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("starlette")
fastapi = pytest.importorskip("fastapi")

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

import headroom.integrations.asgi as asgi_module  # noqa: E402
from headroom import retrieve  # noqa: E402
from headroom.core.store import InMemoryStore  # noqa: E402
from headroom.integrations.asgi import CompressionMiddleware  # noqa: E402
from tests.conftest import case  # noqa: E402
from tests.server.support import serve  # noqa: E402

received: list[dict[str, Any]] = []
ping_answered = threading.Event()


def build_fastapi(**middleware_kwargs: Any) -> Any:
    app = fastapi.FastAPI()

    async def echo(request: Request) -> JSONResponse:
        raw = await request.body()
        received.append(
            {
                "path": request.url.path,
                "raw": raw,
                "content_length": request.headers.get("content-length"),
                "transfer_encoding": request.headers.get("transfer-encoding"),
            }
        )
        return JSONResponse({"bytes": len(raw)})

    for path in (
        "/v1/chat/completions",
        "/chat/completions",
        "/v1/messages",
        "/v1/responses",
        "/other",
    ):
        app.add_api_route(path, echo, methods=["POST"])

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        ping_answered.set()
        return {"pong": "yes"}

    app.add_middleware(CompressionMiddleware, **middleware_kwargs)
    return app


@pytest.fixture(scope="module")
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture(scope="module")
def base(store: InMemoryStore) -> Iterator[str]:
    with serve(build_fastapi(store=store, max_body_bytes=1_000_000)) as url:
        yield url


@pytest.fixture(autouse=True)
def clear() -> None:
    received.clear()
    ping_answered.clear()


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/completions"])
def test_openai_chat_bodies_are_compressed(base: str, store: InMemoryStore, path: str) -> None:
    data = case("p-logs-apache")
    body = {"model": "gpt-4o", "messages": data["messages"], "temperature": 0}
    r = httpx.post(base + path, json=body, timeout=30)
    assert r.status_code == 200
    assert r.headers["x-headroom-compressed"] == "true"
    saved = int(r.headers["x-headroom-tokens-saved"])
    assert saved > 1000
    (seen,) = received
    assert int(seen["content_length"]) == len(seen["raw"])  # Content-Length fixed
    got = json.loads(seen["raw"])
    assert got["temperature"] == 0 and got["model"] == "gpt-4o"
    assert len(got["messages"]) == len(body["messages"])
    assert len(seen["raw"]) < len(json.dumps(body)) / 2
    marker = next(
        m["content"] for m in got["messages"] if "headroom_retrieve" in str(m.get("content"))
    )
    h = marker.split('hash="')[1][:16]
    assert retrieve(h, store=store) == data["messages"][-1]["content"]


def test_anthropic_messages_bodies_are_compressed(base: str) -> None:
    data = case("p-anth-json-comments")
    body = {
        "model": "claude-sonnet-4",
        "max_tokens": 100,
        "system": data["system"],
        "messages": data["messages"],
    }
    r = httpx.post(base + "/v1/messages", json=body, timeout=30)
    assert r.headers["x-headroom-compressed"] == "true"
    got = json.loads(received[0]["raw"])
    assert got["system"] == data["system"] and len(got["messages"]) == len(data["messages"])
    assert len(received[0]["raw"]) < len(json.dumps(body)) / 2


def test_responses_input_is_compressed(base: str) -> None:
    log = next(m["content"] for m in case("p-logs-linux")["messages"] if m["role"] == "tool")
    items = [
        {"role": "user", "content": "What failed?"},
        {"type": "function_call", "call_id": "c1", "name": "read_logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log},
    ]
    r = httpx.post(base + "/v1/responses", json={"model": "gpt-4o", "input": items}, timeout=30)
    assert r.headers["x-headroom-compressed"] == "true"
    got = json.loads(received[0]["raw"])["input"]
    assert got[:2] == items[:2] and len(got[2]["output"]) < len(log) / 2


def test_other_requests_pass_through_untouched(base: str) -> None:
    data = case("p-logs-apache")
    raw = json.dumps({"messages": data["messages"]}).encode()
    r = httpx.post(base + "/other", content=raw)
    assert "x-headroom-compressed" not in r.headers and received[0]["raw"] == raw
    r = httpx.post(
        base + "/v1/chat/completions", content=raw, headers={"x-headroom-bypass": "true"}
    )
    assert "x-headroom-compressed" not in r.headers and received[1]["raw"] == raw
    assert httpx.get(base + "/ping").json() == {"pong": "yes"}


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1,2,3]",
        b'{"messages": "text"}',
        b'{"messages": [{"content": "no role"}]}',
        b"",
    ],
)
def test_unreadable_bodies_fail_open(base: str, raw: bytes) -> None:
    r = httpx.post(
        base + "/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 200 and r.headers["x-headroom-compressed"] == "false"
    assert received[0]["raw"] == raw


def test_bodies_over_the_limit_reach_the_app_whole(base: str) -> None:
    big = {"messages": [{"role": "tool", "tool_call_id": "x", "content": "z" * 1_500_000}]}
    raw = json.dumps(big).encode()
    r = httpx.post(base + "/v1/chat/completions", content=raw, timeout=30)
    assert r.status_code == 200 and r.json() == {"bytes": len(raw)}
    assert received[0]["raw"] == raw


def test_a_compression_error_fails_open(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("compressor broke")

    monkeypatch.setattr(asgi_module, "compress_body", boom)
    raw = json.dumps({"model": "gpt-4o", "messages": case("p-logs-apache")["messages"]}).encode()
    r = httpx.post(base + "/v1/chat/completions", content=raw, timeout=30)
    assert r.status_code == 200 and r.headers["x-headroom-compressed"] == "false"
    assert received[0]["raw"] == raw


def test_compression_runs_off_the_event_loop(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """While one request compresses, the app keeps answering others on its loop."""
    real = asgi_module.compress_body
    outcome: dict[str, bool] = {}

    def slow(*args: Any, **kwargs: Any) -> Any:
        # Waits for /ping, which can only be answered if this is not blocking the loop.
        outcome["ping_served_meanwhile"] = ping_answered.wait(timeout=10)
        return real(*args, **kwargs)

    monkeypatch.setattr(asgi_module, "compress_body", slow)
    body = {"model": "gpt-4o", "messages": case("p-logs-apache")["messages"]}
    done: dict[str, httpx.Response] = {}
    worker = threading.Thread(
        target=lambda: done.update(r=httpx.post(base + "/v1/messages", json=body, timeout=30))
    )
    worker.start()
    assert httpx.get(base + "/ping", timeout=15).status_code == 200
    worker.join(timeout=30)
    assert outcome["ping_served_meanwhile"] is True
    assert done["r"].headers["x-headroom-compressed"] == "true"


def test_starlette_app_with_default_store() -> None:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(json.loads(await request.body()))

    app = Starlette(routes=[Route("/v1/chat/completions", echo, methods=["POST"])])
    app.add_middleware(CompressionMiddleware)
    data = case("p-db-biggestfile")
    with serve(app) as url:
        r = httpx.post(
            url + "/v1/chat/completions", json={"messages": data["messages"]}, timeout=30
        )
    assert r.headers["x-headroom-compressed"] == "true"
    marker = next(
        m["content"] for m in r.json()["messages"] if "headroom_retrieve" in str(m.get("content"))
    )
    h = marker.split('hash="')[1][:16]
    original = next(m["content"] for m in data["messages"] if m["role"] == "tool")
    assert retrieve(h) == original  # the process default store, as the seed docs promise
