"""Talking to the upstream: relaying its response, and answering retrieve calls in between.

`relay` streams the upstream's answer back as it arrives and breaks the
client's response off if the upstream's breaks. `retrieve_loop` (JSON) and
`retrieve_stream` (SSE) answer the model's ``headroom_retrieve`` calls
themselves: up to ``retrieve_rounds`` rounds, the last one asked without tool
calls, usage summed over every round, store failures answered as error text.
Both loops are the core's (`headroom.core.retrieve_loop`); the SSE one relays
live and splices the follow-up into the same stream (`headroom.server.streaming`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.responses import Response, StreamingResponse

from headroom.core.ccr import handle_retrieve_call
from headroom.core.retrieval import RETRIEVE_ADAPTERS
from headroom.core.retrieve_adapter import RetrieveAdapter, RetrieveCall
from headroom.core.retrieve_loop import Answer, arun_with_retrieval
from headroom.server.auth import Tenant
from headroom.server.http import ApiError
from headroom.server.metering import note_retrieval
from headroom.server.observability import log_event
from headroom.server.payloads import ChatRoute, dumps
from headroom.server.state import ServerState
from headroom.server.streaming import STREAM_DIALECTS, relay_stream

__all__ = [
    "PROXY_ADAPTERS",
    "UpstreamBroke",
    "answerer",
    "relay",
    "response_headers",
    "retrieve_loop",
    "retrieve_stream",
    "upstream_error",
]

_RESPONSE_DROP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def response_headers(response: httpx.Response, *, decoded: bool) -> dict[str, str]:
    drop = _RESPONSE_DROP | {"content-encoding"} if decoded else _RESPONSE_DROP
    return {k: v for k, v in response.headers.items() if k.lower() not in drop}


def upstream_error(exc: httpx.HTTPError, url: str) -> ApiError:
    if isinstance(exc, httpx.TimeoutException):
        return ApiError(
            504, "upstream_timeout", f"upstream {url} did not answer in time: {type(exc).__name__}"
        )
    return ApiError(
        502, "upstream_unreachable", f"upstream {url} failed: {type(exc).__name__}: {exc}"
    )


async def relay(
    state: ServerState,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes,
    extra: dict[str, str],
) -> Response:
    """Send the request and stream the upstream's response back as it arrives.

    If the upstream fails mid-response (drops the connection, stalls past the
    timeout, sends less than it announced), the client's response is broken
    off too, never ended cleanly: a half body must not look complete.
    """
    client = state.upstream_client()
    upstream_request = client.build_request(method, url, headers=headers, content=content)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        raise upstream_error(exc, url) from exc

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            log_event(
                "upstream_stream_error",
                level=logging.WARNING,
                url=url,
                error=f"{type(exc).__name__}: {exc}",
            )
            raise UpstreamBroke(f"upstream response broke off: {type(exc).__name__}") from exc
        finally:
            await upstream.aclose()

    return StreamingResponse(
        chunks(),
        status_code=upstream.status_code,
        headers={**response_headers(upstream, decoded=False), **extra},
    )


class UpstreamBroke(Exception):
    """The upstream's response ended early; raised to break the client's response off."""


# How each API says "answer now, call no tool".
_NO_TOOLS: dict[str, Any] = {
    "openai_chat": "none",
    "openai_responses": "none",
    "anthropic_messages": {"type": "none"},
}


def _withdraw_by_tool_choice(api: str) -> RetrieveAdapter:
    """The core adapter of `api`, whose last call keeps every tool and forbids calling them.

    The proxy keeps the history's tools defined (some upstreams reject tool
    calls in a history whose tools vanished) and asks for a plain answer.
    """
    base = RETRIEVE_ADAPTERS[api]
    choice = _NO_TOOLS[api]

    def withdraw_tool(self: RetrieveAdapter, body: Any) -> Any:
        return {**body, "tool_choice": choice}

    cls = type(f"Proxy{type(base).__name__}", (type(base),), {"withdraw_tool": withdraw_tool})
    adapter: RetrieveAdapter = cls()
    return adapter


#: The retrieve adapters the proxy drives the core loop with.
PROXY_ADAPTERS: dict[str, RetrieveAdapter] = {
    api: _withdraw_by_tool_choice(api) for api in _NO_TOOLS
}


def answerer(state: ServerState, tenant: Tenant, stream: bool) -> Answer:
    """Answers one retrieve call from the tenant's store, counting it (runs in a worker thread).

    The store is the tenant's guarded one: a failing or slow store becomes an
    error text for the model (`handle_retrieve_call` never raises).
    """
    store = tenant.store(state.store)

    def answer(call: RetrieveCall) -> str:
        text = handle_retrieve_call(call.arguments, store=store)
        found = not text.startswith("headroom_retrieve error")
        state.obs.record_retrieval(found, via_proxy=True, tenant=tenant.id)
        note_retrieval()
        log_event("retrieve_answered", tenant=tenant.log_id, found=found, stream=stream)
        return text

    return answer


class _Unreadable:
    """An upstream answer that is not a JSON response to look into: the loop ends on it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


