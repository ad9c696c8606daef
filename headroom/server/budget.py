"""Bounding what one request may cost: CPU time, huge outputs, clients that left.

Compression runs in a worker thread under a `Budget`: a deadline and a
cancelled flag. Python cannot stop a thread, so the budget is checked at the
core's most frequent seam, the token counter (called for every message and
every candidate text): once the deadline passes or the client disconnects, the
next count raises, the core fails open, and the original is forwarded. The
event loop does not wait for that either: past the deadline the request goes on
with its original body.

A tool output larger than `max_output_bytes` is protected from compression
(passed through as sent, which loses nothing), and its token count is
estimated from its length instead of tokenized, so one 30 MB log cannot hold a
CPU for seconds and hundreds of MB of working memory.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request

from headroom.core.hooks import CompressContext, CompressionHooks
from headroom.core.messages import message_pieces
from headroom.core.tokens import TokenCounter, counter_for_model

__all__ = [
    "CHARS_PER_TOKEN_ESTIMATE",
    "Budget",
    "ClientGone",
    "OutOfBudget",
    "SizeCapHooks",
    "budget_counter",
    "run_budgeted",
    "while_connected",
]

T = TypeVar("T")

_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "headroom_budget", default=None
)
_counters: dict[str, TokenCounter] = {}
# Characters per token assumed for texts too large to tokenize: ~4 for English
# prose and logs with o200k/cl100k; an estimate only ever used for pass-through text.
CHARS_PER_TOKEN_ESTIMATE = 4
_counters_lock = threading.Lock()


class OutOfBudget(Exception):
    """Raised inside compression when its request ran out of time or lost its client."""


class ClientGone(Exception):
    """The client disconnected before the answer was ready."""


@dataclass
class Budget:
    """A deadline and a cancel switch shared by a request and its worker thread."""

    seconds: float
    estimate_above: int | None = None  # texts longer than this (chars) are estimated
    deadline: float = field(init=False)
    cancelled: bool = False

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def check(self) -> None:
        if self.cancelled or time.monotonic() > self.deadline:
            raise OutOfBudget("request budget exhausted" if not self.cancelled else "client left")


def budget_counter(model: str) -> TokenCounter:
    """The model's token counter, checking the current thread's budget before each count.

    One counter per model for the life of the process, so the core's count memo
    (keyed by counter identity) keeps working across requests.
    """
    with _counters_lock:
        found = _counters.get(model)
        if found is None:
            inner = counter_for_model(model)

            def count(text: str) -> int:
                budget = _current.get()
                if budget is not None:
                    budget.check()
                    if budget.estimate_above is not None and len(text) > budget.estimate_above:
                        return -(-len(text) // CHARS_PER_TOKEN_ESTIMATE)
                return inner(text)

            found = _counters[model] = count
        return found


async def run_budgeted(budget: Budget, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn` in a worker thread under `budget`; raise `OutOfBudget` past its deadline."""

    def call() -> T:
        token = _current.set(budget)
        try:
            return fn(*args, **kwargs)
        finally:
            _current.reset(token)

    remaining = max(0.0, budget.deadline - time.monotonic())
    try:
        return await asyncio.wait_for(asyncio.to_thread(call), remaining)
    except asyncio.TimeoutError as exc:
        budget.cancelled = True  # the thread stops at its next count
        raise OutOfBudget(f"compression took longer than {budget.seconds:g}s") from exc
    except asyncio.CancelledError:
        budget.cancelled = True
        raise


async def while_connected(
    request: Request, work: Coroutine[Any, Any, T], budget: Budget | None = None
) -> T:
    """Await `work`, but cancel it (and its budget) as soon as the client disconnects.

    Only for use after the request body has been read: the next message the
    server can deliver is then the disconnect.
    """
    task: asyncio.Task[T] = asyncio.ensure_future(work)

    async def gone() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(gone())
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        watcher.cancel()
        raise
    if task in done:
        watcher.cancel()
        return task.result()
    if budget is not None:
        budget.cancelled = True
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise ClientGone()


class SizeCapHooks(CompressionHooks):
    """Protects messages holding a text larger than `max_bytes` (they pass through as sent)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def protect_messages(self, messages: list[Any], ctx: CompressContext) -> set[int]:
        return {i for i, m in enumerate(messages) if _largest_piece(m) > self.max_bytes}


def _largest_piece(message: Any) -> int:
    try:
        pieces: Sequence[str] = message_pieces(message)[0]
    except Exception:
        return 0
    return max(
        (len(p) if p.isascii() else len(p.encode("utf-8", "surrogatepass")) for p in pieces),
        default=0,
    )
