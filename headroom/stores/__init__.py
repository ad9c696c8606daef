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


def open_store(spec: str = "memory", *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> CCRStore:
    """Open the store a spec names: ``memory``, ``sqlite:PATH`` or ``redis://HOST:PORT/DB``.

    Raises:
        ConfigurationError: the spec names no known backend, or its TTL is not positive.
    """
    if ttl_seconds <= 0:
        raise ConfigurationError(f"CCR ttl must be positive, got {ttl_seconds}")
    spec = spec.strip()
    if spec in ("", "memory"):
        return InMemoryStore(ttl_seconds=ttl_seconds)
    if spec.startswith("sqlite:"):
        path = spec[len("sqlite:") :]
        if path.startswith("//"):  # tolerate sqlite:///abs/path
            path = path[2:]
        if not path:
            raise ConfigurationError("sqlite store needs a path: sqlite:/var/lib/headroom/ccr.db")
        return SQLiteStore(path, ttl_seconds=ttl_seconds)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from headroom.stores.redis import RedisStore

        return RedisStore(spec, ttl_seconds=ttl_seconds)
    raise ConfigurationError(
        f"unknown CCR store {spec!r}: use 'memory', 'sqlite:PATH' or 'redis://HOST:PORT/DB'"
    )
