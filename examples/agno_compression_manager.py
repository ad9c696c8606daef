"""Agno's own compression hook, without an LLM call: HeadroomCompressionManager and hooks.

    python examples/agno_compression_manager.py            # offline stand-in model
    OPENAI_API_KEY=... python examples/agno_compression_manager.py   # real gpt-4o-mini

`Agent(compression_manager=...)` is agno's place for shrinking tool results: it
writes `compressed_content`, which the provider is sent while the session keeps
`content`. Agno's default asks a model to summarise each result; this one is
Headroom's deterministic compression (milliseconds, no cost, same bytes every
turn). The pre-hook compresses a log pasted straight into the question; the
post-hook reports the savings in the run's metadata.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agno.agent import Agent
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

import headroom
from headroom.integrations.agno import (
    HeadroomCompressionManager,
    headroom_input_hook,
    headroom_output_hook,
)

DATA = Path(headroom.__file__).parent / "demo_data"
COMMENTS = json.loads((DATA / "p-json-comments-email.json").read_text(encoding="utf-8"))
LOGS = json.loads((DATA / "p-logs-openssh.json").read_text(encoding="utf-8"))


def _tool_output(case: dict[str, Any]) -> str:
    return str(next(m["content"] for m in case["messages"] if m["role"] == "tool"))


def api_get(url: str) -> str:
    """GET a JSON API endpoint.

    Args:
        url: The endpoint, e.g. /comments.
    """
    return _tool_output(COMMENTS)


class OfflineModel(Model):
    """Stands in for a provider: calls the API once, then reports what it was sent."""

    def __init__(self) -> None:
        self.id = "gpt-4o-mini"
        self.name = "Offline"
        self.provider = "Offline stand-in"

    def _answer(self, messages: list[Message], compress_tool_results: bool) -> ModelResponse:
        tool_results = [m for m in messages if m.role == "tool"]
        if not tool_results and any(
            m.role == "user" and "comment" in str(m.content) for m in messages
        ):
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "api_get", "arguments": '{"url": "/comments"}'},
            }
            return ModelResponse(role="assistant", tool_calls=[call])
        sizes = [
            len(str(m.get_content(use_compressed_content=compress_tool_results))) for m in messages
        ]
        return ModelResponse(
            role="assistant", content=f"(offline) I was sent messages of {sizes} characters."
        )

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._answer(kwargs["messages"], kwargs.get("compress_tool_results", False))

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:  # type: ignore[override]
        yield self.invoke(*args, **kwargs)

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        return ModelResponse()

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return ModelResponse()


def provider_model() -> Model:
    if os.environ.get("OPENAI_API_KEY"):
        from agno.models.openai import OpenAIChat

        return OpenAIChat(id="gpt-4o-mini")
    return OfflineModel()


def main() -> None:
    manager = HeadroomCompressionManager()
    pre = headroom_input_hook()
    agent = Agent(
        model=provider_model(),
        tools=[api_get, manager.retrieve_tool],
        compression_manager=manager,
        pre_hooks=[pre],
        post_hooks=[headroom_output_hook()],
    )

    result = agent.run(COMMENTS["question"] + " Fetch them from /comments.")
    print(result.content)
    print(
        f"tool results compressed: {manager.stats.get('tool_results_compressed', 0)}, tokens saved: {manager.total_tokens_saved:,}"
    )
    print(f"run metadata: {(result.metadata or {}).get('headroom')}")

    pasted = f"Here is last night's auth log:\n\n{_tool_output(LOGS)}\n\n{LOGS['question']}"
    result = agent.run(pasted)
    print(result.content)
    print(
        f"pasted input: {len(pasted):,} characters; the pre-hook saved {pre.total_tokens_saved:,} tokens"
    )


if __name__ == "__main__":
    main()
