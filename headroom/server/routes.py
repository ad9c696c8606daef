"""The service routes: /v1/compress, /v1/retrieve, /health, /stats, /metrics."""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headroom import __version__
from headroom.core.ccr import retrieve
from headroom.core.compress import compress
from headroom.core.config import CompressConfig
from headroom.core.result import CompressionResult
from headroom.exceptions import ConfigurationError, RetrievalError, StorageError, ValidationError
from headroom.server.auth import Tenant, authenticate
from headroom.server.budget import (
    Budget,
    OutOfBudget,
    SizeCapHooks,
    budget_counter,
    run_budgeted,
    while_connected,
)
from headroom.server.http import ApiError, read_json_object
from headroom.server.state import ServerState

__all__ = ["server_state", "service_routes", "tenant_of"]

logger = logging.getLogger("headroom.server")

_HASH = re.compile(r"[0-9a-fA-F]{8,64}")
#: A session key clients (LiteLLM's guardrail) send so a load balancer can pin a
#: conversation to one replica; logged, since routing it is the balancer's job.
AFFINITY_HEADER = "x-headroom-affinity"


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.headroom
    return state


def tenant_of(request: Request) -> Tenant:
    """Authenticate `request` and note its tenant for the request log."""
    state = server_state(request)
    settings = state.settings
    tenant = authenticate(request, settings.api_keys, settings.admin_keys, state.salt)
    request.state.tenant = tenant.log_id
    request.state.tenant_id = tenant.id
    return tenant


async def compress_config(state: ServerState, config: CompressConfig) -> CompressConfig:
    """`config`, made lossless while the CCR store is down (no marker without its original)."""
    store = state.store
    if not store.suspect:
        return config  # the common case, without a thread hop
    return config if await run_in_threadpool(store.available) else config.replace(lossy=False)


# `config.mode` values other clients send (LiteLLM's headroom guardrail: "ccr"),
# as the CompressConfig fields they mean.
_CONFIG_MODES: dict[str, dict[str, Any]] = {"ccr": {"ccr": True}}
_warned_fields: set[str] = set()


def _config(default: CompressConfig, overrides: Any) -> CompressConfig:
    """The request's settings. Fields this server does not know are logged and ignored, so a
    client newer than the server (or another product's client) still gets compression."""
    if overrides is None:
        return default
    if not isinstance(overrides, dict):
        raise ApiError(
            422, "invalid_request", "'config' must be an object of CompressConfig fields"
        )
    known = set(default.to_dict())
    fields = {k: v for k, v in overrides.items() if k in known}
    mode = overrides.get("mode")
    if isinstance(mode, str) and mode in _CONFIG_MODES:
        fields = {**_CONFIG_MODES[mode], **fields}
    ignored = sorted(
        k for k in overrides if k not in known and not (k == "mode" and mode in _CONFIG_MODES)
    )
    if ignored and not set(ignored) <= _warned_fields:
        _warned_fields.update(ignored)
        logger.warning("/v1/compress: ignoring unknown config fields: %s", ", ".join(ignored))
    try:
        return CompressConfig.from_dict({**default.to_dict(), **fields})
    except ConfigurationError as exc:
        raise ApiError(422, "invalid_config", f"invalid 'config': {exc}") from exc


def _validate_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list):
        raise ApiError(422, "invalid_request", "'messages' must be a list of message objects")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ApiError(
                422,
                "invalid_request",
                f"messages[{i}] must be an object, got {type(message).__name__}",
            )
        if not isinstance(message.get("role"), str):
            raise ApiError(422, "invalid_request", f"messages[{i}] needs a string 'role'")
    return messages


async def compress_route(request: Request) -> Response:
    """Compress a conversation; one message comes back per message sent."""
    state = server_state(request)
    tenant = tenant_of(request)
    body = await read_json_object(
        request, state.settings.max_body_bytes, state.settings.body_timeout
    )
    messages = _validate_messages(body.get("messages"))
    model = body.get("model") or state.settings.default_model
    if not isinstance(model, str):
        raise ApiError(422, "invalid_request", "'model' must be a string")
    model_limit = body.get("model_limit")
    if model_limit is not None and (
        not isinstance(model_limit, int) or isinstance(model_limit, bool) or model_limit <= 0
    ):
        raise ApiError(422, "invalid_request", "'model_limit' must be a positive integer")
    config = await compress_config(state, _config(state.settings.config, body.get("config")))
    budget = Budget(state.settings.compress_timeout, state.settings.max_output_bytes)
    try:
        result: CompressionResult = await while_connected(
            request,
            run_budgeted(
                budget,
                compress,
                messages,
                model=model,
                model_limit=model_limit,
                config=config,
                store=tenant.store(state.store),
                hooks=SizeCapHooks(state.settings.max_output_bytes),
                token_counter=budget_counter(model),
            ),
            budget,
        )
    except ValidationError as exc:
        raise ApiError(422, "invalid_messages", str(exc)) from exc
    except OutOfBudget:
        # Fail open: the caller gets its messages back unchanged, marked as such.
        result = CompressionResult(list(messages), 0, 0, ["fail_open:timeout"])
    if len(result.messages) != len(
        messages
    ):  # the core promises this; never pass a reshaped list on
        result = CompressionResult(
            list(messages), result.tokens_before, result.tokens_before, ["fail_open:shape"]
        )
    failed_open = any(t.startswith("fail_open:") for t in result.transforms_applied)
    state.obs.record_compression(
        "compress", result.tokens_before, result.tokens_after, failed_open, tenant.id
    )
    request.state.log_fields = {
        "affinity": request.headers.get(AFFINITY_HEADER),
        "model": model,
        "messages": len(messages),
        "tokens_before": result.tokens_before,
        "tokens_after": result.tokens_after,
        "ccr_hashes": len(result.ccr_hashes),
    }
    return JSONResponse(result.to_dict())


