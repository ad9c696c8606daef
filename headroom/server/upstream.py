"""Talking to the upstream: relaying its response, and answering retrieve calls in between.

`relay` streams the upstream's answer back as it arrives and breaks the
client's response off if the upstream's breaks. `retrieve_loop` (JSON) and
`retrieve_stream` (SSE) answer the model's ``headroom_retrieve`` calls
themselves: up to ``retrieve_rounds`` rounds, the last one asked without tool
calls, usage summed over every round, store failures answered as error text
(see `headroom.server.rounds`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from headroom.core.retrieval import RETRIEVE_ADAPTERS, RetrieveCall
from headroom.server.auth import Tenant
from headroom.server.http import ApiError
from headroom.server.metering import note_retrieval
from headroom.server.observability import log_event
from headroom.server.payloads import ChatRoute, dumps
from headroom.server.rounds import add_usage, answer_call, without_tool_calls
from headroom.server.state import ServerState
from headroom.server.streaming import STREAM_DIALECTS, relay_stream

__all__ = [
    "UpstreamBroke",
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


def _answerer(
    state: ServerState, tenant: Tenant, stream: bool
) -> Callable[[RetrieveCall], Awaitable[str]]:
    store = tenant.store(state.store)

    async def answer(call: RetrieveCall) -> str:
        text, found = await run_in_threadpool(answer_call, call.arguments, store)
        state.obs.record_retrieval(found, via_proxy=True, tenant=tenant.id)
        note_retrieval()
        log_event("retrieve_answered", tenant=tenant.log_id, found=found, stream=stream)
        return text

    return answer


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
    """Call the upstream, answering ``headroom_retrieve`` calls until the model is done.

    The last allowed round is asked without tool calls, so the client always
    gets an answer; the usage it sees is the sum over every round.
    """
    client = state.upstream_client()
    adapter = RETRIEVE_ADAPTERS[route.api]
    answer = _answerer(state, tenant, stream=False)
    rounds = state.settings.retrieve_rounds
    usage: dict[str, Any] = {}
    data: Any = None
    for round_no in range(rounds + 1):
        try:
            upstream = await client.post(url, headers=headers, content=dumps(body))
            if upstream.status_code == 400 and round_no == 0 and without_tool is not None:
                # Some OpenAI-compatible servers reject any `tools`: send it as the client did.
                log_event("retrieve_tool_refused", url=url)
                upstream = await client.post(url, headers=headers, content=dumps(without_tool))
                break
        except httpx.HTTPError as exc:
            raise upstream_error(exc, url) from exc
        if upstream.status_code != 200:
            break
        try:
            data = upstream.json()
        except ValueError:
            data = None
            break
        if isinstance(data, dict):
            usage = add_usage(usage, data.get("usage"))
        calls = adapter.calls(data) if round_no < rounds else []
        if not calls:
            break
        answers = [(call, await answer(call)) for call in calls]
        body = adapter.follow_up(body, data, answers)
        if round_no + 1 == rounds:
            body = without_tool_calls(route.api, body)
    content = upstream.content
    if round_no > 0 and isinstance(data, dict) and usage and upstream.status_code == 200:
        content = dumps({**data, "usage": usage})
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
    """Stream the response, answering retrieve calls inside the same stream."""
    client = state.upstream_client()

    async def open_stream(next_body: dict[str, Any]) -> httpx.Response:
        request = client.build_request("POST", url, headers=headers, content=dumps(next_body))
        return await client.send(request, stream=True)

    rounds = state.settings.retrieve_rounds
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
    dialect = STREAM_DIALECTS[route.api]

    def last_round(next_body: dict[str, Any]) -> dict[str, Any]:
        return without_tool_calls(route.api, next_body)

    chunks = relay_stream(
        dialect,
        first,
        body,
        open_stream,
        _answerer(state, tenant, stream=True),
        rounds,
        last_round=last_round,
    )
    return StreamingResponse(chunks, status_code=200, headers=headers_out)
