"""What every route of one app shares: settings, the CCR store, counters, the upstream client."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx

from headroom.server.backends import LiteLLMBackend
from headroom.server.ledger import Ledger
from headroom.server.observability import Observability
from headroom.server.response_cache import ResponseCache
from headroom.server.settings import ServerSettings
from headroom.server.storeguard import GuardedStore

__all__ = ["ServerState"]


@dataclass
class ServerState:
    """Per-app state (held in ``app.state.headroom``); nothing here is process-global."""

    settings: ServerSettings
    store: GuardedStore
    store_kind: str
    obs: Observability = field(init=False)
    ledger: Ledger = field(default_factory=Ledger)
    response_cache: ResponseCache | None = None
    backend: LiteLLMBackend | None = None
    client: httpx.AsyncClient | None = None
    salt: bytes = field(init=False)

    def __post_init__(self) -> None:
        configured = self.settings.log_salt
        self.salt = configured.encode() if configured else secrets.token_bytes(16)
        self.obs = Observability(self.store_counters)

    def store_counters(self) -> dict[str, int]:
        """The store's failure and early-eviction counts, for /stats and /metrics."""
        inner = self.store.inner
        return {
            "store_write_failures": self.store.write_failures,
            "store_read_failures": self.store.read_failures,
            "evicted_before_ttl": int(getattr(inner, "evictions", 0)),
        }

    def upstream_client(self) -> httpx.AsyncClient:
        """The pooled client for upstream calls, with bounded timeouts."""
        if self.client is None:
            s = self.settings
            self.client = httpx.AsyncClient(
                timeout=httpx.Timeout(s.upstream_timeout, connect=s.upstream_connect_timeout),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                follow_redirects=False,
            )
        return self.client
