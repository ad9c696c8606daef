"""An agno agent whose model sees compressed tool output: HeadroomAgnoModel.

    python examples/agno_agent.py            # offline: a stand-in model, no key needed
    OPENAI_API_KEY=... python examples/agno_agent.py      # real gpt-4o-mini
    ANTHROPIC_API_KEY=... python examples/agno_agent.py   # real Claude

The agent reads a 64 KB sshd log with a tool. Headroom compresses that output
before each model turn (the run and the session keep the original), offers the
model `headroom_retrieve` for anything it elided, and counts what it saved.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agno.agent import Agent
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

import headroom
from headroom.integrations.agno import HeadroomAgnoModel

CASE = json.loads(
    (Path(headroom.__file__).parent / "demo_data" / "p-logs-openssh.json").read_text(
        encoding="utf-8"
    )
)
LOG = next(m["content"] for m in CASE["messages"] if m["role"] == "tool")


def read_logs(path: str) -> str:
    """Read a log file from the server.

    Args:
        path: Absolute path of the log file.
    """
    return LOG


class OfflineModel(Model):
    """Stands in for a provider: asks for the log, then answers from what it was sent."""

    def __init__(self) -> None:
        self.id = "gpt-4o-mini"
        self.name = "Offline"
        self.provider = "Offline stand-in"

    def _answer(self, messages: list[Message]) -> ModelResponse:
        tool_results = [m for m in messages if m.role == "tool"]
        if not tool_results:
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "read_logs", "arguments": '{"path": "/var/log/auth.log"}'},
            }
            return ModelResponse(role="assistant", tool_calls=[call])
        seen = str(tool_results[-1].content)
        errors = sorted(
            {
                line.split("]: ", 1)[-1]
                for line in seen.splitlines()
                if re.search(r"\b(error|fatal):", line)
            }
        )
        print(
            f"[offline model] received the log as {len(seen):,} characters (original {len(LOG):,})"
        )
        return ModelResponse(role="assistant", content="Error/fatal entries:\n" + "\n".join(errors))

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer(kwargs["messages"])

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer(kwargs["messages"])

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        yield self._answer(kwargs["messages"])

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:  # type: ignore[override]
        yield self._answer(kwargs["messages"])

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return ModelResponse()

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return ModelResponse()


def provider_model() -> Model:
    """A real provider when its key is set, else the offline stand-in."""
    if os.environ.get("OPENAI_API_KEY"):
        from agno.models.openai import OpenAIChat

        return OpenAIChat(id="gpt-4o-mini")
    if os.environ.get("ANTHROPIC_API_KEY"):
        from agno.models.anthropic import Claude

        return Claude(id="claude-sonnet-4-20250514")
    return OfflineModel()


def main() -> None:
    model = HeadroomAgnoModel(provider_model())
    agent = Agent(model=model, tools=[read_logs], markdown=False)

    result = agent.run(CASE["question"] + " The log is at /var/log/auth.log.")

    print(result.content)
    print()
    extra = (result.metrics.additional_metrics or {}) if result.metrics else {}
    print(f"model: {model.get_provider()} ({model.id})")
    print(
        f"this run: {extra.get('headroom_tokens_before', 0):,} input tokens -> {extra.get('headroom_tokens_after', 0):,}"
    )
    print(f"saved so far: {model.total_tokens_saved:,} tokens")
    stored = next(m for m in result.messages or [] if m.role == "tool")
    print(f"the run keeps the original tool output: {len(str(stored.content)):,} characters")


if __name__ == "__main__":
    main()
