"""`CompressionMiddleware` under hostile input, served by uvicorn on loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

pytest.importorskip("starlette")
pytest.importorskip("fastapi")

from headroom.core.store import InMemoryStore
from tests.conftest import case
from tests.integrations.test_asgi import build_fastapi, received
from tests.server.support import serve


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(build_fastapi(store=InMemoryStore(), max_body_bytes=1_000_000)) as url:
        yield url


@pytest.fixture(autouse=True)
def clear() -> None:
    received.clear()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"messages": [{"role": "user", "content": ' + b"[" * 10_000 + b"]" * 10_000 + b"}]}",
        b'{"messages": [], "n": ' + b"7" * 5_000 + b"}",
        b'{"messages": [{"role": "tool", "tool_call_id": "x", "content": "\\ud800 '
        + b"log line\\n" * 400
        + b'"}]}',
    ],
    ids=["nested-10000", "int-5000-digits", "lone-surrogate"],
)
def test_hostile_json_reaches_the_app_unchanged(base: str, raw: bytes) -> None:
    r = httpx.post(
        base + "/v1/chat/completions",
        content=raw,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-headroom-compressed"] == "false"
    assert received[0]["raw"] == raw


def _chunked_post(base: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST `body` with ``Transfer-Encoding: chunked`` over a raw socket."""
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        chunks = b"".join(
            f"{len(part):x}\r\n".encode() + part + b"\r\n"
            for part in (body[i : i + 4096] for i in range(0, len(body), 4096))
        )
        sock.sendall(head + chunks + b"0\r\n\r\n")
        data = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.split(b"\r\n\r\n", 1)[1] or b"{}")


def test_a_rewritten_chunked_body_reaches_the_app_with_one_framing(base: str) -> None:
    body = json.dumps({"model": "gpt-4o", "messages": case("p-logs-apache")["messages"]}).encode()
    status, _ = _chunked_post(base, "/v1/chat/completions", body)
    assert status == 200
    (seen,) = received
    assert len(seen["raw"]) < len(body) / 2  # compressed
    assert int(seen["content_length"]) == len(seen["raw"])
    assert seen["transfer_encoding"] is None
