"""The LLM proxy: compress, forward to the upstream, stream the answer back.

``/v1/chat/completions`` and ``/v1/responses`` go to the OpenAI-compatible
upstream, ``/v1/messages`` to the Anthropic one; any other ``/v1/...`` path is
passed through untouched, but only below the configured base URL (the proxy
may hold provider keys, so a ``..`` path must never reach anything else), and
no configured Headroom key is ever forwarded. Streaming responses are relayed chunk by chunk as
they arrive. When compression leaves markers, the proxy offers
``headroom_retrieve`` and answers the model's calls itself: between calls for
non-streaming requests, inside the stream for Anthropic Messages and OpenAI
Chat Completions streams (see `headroom.server.streaming`). Responses API
streams are compressed losslessly only, so they never carry a marker nobody
can resolve.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headroom.core.result import CompressionResult
from headroom.core.retrieve_loop import arun_with_retrieval
from headroom.exceptions import ValidationError
from headroom.server.auth import Tenant, is_configured_key
from headroom.server.budget import (
    Budget,
    OutOfBudget,
    SizeCapHooks,
    budget_counter,
    run_budgeted,
    while_connected,
)
from headroom.server.http import ApiError, client_error, parse_json_object, read_body
from headroom.server.ledger import BudgetExceeded, RequestRecord
from headroom.server.metering import RETRIEVALS, metered
from headroom.server.observability import log_event
from headroom.server.payloads import CHAT_ROUTES, ChatRoute, compress_body, dumps
from headroom.server.routes import compress_config, server_state, tenant_of
from headroom.server.state import ServerState
from headroom.server.streaming import STREAM_DIALECTS
from headroom.server.upstream import (
    PROXY_ADAPTERS,
    answerer,
    relay,
    retrieve_loop,
    retrieve_stream,
)

__all__ = ["BYPASS_HEADER", "proxy_routes"]

BYPASS_HEADER = "x-headroom-bypass"

# Hop-by-hop and framing headers are the proxy's own business on each side.
_REQUEST_DROP = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
    }
)
# Headroom's own routes: another method on them is an error, never a passthrough.
_OWN_PATHS = frozenset({"/v1/compress", "/v1/saas/compress", "/v1/retrieve"})


def _dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


def _upstream_url(state: ServerState, upstream: str, path: str, query: str) -> str:
    """The upstream URL for a client path, confined to the configured base URL.

    `path` arrives percent-decoded. A path with a ``.``/``..`` segment, before
    or after one more decoding (what the upstream will do), or one that does
    not stay under the base URL's path, is refused: the proxy holds provider
    keys and must only ever reach the API it was configured for.
    """
    s = state.settings
    if upstream == "anthropic":
        base, rest = s.upstream_anthropic, path  # base URL without /v1, like ANTHROPIC_BASE_URL
    else:
        base, rest = s.upstream_openai, (path[3:] if path.startswith("/v1/") else path)
    base_url = httpx.URL(base)
    prefix = base_url.path.rstrip("/")
    refused = ApiError(400, "invalid_path", "the path is not one this proxy forwards")
    if _dot_segment(rest) or "\\" in rest or not rest.startswith("/"):
        raise refused
    try:
        target = base_url.copy_with(path=prefix + rest, query=query.encode("ascii") or None)
    except (httpx.InvalidURL, UnicodeEncodeError) as exc:
        raise refused from exc
    raw_path = target.raw_path.partition(b"?")[0]
    if _dot_segment(target.path) or not raw_path.startswith(prefix.encode() + b"/"):
        raise refused
    return str(target)


def _is_headroom_key(value: str, keys: tuple[str, ...]) -> bool:
    token = value.partition(" ")[2].strip() if " " in value.strip() else value.strip()
    return bool(keys) and (is_configured_key(token, keys) or is_configured_key(value.strip(), keys))


def _request_headers(request: Request, tenant: Tenant, upstream: str) -> dict[str, str]:
    """The client's headers minus hop-by-hop ones and any Headroom key.

    Any configured Headroom key (the caller's or another tenant's) found in
    ``Authorization`` or ``x-api-key`` is dropped: only provider credentials
    reach the provider. When the client sent no provider credential and the
    server was given one for this upstream, that one is added.
    """
    settings = server_state(request).settings
    keys = settings.all_keys
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in _REQUEST_DROP or lower.startswith("x-headroom-"):
            continue
        if lower in ("authorization", "x-api-key") and _is_headroom_key(value, keys):
            continue  # Headroom's own key, not the upstream's
        headers[lower] = value
    # Without this httpx would ask for gzip the client never requested.
    headers.setdefault("accept-encoding", "identity")
    if upstream == "anthropic" and settings.upstream_anthropic_key:
        if "x-api-key" not in headers and "authorization" not in headers:
            headers["x-api-key"] = settings.upstream_anthropic_key
    elif upstream == "openai" and settings.upstream_openai_key and "authorization" not in headers:
        headers["authorization"] = f"Bearer {settings.upstream_openai_key}"
    return headers


async def _compress(
    state: ServerState,
    tenant: Tenant,
    route: ChatRoute,
    body: dict[str, Any],
    stream: bool,
    budget: Budget,
) -> tuple[dict[str, Any], CompressionResult | None]:
    """`body` compressed under the request's budget; the original on any failure."""
    config = await compress_config(state, state.settings.config)
    if stream and (route.api not in STREAM_DIALECTS or state.backend is not None):
        config = config.replace(lossy=False)  # no marker nobody can resolve
    try:
        return await run_budgeted(
            budget,
            compress_body,
            route,
            body,
            config=config,
            store=tenant.store(state.store),
            default_model=state.settings.default_model,
            hooks=SizeCapHooks(state.settings.max_output_bytes),
            counter=budget_counter,
        )
    except ValidationError as exc:
        # Not a conversation Headroom can read: the upstream is the judge of it.
        log_event("compress_skipped", reason=str(exc))
    except OutOfBudget as exc:
        log_event("compress_skipped", level=logging.WARNING, reason=str(exc))
    return body, None


