"""The one "call the model, answer ``headroom_retrieve``, call again" loop.

Every integration that offers the retrieve tool runs this loop: the LangChain
wrapper, the server, LiteLLM. It is written once over an adapter (the wire
format: where tools, calls and usage sit; see `headroom.core.retrieval`) and a
model-call function, so every integration gets the same rules:

* The tool is offered only when the caller asks for it (`offer`, i.e. Headroom
  left a marker) and the request does not define a ``headroom_retrieve`` of its
  own; only then are calls to it recognised and answered. A user's own tool of
  that name is never touched.
* Each round's retrieve calls are answered from the store; a store that fails
  answers with an error text and the loop goes on.
* After `max_rounds` answered rounds the tool is withdrawn and the model is
  called once more, so the caller always gets an answer, never a call to a
  tool it does not know (a retrieve call the model makes anyway is dropped).
* Live relays (`relay_with_retrieval`) hide a retrieve call they cannot
  answer (no rounds left, or another tool call already reached the caller)
  when the tool is Headroom's in that request; they leave every call alone
  on a request where Headroom offered no tool.
* Usage is summed over every round into the final response.
* Streams: a round in which the tool is offered is buffered until it is known
  whether it calls the tool (a retrieve call shows up, or the round ends); a
  retrieve round is never shown, so the stream merges to exactly what the
  non-streaming call returns. Every round of a request without markers
  streams live.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Protocol

from headroom.core.ccr import handle_retrieve_call
from headroom.core.options import DEFAULT_MAX_RETRIEVE_ROUNDS
from headroom.core.retrieval import RETRIEVE_ADAPTERS
from headroom.core.retrieve_adapter import RetrieveAdapter, RetrieveCall, RoundsSummary, add_usage
from headroom.core.store import CCRStore

__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "Answer",
    "LiveRelay",
    "answer_calls",
    "arelay_with_retrieval",
    "arun_with_retrieval",
    "astream_with_retrieval",
    "relay_with_retrieval",
    "run_with_retrieval",
    "stream_with_retrieval",
]

#: Retrieval round trips per call before the tool is withdrawn (the shared default).
DEFAULT_MAX_ROUNDS = DEFAULT_MAX_RETRIEVE_ROUNDS


#: Answers one retrieve call with a text (an integration's own, e.g. one that also counts).
Answer = Callable[[RetrieveCall], str]


def answer_calls(
    calls: Iterable[RetrieveCall], store: CCRStore | None = None, answer: Answer | None = None
) -> list[tuple[RetrieveCall, str]]:
    """Each call with the text that answers it (the original, a part, or an error text).

    `answer`, when given, replaces the store lookup (`store` is then unused).
    """
    if answer is not None:
        return [(call, answer(call)) for call in calls]
    return [(call, handle_retrieve_call(call.arguments, store=store)) for call in calls]


def _adapter(adapter: RetrieveAdapter | str) -> RetrieveAdapter:
    return RETRIEVE_ADAPTERS[adapter] if isinstance(adapter, str) else adapter


class _Loop:
    """The state of one loop: what to send next and what the earlier rounds cost."""

    def __init__(
        self,
        body: Any,
        adapter: RetrieveAdapter,
        store: CCRStore | None,
        max_rounds: int,
        offer: bool,
    ) -> None:
        self.adapter, self.store, self.max_rounds = adapter, store, max_rounds
        self.offered = offer and max_rounds > 0 and adapter.can_offer(body)
        self.ours = self.offered  # the tool is Headroom's in this request (stays so once withdrawn)
        self.request = adapter.add_tool(body) if self.offered else body
        self.rounds = 0
        self.usage: dict[str, Any] | None = None
        self.withdrawn = False

    def calls(self, response: Any) -> list[RetrieveCall]:
        return self.adapter.calls(response) if self.offered else []

    def advance(self, response: Any, answers: list[tuple[RetrieveCall, str]]) -> None:
        """Next request: the calls and their answers appended; the tool gone at the limit."""
        self.usage = add_usage(self.usage, self.adapter.usage(response))
        self.request = self.adapter.follow_up(self.request, response, answers)
        self.rounds += 1
        if self.rounds >= self.max_rounds:
            self.request = self.adapter.withdraw_tool(self.request)
            self.offered, self.withdrawn = False, True

    def final(self, response: Any) -> Any:
        """The last response, without retrieve calls a model made after the tool was withdrawn."""
        stray = self.adapter.calls(response) if self.withdrawn else []
        response = self.adapter.drop_calls(response, stray) if stray else response
        return self.adapter.finish(response, self.summary)

    def final_events(self, events: list[Any]) -> list[Any]:
        """`final` for a stream's buffered events."""
        stray = self.adapter.calls(self.adapter.merge_stream(events))
        return self.adapter.drop_stream_calls(events, stray) if stray else events

    @property
    def summary(self) -> RoundsSummary:
        return RoundsSummary(self.rounds, self.usage)


