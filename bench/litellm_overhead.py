"""Overhead of HeadroomCallback (and the sync wrapper) over plain LiteLLM.

Run: python bench/litellm_overhead.py [--calls N]

The provider is a LiteLLM `CustomLLM` that answers at once, so the figures
are LiteLLM's own cost plus Headroom's: a small chat (below `min_tokens`,
nothing to compress) and large agent turns from the corpus, "repeat" (the
same request re-sent, as an agent loop re-sends its history: the core's memo
answers) and "fresh" (a new tool output every call: full compression).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import asyncio
import copy
import itertools
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import litellm
from litellm import CustomLLM

from headroom import InMemoryStore
from headroom.integrations.litellm import HeadroomCallback, completion

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


class _Instant(CustomLLM):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.sent_chars = 0

    def _answer(self, messages: list[Any]) -> litellm.ModelResponse:
        self.sent_chars = len(json.dumps(messages))
        return litellm.ModelResponse(
            model="instant",
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok"},
                    "finish_reason": "stop",
                }
            ],
        )

    def completion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        return self._answer(messages)

    async def acompletion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> litellm.ModelResponse:
        return self._answer(messages)


def _case(case_id: str) -> list[dict[str, Any]]:
    return json.loads((CORPUS / f"{case_id}.json").read_text(encoding="utf-8"))["messages"]  # type: ignore[no-any-return]


_salt = itertools.count()


def _fresh(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same turn with a tool output no memo has seen."""
    i = next(_salt)
    out = copy.deepcopy(messages)
    for m in reversed(out):
        if m.get("role") == "tool" and isinstance(m.get("content"), str):
            m["content"] = f"run {i}\n{m['content']}"
            break
    return out


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def _time_async(call: Callable[[int], Awaitable[Any]], n: int) -> list[float]:
    await call(-1)  # warm-up
    samples = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - start)
    return samples


def _time_sync(call: Callable[[int], Any], n: int) -> list[float]:
    call(-1)
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - start)
    return samples


async def main(calls: int) -> None:
    provider = _Instant()
    litellm.custom_provider_map = [{"provider": "instant", "custom_handler": provider}]
    requests = {
        "small (1 turn, 20 tokens)": [
            {"role": "user", "content": "What is the capital of France? One word."}
        ],
        "large logs (27k tokens)": _case("p-logs-linux"),
        "large multi-turn (62k tokens)": _case("p-mt-ops-1"),
    }
    print(f"HeadroomCallback overhead over plain LiteLLM, median of {calls} calls (ms)")
    print(
        f"{'request':32} {'path':22} {'plain':>8} {'headroom':>9} {'added':>8} {'sent chars':>12}"
    )
    for label, messages in requests.items():
        for mode in ("repeat", "fresh") if len(messages) > 1 else ("repeat",):

            def msgs(
                i: int, messages: list[dict[str, Any]] = messages, mode: str = mode
            ) -> list[dict[str, Any]]:
                return _fresh(messages) if mode == "fresh" else messages

            litellm.callbacks = []
            plain = await _time_async(
                lambda i: litellm.acompletion(model="instant/gpt-4o", messages=msgs(i)), calls
            )
            plain_chars = provider.sent_chars
            cb = HeadroomCallback(store=InMemoryStore())
            litellm.callbacks = [cb]
            hr = await _time_async(
                lambda i: litellm.acompletion(model="instant/gpt-4o", messages=msgs(i)), calls
            )
            row = f"{label:32} {'acompletion ' + mode:22} {_median_ms(plain):8.1f} {_median_ms(hr):9.1f}"
            print(
                f"{row} {_median_ms(hr) - _median_ms(plain):+8.1f} {plain_chars:>6}->{provider.sent_chars}"
            )

            litellm.callbacks = []
            plain = _time_sync(
                lambda i: litellm.completion(model="instant/gpt-4o", messages=msgs(i)), calls
            )
            cb = HeadroomCallback(store=InMemoryStore())
            hr = _time_sync(
                lambda i, cb=cb: completion(model="instant/gpt-4o", messages=msgs(i), callback=cb),
                calls,
            )
            row = f"{label:32} {'sync wrapper ' + mode:22} {_median_ms(plain):8.1f} {_median_ms(hr):9.1f}"
            print(
                f"{row} {_median_ms(hr) - _median_ms(plain):+8.1f} {plain_chars:>6}->{provider.sent_chars}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    asyncio.run(main(parser.parse_args().calls))
