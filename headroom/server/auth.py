"""API keys, and the tenant each key is.

A tenant's CCR originals live under its own namespace of the shared store
(`ScopedStore`), so one key can never read what another stored, even with the
hash. Keys are never logged: logs name a tenant by a salted digest of its key
(`Tenant.log_id`), which nobody without the salt can link to a key or to the
store's namespaces.

A key is read from, in this order: ``x-headroom-api-key`` (when present, it
alone decides), then ``Authorization: Bearer`` and ``x-api-key`` (the header
the Anthropic SDK sends), the first of the two that holds a configured key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from starlette.requests import Request

from headroom.core.store import CCRStore, ScopedStore
from headroom.server.http import ApiError

__all__ = ["Tenant", "authenticate", "candidate_keys", "is_configured_key", "salted_id"]

_PUBLIC = "public"


@dataclass(frozen=True)
class Tenant:
    """Who made a request.

    Attributes:
        id: Stable digest of the key; scopes its CCR entries (same on every replica).
        log_id: Salted digest written to logs and metrics labels.
        key: The key presented (never logged).
        admin: Whether the key may see the global ``/stats`` and ``/metrics``.
    """

    id: str
    log_id: str
    key: str | None = None
    admin: bool = False

    def store(self, base: CCRStore) -> CCRStore:
        """`base` as this tenant sees it."""
        return ScopedStore(base, f"t:{self.id}")


def salted_id(key: str, salt: bytes) -> str:
    """The name of a key in logs: an HMAC under a per-deployment salt."""
    return hmac.new(salt, key.encode(), hashlib.sha256).hexdigest()[:16]


def candidate_keys(request: Request) -> list[str]:
    """Keys a request presents, in order of precedence (see the module docstring)."""
    explicit = request.headers.get("x-headroom-api-key")
    if explicit is not None:
        return [explicit.strip()]
    found = []
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found.append(token.strip())
    api_key = request.headers.get("x-api-key", "").strip()
    if api_key:
        found.append(api_key)
    return found


def is_configured_key(value: str, keys: tuple[str, ...]) -> bool:
    """Whether `value` is one of `keys`, compared in constant time against each."""
    given = value.encode()
    matches = [hmac.compare_digest(given, k.encode()) for k in keys]
    return any(matches)


def authenticate(
    request: Request,
    api_keys: tuple[str, ...],
    admin_keys: tuple[str, ...] = (),
    salt: bytes = b"",
) -> Tenant:
    """The tenant of `request`; 401 when keys are configured and none matches."""
    all_keys = (*api_keys, *admin_keys)
    if not all_keys:
        return Tenant(_PUBLIC, _PUBLIC, admin=True)
    for key in candidate_keys(request):
        # Compare against every key so timing does not reveal which one is close.
        if is_configured_key(key, all_keys):
            return Tenant(
                hashlib.sha256(key.encode()).hexdigest()[:16],
                salted_id(key, salt),
                key,
                admin=is_configured_key(key, admin_keys) if admin_keys else False,
            )
    raise ApiError(
        401,
        "unauthorized",
        "missing or invalid API key: send 'Authorization: Bearer <key>', 'x-api-key: <key>' "
        "or 'x-headroom-api-key: <key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )
