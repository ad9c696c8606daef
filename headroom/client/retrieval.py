"""The client's ``headroom_retrieve`` loop: call the model, answer, call again.

The rounds run in the core drivers (`headroom.core.retrieve_loop`) over the
SDK's objects: `run_with_retrieval` for plain calls, `relay_with_retrieval`
for streams (shown live, the follow-up spliced into the same stream by the
SDK-object relays of `headroom.client.streaming`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from headroom.client.streaming import StreamRelay
from headroom.core.ccr import handle_retrieve_call
from headroom.core.retrieval import ObjectAdapter
from headroom.core.retrieve_adapter import RetrieveAdapter, RetrieveCall
from headroom.core.retrieve_loop import (
    arelay_with_retrieval,
    arun_with_retrieval,
    relay_with_retrieval,
    run_with_retrieval,
)
from headroom.core.store import CCRStore

__all__ = [
    "MAX_RETRIEVE_ROUNDS",
    "RetrieveLoop",
    "relay_async",
    "relay_sync",
]

#: Follow-up requests per call; bounds the cost of a model that keeps asking.
MAX_RETRIEVE_ROUNDS = 3


class _SdkAdapter(ObjectAdapter):
    """The wire format's adapter over SDK objects; the pipeline has already
    decided to offer the tool and added it, so the request is offered as it is."""

    def can_offer(self, body: Any) -> bool:
        return True


class RetrieveLoop:
    """Answers the retrieve calls of one request.

    Args:
        adapter: The wire format's retrieve adapter.
        store: Where the originals are (the process default if None).
        enabled: Whether the tool was offered; if not, responses pass as they are.
        max_rounds: Follow-up requests allowed.
        drop: Removes retrieve calls from an SDK response (made after the
            tool was withdrawn), so the caller never sees them.
    """

    def __init__(
        self,
        adapter: RetrieveAdapter,
        store: CCRStore | None,
        enabled: bool,
        max_rounds: int = MAX_RETRIEVE_ROUNDS,
        drop: Callable[[Any], Any] | None = None,
    ) -> None:
        self.adapter = adapter
        self.drop = drop
        self.store = store
        self.enabled = enabled
        self.max_rounds = max_rounds
        self.answered = 0

    def answer(self, call: RetrieveCall) -> str:
        """The text for one retrieve call, from the store (counted)."""
        self.answered += 1
        return handle_retrieve_call(call.arguments, store=self.store)

    def run_sync(self, create: Callable[..., Any], body: dict[str, Any]) -> Any:
        """`create(**body)` through the core loop (`run_with_retrieval`); the last SDK response.

        After `max_rounds` answered rounds the tool is withdrawn for one last call.
        """
        response, _ = run_with_retrieval(
            body,
            lambda request: create(**request),
            adapter=_SdkAdapter(self.adapter, self.drop),
            max_rounds=self.max_rounds,
            offer=self.enabled,
            answer=self.answer,
        )
        return response

    async def run_async(self, create: Callable[..., Awaitable[Any]], body: dict[str, Any]) -> Any:
        """The async twin of `run_sync` (`arun_with_retrieval`)."""

        async def call(request: dict[str, Any]) -> Any:
            return await create(**request)

        response, _ = await arun_with_retrieval(
            body,
            call,
            adapter=_SdkAdapter(self.adapter, self.drop),
            max_rounds=self.max_rounds,
            offer=self.enabled,
            answer=self.answer,
        )
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

    The core's live driver (`relay_with_retrieval`) runs the rounds;
    `holder[0]` always names the SDK stream being read, so closing works.
    """
    pending = [first]

    def open_round(request: dict[str, Any]) -> Any:
        holder[0] = pending.pop() if pending else create(**request)
        return holder[0]

    yield from relay_with_retrieval(
        body,
        open_round,
        relay,
        adapter=_SdkAdapter(loop.adapter, loop.drop),
        max_rounds=loop.max_rounds,
        offer=loop.enabled,
        answer=loop.answer,
    )


async def relay_async(
    loop: RetrieveLoop,
    relay: StreamRelay,
    create: Callable[..., Awaitable[Any]],
    body: dict[str, Any],
    first: Any,
    holder: list[Any],
) -> AsyncIterator[Any]:
    """The async twin of `relay_sync` (`arelay_with_retrieval`)."""
    pending = [first]

    async def open_round(request: dict[str, Any]) -> AsyncIterator[Any]:
        holder[0] = pending.pop() if pending else await create(**request)
        async for item in holder[0]:
            yield item

    async for item in arelay_with_retrieval(
        body,
        open_round,
        relay,
        adapter=_SdkAdapter(loop.adapter, loop.drop),
        max_rounds=loop.max_rounds,
        offer=loop.enabled,
        answer=loop.answer,
    ):
        yield item
