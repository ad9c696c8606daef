"""Request bodies and error replies shared by every route.

Every client error is a JSON body ``{"error": {"type": ..., "message": ...}}``
with a 4xx status, so callers can tell a bad request from a server fault.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["ApiError", "api_error_handler", "error_body", "read_body", "read_json_object"]


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


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it passes `limit` bytes.

    The declared Content-Length is checked first, and the stream is counted as
    it arrives, so a client that lies about the length is stopped too.
    """
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


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body parsed as a JSON object (400 if it is not JSON, 422 if not an object)."""
    raw = await read_body(request, limit)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "request body is empty; send a JSON object")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(
            422, "invalid_request", f"request body must be a JSON object, got {type(data).__name__}"
        )
    return data