def run_with_retrieval(
    body: Any,
    call: Callable[[Any], Any],
    *,
    adapter: RetrieveAdapter | str = "openai_chat",
    store: CCRStore | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offer: bool = True,
    answer: Answer | None = None,
) -> tuple[Any, RoundsSummary]:
    """Call the model, answering its ``headroom_retrieve`` calls, until it answers.

    Args:
        body: The request (wire format of `adapter`), already compressed.
        call: Sends one request, returns the response.
        adapter: A `RetrieveAdapter` or the name of a built-in one
            (``"openai_chat"``, ``"anthropic_messages"``, ``"openai_responses"``).
        store: Where originals are looked up; the process default if None.
        max_rounds: Answered retrieval rounds before the tool is withdrawn.
        offer: Offer the tool (the request carries a marker Headroom wrote).
        answer: Answers one call instead of the store lookup (runs off the
            event loop in the async drivers); it must not raise.

    Returns:
        The final response (usage summed over all rounds, via `adapter.finish`)
        and a summary of the retrieval rounds.
    """
    loop = _Loop(body, _adapter(adapter), store, max_rounds, offer)
    while True:
        response = call(loop.request)
        calls = loop.calls(response)
        if not calls:
            return loop.final(response), loop.summary
        loop.advance(response, answer_calls(calls, store, answer))


async def arun_with_retrieval(
    body: Any,
    call: Callable[[Any], Awaitable[Any]],
    *,
    adapter: RetrieveAdapter | str = "openai_chat",
    store: CCRStore | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offer: bool = True,
    answer: Answer | None = None,
) -> tuple[Any, RoundsSummary]:
    """`run_with_retrieval` for an async model call; store lookups run off the event loop."""
    loop = _Loop(body, _adapter(adapter), store, max_rounds, offer)
    while True:
        response = await call(loop.request)
        calls = loop.calls(response)
        if not calls:
            return loop.final(response), loop.summary
        loop.advance(response, await asyncio.to_thread(answer_calls, calls, store, answer))


def stream_with_retrieval(
    body: Any,
    stream: Callable[[Any], Iterable[Any]],
    *,
    adapter: RetrieveAdapter | str = "openai_chat",
    store: CCRStore | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offer: bool = True,
    answer: Answer | None = None,
) -> Iterator[Any]:
    """The events of the model's final answer, retrieval rounds answered on the way.

    `stream(request)` yields one round's events; `adapter.merge_stream` turns a
    round's events into a response to look for calls in, and
    `adapter.stream_finisher` adds the earlier rounds' usage to the final round.
    """
    loop = _Loop(body, _adapter(adapter), store, max_rounds, offer)
    while loop.offered:
        events = list(stream(loop.request))  # the round may be one the caller never sees
        response = loop.adapter.merge_stream(events)
        calls = loop.calls(response)
        if not calls:
            yield from map(loop.adapter.stream_finisher(loop.summary), events)
            return
        loop.advance(response, answer_calls(calls, store, answer))
    last: Iterable[Any] = stream(loop.request)
    if loop.withdrawn:  # after retrieval rounds: held back to drop any stray retrieve call
        last = loop.final_events(list(last))
    yield from map(loop.adapter.stream_finisher(loop.summary), last)


