"""The client's ``headroom_retrieve`` loop: call the model, answer, call again.

Built on the framework-free adapters of `headroom.core.retrieval` (offer the
tool, find its calls, build the follow-up) and `handle_retrieve_call`. Kept
small on purpose: one non-streaming loop and one streaming driver, each in a
sync and an async flavour, so the client can move onto a shared core driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from headroom.client.streaming import StreamRelay
from headroom.core.ccr import handle_retrieve_call
from headroom.core.retrieval import RetrieveAdapter, RetrieveCall
from headroom.core.store import CCRStore

__all__ = [
    "MAX_RETRIEVE_ROUNDS",
    "RetrieveLoop",
    "relay_async",
    "relay_sync",
]

#: Follow-up requests per call; bounds the cost of a model that keeps asking.
MAX_RETRIEVE_ROUNDS = 3


def _as_json(response: Any) -> Any:
    dump = getattr(response, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else response


class RetrieveLoop:
    """Answers the retrieve calls of one request.

    Args:
        adapter: The wire format's retrieve adapter.
        store: Where the originals are (the process default if None).
        enabled: Whether the tool was offered; if not, responses pass as they are.
        max_rounds: Follow-up requests allowed.
    """

    def __init__(
        self,
        adapter: RetrieveAdapter,
        store: CCRStore | None,
        enabled: bool,
        max_rounds: int = MAX_RETRIEVE_ROUNDS,
    ) -> None:
        self.adapter = adapter
        self.store = store
        self.enabled = enabled
        self.max_rounds = max_rounds
        self.answered = 0

    def _answers(self, calls: list[RetrieveCall]) -> list[tuple[RetrieveCall, str]]:
        self.answered += len(calls)
        return [(call, handle_retrieve_call(call.arguments, store=self.store)) for call in calls]

    def next_body(self, body: dict[str, Any], response: Any) -> dict[str, Any] | None:
        """The follow-up request after `response` (JSON), or None when it made no retrieve call."""
        calls = self.adapter.calls(response)
        if not calls:
            return None
        follow_up: dict[str, Any] = self.adapter.follow_up(body, response, self._answers(calls))
        return follow_up

    def run_sync(self, create: Callable[..., Any], body: dict[str, Any]) -> Any:
        """`create(**body)`, then one follow-up per round of retrieve calls; the last SDK response."""
        response = create(**body)
        for _ in range(self.max_rounds if self.enabled else 0):
            follow = self.next_body(body, _as_json(response))
            if follow is None:
                break
            body = follow
            response = create(**body)
        return response

    async def run_async(self, create: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> Any:
        """The async twin of `run_sync`."""
        response = await create(**body)
        for _ in range(self.max_rounds if self.enabled else 0):
            follow = self.next_body(body, _as_json(response))
            if follow is None:
                break
            body = follow
            response = await create(**body)
        return response


def relay_sync(
    loop: RetrieveLoop,
    relay: StreamRelay,
    create: Callable[..., Any],
    body: dict[str, Any],
    first: Any,
    holder: list[Any],
) -> Iterator[Any]:
    """Yield what the caller sees of `first` (an SDK stream) and of any follow-ups.

    `holder[0]` always names the SDK stream being read, so closing works.
    """
    stream = first
    rounds = 0
    while True:
        relay.start_round(loop.enabled and rounds < loop.max_rounds)
        holder[0] = stream
        for item in stream:
            yield from relay.feed(item)
        held = relay.finish()
        follow = loop.next_body(body, held) if held is not None else None
        if follow is None:
            return
        body, rounds = follow, rounds + 1
        stream = create(**body)


async def relay_async(
    loop: RetrieveLoop,
    relay: StreamRelay,
    create: Callable[..., Awaitable[Any]],
    body: dict[str, Any],
    first: Any,
    holder: list[Any],
) -> AsyncIterator[Any]:
    """The async twin of `relay_sync`."""
    stream = first
    rounds = 0
    while True:
        relay.start_round(loop.enabled and rounds < loop.max_rounds)
        holder[0] = stream
        async for item in stream:
            for out in relay.feed(item):
                yield out
        held = relay.finish()
        follow = loop.next_body(body, held) if held is not None else None
        if follow is None:
            return
        body, rounds = follow, rounds + 1
        stream = await create(**body)
