"""Remote mode: compress through a Headroom server's `/v1/compress` instead of in-process.

Every failure fails open: an unreachable server, one slower than `timeout`
(bounded end to end, not per read), a non-2xx status or a reply that is not a
`CompressionResult` of the same messages returns None, logs a warning, and the
request goes to the provider uncompressed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from headroom.core import CompressionResult

__all__ = ["DEFAULT_API_URL", "RemoteCompressor", "parse_compress_reply"]

logger = logging.getLogger("headroom.litellm")

#: A self-hosted `headroom proxy` on its default port.
DEFAULT_API_URL = "http://127.0.0.1:8787"


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

    def compress(
        self, messages: Sequence[Mapping[str, Any]], model: str, model_limit: int | None = None
    ) -> CompressionResult | None:
        """Compress remotely (blocking); None means "send the original"."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
            client = self._client
        try:
            response = client.post(
                self.url, json=self._body(messages, model, model_limit), headers=self._headers()
            )
        except httpx.HTTPError as exc:
            logger.warning(
                "headroom: %s unreachable (%s); sending the request uncompressed", self.url, exc
            )
            return None
        return self._finish(response, messages)

    async def acompress(
        self, messages: Sequence[Mapping[str, Any]], model: str, model_limit: int | None = None
    ) -> CompressionResult | None:
        """Compress remotely without blocking the event loop; None means "send the original"."""
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout)) as client:
                response = await asyncio.wait_for(
                    client.post(
                        self.url,
                        json=self._body(messages, model, model_limit),
                        headers=self._headers(),
                    ),
                    timeout=self.timeout,
                )
        except (httpx.HTTPError, asyncio.TimeoutError) as exc:
            logger.warning(
                "headroom: %s unreachable or slower than %.1fs (%s); sending the request uncompressed",
                self.url,
                self.timeout,
                type(exc).__name__,
            )
            return None
        return self._finish(response, messages)

    def _retrieved(self, response: httpx.Response, key: str) -> str:
        if response.status_code // 100 != 2:
            return f"headroom_retrieve error: the server answered {response.status_code} for hash {key!r}"
        try:
            original = response.json().get("original_content")
        except (ValueError, AttributeError):
            original = None
        return original if isinstance(original, str) else "headroom_retrieve error: malformed reply"

    def retrieve(self, hash: str, query: str | None = None) -> str:
        """The original behind `hash` from the server's `/v1/retrieve`; errors come back as text."""
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
            client = self._client
        try:
            response = client.post(
                f"{self.api_url}/v1/retrieve",
                json={"hash": hash, "query": query},
                headers=self._headers(),
            )
        except httpx.HTTPError as exc:
            return f"headroom_retrieve error: the Headroom server is unreachable ({type(exc).__name__})"
        return self._retrieved(response, hash)

    async def aretrieve(self, hash: str, query: str | None = None) -> str:
        """`retrieve` without blocking the event loop."""
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout)) as client:
                response = await asyncio.wait_for(
                    client.post(
                        f"{self.api_url}/v1/retrieve",
                        json={"hash": hash, "query": query},
                        headers=self._headers(),
                    ),
                    timeout=self.timeout,
                )
        except (httpx.HTTPError, asyncio.TimeoutError) as exc:
            return f"headroom_retrieve error: the Headroom server is unreachable ({type(exc).__name__})"
        return self._retrieved(response, hash)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __repr__(self) -> str:
        return f"RemoteCompressor(api_url={self.api_url!r}, timeout={self.timeout})"
