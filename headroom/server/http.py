"""Request bodies and error replies shared by every route.

Every client error is a JSON body ``{"error": {"type": ..., "message": ...}}``
with a 4xx status, so callers can tell a bad request from a server fault.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = [
    "ApiError",
    "api_error_handler",
    "client_error",
    "encodable",
    "error_body",
    "parse_json_object",
    "read_body",
    "read_json_object",
]

# A \uD800-\uDFFF escape: JSON may name half a surrogate pair, UTF-8 cannot carry it.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class ApiError(Exception):
    """A request the server refuses, rendered as a JSON error with `status`."""

    def __init__(
        self, status: int, type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers or {}


def error_body(type: str, message: str) -> dict[str, Any]:
    return {"error": {"type": type, "message": message}}


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.type, exc.message), status_code=exc.status, headers=exc.headers
    )


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The whole body, refusing (413) as soon as it passes `limit` bytes.

    The declared Content-Length is checked first, and the stream is counted as
    it arrives, so a client that lies about the length is stopped too. A body
    not complete within `timeout` seconds is refused (408), so slow clients
    cannot hold connections open.
    """
    if timeout is None:
        return await _read_body(request, limit)
    try:
        return await asyncio.wait_for(_read_body(request, limit), timeout)
    except asyncio.TimeoutError as exc:
        raise ApiError(
            408, "request_timeout", f"the request body did not arrive within {timeout:g}s"
        ) from exc


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(
            413, "request_too_large", f"request body is {declared} bytes; the limit is {limit}"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "request_too_large", f"request body exceeds the limit of {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def encodable(data: Any, raw: bytes) -> bool:
    """Whether `data` (parsed from `raw`) can be written back as UTF-8 JSON.

    Only a lone surrogate escape (``"\\ud800"``) makes it fail; the full check
    runs only when `raw` holds a surrogate escape at all.
    """
    if not _SURROGATE_ESCAPE.search(raw):
        return True
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json_object(raw: bytes, *, strict_text: bool = True) -> dict[str, Any]:
    """`raw` parsed as a JSON object; every way it can fail is a 4xx `ApiError`.

    Args:
        raw: The request body.
        strict_text: Refuse strings holding half a surrogate pair (they cannot
            be written back as UTF-8).
    """
    if not raw.strip():
        raise ApiError(400, "invalid_json", "request body is empty; send a JSON object")
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise ApiError(400, "invalid_json", "request body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        # ValueError also covers integers longer than Python's 4,300-digit limit.
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(
            422, "invalid_request", f"request body must be a JSON object, got {type(data).__name__}"
        )
    if strict_text and not encodable(data, raw):
        raise ApiError(
            400,
            "invalid_json",
            "request body holds a lone surrogate escape (\\ud800-\\udfff); it is not text",
        )
    return data


async def read_json_object(
    request: Request, limit: int, timeout: float | None = None
) -> dict[str, Any]:
    """The body parsed as a JSON object (400 if it is not JSON, 422 if not an object)."""
    return parse_json_object(await read_body(request, limit, timeout))


def client_error(
    status: int, kind: str, message: str, *, anthropic: bool, code: str | None = None
) -> JSONResponse:
    """An error in the client's own API shape (Anthropic's or OpenAI's), so its SDK raises
    the error class it would raise for the provider itself."""
    if anthropic:
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        body = {"error": {"type": kind, "message": message, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)
