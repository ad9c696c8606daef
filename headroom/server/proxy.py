"""The LLM proxy: compress, forward to the upstream, stream the answer back.

``/v1/chat/completions`` and ``/v1/responses`` go to the OpenAI-compatible
upstream, ``/v1/messages`` to the Anthropic one; any other ``/v1/...`` path is
passed through untouched. Streaming responses are relayed chunk by chunk as
they arrive. When compression leaves markers, the proxy offers
``headroom_retrieve`` and answers the model's calls itself: between calls for
non-streaming requests, inside the stream for Anthropic Messages and OpenAI
Chat Completions streams (see `headroom.server.streaming`). Responses API
streams are compressed losslessly only, so they never carry a marker nobody
can resolve.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from headroom.core.ccr import handle_retrieve_call
from headroom.core.result import CompressionResult
from headroom.core.retrieval import RETRIEVE_ADAPTERS, RetrieveCall, is_retrieve_name
from headroom.exceptions import ValidationError
from headroom.server.auth import Tenant
from headroom.server.http import ApiError, read_body, read_json_object
from headroom.server.ledger import BudgetExceeded, RequestRecord
from headroom.server.metering import RETRIEVALS, metered, note_retrieval
from headroom.server.observability import log_event
from headroom.server.payloads import CHAT_ROUTES, ChatRoute, compress_body, dumps
from headroom.server.routes import server_state, tenant_of
from headroom.server.state import ServerState
from headroom.server.streaming import STREAM_DIALECTS, relay_stream

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
_RESPONSE_DROP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def _upstream_url(state: ServerState, upstream: str, path: str, query: str) -> str:
    s = state.settings
    if upstream == "anthropic":
        url = s.upstream_anthropic + path  # base URL without /v1, like ANTHROPIC_BASE_URL
    else:
        url = s.upstream_openai + (
            path[3:] if path.startswith("/v1/") else path
        )  # base includes /v1
    return f"{url}?{query}" if query else url


def _request_headers(request: Request, tenant: Tenant, upstream: str) -> dict[str, str]:
    """The client's headers minus hop-by-hop ones and Headroom's own key.

    When the client sent no provider credential (e.g. it only holds a Headroom
    key) and the server was given one for this upstream, that one is added.
    """
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower in _REQUEST_DROP or lower.startswith("x-headroom-"):
            continue
        if (
            lower == "authorization"
            and tenant.key is not None
            and value.partition(" ")[2].strip() == tenant.key
        ):
            continue  # the key was Headroom's own, not the upstream's
        headers[lower] = value
    # Without this httpx would ask for gzip the client never requested.
    headers.setdefault("accept-encoding", "identity")
    settings = server_state(request).settings
    if upstream == "anthropic" and settings.upstream_anthropic_key:
        if "x-api-key" not in headers and "authorization" not in headers:
            headers["x-api-key"] = settings.upstream_anthropic_key
    elif upstream == "openai" and settings.upstream_openai_key and "authorization" not in headers:
        headers["authorization"] = f"Bearer {settings.upstream_openai_key}"
    return headers


def _response_headers(response: httpx.Response, *, decoded: bool) -> dict[str, str]:
    drop = _RESPONSE_DROP | {"content-encoding"} if decoded else _RESPONSE_DROP
    return {k: v for k, v in response.headers.items() if k.lower() not in drop}


def _upstream_error(exc: httpx.HTTPError, url: str) -> ApiError:
    if isinstance(exc, httpx.TimeoutException):
        return ApiError(
            504, "upstream_timeout", f"upstream {url} did not answer in time: {type(exc).__name__}"
        )
    return ApiError(
        502, "upstream_unreachable", f"upstream {url} failed: {type(exc).__name__}: {exc}"
    )


async def _relay(
    state: ServerState,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes,
    extra: dict[str, str],
) -> Response:
    """Send the request and stream the upstream's response back as it arrives."""
    client = state.upstream_client()
    upstream_request = client.build_request(method, url, headers=headers, content=content)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        raise _upstream_error(exc, url) from exc

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            log_event("upstream_stream_error", url=url, error=f"{type(exc).__name__}: {exc}")
        finally:
            await upstream.aclose()

    return StreamingResponse(
        chunks(),
        status_code=upstream.status_code,
        headers={**_response_headers(upstream, decoded=False), **extra},
    )


