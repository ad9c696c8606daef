"""A CCR store on Redis, shared by every server replica behind a load balancer.

Any replica can answer a retrieval for an original another one stored. Keys
carry a TTL set by Redis itself (``SET ... EX``), so expiry needs no sweeper.
"""

from __future__ import annotations

from typing import Any

from headroom.core.store import CCRStore
from headroom.exceptions import StorageError

try:
    import redis as _redis
except ImportError as exc:  # pragma: no cover - exercised by a sys.modules test
    raise ImportError(
        "headroom.stores.redis needs the redis client: pip install 'headroom[redis]'"
    ) from exc

__all__ = ["RedisStore"]


class RedisStore(CCRStore):
    """Originals under ``{prefix}{key}`` in Redis, each with a time-to-live.

    Args:
        url: A redis URL, e.g. ``redis://localhost:6379/0``.
        ttl_seconds: How long an original can be retrieved after it was stored.
        prefix: Namespace of Headroom's keys in a Redis shared with other data.
        client: An existing ``redis.Redis`` to use instead of connecting to `url`.
        socket_timeout: Bound on each Redis call, so a stalled Redis fails fast.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        ttl_seconds: float = 6 * 3600,
        prefix: str = "headroom:ccr:",
        *,
        client: Any = None,
        socket_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.ttl_seconds = max(1, int(ttl_seconds))
        self.prefix = prefix
        self._client: Any = client or _redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )

    def put(self, key: str, original: str) -> None:
        try:
            self._client.set(
                self.prefix + key, original.encode("utf-8", "surrogatepass"), ex=self.ttl_seconds
            )
        except _redis.RedisError as exc:
            raise StorageError(f"Redis CCR store write failed: {exc}") from exc

    def get(self, key: str) -> str | None:
        try:
            value = self._client.get(self.prefix + key)
        except _redis.RedisError as exc:
            raise StorageError(f"Redis CCR store read failed: {exc}") from exc
        if value is None:
            return None
        return bytes(value).decode("utf-8", "surrogatepass")

    def ping(self) -> bool:
        """Whether Redis answers (the server's /health reports it)."""
        try:
            return bool(self._client.ping())
        except _redis.RedisError:
            return False

    def close(self) -> None:
        self._client.close()