async def astream_with_retrieval(
    body: Any,
    stream: Callable[[Any], AsyncIterator[Any]],
    *,
    adapter: RetrieveAdapter | str = "openai_chat",
    store: CCRStore | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offer: bool = True,
    answer: Answer | None = None,
) -> AsyncIterator[Any]:
    """`stream_with_retrieval` for an async event stream."""
    loop = _Loop(body, _adapter(adapter), store, max_rounds, offer)
    while loop.offered:
        events = [event async for event in stream(loop.request)]
        response = loop.adapter.merge_stream(events)
        calls = loop.calls(response)
        if not calls:
            finish = loop.adapter.stream_finisher(loop.summary)
            for event in events:
                yield finish(event)
            return
        loop.advance(response, await asyncio.to_thread(answer_calls, calls, store, answer))
    finish = loop.adapter.stream_finisher(loop.summary)
    if loop.withdrawn:  # after retrieval rounds: held back to drop any stray retrieve call
        for event in loop.final_events([e async for e in stream(loop.request)]):
            yield finish(event)
        return
    async for event in stream(loop.request):
        yield finish(event)


class LiveRelay(Protocol):
    """Decides, item by item, what the caller sees of a stream relayed live.

    The relay passes items on as they arrive and holds back from the start of
    a ``headroom_retrieve`` call it may intercept; later rounds continue the
    same stream (it renumbers and hides what a spliced stream must not repeat).
    """

    def start_round(self, intercept: bool, hide: bool) -> None:
        """A new model response begins.

        `intercept`: a retrieve call may be held back and answered. `hide`: the
        tool is Headroom's here, so a retrieve call that is not intercepted is
        removed from what the caller sees (False: the caller's own tool).
        """

    def feed(self, item: Any) -> list[Any]:
        """What the caller sees of one received item."""

    def finish(self) -> Any:
        """The held response as JSON the adapter reads (calls, follow-up), or None."""


def relay_with_retrieval(
    body: Any,
    stream: Callable[[Any], Iterable[Any]],
    relay: LiveRelay,
    *,
    adapter: RetrieveAdapter | str = "openai_chat",
    store: CCRStore | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offer: bool = True,
    answer: Answer | None = None,
) -> Iterator[Any]:
    """A stream relayed live, retrieve calls answered inside it (the proxy's and client's way).

    Unlike `stream_with_retrieval`, nothing waits for a round to end: the
    caller sees the model's text as it comes, and what it wrote before a
    retrieve call stays in the stream, followed by the answer written after
    the call. Rounds, the tool's withdrawal at the limit and answers follow
    the same rules as the other drivers.
    """
    loop = _Loop(body, _adapter(adapter), store, max_rounds, offer)
    while True:
        relay.start_round(loop.offered, loop.ours)
        for item in stream(loop.request):
            yield from relay.feed(item)
        held = relay.finish()
        calls = loop.calls(held) if held is not None else []
        if not calls:
            return
        loop.advance(held, answer_calls(calls, store, answer))


async def arelay_with_retrieval(
    body: Any,
    stream: Callable[[Any], AsyncIterator[Any]],
    relay: LiveRelay,
    *,
    adapter: RetrieveAdapter | str = "openai_chat",
    store: CCRStore | None = None,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offer: bool = True,
    answer: Answer | None = None,
) -> AsyncIterator[Any]:
    """`relay_with_retrieval` for an async stream; answers run off the event loop."""
    loop = _Loop(body, _adapter(adapter), store, max_rounds, offer)
    while True:
        relay.start_round(loop.offered, loop.ours)
        async for item in stream(loop.request):
            for out in relay.feed(item):
                yield out
        held = relay.finish()
        calls = loop.calls(held) if held is not None else []
        if not calls:
            return
        loop.advance(held, await asyncio.to_thread(answer_calls, calls, store, answer))
