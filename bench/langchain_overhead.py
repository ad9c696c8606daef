"""Overhead of HeadroomChatModel over calling the wrapped model directly.

Run: python bench/langchain_overhead.py [--calls N]

Prints per-call medians for a fake chat model that answers instantly, so the
figures are the wrapper's own cost: small messages (nothing to compress),
and a large tool output from the corpus (first call compresses, repeats hit
the memo, as in an agent loop re-sending its history).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.outputs import ChatGeneration, ChatResult

from headroom.integrations.langchain import HeadroomChatModel

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


class _Instant(BaseChatModel):
    """Answers at once, so timing measures only the layers around it."""

    model: str = "gpt-4o"

    @property
    def _llm_type(self) -> str:
        return "instant"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="ok"))])


def _median_ms(fn: Callable[[], Any], calls: int) -> float:
    for _ in range(min(50, calls)):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _large_case() -> list[BaseMessage]:
    path = CORPUS / "p-logs-openssh.json"
    if not path.exists():
        raise SystemExit(f"corpus not found at {path}")
    return list(convert_to_messages(json.loads(path.read_text())["messages"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    model = _Instant()
    wrapped = HeadroomChatModel(model)
    small = [SystemMessage("You are helpful."), HumanMessage("What is the capital of France?")]

    direct = _median_ms(lambda: model.invoke(small), args.calls)
    through = _median_ms(lambda: wrapped.invoke(small), args.calls)
    print(
        f"small messages : direct {direct:.3f} ms, wrapped {through:.3f} ms, overhead {through - direct:.3f} ms/call"
    )

    direct_s = _median_ms(lambda: list(model.stream(small)), args.calls)
    through_s = _median_ms(lambda: list(wrapped.stream(small)), args.calls)
    print(
        f"small, stream  : direct {direct_s:.3f} ms, wrapped {through_s:.3f} ms, overhead {through_s - direct_s:.3f} ms/call"
    )

    large = _large_case()
    start = time.perf_counter()
    reply = HeadroomChatModel(_Instant()).invoke(large)
    cold = (time.perf_counter() - start) * 1000
    stats = reply.response_metadata["headroom"]
    calls = max(20, args.calls // 20)
    direct_l = _median_ms(lambda: model.invoke(large), calls)
    through_l = _median_ms(lambda: wrapped.invoke(large), calls)
    print(
        f"large tool output ({stats['tokens_before']} -> {stats['tokens_after']} tokens): "
        f"first call {cold:.1f} ms; repeated: direct {direct_l:.3f} ms, wrapped {through_l:.3f} ms, "
        f"overhead {through_l - direct_l:.3f} ms/call"
    )


if __name__ == "__main__":
    main()
