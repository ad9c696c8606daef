"""Where CCR keeps originals: a small interface and the embedded default.

The default is an in-process LRU with a TTL: nothing is written to disk unless
the caller installs a persistent store (the server ships SQLite and Redis ones
behind this same interface).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict

__all__ = [
    "CCRStore",
    "InMemoryStore",
    "ScopedStore",
    "get_default_store",
    "set_default_store",
]


class CCRStore(ABC):
    """Maps a content hash to the original text it stands for."""

    @abstractmethod
    def put(self, key: str, original: str) -> None:
        """Store `original` under `key` (idempotent: same key, same bytes)."""

    @abstractmethod
    def get(self, key: str) -> str | None:
        """The original stored under `key`, or None if unknown or expired."""

    def close(self) -> None:  # noqa: B027 - optional for stores holding connections
        """Release resources; stores without any need not override this."""


class InMemoryStore(CCRStore):
    """Thread-safe LRU with a time-to-live and a byte budget."""

    def __init__(
        self, max_entries: int = 2048, ttl_seconds: float = 6 * 3600, max_bytes: int = 512 * 2**20
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, key: str, original: str) -> None:
        expires = time.monotonic() + self.ttl_seconds
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._data[key] = (expires, original)
            self._bytes += len(original)
            while self._data and (
                len(self._data) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, (_, dropped) = self._data.popitem(last=False)
                self._bytes -= len(dropped)

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, original = item
            if expires < time.monotonic():
                del self._data[key]
                self._bytes -= len(original)
                return None
            self._data.move_to_end(key)
            return original

    def __len__(self) -> int:
        return len(self._data)


class ScopedStore(CCRStore):
    """A view of another store under a namespace, so tenants never see each other's originals."""

    def __init__(self, inner: CCRStore, namespace: str) -> None:
        self.inner = inner
        self.namespace = namespace

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def put(self, key: str, original: str) -> None:
        self.inner.put(self._key(key), original)

    def get(self, key: str) -> str | None:
        return self.inner.get(self._key(key))


_default: CCRStore = InMemoryStore()
_default_lock = threading.Lock()


def get_default_store() -> CCRStore:
    """The process-wide store `compress()` and `retrieve()` use when given none."""
    return _default


def set_default_store(store: CCRStore) -> None:
    """Install `store` as the process-wide default (e.g. a SQLite or Redis store)."""
    global _default
    with _default_lock:
        _default = store
