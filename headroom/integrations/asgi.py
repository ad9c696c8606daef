"""`CompressionMiddleware`: compress chat requests inside any ASGI app.

    app.add_middleware(CompressionMiddleware)   # FastAPI, Starlette, LiteLLM's proxy app

POST bodies of ``/v1/chat/completions``, ``/chat/completions``, ``/v1/messages``
(``messages``) and ``/v1/responses`` (``input``) are compressed before the app
reads them; every other request passes through untouched. It is plain ASGI
(no framework import), compresses in a worker thread so the event loop keeps
serving, and fails open: any problem sends the original body on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from headroom.core.config import CompressConfig
from headroom.core.result import CompressionResult
from headroom.core.store import CCRStore
from headroom.server.payloads import CHAT_ROUTES, ChatRoute, compress_body, dumps

__all__ = ["COMPRESSED_HEADER", "TOKENS_SAVED_HEADER", "CompressionMiddleware"]

logger = logging.getLogger("headroom.asgi")

COMPRESSED_HEADER = "x-headroom-compressed"
TOKENS_SAVED_HEADER = "x-headroom-tokens-saved"
_BYPASS_HEADER = b"x-headroom-bypass"

Scope = dict[str, Any]
Message = dict[str, Any]


class CompressionMiddleware:
    """ASGI middleware that compresses the conversation in chat request bodies.

    Args:
        app: The ASGI app to wrap.
        config: Compression settings; `CompressConfig()` when omitted.
        store: CCR store for originals; the process default store when omitted,
            so `headroom.retrieve(hash)` in the same process finds them.
        model: Tokenizer to count with when a body names no model.
        routes: Path -> route table; the four chat routes when omitted.
        max_body_bytes: Larger bodies are passed on uncompressed.
    """

    def __init__(
        self,
        app: Any,
        *,
        config: CompressConfig | None = None,
        store: CCRStore | None = None,
        model: str = "gpt-4o",
        routes: Mapping[str, ChatRoute] | None = None,
        max_body_bytes: int = 32 * 2**20,
    ) -> None:
        self.app = app
        self.config = config
        self.store = store
        self.model = model
        self.routes = dict(CHAT_ROUTES if routes is None else routes)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        route = self.routes.get(scope.get("path", "")) if scope.get("type") == "http" else None
        headers = dict(scope.get("headers") or [])
        if (
            route is None
            or scope.get("method") != "POST"
            or headers.get(_BYPASS_HEADER, b"").strip().lower() == b"true"
            or headers.get(b"content-encoding", b"identity") != b"identity"
        ):
            await self.app(scope, receive, send)
            return

        body, complete, pending = await _read_body(receive, self.max_body_bytes)
        if not complete:  # too large, or the client went away: hand on exactly what came
            await self.app(scope, _replay(body, pending, receive, more_body=True), send)
            return

        result: CompressionResult | None = None
        new_body = body
        try:
            data = json.loads(body)
        except Exception:  # not JSON (or nested past the parser's depth): the app judges it
            data = None
        try:
            if isinstance(data, dict):
                compressed, result = await asyncio.to_thread(
                    compress_body,
                    route,
                    data,
                    config=self.config,
                    store=self.store,
                    default_model=self.model,
                )
                if compressed is not data:
                    new_body = dumps(compressed)
        except Exception:
            logger.warning(
                "headroom: request compression failed; forwarding the original body", exc_info=True
            )
            result, new_body = None, body

        if new_body is not body:
            # The app now reads one whole body: its framing is a length, never chunked.
            scope = dict(scope)
            scope["headers"] = [
                (k, v)
                for k, v in scope.get("headers") or []
                if k.lower() not in (b"content-length", b"transfer-encoding")
            ] + [(b"content-length", str(len(new_body)).encode())]

        saved = result.tokens_saved if result is not None and new_body is not body else 0
        extra = [
            (COMPRESSED_HEADER.encode(), b"true" if saved > 0 else b"false"),
            (TOKENS_SAVED_HEADER.encode(), str(saved).encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, _replay(new_body, None, receive, more_body=False), send_with_headers)


async def _read_body(receive: Any, limit: int) -> tuple[bytes, bool, Message | None]:
    """Read the request body; `complete` is False if it passed `limit` or the client left.

    The third value is a message read but not part of the body (a disconnect)
    that must still reach the app.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False, message
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True, None
        if size > limit:
            return b"".join(chunks), False, None


def _replay(body: bytes, pending: Message | None, receive: Any, *, more_body: bool) -> Any:
    """A `receive` that yields `body` first, then whatever the client sends next."""
    queue: list[Message] = [{"type": "http.request", "body": body, "more_body": more_body}]
    if pending is not None:
        queue.append(pending)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return dict(await receive())

    return replay
