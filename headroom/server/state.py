"""What every route of one app shares: settings, the CCR store, counters, the upstream client."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from headroom.core.store import CCRStore
from headroom.server.backends import LiteLLMBackend
from headroom.server.ledger import Ledger
from headroom.server.observability import Observability
from headroom.server.response_cache import ResponseCache
from headroom.server.settings import ServerSettings

__all__ = ["ServerState"]


@dataclass
class ServerState:
    """Per-app state (held in ``app.state.headroom``); nothing here is process-global."""

    settings: ServerSettings
    store: CCRStore
    store_kind: str
    obs: Observability = field(default_factory=Observability)
    ledger: Ledger = field(default_factory=Ledger)
    response_cache: ResponseCache | None = None
    backend: LiteLLMBackend | None = None
    client: httpx.AsyncClient | None = None

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
