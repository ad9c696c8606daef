"""Watching a response on its way to the client: output tokens, bytes to cache, the end.

The proxy relays streams chunk by chunk; what a request cost is only known
when the last chunk has gone. `metered` wraps the response so the ledger and
the response cache hear about it then, without holding up any chunk.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

__all__ = ["RETRIEVALS", "Finished", "metered", "note_retrieval", "output_tokens"]

#: Retrieve calls the proxy answered for the current request (set per request).
RETRIEVALS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "headroom_retrievals", default=None
)
#: Bytes of a response kept for the cache and for reading its usage; past this only
#: the tail is kept (usage comes last in every provider's stream).
_KEEP_BYTES = 2 * 2**20
_TAIL_BYTES = 64 * 2**10

#: Called once the client has the whole response: status, body (None if it was cut
#: or too large to keep) and the output tokens its usage reported.
Finished = Callable[[int, bytes | None, int], None]


def note_retrieval() -> None:
    counter = RETRIEVALS.get()
    if counter is not None:
        counter[0] += 1


def _usage_tokens(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    for name in ("completion_tokens", "output_tokens"):
        value = usage.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def output_tokens(body: bytes) -> int:
    """Output tokens a JSON or SSE response reports (the last usage seen), else 0."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if isinstance(data, dict):
        return _usage_tokens(data.get("usage")) or 0
    found = 0
    for line in body.splitlines():
        if not line.startswith(b"data:") or b'"usage"' not in line:
            continue
        try:
            event = json.loads(line[5:])
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue
        if not isinstance(event, dict):
            continue
        usage = event.get("usage")
        if usage is None and isinstance(event.get("message"), dict):
            usage = event["message"].get("usage")
        tokens = _usage_tokens(usage)
        if tokens is not None:
            found = tokens
    return found


def metered(response: Response, finished: Finished) -> Response:
    """`response`, calling `finished` once it has been sent whole (not if it broke)."""
    if not isinstance(response, StreamingResponse):
        body = bytes(response.body)
        finished(response.status_code, body, output_tokens(body))
        return response
    source = response.body_iterator

    async def watched() -> AsyncIterator[bytes | str | memoryview]:
        kept = bytearray()
        whole = True
        async for chunk in source:
            data = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            kept += data
            if len(kept) > _KEEP_BYTES:
                whole = False
                del kept[:-_TAIL_BYTES]
            yield chunk
        body = bytes(kept)
        finished(response.status_code, body if whole else None, output_tokens(body))

    response.body_iterator = watched()
    return response
