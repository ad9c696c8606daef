"""Remote mode: compress through a Headroom server's `/v1/compress` instead of in-process.

Every failure fails open: an unreachable server, one slower than `timeout`
(bounded end to end, not per read), a non-2xx status or a reply that is not a
`CompressionResult` of the same messages returns None, logs a warning, and the
request goes to the provider uncompressed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from headroom.core import CompressionResult

__all__ = ["DEFAULT_API_URL", "RemoteCompressor", "parse_compress_reply"]

logger = logging.getLogger("headroom.litellm")

#: A self-hosted `headroom proxy` on its default port (only ever used when named).
DEFAULT_API_URL = "http://127.0.0.1:8787"

# Blocking round trips run here so the caller can stop waiting at the deadline
# whatever the server does; a few workers bound the threads a stuck server can hold.
_EXECUTOR = concurrent.futures.ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="headroom-remote"
)
#: Seconds past the deadline allowed for a worker that is already finishing.
_GRACE = 0.05


def parse_compress_reply(body: Any, sent: Sequence[Mapping[str, Any]]) -> CompressionResult | None:
    """A `CompressionResult` from a `/v1/compress` JSON reply, or None if it is malformed.

    The reply must keep the message count and every role: anything else would
    break tool pairings, so it is treated as a server error.
    """
    if not isinstance(body, Mapping):
        return None
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) != len(sent):
        return None
    for got, original in zip(messages, sent, strict=True):
        if not isinstance(got, dict) or got.get("role") != original.get("role"):
            return None
    before, after = body.get("tokens_before"), body.get("tokens_after")
    if not isinstance(before, int) or not isinstance(after, int):
        return None
    transforms = body.get("transforms_applied") or []
    hashes = body.get("ccr_hashes") or []
    if not isinstance(transforms, list) or not isinstance(hashes, list):
        return None
    return CompressionResult(
        messages=messages,
        tokens_before=before,
        tokens_after=after,
        transforms_applied=[str(t) for t in transforms],
        ccr_hashes=[str(h) for h in hashes],
    )


class RemoteCompressor:
    """A client for a Headroom server's compression route.

    Args:
        api_url: Base URL of the server (e.g. ``http://127.0.0.1:8787``).
        api_key: Sent as ``Authorization: Bearer <key>`` when set.
        timeout: Seconds the whole round trip may take before failing open.
        path: The route; ``/v1/compress`` (``/v1/saas/compress`` is an alias on the server).
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        api_key: str | None = None,
        *,
        timeout: float = 5.0,
        path: str = "/v1/compress",
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.timeout = float(timeout)
        self.path = path if path.startswith("/") else f"/{path}"
        self._client: httpx.Client | None = None
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.api_url}{self.path}"

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers

    @staticmethod
    def _body(
        messages: Sequence[Mapping[str, Any]], model: str, model_limit: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": list(messages), "model": model}
        if model_limit is not None:
            body["model_limit"] = model_limit
        return body

    def _finish(
        self, response: httpx.Response, sent: Sequence[Mapping[str, Any]]
    ) -> CompressionResult | None:
        if response.status_code // 100 != 2:
            logger.warning(
                "headroom: %s answered %s; sending the request uncompressed",
                self.url,
                response.status_code,
            )
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        result = parse_compress_reply(body, sent)
        if result is None:
            logger.warning(
                "headroom: malformed reply from %s; sending the request uncompressed", self.url
            )
        return result

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
            return self._client

    def _async_client(self) -> httpx.AsyncClient:
        """One pooled client per event loop (an `AsyncClient` cannot move between loops)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._aclients.get(loop)
            if client is None or client.is_closed:
                client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout))
                self._aclients[loop] = client
            return client

    def _post_within(self, url: str, body: Mapping[str, Any], deadline: float) -> httpx.Response:
        """POST and read the reply, giving up at `deadline` even if bytes keep trickling in."""
        client = self._sync_client()
        with client.stream("POST", url, json=body, headers=self._headers()) as response:
            chunks: list[bytes] = []
            for chunk in response.iter_bytes():
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"no complete reply within {self.timeout:.1f}s")
                chunks.append(chunk)
            return httpx.Response(
                response.status_code, headers=response.headers, content=b"".join(chunks)
            )

    def _post(self, url: str, body: Mapping[str, Any]) -> httpx.Response:
        """A blocking POST bounded end to end by `timeout` (httpx bounds each read only)."""
        deadline = time.monotonic() + self.timeout
        future = _EXECUTOR.submit(self._post_within, url, body, deadline)
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()) + _GRACE)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise httpx.ReadTimeout(f"no complete reply within {self.timeout:.1f}s") from exc

    async def _apost(self, url: str, body: Mapping[str, Any]) -> httpx.Response:
        client = self._async_client()
        return await asyncio.wait_for(
            client.post(url, json=body, headers=self._headers()), timeout=self.timeout
        )

    def _failed(self, exc: Exception) -> CompressionResult | None:
        logger.warning(
            "headroom: %s unreachable or slower than %.1fs (%s); sending the request uncompressed",
            self.url,
            self.timeout,
            type(exc).__name__,
        )
        return None

    def compress(
        self, messages: Sequence[Mapping[str, Any]], model: str, model_limit: int | None = None
    ) -> CompressionResult | None:
        """Compress remotely (blocking, at most `timeout` seconds); None means "send the original"."""
        try:
            response = self._post(self.url, self._body(messages, model, model_limit))
        except httpx.HTTPError as exc:
            return self._failed(exc)
        return self._finish(response, messages)

    async def acompress(
        self, messages: Sequence[Mapping[str, Any]], model: str, model_limit: int | None = None
    ) -> CompressionResult | None:
        """Compress remotely without blocking the event loop; None means "send the original"."""
        try:
            response = await self._apost(self.url, self._body(messages, model, model_limit))
        except (httpx.HTTPError, asyncio.TimeoutError) as exc:
            return self._failed(exc)
        return self._finish(response, messages)

    def retrieve(self, hash: str, query: str | None = None) -> str:
        """The original behind `hash` from the server's `/v1/retrieve`; errors come back as text."""
        try:
            response = self._post(f"{self.api_url}/v1/retrieve", {"hash": hash, "query": query})
        except httpx.HTTPError as exc:
            return f"headroom_retrieve error: the Headroom server is unreachable ({type(exc).__name__})"
        if response.status_code // 100 != 2:
            return f"headroom_retrieve error: the server answered {response.status_code} for hash {hash!r}"
        try:
            original = response.json().get("original_content")
        except (ValueError, AttributeError):
            original = None
        return original if isinstance(original, str) else "headroom_retrieve error: malformed reply"

    def close(self) -> None:
        """Close the sync client (async clients close with their event loop)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    async def aclose(self) -> None:
        """Close this event loop's async client."""
        with self._lock:
            client = self._aclients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def __repr__(self) -> str:
        return f"RemoteCompressor(api_url={self.api_url!r}, timeout={self.timeout})"