async def chat_proxy(request: Request) -> Response:
    """Compress a chat request, forward it, and relay (or complete) the answer.

    The body goes on byte for byte when nothing was compressed (bypass,
    ``--no-optimize``, nothing to gain, or a body Headroom will not rewrite).
    Around the call (`_account`): the spend cap is checked before anything is
    sent, an identical earlier answer comes from the response cache, and the
    ledger records what the request cost and saved once its answer has gone out.
    """
    started = time.perf_counter()
    RETRIEVALS.set([0])
    state = server_state(request)
    tenant = tenant_of(request)
    route = CHAT_ROUTES[request.url.path]
    settings = state.settings
    raw = await read_body(request, settings.max_body_bytes, settings.body_timeout)
    bypass = request.headers.get(BYPASS_HEADER, "").strip().lower() == "true"
    headers = _request_headers(request, tenant, route.upstream)
    headers["content-type"] = "application/json"
    url = _upstream_url(state, route.upstream, request.url.path, request.url.query)

    async def as_sent(reason: str) -> Response:
        state.obs.record_bypass(tenant.id)
        request.state.log_fields = {"bypass": True, "reason": reason}
        body = _lenient_json(raw)
        if state.backend is not None:
            if body is None:
                raise ApiError(400, "invalid_json", "request body is not a JSON object")
            backend = state.backend
            send: Callable[[], Awaitable[Response]] = lambda: backend.respond(  # noqa: E731
                route.api, body, _headers_for(None)
            )
        else:
            send = lambda: relay(state, "POST", url, headers, raw, _headers_for(None))  # noqa: E731
        return await _account(request, state, tenant, route, body, None, raw, started, send)

    if bypass or not settings.optimize:
        return await as_sent("bypass")
    try:
        body = parse_json_object(raw)
    except ApiError as exc:
        if exc.status != 400 or "surrogate" not in exc.message:
            raise
        # JSON Headroom cannot write back as UTF-8: the upstream judges it as sent.
        return await as_sent("unencodable")
    budget = Budget(settings.compress_timeout, settings.max_output_bytes)
    return await while_connected(
        request,
        _forward(state, tenant, route, url, headers, raw, body, request, budget, started),
        budget,
    )


def _lenient_json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _headers_for(result: CompressionResult | None) -> dict[str, str]:
    saved = result.tokens_saved if result is not None else 0
    return {
        "x-headroom-compressed": "true" if saved > 0 else "false",
        "x-headroom-tokens-saved": str(saved),
    }


async def _forward(
    state: ServerState,
    tenant: Tenant,
    route: ChatRoute,
    url: str,
    headers: dict[str, str],
    raw: bytes,
    body: dict[str, Any],
    request: Request,
    budget: Budget,
    started: float,
) -> Response:
    stream = body.get("stream") is True
    send_body, result = await _compress(state, tenant, route, body, stream, budget)
    if result is not None:
        failed = any(t.startswith("fail_open:") for t in result.transforms_applied)
        state.obs.record_compression(
            "proxy", result.tokens_before, result.tokens_after, failed, tenant.id
        )
        request.state.log_fields = {
            "model": body.get("model"),
            "tokens_before": result.tokens_before,
            "tokens_after": result.tokens_after,
            "stream": stream,
        }
    else:
        state.obs.record_bypass(tenant.id)
        request.state.log_fields = {"bypass": True, "stream": stream}
    extra = _headers_for(result)
    content = raw if send_body is body else dumps(send_body)

    async def send() -> Response:
        if state.backend is not None:
            return await _forward_to_backend(state, route, tenant, send_body, result, stream, extra)
        if result is not None and result.ccr_hashes and state.settings.retrieve_rounds > 0:
            without_tool = send_body if "tools" not in send_body else None
            headers["accept-encoding"] = "gzip, deflate"  # decoded here, re-sent as identity
            forward = retrieve_stream if stream else retrieve_loop
            return await forward(state, route, url, headers, send_body, tenant, extra, without_tool)
        return await relay(state, "POST", url, headers, content, extra)

    return await _account(request, state, tenant, route, send_body, result, content, started, send)


async def _account(
    request: Request,
    state: ServerState,
    tenant: Tenant,
    route: ChatRoute,
    sent: dict[str, Any] | None,
    result: CompressionResult | None,
    content: bytes,
    started: float,
    send: Callable[[], Awaitable[Response]],
) -> Response:
    """Spend cap, response cache and ledger around one upstream exchange."""
    sent = sent or {}
    model = sent.get("model") if isinstance(sent.get("model"), str) else None
    if result is not None:
        tokens_before, tokens_after = result.tokens_before, result.tokens_after
    else:  # sent as it came: counted for the spend cap and cost all the same
        count = await run_in_threadpool(
            _estimate_tokens, sent, route, model or state.settings.default_model
        )
        tokens_before = tokens_after = count
    try:
        state.ledger.check_budget(tenant.log_id, model, tokens_after)
    except BudgetExceeded as exc:
        log_event("budget_refused", tenant=tenant.log_id, model=model)
        return _budget_refusal(route, str(exc))
    retrievals = RETRIEVALS.get() or [0]
    cache = state.response_cache
    cache_key = cache.key(tenant.id, request.url.path, content) if cache is not None else None
    media_type = "text/event-stream" if sent.get("stream") is True else "application/json"

    def finished(status: int, answer: bytes | None, output: int, cached: bool = False) -> None:
        if cache is not None and cache_key and not cached and status == 200 and answer:
            cache.put(cache_key, tenant.id, answer, media_type)
        record = RequestRecord(
            time=time.time(),
            tenant=tenant.log_id,
            route=request.url.path,
            model=model,
            status=status,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            output_tokens=output,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            retrievals=retrievals[0],
            cached=cached,
            bypassed=result is None,
        )
        state.ledger.record(record, sent.get(route.field))

    if cache is not None and cache_key:
        hit = cache.get(cache_key)
        if hit is not None:
            state.obs.record_cached(tenant.id)
            finished(200, hit.body, 0, cached=True)
            return Response(
                hit.body,
                media_type=hit.media_type,
                headers={**_headers_for(result), "x-headroom-cache": "hit"},
            )
    return metered(await send(), finished)


