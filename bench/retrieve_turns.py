"""Should a `headroom_retrieve` result be compressed on later turns? Priced by the cache sim.

For every OpenAI-format corpus case whose tool output `compress()` cuts lossily,
an agent conversation is played out: the case, the model retrieving the original
(``headroom_retrieve`` call and its result, as `HeadroomMiddleware` keeps them in
state), its answer, then N more short user/assistant turns. Each request is
compressed on its own and priced against the one before it (`bench.cache_sim`).

Two policies for the retrieve result:
* ``verbatim``: kept as retrieved on every later turn (what `compress()` did).
* ``compressed``: compressed like any tool output once a later question follows
  it (the original is still one retrieve away). This rewrites that message once,
  on the first later turn: a one-off cache miss for what follows it. This is
  what `compress()` does.

Run: ``PYTHONPATH=. python bench/retrieve_turns.py``.
"""

from __future__ import annotations

import json
from typing import Any

from bench.cache_sim import PRICINGS, price, replay, request_points
from bench.corpus import default_corpus_dir, load_cases
from bench.request_tokens import RequestCounter
from headroom import CompressConfig, InMemoryStore, compress
from headroom.core.ccr import content_hash
from headroom.core.tokens import counter_for_model

__all__ = ["conversation", "main", "requests_for"]

LATER_TURNS = (1, 3, 10)


def conversation(messages: list[dict[str, Any]], later: int) -> list[dict[str, Any]] | None:
    """The case, a retrieval of its largest tool output, the answer and `later` turns."""
    tools = [m for m in messages if m.get("role") == "tool" and isinstance(m.get("content"), str)]
    if not tools:
        return None
    original = max(tools, key=lambda m: len(m["content"]))["content"]
    call = {
        "id": "call_retrieve",
        "type": "function",
        "function": {
            "name": "headroom_retrieve",
            "arguments": json.dumps({"hash": content_hash(original)}),
        },
    }
    out = [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_retrieve", "content": original},
        {"role": "assistant", "content": "Here is what the full output shows."},
    ]
    for k in range(later):
        out.append({"role": "user", "content": f"Thanks. Follow-up question number {k + 1}?"})
        out.append({"role": "assistant", "content": f"Answer to follow-up {k + 1}."})
    return out


def requests_for(
    messages: list[dict[str, Any]], counter: RequestCounter, policy: str | None
) -> list[list[tuple[str, int]]]:
    """The elements of each request the agent sends, compressed under `policy` (None: raw)."""
    store = InMemoryStore()
    # verbatim: the retrieve result never compressed (as before); compressed: the default
    config = CompressConfig(protect_tools=("headroom_retrieve",) if policy == "verbatim" else ())
    out = []
    for point in request_points(messages, "openai"):
        prefix = messages[: point + 1]
        if policy is None:
            sent = prefix
        else:
            sent = compress(prefix, "gpt-4o", config=config, store=store).messages
        out.append(counter.elements(sent))
    return out


def main() -> None:
    counter = RequestCounter(counter_for_model("gpt-4o"))
    cases = [c for c in load_cases(default_corpus_dir()) if c.format == "openai"]
    print(f"{'later turns':>11} {'pricing':>10} {'verbatim':>9} {'compressed':>11}  (cost / raw)")
    for later in LATER_TURNS:
        totals: dict[tuple[str, str], float] = {}
        used = 0
        for case in cases:
            conv = conversation(case.messages, later)
            if conv is None:
                continue
            probe = compress(case.messages, "gpt-4o", store=InMemoryStore())
            if not probe.ccr_hashes:
                continue  # nothing was cut: nothing to retrieve
            used += 1
            runs = {p: replay(requests_for(conv, counter, p)) for p in ("verbatim", "compressed")}
            raw = replay(requests_for(conv, counter, None))
            for pricing in PRICINGS:
                totals[("raw", pricing.name)] = totals.get(("raw", pricing.name), 0) + price(
                    raw, pricing
                )
                for policy, costs in runs.items():
                    key = (policy, pricing.name)
                    totals[key] = totals.get(key, 0) + price(costs, pricing)
        for pricing in PRICINGS:
            base = totals[("raw", pricing.name)]
            verbatim = totals[("verbatim", pricing.name)] / base
            compressed = totals[("compressed", pricing.name)] / base
            print(f"{later:>11} {pricing.name:>10} {verbatim:>9.3f} {compressed:>11.3f}")
        print(f"{'':>11} ({used} cases)")


if __name__ == "__main__":
    main()
