"""Agno test kit: a scripted offline `Model` and corpus tools (imported by the tests)."""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse

ROOT = Path(__file__).resolve().parents[3]


def _corpus_dir() -> Path:
    env = os.environ.get("HEADROOM_CORPUS")
    for candidate in (Path(env) if env else None, ROOT.parent / "shared" / "corpus"):
        if candidate is not None and candidate.is_dir():
            return candidate
    return ROOT / "headroom" / "demo_data"


def load_case(case_id: str) -> dict[str, Any]:
    path = _corpus_dir() / f"{case_id}.json"
    if not path.exists():
        path = ROOT / "headroom" / "demo_data" / f"{case_id}.json"
    if not path.exists():
        pytest.skip(f"corpus case {case_id} not available")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def corpus_case_ids(fmt: str) -> list[str]:
    """Ids of the corpus cases in one message format ("openai" or "anthropic")."""
    ids = []
    for path in sorted(_corpus_dir().glob("p-*.json")):
        if json.loads(path.read_text(encoding="utf-8")).get("format") == fmt:
            ids.append(path.stem)
    return ids


def tool_output(case: dict[str, Any]) -> str:
    """The (first) large tool output of an OpenAI-format case."""
    for message in case["messages"]:
        if message.get("role") == "tool" and isinstance(message.get("content"), str):
            return str(message["content"])
    raise AssertionError(f"no tool output in {case['id']}")


def has_needle(needle: str, text: str) -> bool:
    """The corpus rule: whitespace runs are equal; the JSON-escaped form counts too."""
    blob = re.sub(r"\s+", " ", text)
    wanted = re.sub(r"\s+", " ", needle)
    return wanted in blob or json.dumps(wanted, ensure_ascii=False)[1:-1] in blob


def sent_text(messages: list[Message]) -> str:
    """Everything a provider would read from agno messages."""
    parts: list[str] = []
    for m in messages:
        parts.append(
            json.dumps(m.content, ensure_ascii=False)
            if not isinstance(m.content, str)
            else m.content
        )
        if m.compressed_content:
            parts.append(m.compressed_content)
    return "\n".join(parts)


def make_tool(
    name: str, output: str, doc: str = "Run the tool and return its output."
) -> Callable[..., str]:
    """A tool function called `name` (one string argument `target`) that returns `output`."""

    def tool(target: str) -> str:
        tool.calls.append(target)  # type: ignore[attr-defined]
        return output

    tool.__name__ = name
    tool.__doc__ = f"{doc}\n\nArgs:\n    target: What to run the tool on."
    tool.calls = []  # type: ignore[attr-defined]
    return tool


def order_records(seed: int, n: int, plant_at: int) -> list[dict[str, object]]:
    """Realistic order rows (None, booleans, floats, nested tags) with one planted fact."""
    rng = random.Random(seed)
    rows: list[dict[str, object]] = [
        {
            "order_id": 50_000 + i,
            "customer": f"{rng.choice(['acme', 'globex', 'initech', 'umbrella'])}-{rng.randint(1, 999)}",
            "status": rng.choice(["shipped", "pending", "delivered", "cancelled"]),
            "total": round(rng.uniform(3, 900), 2),
            "express": rng.random() < 0.3,
            "note": None if rng.random() < 0.8 else rng.choice(["gift", "fragile", "call first"]),
            "tags": rng.sample(["eu", "us", "b2b", "promo", "vip"], k=2),
        }
        for i in range(n)
    ]
    rows[plant_at]["status"] = "refund_blocked"
    rows[plant_at]["note"] = f"issuer rejected refund ref {seed:04d}-RX"
    return rows


def tool_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "name": name, "arguments": json.dumps(arguments)}


@dataclass
class ScriptedModel(Model):
    """A minimal offline agno provider.

    Turn n answers with `script[n]`: ``{"content": str}`` or ``{"tool_calls": [
    {"id", "name", "arguments"}]}``, or a function of the messages returning one
    (then ``{"content": "done"}``). Streaming sends
    text in pieces and each tool call as OpenAI-style deltas (id and name first,
    arguments split in two), which only `parse_tool_calls` below puts back together.
    Every call is recorded in `calls` with the messages and keyword arguments it got.
    """

    id: str = "gpt-4o"
    name: str = "Scripted"
    provider: str = "ScriptedProvider"
    script: list[Any] = field(default_factory=list, repr=False)
    calls: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def _step(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        messages = kwargs["messages"] if "messages" in kwargs else args[0]
        self.calls.append({"method": method, "messages": list(messages), **kwargs})
        n = len(self.calls) - 1
        step = self.script[n] if n < len(self.script) else {"content": "done"}
        return step(list(messages)) if callable(step) else step

    def invoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._parse_provider_response(self._step("invoke", args, kwargs))

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self._parse_provider_response(self._step("ainvoke", args, kwargs))

    @staticmethod
    def _deltas(step: dict[str, Any]) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        content = step.get("content")
        if content:
            third = max(1, len(content) // 3)
            chunks += [{"content": content[i : i + third]} for i in range(0, len(content), third)]
        for index, call in enumerate(step.get("tool_calls") or []):
            half = len(call["arguments"]) // 2
            first = {"index": index, "id": call["id"], "type": "function"}
            chunks.append(
                {
                    "tool_calls": [
                        {
                            **first,
                            "function": {
                                "name": call["name"],
                                "arguments": call["arguments"][:half],
                            },
                        }
                    ]
                }
            )
            chunks.append(
                {
                    "tool_calls": [
                        {"index": index, "function": {"arguments": call["arguments"][half:]}}
                    ]
                }
            )
        return chunks

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        for chunk in self._deltas(self._step("invoke_stream", args, kwargs)):
            yield self._parse_provider_response_delta(chunk)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:  # type: ignore[override]
        for chunk in self._deltas(self._step("ainvoke_stream", args, kwargs)):
            yield self._parse_provider_response_delta(chunk)

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> ModelResponse:
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in response.get("tool_calls") or []
        ]
        return ModelResponse(role="assistant", content=response.get("content"), tool_calls=calls)

    def _parse_provider_response_delta(self, response: Any) -> ModelResponse:
        return ModelResponse(
            role="assistant",
            content=response.get("content"),
            tool_calls=response.get("tool_calls") or [],
        )

    def parse_tool_calls(self, tool_calls_data: list[dict[str, Any]]) -> list[dict[str, Any]]:
        merged: dict[int, dict[str, Any]] = {}
        for delta in tool_calls_data:
            call = merged.setdefault(
                delta.get("index", 0),
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if delta.get("id"):
                call["id"] = delta["id"]
            fn = delta.get("function") or {}
            if fn.get("name"):
                call["function"]["name"] = fn["name"]
            call["function"]["arguments"] += fn.get("arguments") or ""
        return [merged[i] for i in sorted(merged)]
