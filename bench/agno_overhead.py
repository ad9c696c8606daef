"""Overhead of HeadroomAgnoModel over the bare agno model it wraps (offline, no provider).

    python bench/agno_overhead.py [--repeat 30]

Times one `invoke` (a model turn) and one whole `Agent.run` with a tool, bare
and wrapped, on a small request and on a large one (a corpus tool output).
"Cold" requests carry bytes never seen before (no memo hit); "warm" ones repeat
earlier bytes, as every later turn of an agent loop does. The provider is an
in-process stub, so the figures are Headroom's cost alone; a real provider
adds its network time to both columns.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agno.agent import Agent
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

from headroom.core import InMemoryStore
from headroom.integrations.agno import HeadroomAgnoModel

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent


class StubModel(Model):
    """Answers every turn at once: one tool call on the first turn of a run, then text."""

    def __init__(self) -> None:
        self.id = "gpt-4o"
        self.name = "Stub"
        self.provider = "Stub"
        self.call_tool_next = False

    def _answer(self) -> ModelResponse:
        if self.call_tool_next:
            self.call_tool_next = False
            call = {
                "id": "c1",
                "type": "function",
                "function": {"name": "read_logs", "arguments": '{"target": "x"}'},
            }
            return ModelResponse(role="assistant", tool_calls=[call])
        return ModelResponse(role="assistant", content="done")

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer()

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer()

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        yield self._answer()

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:  # type: ignore[override]
        yield self._answer()

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return ModelResponse()

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return ModelResponse()


def _corpus_output() -> tuple[str, str]:
    for directory in (ROOT.parent / "shared" / "corpus", ROOT / "headroom" / "demo_data"):
        path = directory / "p-logs-openssh.json"
        if path.exists():
            case = json.loads(path.read_text(encoding="utf-8"))
            output = next(m["content"] for m in case["messages"] if m["role"] == "tool")
            return case["question"], output
    sys.exit("corpus case p-logs-openssh not found (../shared/corpus or headroom/demo_data)")


def _messages(question: str, output: str) -> list[Message]:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "read_logs", "arguments": '{"target": "x"}'},
    }
    return [
        Message(role="system", content="You are an on-call assistant."),
        Message(role="user", content=question),
        Message(role="assistant", tool_calls=[call]),
        Message(role="tool", tool_call_id="c1", tool_name="read_logs", content=output),
    ]


def _time(fn: Callable[[int], Any], repeat: int) -> list[float]:
    fn(-1)  # warm imports and lazy setup
    out = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _row(label: str, bare: list[float], wrapped: list[float]) -> str:
    b, w = statistics.median(bare), statistics.median(wrapped)
    p95 = sorted(wrapped)[max(0, int(len(wrapped) * 0.95) - 1)]
    return f"{label:<34} {b:>9.3f} {w:>11.3f} {w - b:>11.3f} {p95:>10.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    question, output = _corpus_output()
    small_tool = "uid=1000(dev) gid=1000(dev) groups=1000(dev),27(sudo)"
    bare = StubModel()
    wrapped = HeadroomAgnoModel(StubModel(), store=InMemoryStore())
    rows = []

    for size, tool_text in (("small", small_tool), ("large", output)):
        for temperature in ("cold", "warm"):

            def call(
                model: Model, i: int, tool_text: str = tool_text, temperature: str = temperature
            ) -> None:
                text = (
                    tool_text
                    if temperature == "warm"
                    else f"{tool_text}\nrequest {i} {time.perf_counter_ns()}"
                )
                model.invoke(
                    messages=_messages(question, text), assistant_message=Message(role="assistant")
                )

            rows.append(
                _row(
                    f"invoke, {size}, {temperature}",
                    _time(lambda i: call(bare, i), args.repeat),
                    _time(lambda i: call(wrapped, i), args.repeat),
                )
            )

    for size, tool_text in (("small", small_tool), ("large", output)):

        def read_logs(target: str, tool_text: str = tool_text) -> str:
            """Read a log file."""
            return tool_text

        def run(model: Model, i: int, read_logs: Callable[[str], str] = read_logs) -> None:
            # The wrapper is a StubModel itself (a subclass holding a copy of its settings).
            assert isinstance(model, StubModel)
            model.call_tool_next = True
            Agent(model=model, tools=[read_logs], telemetry=False).run(question)

        rows.append(
            _row(
                f"Agent.run + 1 tool call, {size}",
                _time(lambda i: run(bare, i), args.repeat),
                _time(lambda i: run(wrapped, i), args.repeat),
            )
        )

    print(
        f"HeadroomAgnoModel overhead, median of {args.repeat} (ms); large = {len(output):,} chars of sshd log"
    )
    print(f"{'':<34} {'bare':>9} {'wrapped':>11} {'overhead':>11} {'p95 wrap':>10}")
    for row in rows:
        print(row)
    stats = wrapped.stats
    print(
        f"tokens: {stats['tokens_before']:,} in, {stats['tokens_after']:,} sent, "
        f"{stats['tokens_saved']:,} saved over {stats['requests']} wrapped requests"
    )


if __name__ == "__main__":
    main()
