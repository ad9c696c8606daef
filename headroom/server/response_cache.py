"""Answers to identical requests, served without calling the provider again.

The key is the request as it is sent upstream (after compression, so model,
parameters and messages all count), the route and the tenant: one tenant can
never be served another's answer. Only complete 200 responses are kept; a
streamed answer is kept as the bytes of its stream and replayed as a stream.
Bounded by bytes (in all and per tenant) with a TTL; least recently used
entries go first.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CachedResponse", "ResponseCache"]


@dataclass(frozen=True)
class CachedResponse:
    """A response as it was sent to the client."""

    body: bytes
    media_type: str
    stored_at: float


class ResponseCache:
    """A byte-bounded, per-tenant LRU of upstream answers; thread-safe."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 300.0,
        max_bytes: int = 64 * 2**20,
        max_bytes_per_tenant: int = 16 * 2**20,
        max_entry_bytes: int = 2 * 2**20,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self.max_bytes_per_tenant = max_bytes_per_tenant
        self.max_entry_bytes = max_entry_bytes
        self.hits = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, CachedResponse]] = OrderedDict()
        self._bytes = 0
        self._tenant_bytes: dict[str, int] = {}

    @staticmethod
    def key(tenant: str, route: str, body: bytes) -> str:
        digest = hashlib.sha256(body).hexdigest()
        return f"{tenant}\x00{route}\x00{digest}"

    def get(self, key: str) -> CachedResponse | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            _tenant, entry = found
            if time.monotonic() - entry.stored_at > self.ttl_seconds:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: str, tenant: str, body: bytes, media_type: str) -> None:
        size = len(body)
        if size > self.max_entry_bytes or size > self.max_bytes_per_tenant:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (tenant, CachedResponse(body, media_type, time.monotonic()))
            self._bytes += size
            self._tenant_bytes[tenant] = self._tenant_bytes.get(tenant, 0) + size
            self._evict(tenant)

    def _evict(self, tenant: str) -> None:
        # The tenant that grew pays first; then the oldest entries of anyone.
        for key in [k for k, (t, _) in self._entries.items() if t == tenant]:
            if self._tenant_bytes.get(tenant, 0) <= self.max_bytes_per_tenant:
                break
            self._drop(key)
        while self._bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        tenant, entry = self._entries.pop(key)
        self._bytes -= len(entry.body)
        self._tenant_bytes[tenant] -= len(entry.body)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "bytes": self._bytes, "total_hits": self.hits}
