"""Savings counted once per request that succeeded.

A compression is held under an id (written into the request's metadata) until
LiteLLM reports that request's success or failure; retries and fallbacks
re-send the same metadata, so each request counts once, and failures not at all.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

__all__ = ["Savings"]

#: Compressions awaiting LiteLLM's success or failure event; older ones are
#: dropped (a request LiteLLM never reported on, e.g. a cancelled stream).
_MAX_PENDING = 4096


def _compression_id(kwargs: Any) -> str | None:
    """The id in a call's metadata, wherever LiteLLM carries it in a logging event's kwargs."""
    if not isinstance(kwargs, Mapping):
        return None
    for holder in (kwargs.get("litellm_params"), kwargs):
        for key in ("metadata", "litellm_metadata"):
            metadata = holder.get(key) if isinstance(holder, Mapping) else None
            stats = metadata.get("headroom") if isinstance(metadata, Mapping) else None
            if isinstance(stats, Mapping) and isinstance(stats.get("id"), str):
                return str(stats["id"])
    return None


class Savings:
    """Tokens saved by requests that succeeded (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved = 0
        self._pending: OrderedDict[str, int] = OrderedDict()  # id -> tokens saved

    @property
    def total(self) -> int:
        with self._lock:
            return self._saved

    def hold(self, saved: int) -> str:
        """The id under which `saved` waits for its request's outcome."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._pending[ticket] = saved
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
        return ticket

    def settle(self, kwargs: Any, succeeded: bool) -> None:
        """Count (or drop) the savings of the request `kwargs` describe; once per id."""
        ticket = _compression_id(kwargs)
        if ticket is None:
            return
        with self._lock:
            saved = self._pending.pop(ticket, None)
            if saved is not None and succeeded:
                self._saved += saved
