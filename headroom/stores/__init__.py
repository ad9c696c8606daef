"""CCR store backends beyond the embedded in-memory default.

`open_store` turns the one-line spec the server and CLI accept into a store:
``memory`` (the default, nothing on disk), ``sqlite:PATH`` (one machine,
persistent) or ``redis://...`` (shared by many server replicas).
"""

from __future__ import annotations

from headroom.core.store import CCRStore, InMemoryStore
from headroom.exceptions import ConfigurationError
from headroom.stores.sqlite import SQLiteStore

__all__ = ["DEFAULT_TTL_SECONDS", "SQLiteStore", "open_store"]

DEFAULT_TTL_SECONDS = 6 * 3600.0


def open_store(
    spec: str = "memory",
    *,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    max_bytes: int = 512 * 2**20,
    namespace_max_entries: int | None = None,
    namespace_max_bytes: int | None = None,
    timeout: float = 5.0,
) -> CCRStore:
    """Open the store a spec names: ``memory``, ``sqlite:PATH`` or ``redis://HOST:PORT/DB``.

    Args:
        spec: Which backend, as ``headroom proxy --store`` takes it.
        ttl_seconds: How long originals stay retrievable.
        max_bytes: Cap on the bytes of originals held (memory and SQLite; Redis
            is capped by its own ``maxmemory``).
        namespace_max_entries: Entries one tenant may hold (memory store).
        namespace_max_bytes: Bytes one tenant may hold (memory store).
        timeout: Bound on each Redis call, in seconds.

    Raises:
        ConfigurationError: the spec names no known backend, or its TTL is not positive.
    """
    if ttl_seconds <= 0:
        raise ConfigurationError(f"CCR ttl must be positive, got {ttl_seconds}")
    spec = spec.strip()
    if spec in ("", "memory"):
        return InMemoryStore(
            max_entries=max(2048, 10 * (namespace_max_entries or 0)),
            ttl_seconds=ttl_seconds,
            max_bytes=max_bytes,
            namespace_max_entries=namespace_max_entries,
            namespace_max_bytes=namespace_max_bytes,
        )
    if spec.startswith("sqlite:"):
        path = spec[len("sqlite:") :]
        if path.startswith("//"):  # tolerate sqlite:///abs/path
            path = path[2:]
        if not path:
            raise ConfigurationError("sqlite store needs a path: sqlite:/var/lib/headroom/ccr.db")
        return SQLiteStore(path, ttl_seconds=ttl_seconds, max_bytes=max_bytes)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from headroom.stores.redis import RedisStore

        return RedisStore(spec, ttl_seconds=ttl_seconds, socket_timeout=timeout)
    raise ConfigurationError(
        f"unknown CCR store {spec!r}: use 'memory', 'sqlite:PATH' or 'redis://HOST:PORT/DB'"
    )
