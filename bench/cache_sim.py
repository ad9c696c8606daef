"""Multi-turn prompt-cache cost simulation.

An agent framework re-sends the whole history every time it calls the model:
after each user message, and after each batch of tool results (the model is
called once all parallel tool calls of one assistant turn are answered). Each
such prefix is compressed independently, then priced against the request before
it: the longest common prefix, compared **message by message** (a message hits
only if its canonical serialization is byte-identical at the same position,
and every element before it hit too), is billed at the cache-read rate, the rest
at the uncached rate. The same rules price the uncompressed replay, and the
ratio of the two totals is "cost vs uncompressed".

Two price models are reported:
* ``read-0.1``: cached tokens 0.1×, others 1.0× (OpenAI-style automatic caching
  with a 90% discount; the 1024-token minimum and 128-token granularity are ignored).
* ``anthropic``: cache read 0.1×, every uncached token written to the cache at 1.25×
  (a breakpoint on the last message of every request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.request_tokens import Element

__all__ = [
    "PRICINGS",
    "Divergence",
    "Pricing",
    "RequestCost",
    "common_prefix",
    "divergences",
    "price",
    "replay",
    "request_points",
]


@dataclass(frozen=True)
class Pricing:
    """Multipliers on the input-token price."""

    name: str
    cache_read: float
    uncached: float


PRICINGS: tuple[Pricing, ...] = (
    Pricing("read-0.1", 0.1, 1.0),
    Pricing("anthropic", 0.1, 1.25),
)


@dataclass(frozen=True)
class RequestCost:
    """One simulated request: how many of its tokens the cache served."""

    cached_tokens: int
    uncached_tokens: int
    common_elements: int
    previous_elements: int
    elements: int

    @property
    def total_tokens(self) -> int:
        return self.cached_tokens + self.uncached_tokens

    @property
    def prefix_broken(self) -> bool:
        """The previous request is not a prefix of this one (something before the new turn changed)."""
        return self.common_elements < self.previous_elements


@dataclass(frozen=True)
class Divergence:
    """Where a request stopped extending the previous one."""

    request: int
    prefix_end: int
    message_index: int | None
    lost_tokens: int


def request_points(messages: Sequence[dict[str, Any]], fmt: str) -> list[int]:
    """Indices of the last message of each request the model is called with.

    A request ends at every user message, and at a tool message that is the last of
    its batch (OpenAI); in Anthropic format tool results are user messages.
    """
    points: list[int] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        nxt = messages[i + 1].get("role") if i + 1 < len(messages) else None
        if role == "user" or (fmt != "anthropic" and role == "tool" and nxt != "tool"):
            points.append(i)
    return points


def common_prefix(previous: Sequence[Element], current: Sequence[Element]) -> int:
    """How many leading elements of ``current`` are identical to ``previous``'s."""
    n = 0
    for (a, _), (b, _) in zip(previous, current, strict=False):
        if a != b:
            break
        n += 1
    return n


def replay(requests: Sequence[Sequence[Element]]) -> list[RequestCost]:
    """Cache hits of each request against the one before it."""
    costs: list[RequestCost] = []
    previous: Sequence[Element] = ()
    for elements in requests:
        shared = common_prefix(previous, elements)
        cached = sum(tokens for _, tokens in elements[:shared])
        uncached = sum(tokens for _, tokens in elements[shared:])
        costs.append(RequestCost(cached, uncached, shared, len(previous), len(elements)))
        previous = elements
    return costs


def price(costs: Sequence[RequestCost], pricing: Pricing) -> float:
    """Total input cost of a replay, in uncached-token units."""
    return sum(
        pricing.cache_read * c.cached_tokens + pricing.uncached * c.uncached_tokens for c in costs
    )


def divergences(
    costs: Sequence[RequestCost],
    requests: Sequence[Sequence[Element]],
    prefix_ends: Sequence[int],
    system_element: bool,
) -> list[Divergence]:
    """Requests whose predecessor is not their prefix, and the first message that changed.

    ``lost_tokens`` counts the re-sent history (positions the previous request
    already had) that missed the cache because of the change.
    """
    found: list[Divergence] = []
    for index, cost in enumerate(costs):
        if index == 0 or not cost.prefix_broken:
            continue
        element = cost.common_elements
        message = element - 1 if system_element else element
        lost = sum(tokens for _, tokens in requests[index][element : cost.previous_elements])
        found.append(Divergence(index, prefix_ends[index], message if message >= 0 else None, lost))
    return found