async def retrieve_loop(
    state: ServerState,
    route: ChatRoute,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    tenant: Tenant,
    extra: dict[str, str],
    without_tool: dict[str, Any] | None,
) -> Response:
    """Call the upstream through the core retrieve loop (`arun_with_retrieval`).

    `body` is the compressed request without the tool (the loop offers it);
    `without_tool` is sent instead if the upstream refuses `tools` with a 400.
    The last allowed round is asked without tool calls, so the client always
    gets an answer; the usage it sees is the sum over every round. An error
    status or a body that is not JSON ends the loop and goes back as it came.
    """
    client = state.upstream_client()
    sent: list[httpx.Response] = []

    async def call(request: dict[str, Any]) -> Any:
        try:
            upstream = await client.post(url, headers=headers, content=dumps(request))
            if upstream.status_code == 400 and not sent and without_tool is not None:
                # Some OpenAI-compatible servers reject any `tools`: send it as the client did.
                log_event("retrieve_tool_refused", url=url)
                upstream = await client.post(url, headers=headers, content=dumps(without_tool))
                sent.append(upstream)
                return _Unreadable(upstream)
        except httpx.HTTPError as exc:
            raise upstream_error(exc, url) from exc
        sent.append(upstream)
        if upstream.status_code != 200:
            return _Unreadable(upstream)
        try:
            return upstream.json()
        except ValueError:
            return _Unreadable(upstream)

    final, summary = await arun_with_retrieval(
        body,
        call,
        adapter=PROXY_ADAPTERS[route.api],
        max_rounds=state.settings.retrieve_rounds,
        answer=answerer(state, tenant, stream=False),
    )
    upstream = sent[-1]
    content = dumps(final) if summary.rounds and isinstance(final, dict) else upstream.content
    return Response(
        content,
        status_code=upstream.status_code,
        headers={**response_headers(upstream, decoded=True), **extra},
    )


async def retrieve_stream(
    state: ServerState,
    route: ChatRoute,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    tenant: Tenant,
    extra: dict[str, str],
    without_tool: dict[str, Any] | None,
) -> Response:
    """Stream the response, answering retrieve calls inside the same stream.

    `body` is the compressed request without the tool; a request that defines
    its own ``headroom_retrieve`` is relayed without interception.
    """
    client = state.upstream_client()
    adapter = PROXY_ADAPTERS[route.api]
    rounds = state.settings.retrieve_rounds
    if adapter.can_offer(body):
        body = adapter.add_tool(body)
    else:
        rounds = 0

    async def open_stream(next_body: dict[str, Any]) -> httpx.Response:
        request = client.build_request("POST", url, headers=headers, content=dumps(next_body))
        return await client.send(request, stream=True)

    try:
        first = await open_stream(body)
        if first.status_code == 400 and without_tool is not None:
            await first.aclose()
            log_event("retrieve_tool_refused", url=url)
            first = await open_stream(without_tool)
            body, rounds = without_tool, 0
    except httpx.HTTPError as exc:
        raise upstream_error(exc, url) from exc
    headers_out = {**response_headers(first, decoded=True), **extra}
    if first.status_code != 200:
        content = await first.aread()
        await first.aclose()
        return Response(content, status_code=first.status_code, headers=headers_out)
    chunks = relay_stream(
        STREAM_DIALECTS[route.api],
        first,
        body,
        open_stream,
        answerer(state, tenant, stream=True),
        rounds,
        last_round=adapter.withdraw_tool,
    )
    return StreamingResponse(chunks, status_code=200, headers=headers_out)
