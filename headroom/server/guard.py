"""Refuse what a browser could send on a user's behalf, before any route runs.

Without API keys the server trusts whoever reaches it, so a web page the user
visits must not be able to reach it: a DNS-rebound name is refused by the
``Host`` check, and a cross-site form or ``fetch`` (which cannot send
``application/json`` without the browser asking the server first) by the
content-type check on the JSON routes. The content-type check applies with
keys too: SDKs always send JSON as ``application/json``.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from headroom.server.http import error_body
from headroom.server.payloads import CHAT_ROUTES

__all__ = ["JSON_ROUTES", "RequestGuardMiddleware", "host_name", "is_json_media_type"]

JSON_ROUTES = frozenset({*CHAT_ROUTES, "/v1/compress", "/v1/saas/compress", "/v1/retrieve"})
# Probes (load balancers, orchestrators) address replicas by IP or service name.
_HOST_EXEMPT = frozenset({"/health"})


def host_name(host: str) -> str:
    """The name part of a ``Host`` header, lower-cased (``[::1]:8787`` -> ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or any ``application/*+json``, parameters ignored."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestGuardMiddleware:
    """``Host`` check (only when no keys are configured) and JSON content type on JSON routes.

    Args:
        app: The app to protect.
        allowed_hosts: Host names accepted; None disables the check (keys are
            configured, or ``*`` was given).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] | None) -> None:
        self.app = app
        self.allowed_hosts = None if allowed_hosts is None else frozenset(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers") or []}
        path = scope.get("path", "")
        refusal: tuple[int, str, str] | None = None
        if self.allowed_hosts is not None and path not in _HOST_EXEMPT:
            host = host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in self.allowed_hosts:
                refusal = (
                    403,
                    "host_not_allowed",
                    f"Host {host!r} is not served here; allow it with --allowed-host "
                    "or configure API keys",
                )
        if refusal is None and scope.get("method") == "POST" and path in JSON_ROUTES:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if not is_json_media_type(content_type):
                refusal = (
                    415,
                    "unsupported_media_type",
                    f"send the body as 'content-type: application/json', not {content_type!r}",
                )
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, kind, message = refusal
        body = json.dumps(error_body(kind, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
