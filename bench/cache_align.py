"""Should `cache_align` be on by default? A prompt-cache simulation that decides it.

    PYTHONPATH=. python bench/cache_align.py

An agent conversation of ``--turns`` turns (a user question, a tool call, a
~2k-token output) behind a ~1.5k-token system prompt is sent after every
turn. Three system prompts: static; with today's date (constant within the
session); with a per-request timestamp and request id. Three strategies:
aligner off; on (values restated at the end of their own system prompt, the
current behaviour); and the former behaviour (values moved into the latest
user question), emulated here for comparison.

The cache is a token prefix (as OpenAI's automatic caching and Anthropic's
cache are): each request's tokens up to the first character that differs from
the previous request are read at 0.1x, the rest at 1x. Reported: the input
cost relative to sending every token uncached, and how many requests changed
a message the previous request already had (an earlier turn rewritten).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from headroom import CompressConfig, compress  # noqa: E402
from headroom.core.cache_align import find_volatile  # noqa: E402
from headroom.core.messages import append_text  # noqa: E402
from headroom.core.tokens import counter_for_model  # noqa: E402

__all__ = ["main", "simulate"]

_COUNT = counter_for_model("gpt-4o")
_RULES = ["refund", "escalate", "verify", "log", "notify", "archive", "review", "approve"]


def _policy(rnd: random.Random) -> str:
    return "\n".join(
        f"- Always {rnd.choice(_RULES)} a {rnd.choice(['ticket', 'order', 'account'])} "
        f"when its {rnd.choice(['amount', 'age', 'risk score'])} exceeds {rnd.randrange(10, 999)}."
        for _ in range(90)
    )


def _conversation(turns: int) -> list[dict[str, Any]]:
    rnd = random.Random(5)
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"Check order batch {i}: anything to refund?"})
        call = {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": "orders", "arguments": "{}"},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        rows = [
            {"order": f"O-{i}-{j}", "amount": rnd.randrange(5, 900), "state": "paid"}
            for j in range(60)
        ]
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": json.dumps(rows)})
        messages.append({"role": "assistant", "content": f"Batch {i} checked."})
    return messages


def _system(kind: str, policy: str, request: int) -> str:
    if kind == "static":
        return f"You are a support agent.\n{policy}"
    if kind == "date":
        return f"Today is 2026-11-30. You are a support agent.\n{policy}"
    stamp = f"2026-11-30T10:{request // 60:02d}:{request % 60:02d}Z"
    return f"Request {stamp}, id 1700000{request:03d}. You are a support agent.\n{policy}"


def _moved_to_question(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The former aligner: values replaced in the system prompt, restated after the
    latest user question (a user-role message)."""
    out = list(messages)
    system = out[0]["content"]
    values = find_volatile(system)
    if not values:
        return out
    for n, value in enumerate(values, 1):
        system = system.replace(value, f"<value {n} in the dynamic context>", 1)
    out[0] = {**out[0], "content": system}
    last = max(i for i, m in enumerate(out) if m["role"] == "user")
    listing = "; ".join(f"value {n}: {v}" for n, v in enumerate(values, 1))
    out[last] = append_text(out[last], f"[dynamic context from the system prompt: {listing}]")
    return out


def _text(messages: list[dict[str, Any]]) -> str:
    return "".join(
        f"<{m['role']}>{m['content'] if isinstance(m.get('content'), str) else json.dumps(m.get('content'))}"
        + json.dumps(m.get("tool_calls") or "")
        for m in messages
    )


def simulate(
    kind: str, strategy: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], turns: int
) -> tuple[float, int]:
    """(input cost relative to all-uncached, requests that rewrote an earlier message)."""
    policy = _policy(random.Random(3))
    conversation = _conversation(turns)
    previous_text, previous_messages = "", []
    cost = total = 0.0
    rewrites = 0
    ends = [i for i, m in enumerate(conversation) if m["role"] in ("user", "tool")]
    for request, end in enumerate(ends):
        messages = [{"role": "system", "content": _system(kind, policy, request)}]
        messages += conversation[: end + 1]
        sent = strategy(messages)
        text = _text(sent)
        common = 0
        for a, b in zip(previous_text, text, strict=False):
            if a != b:
                break
            common += 1
        tokens = _COUNT(text)
        cached = _COUNT(text[:common]) if common else 0
        cost += 0.1 * cached + (tokens - cached)
        total += tokens
        if any(a != b for a, b in zip(previous_messages[1:], sent[1:], strict=False)):
            rewrites += 1
        previous_text, previous_messages = text, sent
    return cost / total, rewrites


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args(argv)
    on, off = CompressConfig(cache_align=True), CompressConfig(cache_align=False)
    strategies: dict[str, Callable[[list[dict[str, Any]]], list[dict[str, Any]]]] = {
        "off": lambda m: compress(m, config=off).messages,
        "on (end of own prompt)": lambda m: compress(m, config=on).messages,
        "former (into the question)": lambda m: _moved_to_question(
            compress(m, config=off).messages
        ),
    }
    print(f"python bench/cache_align.py --turns {args.turns}")
    print(
        "| system prompt | strategy | input cost vs uncached | requests rewriting an earlier turn |"
    )
    print("|---|---|---|---|")
    for kind in ("static", "date", "per-request"):
        for name, strategy in strategies.items():
            cost, rewrites = simulate(kind, strategy, args.turns)
            print(f"| {kind} | {name} | {cost:.3f}x | {rewrites} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
