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


def _utf8_size(text: str) -> int:
    """Bytes `text` takes as UTF-8 (surrogates passed through, as the stores write them)."""
    return len(text.encode("utf-8", "surrogatepass"))


class InMemoryStore(CCRStore):
    """Thread-safe LRU with a time-to-live and a byte budget (UTF-8 bytes).

    Keys written through `ScopedStore` (``namespace:key``) are grouped by
    namespace: each namespace may be given its own entry and byte budget, and
    when the whole store is over budget the namespace holding the most bytes
    gives way first. So one tenant filling the store evicts its own oldest
    originals, never another tenant's that stay within their budget.

    Args:
        max_entries: Entries the whole store holds.
        ttl_seconds: How long an original can be retrieved after it was stored.
        max_bytes: UTF-8 bytes of originals the whole store holds.
        namespace_max_entries: Entries one namespace holds (None: no own limit).
        namespace_max_bytes: UTF-8 bytes one namespace holds (None: no own limit).
    """

    def __init__(
        self,
        max_entries: int = 2048,
        ttl_seconds: float = 6 * 3600,
        max_bytes: int = 512 * 2**20,
        *,
        namespace_max_entries: int | None = None,
        namespace_max_bytes: int | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self.namespace_max_entries = namespace_max_entries
        self.namespace_max_bytes = namespace_max_bytes
        self.evictions = 0  # entries dropped for space before their TTL ran out
        self._spaces: dict[str, OrderedDict[str, tuple[float, str, int]]] = {}
        self._space_bytes: dict[str, int] = {}
        self._entries = 0
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _space(key: str) -> str:
        return key.rpartition(":")[0]

    def _pop_oldest(self, space: str) -> None:
        entries = self._spaces[space]
        _, (_, _, size) = entries.popitem(last=False)
        self._forget(space, size)

    def _forget(self, space: str, size: int) -> None:
        self._entries -= 1
        self._bytes -= size
        self._space_bytes[space] -= size
        if not self._spaces[space]:
            del self._spaces[space], self._space_bytes[space]

    def _drop_expired(self, space: str, now: float) -> None:
        entries = self._spaces.get(space)
        while entries:
            key = next(iter(entries))
            if entries[key][0] >= now:
                return
            self._pop_oldest(space)
            entries = self._spaces.get(space)

    def put(self, key: str, original: str) -> None:
        now = time.monotonic()
        size = _utf8_size(original)
        space = self._space(key)
        with self._lock:
            entries = self._spaces.setdefault(space, OrderedDict())
            self._space_bytes.setdefault(space, 0)
            old = entries.pop(key, None)
            if old is not None:
                self._entries -= 1
                self._bytes -= old[2]
                self._space_bytes[space] -= old[2]
            entries[key] = (now + self.ttl_seconds, original, size)
            self._entries += 1
            self._bytes += size
            self._space_bytes[space] += size
            self._drop_expired(space, now)
            while (
                space in self._spaces
                and len(self._spaces[space]) > 1
                and (
                    (
                        self.namespace_max_entries is not None
                        and len(self._spaces[space]) > self.namespace_max_entries
                    )
                    or (
                        self.namespace_max_bytes is not None
                        and self._space_bytes[space] > self.namespace_max_bytes
                    )
                )
            ):
                self._pop_oldest(space)
                self.evictions += 1
            while self._entries > 0 and (
                self._entries > self.max_entries or self._bytes > self.max_bytes
            ):
                if self._entries > self.max_entries:
                    largest = max(self._spaces, key=lambda s: len(self._spaces[s]))
                else:
                    largest = max(self._space_bytes, key=self._space_bytes.__getitem__)
                self._pop_oldest(largest)
                self.evictions += 1

    def get(self, key: str) -> str | None:
        space = self._space(key)
        with self._lock:
            entries = self._spaces.get(space)
            item = entries.get(key) if entries is not None else None
            if entries is None or item is None:
                return None
            expires, original, size = item
            if expires < time.monotonic():
                del entries[key]
                self._forget(space, size)
                return None
            entries.move_to_end(key)
            return original

    def namespace_usage(self, namespace: str) -> tuple[int, int]:
        """(entries, UTF-8 bytes) held under `namespace`."""
        with self._lock:
            return len(self._spaces.get(namespace, ())), self._space_bytes.get(namespace, 0)

    @property
    def bytes_used(self) -> int:
        """UTF-8 bytes of all originals held."""
        return self._bytes

    def __len__(self) -> int:
        return self._entries


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