async def _retrieve_loop(
    state: ServerState,
    route: ChatRoute,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    tenant: Tenant,
    extra: dict[str, str],
    without_tool: dict[str, Any] | None,
) -> Response:
    """Call the upstream, answering ``headroom_retrieve`` calls until the model is done."""
    client = state.upstream_client()
    adapter = RETRIEVE_ADAPTERS[route.api]
    store = tenant.store(state.store)
    rounds = state.settings.retrieve_rounds
    for round_no in range(rounds + 1):
        try:
            upstream = await client.post(url, headers=headers, content=dumps(body))
            if upstream.status_code == 400 and round_no == 0 and without_tool is not None:
                # Some OpenAI-compatible servers reject any `tools`: send it as the client did.
                log_event("retrieve_tool_refused", url=url)
                upstream = await client.post(url, headers=headers, content=dumps(without_tool))
                break
        except httpx.HTTPError as exc:
            raise _upstream_error(exc, url) from exc
        if upstream.status_code != 200 or round_no == rounds:
            break
        try:
            data = upstream.json()
        except ValueError:
            break
        calls = adapter.calls(data)
        if not calls:
            break
        answers = []
        for call in calls:
            text = await run_in_threadpool(handle_retrieve_call, call.arguments, store=store)
            state.obs.record_retrieval(
                not text.startswith("headroom_retrieve error"), via_proxy=True
            )
            note_retrieval()
            answers.append((call, text))
        log_event("retrieve_answered", tenant=tenant.id, calls=len(calls), round=round_no + 1)
        body = adapter.follow_up(body, data, answers)
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        headers={**_response_headers(upstream, decoded=True), **extra},
    )


async def _retrieve_stream(
    state: ServerState,
    route: ChatRoute,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    tenant: Tenant,
    extra: dict[str, str],
    without_tool: dict[str, Any] | None,
) -> Response:
    """Stream the response, answering retrieve calls inside the same stream."""
    client = state.upstream_client()
    store = tenant.store(state.store)

    async def open_stream(next_body: dict[str, Any]) -> httpx.Response:
        request = client.build_request("POST", url, headers=headers, content=dumps(next_body))
        return await client.send(request, stream=True)

    async def answer(call: RetrieveCall) -> str:
        text = await run_in_threadpool(handle_retrieve_call, call.arguments, store=store)
        state.obs.record_retrieval(not text.startswith("headroom_retrieve error"), via_proxy=True)
        note_retrieval()
        log_event("retrieve_answered", tenant=tenant.id, calls=1, stream=True)
        return text

    rounds = state.settings.retrieve_rounds
    try:
        first = await open_stream(body)
        if first.status_code == 400 and without_tool is not None:
            await first.aclose()
            log_event("retrieve_tool_refused", url=url)
            first = await open_stream(without_tool)
            body, rounds = without_tool, 0
    except httpx.HTTPError as exc:
        raise _upstream_error(exc, url) from exc
    response_headers = {**_response_headers(first, decoded=True), **extra}
    if first.status_code != 200:
        content = await first.aread()
        await first.aclose()
        return Response(content, status_code=first.status_code, headers=response_headers)
    dialect = STREAM_DIALECTS[route.api]
    chunks = relay_stream(dialect, first, body, open_stream, answer, rounds)
    return StreamingResponse(chunks, status_code=200, headers=response_headers)


async def chat_proxy(request: Request) -> Response:
    """Compress a chat request, forward it, and relay (or complete) the answer.

    Around the call: the spend cap is checked before anything is sent, an
    identical earlier answer is served from the response cache, and once the
    answer has gone out whole the ledger records what it cost and saved.
    """
    started = time.perf_counter()
    retrievals = [0]
    RETRIEVALS.set(retrievals)
    state = server_state(request)
    tenant = tenant_of(request)
    route = CHAT_ROUTES[request.url.path]
    body = await read_json_object(request, state.settings.max_body_bytes)
    bypass = request.headers.get(BYPASS_HEADER, "").strip().lower() == "true"
    stream = body.get("stream") is True
    result: CompressionResult | None = None
    send_body = body
    if state.settings.optimize and not bypass:
        config = state.settings.config
        if stream and (route.api not in STREAM_DIALECTS or state.backend is not None):
            config = config.replace(lossy=False)  # no marker nobody can resolve
        try:
            send_body, result = await run_in_threadpool(
                compress_body,
                route,
                body,
                config=config,
                store=tenant.store(state.store),
                default_model=state.settings.default_model,
            )
        except ValidationError as exc:
            # Not a conversation Headroom can read: the upstream is the judge of it.
            log_event("compress_skipped", path=request.url.path, reason=str(exc))
    if result is not None:
        failed = any(t.startswith("fail_open:") for t in result.transforms_applied)
        state.obs.record_compression("proxy", result.tokens_before, result.tokens_after, failed)
        request.state.log_fields = {
            "model": body.get("model"),
            "tokens_before": result.tokens_before,
            "tokens_after": result.tokens_after,
            "stream": stream,
        }
    else:
        state.obs.record_bypass()
        request.state.log_fields = {"bypass": True, "stream": stream}
    extra = {
        "x-headroom-compressed": "true"
        if result is not None and result.tokens_saved > 0
        else "false",
        "x-headroom-tokens-saved": str(result.tokens_saved if result is not None else 0),
    }
    model = body.get("model") if isinstance(body.get("model"), str) else None
    tokens_before, tokens_after = (
        (result.tokens_before, result.tokens_after)
        if result is not None
        else (_estimate_tokens(body, route, model or state.settings.default_model),) * 2
    )
    try:
        state.ledger.check_budget(tenant.id, model, tokens_after)
    except BudgetExceeded as exc:
        log_event("budget_refused", tenant=tenant.id, model=model)
        return _budget_refusal(route, str(exc))

    def finished(status: int, sent: bytes | None, output: int, cached: bool = False) -> None:
        if cache_key is not None and not cached and status == 200 and sent is not None:
            state.response_cache.put(cache_key, tenant.id, sent, media_type)  # type: ignore[union-attr]
        record = RequestRecord(
            time=time.time(),
            tenant=tenant.id,
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
        state.ledger.record(record, send_body.get(route.field))

    media_type = "text/event-stream" if stream else "application/json"
    cache_key = None
    if state.response_cache is not None:
        cache_key = state.response_cache.key(tenant.id, request.url.path, dumps(send_body))
        hit = state.response_cache.get(cache_key)
        if hit is not None:
            state.obs.record_cached()
            finished(200, hit.body, 0, cached=True)
            return Response(
                hit.body, media_type=hit.media_type, headers={**extra, "x-headroom-cache": "hit"}
            )
    response = await _forward(request, state, route, tenant, send_body, result, stream, extra)
    return metered(response, finished)


def _budget_refusal(route: ChatRoute, message: str) -> Response:
    """A 429 in the client's own API shape, so its SDK raises its usual rate-limit error."""
    if route.api == "anthropic_messages":
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": message},
        }
    else:
        body = {
            "error": {
                "message": message,
                "type": "insufficient_quota",
                "param": None,
                "code": "headroom_budget_exceeded",
            }
        }
    return JSONResponse(body, status_code=429)


