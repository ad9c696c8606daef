"""Bearer API keys, and the tenant each key is.

A tenant's CCR originals live under its own namespace of the shared store
(`ScopedStore`), so one key can never read what another stored, even with the
hash. Keys are never logged: a tenant is named by a digest of its key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from headroom.core.store import CCRStore, ScopedStore
from headroom.server.http import ApiError

__all__ = ["Tenant", "authenticate", "presented_key"]

_PUBLIC = "public"


@dataclass(frozen=True)
class Tenant:
    """Who made a request: `id` names it in logs and scopes its CCR entries."""

    id: str
    key: str | None = None

    def store(self, base: CCRStore) -> CCRStore:
        """`base` as this tenant sees it."""
        return ScopedStore(base, f"t:{self.id}")


def presented_key(request: Request) -> str | None:
    """The key a request carries: ``Authorization: Bearer`` or ``x-headroom-api-key``."""
    explicit = request.headers.get("x-headroom-api-key")
    if explicit:
        return explicit.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def authenticate(request: Request, api_keys: tuple[str, ...]) -> Tenant:
    """The tenant of `request`; 401 when keys are configured and none matches."""
    if not api_keys:
        return Tenant(_PUBLIC)
    key = presented_key(request)
    if key is not None:
        given = key.encode()
        # Compare against every key so timing does not reveal which one is close.
        matches = [hmac.compare_digest(given, k.encode()) for k in api_keys]
        if any(matches):
            return Tenant(hashlib.sha256(given).hexdigest()[:16], key)
    raise ApiError(
        401,
        "unauthorized",
        "missing or invalid API key: send 'Authorization: Bearer <key>' or 'x-headroom-api-key: <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )
