"""Turning one engine's raw run of one case into figures.

Everything is measured here, in the benchmark's process, with one token counter
for both engines: savings, needle recall, validity of every request sent, and
the prompt-cache replay.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.cache_sim import PRICINGS, divergences, price, replay, request_points
from bench.corpus import Case
from bench.needles import recall
from bench.request_tokens import RequestCounter
from bench.validate import problems

__all__ = ["CaseFigures", "evaluate"]


@dataclass
class CaseFigures:
    """One engine on one case."""

    case: str
    category: str
    engine: str
    needles: int
    tokens_before: int
    tokens_after: int
    lost_needles: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    invalid_replay_requests: int = 0
    replay_requests: int = 0
    import_ms: float | None = None
    import_cpu_ms: float | None = None
    first_call_ms: float | None = None
    first_seen_ms: float | None = None
    first_seen_cpu_ms: float | None = None
    repeated_ms: float | None = None
    repeat_identical: bool | None = None
    input_mutated: bool | None = None
    transforms: list[str] = field(default_factory=list)
    cache_cost: dict[str, float] = field(default_factory=dict)
    cache_cost_uncompressed: dict[str, float] = field(default_factory=dict)
    cached_tokens: int = 0
    replay_tokens: int = 0
    prefix_breaks: list[dict[str, Any]] = field(default_factory=list)
    replay_matches_single: bool | None = None
    lost_needles_replay: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def saving(self) -> float:
        return 1 - self.tokens_after / self.tokens_before if self.tokens_before else 0.0

    @property
    def kept(self) -> int:
        return self.needles - len(self.lost_needles)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["saving"] = self.saving
        return data


def _ms(seconds: Any) -> float | None:
    return None if seconds is None else float(seconds) * 1000


def evaluate(case: Case, engine: str, raw: dict[str, Any], counter: RequestCounter) -> CaseFigures:
    """Figures for ``raw`` (the runner's output for ``case``)."""
    system = case.system if case.format == "anthropic" else None
    before = counter.total(case.messages, system)
    result = raw.get("result")
    errors = [str(e) for e in raw.get("errors", [])]
    if result is None:
        # No output at all: the request the caller would send is missing.
        compressed: Any = None
        invalid = ["engine produced no messages"]
        after = before
    else:
        compressed = result["messages"]
        invalid = problems(case.messages, compressed, case.format)
        if not result.get("serializable", True):
            invalid.append("not JSON-serializable")
        after = counter.total(compressed, system) if isinstance(compressed, list) else before
    lost = (
        list(case.needles)
        if compressed is None
        else list(recall(case.needles, compressed, system).lost)
    )

    repeated = raw.get("repeated_s") or []
    figures = CaseFigures(
        case=case.id,
        category=case.category,
        engine=engine,
        needles=len(case.needles),
        tokens_before=before,
        tokens_after=after,
        lost_needles=lost,
        invalid=invalid,
        import_ms=_ms(raw.get("import_s")),
        import_cpu_ms=_ms(raw.get("import_cpu_s")),
        first_call_ms=_ms(raw.get("first_call_s")),
        first_seen_ms=_ms(raw.get("first_seen_s")),
        first_seen_cpu_ms=_ms(raw.get("first_seen_cpu_s")),
        repeated_ms=_ms(statistics.median(repeated)) if repeated else None,
        repeat_identical=raw.get("repeat_identical"),
        input_mutated=raw.get("input_mutated"),
        transforms=list(result.get("transforms", [])) if result else [],
        errors=errors,
    )
    _replay(case, raw, counter, system, figures)
    last = next(
        (p for p in raw.get("prefixes", []) if p.get("end") == len(case.messages) - 1), None
    )
    if last is not None and last.get("messages") is not None:
        # The agent loop's last request against compressing the whole conversation at once.
        figures.replay_matches_single = compressed is not None and last["messages"] == compressed
        figures.lost_needles_replay = list(recall(case.needles, last["messages"], system).lost)
    return figures


def _replay(
    case: Case, raw: dict[str, Any], counter: RequestCounter, system: Any, figures: CaseFigures
) -> None:
    points = request_points(case.messages, case.format)
    prefixes = {p.get("end"): p for p in raw.get("prefixes", [])}
    plain = [counter.elements(case.messages[: end + 1], system) for end in points]
    packed = []
    for end in points:
        entry = prefixes.get(end, {})
        original = case.messages[: end + 1]
        messages = entry.get("messages")
        bad = messages is None or bool(problems(original, messages, case.format))
        bad = bad or not entry.get("serializable", True)
        figures.invalid_replay_requests += int(bad)
        # An invalid request cannot be sent: price the uncompressed one in its place.
        packed.append(counter.elements(original if bad else messages, system))
    figures.replay_requests = len(points)
    plain_costs = replay(plain)
    packed_costs = replay(packed)
    for pricing in PRICINGS:
        figures.cache_cost[pricing.name] = price(packed_costs, pricing)
        figures.cache_cost_uncompressed[pricing.name] = price(plain_costs, pricing)
    figures.cached_tokens = sum(c.cached_tokens for c in packed_costs)
    figures.replay_tokens = sum(c.total_tokens for c in packed_costs)
    for d in divergences(packed_costs, packed, points, system is not None):
        figures.prefix_breaks.append(
            {
                "request": d.request,
                "prefix_end": d.prefix_end,
                "message_index": d.message_index,
                "role": None
                if d.message_index is None
                else case.messages[d.message_index].get("role"),
                "rebilled_tokens": d.lost_tokens,
            }
        )