def _estimate_tokens(body: dict[str, Any], route: ChatRoute, model: str) -> int:
    """Input tokens of a request sent as it came (bypassed): for cost and the spend cap."""
    from headroom.core.tokens import count_message_tokens, counter_for_model

    messages = body.get(route.field)
    if not isinstance(messages, list):
        return 0
    count = counter_for_model(model)
    return sum(count_message_tokens(m, count) for m in messages if isinstance(m, dict))


async def _forward(
    request: Request,
    state: ServerState,
    route: ChatRoute,
    tenant: Tenant,
    send_body: dict[str, Any],
    result: CompressionResult | None,
    stream: bool,
    extra: dict[str, str],
) -> Response:
    if state.backend is not None:
        return await _forward_to_backend(state, route, tenant, send_body, result, stream, extra)
    headers = _request_headers(request, tenant, route.upstream)
    headers["content-type"] = "application/json"
    url = _upstream_url(state, route.upstream, request.url.path, request.url.query)
    if result is not None and result.ccr_hashes and state.settings.retrieve_rounds > 0:
        adapter = RETRIEVE_ADAPTERS[route.api]
        without_tool = send_body if "tools" not in send_body else None
        with_tool = adapter.add_tool(send_body)
        headers["accept-encoding"] = "gzip, deflate"  # decoded here, re-sent as identity
        if stream:
            return await _retrieve_stream(
                state, route, url, headers, with_tool, tenant, extra, without_tool
            )
        return await _retrieve_loop(
            state, route, url, headers, with_tool, tenant, extra, without_tool
        )
    return await _relay(state, "POST", url, headers, dumps(send_body), extra)


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
    adapter = RETRIEVE_ADAPTERS[route.api]
    store = tenant.store(state.store)
    body = adapter.add_tool(send_body)
    for _ in range(rounds):
        try:
            data = await backend.call(route.api, body)
        except Exception:  # the same call again renders the provider's error for the client
            return await backend.respond(route.api, body, extra)
        data = data if isinstance(data, dict) else dict(data)
        calls = adapter.calls(data)
        if not calls:
            return JSONResponse(data, headers=extra)
        answers = []
        for call in calls:
            text = await run_in_threadpool(handle_retrieve_call, call.arguments, store=store)
            state.obs.record_retrieval(
                not text.startswith("headroom_retrieve error"), via_proxy=True
            )
            note_retrieval()
            answers.append((call, text))
        body = adapter.follow_up(body, data, answers)
    # Out of rounds: one last call without the tool, so the client gets an answer.
    tools = [t for t in body.get("tools", []) if not _is_retrieve_tool(t)]
    final = {**body, "tools": tools} if tools else {k: v for k, v in body.items() if k != "tools"}
    return await backend.respond(route.api, final, extra)


def _is_retrieve_tool(tool: Any) -> bool:
    if not isinstance(tool, dict):
        return False
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else tool.get("name")
    return is_retrieve_name(name)


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
    content = await read_body(request, state.settings.max_body_bytes)
    url = _upstream_url(state, upstream, path, request.url.query)
    headers = _request_headers(request, tenant, upstream)
    return await _relay(state, request.method, url, headers, content, {})


def proxy_routes() -> list[Route]:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        *(Route(path, chat_proxy, methods=["POST"]) for path in CHAT_ROUTES),
        Route("/v1/{rest:path}", passthrough, methods=methods),
    ]