async def _retrieve(request: Request, hash_value: Any, query: Any) -> Response:
    state = server_state(request)
    tenant = tenant_of(request)
    if not isinstance(hash_value, str) or not _HASH.fullmatch(hash_value):
        raise ApiError(
            400, "invalid_hash", "hash must be the hex string named in a [headroom: ...] marker"
        )
    if query is not None and not isinstance(query, str):
        raise ApiError(422, "invalid_request", "'query' must be a string")
    try:
        original = await run_in_threadpool(
            retrieve, hash_value, query or None, store=tenant.store(state.store)
        )
    except RetrievalError as exc:
        state.obs.record_retrieval(False, tenant=tenant.id)
        raise ApiError(
            404, "not_found", f"{exc}; originals expire after {state.settings.ccr_ttl_seconds:g}s"
        ) from exc
    except StorageError as exc:
        raise ApiError(503, "store_unavailable", str(exc)) from exc
    state.obs.record_retrieval(True, tenant=tenant.id)
    return JSONResponse(
        {
            "hash": hash_value.lower(),
            "original_content": original,
            "query": query or None,
            "chars": len(original),
        }
    )


async def retrieve_get(request: Request) -> Response:
    """The original a marker stands for; ``?query=`` returns only matching parts."""
    return await _retrieve(request, request.path_params["hash"], request.query_params.get("query"))


async def retrieve_post(request: Request) -> Response:
    """Same as GET, with ``{"hash": ..., "query"?: ...}`` in the body."""
    settings = server_state(request).settings
    body = await read_json_object(request, settings.max_body_bytes, settings.body_timeout)
    return await _retrieve(request, body.get("hash"), body.get("query"))


async def health(request: Request) -> Response:
    """Liveness and store reachability; 503 when the CCR store does not answer in time."""
    state = server_state(request)
    ok = await run_in_threadpool(state.store.ping)
    body = {
        "status": "healthy" if ok else "degraded",
        "version": __version__,
        "store": state.store_kind,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


def _audience(request: Request) -> str | None:
    """Whose counts a caller sees: its own tenant's, or (admin, or no keys) everyone's."""
    tenant = tenant_of(request)
    return None if tenant.admin else tenant.id


async def stats(request: Request) -> Response:
    """Counters of this process: requests, tokens before/after/saved, failures."""
    tenant = tenant_of(request)
    audience = None if tenant.admin else tenant.id
    state = server_state(request)
    body = state.obs.snapshot(state.store_kind, audience)
    body["scope"] = "all" if audience is None else "tenant"
    ledger = state.ledger.snapshot(None if tenant.admin else tenant.log_id)
    totals = ledger["totals"]
    body["tokens"]["input"] = totals["tokens_after"]  # what proxied requests sent upstream
    body["tokens"]["output"] = totals["output_tokens"]
    body["cost"] = {
        "total_cost_usd": totals["total_cost_usd"],
        "total_savings_usd": totals["total_savings_usd"],
        "unpriced_requests": totals["unpriced_requests"],
        "budget": ledger["budget"],
    }
    body["models"] = ledger["models"]
    body["recent"] = ledger["recent"]
    body["timeline"] = ledger["timeline"]
    cache = state.response_cache.stats() if state.response_cache else None
    body["cache"] = {"enabled": cache is not None, **(cache or {"entries": 0, "total_hits": 0})}
    return JSONResponse(body)


async def metrics(request: Request) -> Response:
    """Prometheus exposition: the caller's tenant, or every tenant for an admin key."""
    audience = _audience(request)
    return Response(
        server_state(request).obs.prometheus(audience),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )


def service_routes() -> list[Route]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/v1/compress", compress_route, methods=["POST"]),
        Route("/v1/saas/compress", compress_route, methods=["POST"]),
        Route("/v1/retrieve/{hash}", retrieve_get, methods=["GET"]),
        Route("/v1/retrieve", retrieve_post, methods=["POST"]),
    ]
