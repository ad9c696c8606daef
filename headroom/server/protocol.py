"""uvicorn's HTTP/1.1 protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections but not a client that opens a
connection and sends its headers a byte at a time (or never finishes them):
a thousand such connections stay open indefinitely. This subclass closes a
connection whose next request's headers have not all arrived within
`header_timeout` seconds of the connection opening or the previous response
ending. (Slow bodies are bounded by the routes' body-read deadline.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DeadlineH11Protocol", "protocol_with_header_timeout"]


class DeadlineH11Protocol(H11Protocol):
    """`H11Protocol` that drops connections slower than `header_timeout` to send headers."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_since: object = None

    def _arm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._waiting_since = self.cycle  # a new request replaces the cycle object
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.cycle is not self._waiting_since:
            return  # headers arrived in time
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


def protocol_with_header_timeout(seconds: float) -> type[DeadlineH11Protocol]:
    """A `DeadlineH11Protocol` subclass with its own `header_timeout`."""
    return type("HeadroomH11Protocol", (DeadlineH11Protocol,), {"header_timeout": seconds})
