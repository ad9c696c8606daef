"""Overhead of HeadroomClient over the bare OpenAI SDK client (offline, no provider).

    PYTHONPATH=. python bench/client_overhead.py [--repeat 50]

Times `chat.completions.create` through the real `openai` SDK, bare and
wrapped, against an in-process stand-in (`httpx.MockTransport`) that answers
instantly, so the difference is Headroom's cost: compression, the metrics
write, and building the smaller request. "Cold" requests carry a tool output
never seen before; "warm" ones re-send one, as every later turn of an agent
loop does. Audit mode compresses (to measure) but sends the original.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from openai import OpenAI

from headroom import HeadroomClient, OpenAIProvider


def answer(request: httpx.Request) -> httpx.Response:
    message = {"role": "assistant", "content": "ok"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    body = {"id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o"}
    return httpx.Response(200, json={**body, "choices": [choice]})


def conversation(seed: int, rows: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    results = [
        {"id": i, "title": f"item {rng.random():.6f}", "score": rng.randint(0, 999)}
        for i in range(rows)
    ]
    call = {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
    return [
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps({"results": results})},
        {"role": "user", "content": "Which item has the highest score?"},
    ]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    sdk = OpenAI(
        api_key="sk-bench",
        base_url="https://api.example.invalid/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    store = f"sqlite:///{Path(tempfile.mkdtemp()) / 'metrics.db'}"
    clients = {
        mode: HeadroomClient(
            original_client=sdk,
            provider=OpenAIProvider(),
            default_mode=mode,  # type: ignore[arg-type]
            store_url=store,
            ccr_retrieve=False,  # the stand-in never calls tools
        )
        for mode in ("optimize", "audit")
    }
    warm = conversation(0)
    cold = [conversation(seed) for seed in range(1, 3 * args.repeat + 1)]
    rows = {
        "bare SDK": lambda msgs: sdk.chat.completions.create(model="gpt-4o", messages=msgs),
        **{
            f"HeadroomClient {mode}": (
                lambda msgs, c=c: c.chat.completions.create(model="gpt-4o", messages=msgs)
            )
            for mode, c in clients.items()
        },
    }
    for send in rows.values():
        send(warm)
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(args.repeat):  # rows interleaved, so load on the machine hits all alike
        for k, (name, send) in enumerate(rows.items()):
            fresh = cold[k * args.repeat + i]
            times.setdefault((name, "warm"), []).append(timed(lambda send=send: send(warm)))
            times.setdefault((name, "cold"), []).append(timed(lambda s=send, m=fresh: s(m)))
    print(f"median of {args.repeat} requests, tool output {len(warm[2]['content']):,} chars")
    print(f"{'':24} {'warm ms':>8} {'cold ms':>8}")
    for name in rows:
        w = statistics.median(times[(name, "warm")])
        c = statistics.median(times[(name, "cold")])
        print(f"{name:24} {w:8.2f} {c:8.2f}")
    # Headroom's own steps, without the SDK around them (whole-request figures on a
    # shared machine move by milliseconds with garbage collection and load).
    core = clients["optimize"]._core
    request = {"model": "gpt-4o", "messages": warm}
    prepared = core.prepare(request)
    steps = {
        "prepare (compress)": lambda: core.prepare(request),
        "record (metrics row)": lambda: core.record(prepared, False, 0),
    }
    for name, step in steps.items():
        ms = statistics.median(timed(step) for _ in range(args.repeat))
        print(f"{name:24} {ms:8.2f}")


if __name__ == "__main__":
    main()