def _budget_refusal(route: ChatRoute, message: str) -> Response:
    """A 429 in the client's own API shape, so its SDK raises its usual rate-limit error."""
    if route.api == "anthropic_messages":
        return client_error(429, "rate_limit_error", message, anthropic=True)
    return client_error(
        429, "insufficient_quota", message, anthropic=False, code="headroom_budget_exceeded"
    )


def _estimate_tokens(body: dict[str, Any], route: ChatRoute, model: str) -> int:
    """Input tokens of a request sent as it came (bypassed): for cost and the spend cap."""
    from headroom.core.tokens import count_message_tokens, counter_for_model

    messages = body.get(route.field)
    if not isinstance(messages, list):
        return 0
    count = counter_for_model(model)
    return sum(count_message_tokens(m, count) for m in messages if isinstance(m, dict))


async def _forward_to_backend(
    state: ServerState,
    route: ChatRoute,
    tenant: Tenant,
    send_body: dict[str, Any],
    result: CompressionResult | None,
    stream: bool,
    extra: dict[str, str],
) -> Response:
    """The request through LiteLLM, answering ``headroom_retrieve`` between calls."""
    backend = state.backend
    assert backend is not None
    if route.api not in ("openai_chat", "anthropic_messages"):
        raise ApiError(501, "not_supported", f"the {route.api} API is not available with --backend")
    rounds = state.settings.retrieve_rounds
    if stream or result is None or not result.ccr_hashes or rounds == 0:
        return await backend.respond(route.api, send_body, extra)
    failed: list[dict[str, Any]] = []

    async def call(request: dict[str, Any]) -> Any:
        try:
            data = await backend.call(route.api, request)
        except Exception:  # rendered below for the client by the same call again
            failed.append(request)
            return None
        return data if isinstance(data, dict) else dict(data)

    final, _ = await arun_with_retrieval(
        send_body,
        call,
        adapter=PROXY_ADAPTERS[route.api],
        max_rounds=rounds,
        answer=answerer(state, tenant, stream=False),
    )
    if failed:
        return await backend.respond(route.api, failed[-1], extra)
    return JSONResponse(final, headers=extra)


async def passthrough(request: Request) -> Response:
    """Any other ``/v1/...`` call (models, token counting, ...) is forwarded unchanged."""
    state = server_state(request)
    tenant = tenant_of(request)
    path = request.url.path
    if path in _OWN_PATHS or path.startswith("/v1/retrieve/"):
        raise ApiError(405, "method_not_allowed", f"{request.method} is not allowed on {path}")
    if state.backend is not None:
        raise ApiError(501, "not_supported", f"{path} is not available with --backend")
    upstream = "anthropic" if path.startswith("/v1/messages") else "openai"
    url = _upstream_url(state, upstream, path, request.url.query)
    content = await read_body(request, state.settings.max_body_bytes, state.settings.body_timeout)
    headers = _request_headers(request, tenant, upstream)
    return await relay(state, request.method, url, headers, content, {})


def proxy_routes() -> list[Route]:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        *(Route(path, chat_proxy, methods=["POST"]) for path in CHAT_ROUTES),
        Route("/v1/{rest:path}", passthrough, methods=methods),
    ]
