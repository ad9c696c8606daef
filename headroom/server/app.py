"""`create_app`: the Headroom service and proxy as one Starlette app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

try:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
except ImportError as exc:  # pragma: no cover - exercised by a sys.modules test
    raise ImportError(
        "the Headroom server needs its web stack: pip install 'headroom[server]'"
    ) from exc

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headroom.core.store import CCRStore
from headroom.server.backends import LiteLLMBackend
from headroom.server.budget import ClientGone
from headroom.server.dashboard import dashboard_routes
from headroom.server.guard import RequestGuardMiddleware
from headroom.server.http import ApiError, api_error_handler, error_body
from headroom.server.ledger import Ledger
from headroom.server.observability import RequestLogMiddleware, log_event
from headroom.server.proxy import proxy_routes
from headroom.server.response_cache import ResponseCache
from headroom.server.routes import service_routes
from headroom.server.settings import ServerSettings
from headroom.server.state import ServerState
from headroom.server.storeguard import GuardedStore
from headroom.stores import open_store

__all__ = ["create_app"]


def _store_kind(spec: str, store: CCRStore) -> str:
    return spec.split(":", 1)[0] if spec else type(store).__name__


async def _client_gone(request: Request, exc: Exception) -> Response:
    """Nobody is listening: stop, and count it as 499 (client closed request)."""
    log_event("client_gone", path=request.url.path)
    return Response(status_code=499)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """A fault of ours: JSON like every other error, details only in the log."""
    log_event("internal_error", level=40, path=request.url.path, error=type(exc).__name__)
    return JSONResponse(
        error_body("internal_error", f"the server failed on this request ({type(exc).__name__})"),
        status_code=500,
    )


def create_app(
    settings: ServerSettings | None = None, *, store: CCRStore | None = None
) -> Starlette:
    """Build the ASGI app serving /v1/compress, /v1/retrieve, the proxy routes and operations.

    Args:
        settings: Server settings; `ServerSettings.from_env()` when omitted.
        store: A CCR store to use instead of opening ``settings.store``
            (the caller then owns it and closes it).

    Raises:
        ConfigurationError: the settings name an unknown store or invalid values.
    """
    settings = settings if settings is not None else ServerSettings.from_env()
    owns_store = store is None
    ccr = (
        store
        if store is not None
        else open_store(
            settings.store,
            ttl_seconds=settings.ccr_ttl_seconds,
            max_bytes=settings.store_max_bytes,
            namespace_max_entries=settings.tenant_max_entries,
            namespace_max_bytes=settings.tenant_max_bytes,
            timeout=settings.store_timeout,
        )
    )
    state = ServerState(
        settings=settings,
        store=GuardedStore(ccr, settings.store_timeout),
        store_kind=_store_kind(settings.store if owns_store else "", ccr),
        ledger=Ledger(
            budget_usd=settings.budget_usd,
            log_file=settings.log_file,
            log_content=settings.log_content,
        ),
        response_cache=ResponseCache(ttl_seconds=settings.response_cache_ttl)
        if settings.response_cache
        else None,
        backend=LiteLLMBackend(settings.backend, settings.backend_region)
        if settings.backend
        else None,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log_event(
            "startup",
            store=state.store_kind,
            auth=bool(settings.api_keys),
            upstream_openai=settings.upstream_openai,
            upstream_anthropic=settings.upstream_anthropic,
            backend=settings.backend,
        )
        try:
            yield
        finally:
            if state.client is not None:
                await state.client.aclose()
                state.client = None
            if owns_store:
                state.store.close()
            state.ledger.close()

    app = Starlette(
        routes=[*service_routes(), *dashboard_routes(), *proxy_routes()],
        middleware=[
            Middleware(RequestLogMiddleware, observability=state.obs),
            Middleware(
                RequestGuardMiddleware,
                allowed_hosts=None
                if settings.all_keys or "*" in settings.allowed_hosts
                else settings.host_names(),
            ),
        ],
        exception_handlers={
            ApiError: api_error_handler,
            ClientGone: _client_gone,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.headroom = state
    return app
